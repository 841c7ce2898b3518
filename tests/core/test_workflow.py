"""Status derivation as a decision table, over every step and every combination of evidence."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from rhinoapp.core.workflow import (
    JobState,
    Step,
    StepJob,
    StepOutput,
    StepStatus,
    derive_statuses,
    optional_inputs,
    required_inputs,
)

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
S = StepStatus


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def ancestors(step: Step) -> list[Step]:
    """Transitive required inputs, upstream first."""
    chain: list[Step] = []
    for parent in required_inputs(step):
        chain = [*ancestors(parent), parent, *chain]
    return list(dict.fromkeys(chain))


def fresh_chain(steps: list[Step], outputs: dict[Step, StepOutput]) -> None:
    """Give each step an output made from the current outputs of its inputs."""
    for step in steps:
        inputs = {s: outputs[s].digest for s in (*required_inputs(step), *optional_inputs(step)) if s in outputs}
        outputs[step] = StepOutput(f"{step.value}-v1", inputs, at(0))


# ---- the decision table ---------------------------------------------------------------------
OUTPUT_KINDS = ("none", "fresh", "stale")
JOB_KINDS = ("none", "queued", "running", "done-newer", "error-newer", "error-older", "cancelled-newer", "cancelled-older")


def expected(inputs_done: bool, output: str, job: str) -> tuple[StepStatus, bool]:
    """The rules, in priority order, written as a table: (status, outdated)."""
    if job in ("queued", "running"):
        return S.IN_PROGRESS, False
    if not inputs_done:
        return S.NOT_POSSIBLE_YET, False
    if job == "error-newer" or (job == "error-older" and output == "none"):
        return S.ERROR, False
    if output == "none":
        return S.POSSIBLE, False
    if output == "stale":
        return S.POSSIBLE, True
    return S.DONE, False


CASES = [
    (step, inputs_done, output, job)
    for step in Step
    for inputs_done in ((True, False) if required_inputs(step) else (True,))
    # a step without inputs cannot go stale through them
    for output, job in itertools.product(OUTPUT_KINDS if required_inputs(step) else OUTPUT_KINDS[:2], JOB_KINDS)
]


@pytest.mark.parametrize(("step", "inputs_done", "output", "job"), CASES,
                         ids=[f"{c[0].value}-inputs{'done' if c[1] else 'missing'}-{c[2]}-{c[3]}" for c in CASES])
def test_decision_table(step: Step, inputs_done: bool, output: str, job: str) -> None:
    outputs: dict[Step, StepOutput] = {}
    upstream = ancestors(step)
    fresh_chain(upstream if inputs_done else upstream[:-1], outputs)
    if output != "none":
        current = {s: outputs[s].digest for s in required_inputs(step) if s in outputs}
        recorded = current if output == "fresh" else {s: "old-digest" for s in required_inputs(step)}
        outputs[step] = StepOutput(f"{step.value}-v1", recorded, at(10))
    jobs = {}
    if job != "none":
        state = JobState(job.split("-")[0])
        when = at(20) if job.endswith("newer") or job in ("queued", "running") else at(5)
        jobs[step] = StepJob(state, when, "boom" if state is JobState.ERROR else "")
    result = derive_statuses(outputs, jobs)[step]
    want_status, want_outdated = expected(inputs_done, output, job)
    assert (result.status, result.outdated) == (want_status, want_outdated)
    if result.status is S.ERROR:
        assert result.message == "boom"
    if result.status is S.NOT_POSSIBLE_YET:
        assert required_inputs(step)[0].label in result.message


def test_every_step_and_status_is_covered() -> None:
    seen = {(c[0], expected(c[1], c[2], c[3])[0]) for c in CASES}
    assert {s for s, _ in seen} == set(Step)
    assert {st for _, st in seen} == set(StepStatus)


# ---- named scenarios of a whole project -----------------------------------------------------
def test_new_project() -> None:
    states = derive_statuses({}, {})
    assert {s: st.status for s, st in states.items()} == {
        Step.DICOM: S.POSSIBLE, Step.RHINOMANOMETRY: S.POSSIBLE, Step.GEOMETRY: S.NOT_POSSIBLE_YET,
        Step.SIMULATION: S.NOT_POSSIBLE_YET, Step.ANALYSIS: S.NOT_POSSIBLE_YET,
    }
    assert states[Step.GEOMETRY].message == "Needs DICOM first (DICOM is possible)."


def test_rhinomanometry_is_independent_of_imaging() -> None:
    outputs = {Step.RHINOMANOMETRY: StepOutput("r1", {}, at(0))}
    assert derive_statuses(outputs, {})[Step.RHINOMANOMETRY].status is S.DONE
    assert derive_statuses(outputs, {})[Step.GEOMETRY].status is S.NOT_POSSIBLE_YET


def test_changed_dicom_outdates_geometry_and_blocks_simulation() -> None:
    outputs: dict[Step, StepOutput] = {}
    fresh_chain([Step.DICOM, Step.GEOMETRY, Step.SIMULATION, Step.ANALYSIS], outputs)
    assert all(st.status is S.DONE for s, st in derive_statuses(outputs, {}).items() if s is not Step.RHINOMANOMETRY)
    outputs[Step.DICOM] = StepOutput("dicom-v2", {}, at(30))  # re-imported CT
    states = derive_statuses(outputs, {})
    assert (states[Step.GEOMETRY].status, states[Step.GEOMETRY].outdated) == (S.POSSIBLE, True)
    assert "DICOM changed" in states[Step.GEOMETRY].message
    assert states[Step.SIMULATION].status is S.NOT_POSSIBLE_YET
    assert "outdated" in states[Step.SIMULATION].message
    assert states[Step.ANALYSIS].status is S.NOT_POSSIBLE_YET


def test_new_rhinomanometry_outdates_the_analysis() -> None:
    outputs: dict[Step, StepOutput] = {}
    fresh_chain([Step.DICOM, Step.GEOMETRY, Step.SIMULATION, Step.RHINOMANOMETRY, Step.ANALYSIS], outputs)
    assert derive_statuses(outputs, {})[Step.ANALYSIS].status is S.DONE
    outputs[Step.RHINOMANOMETRY] = StepOutput("4pr-v2", {}, at(30))
    analysis = derive_statuses(outputs, {})[Step.ANALYSIS]
    assert (analysis.status, analysis.outdated) == (S.POSSIBLE, True)
    assert "4PR" in analysis.message


def test_rhinomanometry_added_after_analysis_outdates_it() -> None:
    outputs: dict[Step, StepOutput] = {}
    fresh_chain([Step.DICOM, Step.GEOMETRY, Step.SIMULATION, Step.ANALYSIS], outputs)
    outputs[Step.RHINOMANOMETRY] = StepOutput("4pr-v1", {}, at(30))
    assert derive_statuses(outputs, {})[Step.ANALYSIS].outdated


def test_failed_rerun_shows_error_until_a_newer_output() -> None:
    outputs: dict[Step, StepOutput] = {}
    fresh_chain([Step.DICOM, Step.GEOMETRY], outputs)
    jobs = {Step.GEOMETRY: StepJob(JobState.ERROR, at(20), "Segmentation found no air below -550 HU.")}
    assert derive_statuses(outputs, jobs)[Step.GEOMETRY].status is S.ERROR
    outputs[Step.GEOMETRY] = StepOutput("geometry-v2", {Step.DICOM: "dicom-v1"}, at(40))
    assert derive_statuses(outputs, jobs)[Step.GEOMETRY].status is S.DONE


def test_running_job_wins_over_missing_inputs() -> None:
    jobs = {Step.SIMULATION: StepJob(JobState.RUNNING, at(1), "step 1200 of 12000")}
    state = derive_statuses({}, jobs)[Step.SIMULATION]
    assert (state.status, state.message) == (S.IN_PROGRESS, "step 1200 of 12000")


def test_only_workflow_jobs_have_a_step() -> None:
    from rhinoapp.core.workflow import JobKind

    assert JobKind.SEGMENTATION.step is Step.GEOMETRY and JobKind.SIMULATION.step is Step.SIMULATION
    assert JobKind.VOLUME_HISTOGRAM.step is None  # diagnostics never colour a step
