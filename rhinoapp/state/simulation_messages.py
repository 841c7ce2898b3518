"""The Simulations page's message: what the open project's simulations stand at, and what to do next. No Panel."""

from __future__ import annotations

from rhinoapp.analysis.plausibility import PlausibilityFlag, Severity
from rhinoapp.analysis.ranges import results_summary
from rhinoapp.core.workflow import JobState
from rhinoapp.state.job_page import MessageKind
from rhinoapp.state.job_summary import JobSummary
from rhinoapp.state.session import Page
from rhinoapp.store.simulation_runs import SimulationRun

__all__ = ["simulations_message"]


def simulations_message(*, project_open: bool, has_geometry: bool, has_runs: bool, job: JobSummary | None,
                        result: SimulationRun | None, flags: list[PlausibilityFlag], load_error: str,
                        served: bool) -> tuple[str, MessageKind]:
    """The page's message and its kind, from what the page shows.

    Examples
    --------
    >>> simulations_message(project_open=True, has_geometry=True, has_runs=False, job=None, result=None, flags=[],
    ...                     load_error="", served=True)
    ('No simulation yet: choose the flow and resolution and press Run.', <MessageKind.INFO: 'info'>)
    """
    earlier = " The results shown are from an earlier run." if result is not None else ""
    if not project_open:
        return (f"No project is open: open one on the {Page.PROJECTS.value} page to simulate its airflow.",
                MessageKind.WARNING)
    if not has_geometry and not has_runs:
        return (f"This project has no airway geometry yet: segment the airway on the {Page.GEOMETRY.value} "
                "page first, then simulate it here.", MessageKind.WARNING)
    if job is not None and job.state.is_active:
        options = f" ({job.options})" if job.options else ""
        return f"Simulating the airflow{options}: {job.message or job.state.value}.", MessageKind.INFO
    if job is not None and job.state is JobState.ERROR:
        return f"The simulation failed: {job.message}{earlier}", MessageKind.ERROR
    if job is not None and job.state is JobState.CANCELLED and (result is None or result.job_id != job.id):
        return f"The simulation was cancelled. Press Run to start it again.{earlier}", MessageKind.INFO
    if load_error:
        return load_error, MessageKind.ERROR
    if result is None:
        hint = "choose the flow and resolution and press Run." if served else \
            "simulations run in the served app (rhinoapp serve)."
        return f"No simulation yet: {hint}", MessageKind.INFO
    if result.outdated:
        return "The airway geometry changed after this run: press Run to simulate it again.", MessageKind.WARNING
    used = f" Options: {job.options}." if job is not None and job.options and result.job_id == job.id else ""
    if flags:
        worst = "implausible" if any(f.severity is Severity.IMPLAUSIBLE for f in flags) else "doubtful"
        count = f"{len(flags)} figure{'s' if len(flags) != 1 else ''}"
        return (f"Run {result.run_id}: {results_summary(result.results)}. {count} of this run "
                f"{'are' if len(flags) != 1 else 'is'} {worst}: "
                + " ".join(f"{flag.message[0].upper()}{flag.message[1:]}" for flag in flags) + used, MessageKind.WARNING)
    return f"Run {result.run_id}: {results_summary(result.results)}.{used}", MessageKind.SUCCESS
