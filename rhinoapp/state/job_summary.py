"""Jobs as people read them: one summary per job (live progress merged in), durations, estimates, cancel."""

from __future__ import annotations

import dataclasses
import logging

from rhinoapp.cfd.estimate import ResourceEstimate
from rhinoapp.core.errors import RhinoappError
from rhinoapp.core.progress import format_duration
from rhinoapp.core.workflow import JobKind, JobState
from rhinoapp.jobs.runner import LiveProgress
from rhinoapp.jobs.wording import describe_options
from rhinoapp.state.session import SessionState
from rhinoapp.store.jobs import JobRecord

__all__ = ["KIND_LABELS", "JobSummary", "cancel_job", "current_summary", "describe_estimate", "summarise"]

_log = logging.getLogger(__name__)
#: The kinds of job in words.
KIND_LABELS = {JobKind.VOLUME_HISTOGRAM: "CT volume check", JobKind.SEGMENTATION: "Airway segmentation",
                JobKind.SIMULATION: "Airflow simulation", JobKind.SWEEP: "Flow sweep"}


def _size(size_bytes: int) -> str:
    return f"{size_bytes / 1e6:.0f} MB" if size_bytes < 1e9 else f"{size_bytes / 1e9:.1f} GB"


def describe_estimate(estimate: ResourceEstimate, *, resolution_mm: float, flow_ml_s: float) -> str:
    """The estimate as one sentence.

    Examples
    --------
    >>> e = ResourceEstimate(fluid_cells=40_081, grid_voxels=604_656, steps=23_124, memory_bytes=55_344_152,
    ...                      device_memory_bytes=0, backend="numba", mlups=40.0, seconds=23.2)
    >>> describe_estimate(e, resolution_mm=1.0, flow_ml_s=250.0)
    'At 1 mm and 250 ml/s: about 23 s and 55 MB of memory (40,081 fluid cells, 23,124 steps, numba at 40 MLUPS).'

    A large run starts from its solution at twice the spacing (a coarse start), which the sentence says:

    >>> e = dataclasses.replace(e, fluid_cells=456_652, steps=10_390, coarse_cell_updates=593_000_000, seconds=290.0)
    >>> describe_estimate(e, resolution_mm=0.5, flow_ml_s=250.0)
    'At 0.5 mm and 250 ml/s: about 4 min 50 s and 55 MB of memory (456,652 fluid cells, 10,390 steps after a first solution at 1 mm, numba at 40 MLUPS).'

    The fewest steps the run can take (a flow steady as soon as it is ramped up), where known, give the shortest time:

    >>> e = dataclasses.replace(e, coarse_cell_updates=0, steps=24_000, least_steps=14_000, seconds=274.0)
    >>> describe_estimate(e, resolution_mm=0.75, flow_ml_s=250.0)[:92]
    'At 0.75 mm and 250 ml/s: about 4 min 34 s (at least 2 min 40 s, if the flow settles at once)'
    """
    memory = f"{_size(estimate.memory_bytes)} of memory"
    if estimate.device_memory_bytes:
        memory += f" and {_size(estimate.device_memory_bytes)} of GPU memory"
    duration = "under a second" if estimate.seconds < 1 else format_duration(estimate.seconds)
    sooner = estimate.sooner_seconds()  # a flow steady as soon as it is ramped up stops there
    if sooner is not None:
        duration += f" (at least {format_duration(sooner)}, if the flow settles at once)"
    coarse = f" after a first solution at {2 * resolution_mm:g} mm" if estimate.coarse_cell_updates else ""
    return (f"At {resolution_mm:g} mm and {flow_ml_s:g} ml/s: about {duration} and {memory} ({estimate.fluid_cells:,} "
            f"fluid cells, {estimate.steps:,} steps{coarse}, {estimate.backend} at {estimate.mlups:g} MLUPS).")


@dataclasses.dataclass(frozen=True)
class JobSummary:
    """One row of the Jobs table, with the live progress merged in; ``options`` are the job's options in words."""

    id: str
    project: str
    what: str
    state: JobState
    progress: float
    message: str
    eta: str
    duration: str
    where: str
    submitted: str
    options: str = ""

    @property
    def cancellable(self) -> bool:
        """Whether Cancel applies."""
        return self.state.is_active


def summarise(record: JobRecord, live: LiveProgress | None = None) -> JobSummary:
    """A job record as people read it, with the runner's live progress (newer than the record) merged in."""
    progress = live.fraction if live else record.progress
    message = live.message if live else (record.message or record.progress_report.message)
    eta = live.eta_s if live else record.eta_s
    return JobSummary(
        id=record.id, project=record.project_name,
        what=KIND_LABELS.get(record.kind, record.kind.value) if record.kind else "job",
        state=record.state, progress=progress, message=message,
        eta=f"about {format_duration(eta)} left" if eta is not None and eta >= 1 and record.state.is_active else "",
        duration=format_duration(record.duration_s), where=record.where or record.profile,
        submitted=record.submitted_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
        options=describe_options(record.parameters),
    )


def current_summary(session: SessionState, record: JobRecord | None) -> JobSummary | None:
    """``record`` summarised with the live progress of the session's runner (None stays None)."""
    if record is None:
        return None
    runner = session.runner
    return summarise(record, runner.live(record.id) if runner is not None and record.state.is_active else None)


async def cancel_job(session: SessionState, job: JobSummary | None) -> str:
    """Cancel ``job`` for the session's user; returns a message for the user when it failed, else ''."""
    if session.runner is None or job is None or not job.cancellable:
        return ""
    try:
        await session.runner.cancel(job.id, owner=session.user)
    except RhinoappError as error:
        return f"Could not cancel: {error}"
    return ""
