"""The workflow of a project and the derivation of each step's status.

Status is never stored: :func:`derive_statuses` computes it from what exists, the outputs each
step has published (with the digests of the inputs they were made from) and the latest job
record of each step. The rules:

* a queued or running job makes its step *in progress*;
* a step whose required inputs are not done is *not possible yet*, and says which are missing;
* a failed job newer than the step's output makes the step *error*, with the job's message;
* an output whose recorded input digests still match the inputs is *done*;
* an output made from inputs that changed since is *outdated*: *possible* again;
* otherwise the step is *possible*.

Diagnostics jobs (:attr:`JobKind.step` is None, e.g. the CT histogram) and auxiliary outputs
(``ProjectLayout.is_auxiliary``) belong to no step: they never change a status.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Mapping

__all__ = [
    "JobKind",
    "JobState",
    "Step",
    "StepJob",
    "StepOutput",
    "StepState",
    "StepStatus",
    "derive_statuses",
    "optional_inputs",
    "required_inputs",
]


class Step(enum.Enum):
    """The steps of a case, in the order a clinician meets them."""

    DICOM = "dicom"
    RHINOMANOMETRY = "4pr"
    GEOMETRY = "geometry"
    SIMULATION = "simulation"
    ANALYSIS = "analysis"

    @property
    def label(self) -> str:
        """Short label for tables and headers."""
        return _STEP_LABELS[self]


_STEP_LABELS = {
    Step.DICOM: "DICOM",
    Step.RHINOMANOMETRY: "4PR",
    Step.GEOMETRY: "Geometry",
    Step.SIMULATION: "Simulation",
    Step.ANALYSIS: "Analysis",
}

_REQUIRED: Mapping[Step, tuple[Step, ...]] = {
    Step.DICOM: (),
    Step.RHINOMANOMETRY: (),
    Step.GEOMETRY: (Step.DICOM,),
    Step.SIMULATION: (Step.GEOMETRY,),
    Step.ANALYSIS: (Step.SIMULATION,),
}
# Inputs a step uses when present; when one changes after the step ran, the step is outdated.
_OPTIONAL: Mapping[Step, tuple[Step, ...]] = {
    Step.ANALYSIS: (Step.RHINOMANOMETRY,),
}


def required_inputs(step: Step) -> tuple[Step, ...]:
    """Steps that must be done before ``step`` can run.

    Examples
    --------
    >>> required_inputs(Step.SIMULATION)
    (<Step.GEOMETRY: 'geometry'>,)
    """
    return _REQUIRED[step]


def optional_inputs(step: Step) -> tuple[Step, ...]:
    """Steps whose outputs ``step`` uses when they exist (4PR for the analysis)."""
    return _OPTIONAL.get(step, ())


class StepStatus(enum.Enum):
    """The five states of the status legend."""

    NOT_POSSIBLE_YET = "not-possible-yet"
    POSSIBLE = "possible"
    IN_PROGRESS = "in-progress"
    DONE = "done"
    ERROR = "error"

    @property
    def label(self) -> str:
        """Words for the legend and tooltips."""
        return self.value.replace("-", " ")


class JobKind(enum.Enum):
    """The kinds of work the job runner executes; cluster profiles can be chosen per kind."""

    VOLUME_HISTOGRAM = "volume-histogram"
    SEGMENTATION = "segmentation"
    SIMULATION = "simulation"
    SWEEP = "sweep"

    @property
    def step(self) -> Step | None:
        """The workflow step whose outputs this kind of job produces; None for diagnostics.

        A diagnostics job (the CT histogram) writes auxiliary outputs only: it never colours a
        step nor changes a step's output.

        Examples
        --------
        >>> JobKind.SEGMENTATION.step, JobKind.VOLUME_HISTOGRAM.step
        (<Step.GEOMETRY: 'geometry'>, None)
        """
        return {JobKind.SEGMENTATION: Step.GEOMETRY, JobKind.SIMULATION: Step.SIMULATION,
                JobKind.SWEEP: Step.SIMULATION}.get(self)


class JobState(enum.Enum):
    """Life cycle of a job record."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    ERROR = "error"
    CANCELLED = "cancelled"

    @property
    def is_active(self) -> bool:
        """True while the job has not finished."""
        return self in (JobState.QUEUED, JobState.RUNNING)


@dataclasses.dataclass(frozen=True)
class StepOutput:
    """What a step has published: a digest of its artifacts and of the inputs it used.

    ``input_digests`` maps each input step to the output digest it had when this step ran.
    """

    digest: str
    input_digests: Mapping[Step, str]
    created: dt.datetime


@dataclasses.dataclass(frozen=True)
class StepJob:
    """The latest job record of a step."""

    state: JobState
    submitted: dt.datetime
    message: str = ""


@dataclasses.dataclass(frozen=True)
class StepState:
    """The derived status of one step, with a message for people.

    ``outdated`` is true when an output exists but its inputs changed after it was made.
    """

    step: Step
    status: StepStatus
    message: str = ""
    outdated: bool = False


def _derive_one(
    step: Step,
    output: StepOutput | None,
    job: StepJob | None,
    done: Mapping[Step, StepState],
    outputs: Mapping[Step, StepOutput],
) -> StepState:
    if job is not None and job.state.is_active:
        verb = "queued" if job.state is JobState.QUEUED else "running"
        return StepState(step, StepStatus.IN_PROGRESS, job.message or f"{step.label} is {verb}.")
    missing = [s for s in required_inputs(step) if done[s].status is not StepStatus.DONE]
    if missing:
        names = " and ".join(s.label for s in missing)
        reasons = "; ".join(
            f"{s.label} is {done[s].status.label}" + (" (outdated)" if done[s].outdated else "")
            for s in missing
        )
        return StepState(step, StepStatus.NOT_POSSIBLE_YET, f"Needs {names} first ({reasons}).")
    job_is_newer = job is not None and (output is None or job.submitted > output.created)
    if job_is_newer and job is not None and job.state is JobState.ERROR:
        return StepState(step, StepStatus.ERROR, job.message or f"The last {step.label} run failed.")
    if output is None:
        if job_is_newer and job is not None and job.state is JobState.CANCELLED:
            return StepState(step, StepStatus.POSSIBLE, f"The last {step.label} run was cancelled.")
        return StepState(step, StepStatus.POSSIBLE)
    changed = [
        s
        for s in (*required_inputs(step), *optional_inputs(step))
        if (outputs[s].digest if s in outputs else None) != output.input_digests.get(s)
    ]
    if changed:
        names = " and ".join(s.label for s in changed)
        return StepState(
            step,
            StepStatus.POSSIBLE,
            f"Outdated: {names} changed after {step.label} ran; run it again.",
            outdated=True,
        )
    return StepState(step, StepStatus.DONE)


def derive_statuses(
    outputs: Mapping[Step, StepOutput], jobs: Mapping[Step, StepJob]
) -> dict[Step, StepState]:
    """Derive every step's status from the published outputs and the latest jobs.

    Parameters
    ----------
    outputs
        The current output of each step that has one.
    jobs
        The most recently submitted job of each step that has one.

    Returns
    -------
    dict
        One :class:`StepState` per :class:`Step`, in workflow order.

    Examples
    --------
    >>> import datetime as dt
    >>> t = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    >>> states = derive_statuses({Step.DICOM: StepOutput("d1", {}, t)}, {})
    >>> states[Step.GEOMETRY].status
    <StepStatus.POSSIBLE: 'possible'>
    >>> states[Step.SIMULATION].message
    'Needs Geometry first (Geometry is possible).'
    """
    states: dict[Step, StepState] = {}
    for step in Step:  # declaration order is a topological order
        states[step] = _derive_one(step, outputs.get(step), jobs.get(step), states, outputs)
    return states
