"""State of the Jobs page: the user's recent jobs with live progress, submit and cancel."""

from __future__ import annotations

from typing import Any

import param

from rhinoapp.core.errors import RhinoappError
from rhinoapp.core.workflow import JobKind, JobState
from rhinoapp.jobs.events import JobEvent
from rhinoapp.state.job_page import MessageKind, PageState
from rhinoapp.state.job_summary import (
    KIND_LABELS,
    JobSummary,
    cancel_job,
    current_summary,
    describe_estimate,
    summarise,
)
from rhinoapp.state.session import Page
from rhinoapp.store.jobs import JobRecord

__all__ = ["JobSummary", "JobsState", "cancel_job", "current_summary", "describe_estimate", "summarise"]


class JobsState(PageState):
    """Everything the Jobs page shows and does, without any widget.

    The rows follow the user's job events while the page is shown (see :mod:`rhinoapp.state.job_page`):
    a progress report updates the rows from the runner's memory, any other change reads the records.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store import open_store, ProjectRepository
    >>> from rhinoapp.state.session import SessionState
    >>> repo = ProjectRepository(open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))), owner="local")
    >>> jobs = JobsState(session=SessionState(repository=repo))
    >>> jobs.refresh(); jobs.rows
    []
    """

    page = Page.JOBS
    project_scoped = False

    rows = param.List(default=[], item_type=JobSummary, doc="Recent jobs, newest first.")
    can_submit = param.Boolean(default=False, doc="A project is open and a runner is available.")
    limit = param.Integer(default=30, bounds=(1, 500), doc="How many recent jobs to list.")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._records: list[JobRecord] = []

    @param.depends("session.current_project_id", watch=True, on_init=True)
    def _update_can_submit(self) -> None:
        self.can_submit = self.session.runner is not None and self.session.current_project_id is not None

    def refresh(self) -> None:
        """Re-read the records and merge the runner's live progress; only changes trigger events."""
        runner = self.session.runner
        if runner is None:
            return
        self._records = runner.records.recent(owner=self.session.user, limit=self.limit)
        self._progressed()

    def _refresh_now(self) -> None:
        self.refresh()

    def _is_progress(self, event: JobEvent) -> bool:
        return event.state is JobState.RUNNING and any(
            r.id == event.job_id and r.state is JobState.RUNNING for r in self._records)

    def _progressed(self) -> None:
        rows = [current_summary(self.session, record) for record in self._records]
        if rows != self.rows:
            self.rows = rows

    async def submit(self, kind: JobKind = JobKind.VOLUME_HISTOGRAM, parameters: dict | None = None) -> None:
        """Submit a job of ``kind`` on the current project; problems go to ``message``."""
        runner, project_id = self.session.runner, self.session.current_project_id
        if runner is None or project_id is None:
            self._say("Open a project on the Projects page first; jobs run on the open project.", MessageKind.ERROR)
            return
        try:
            record = await runner.submit(owner=self.session.user, project_id=project_id, kind=kind,
                                         parameters=parameters)
        except RhinoappError as error:
            self._say(f"The job could not start: {error}", MessageKind.ERROR)
        else:
            if record.waiting:
                self._say(f"{KIND_LABELS[kind]} for {record.project_name} {record.message}.", MessageKind.INFO)
            else:
                self._say(f"{KIND_LABELS[kind]} submitted for {record.project_name}.", MessageKind.SUCCESS)
        self.refresh()

    async def cancel(self, job_id: str) -> None:
        """Cancel one of the user's jobs."""
        if self.session.runner is None:
            return
        try:
            record = await self.session.runner.cancel(job_id, owner=self.session.user)
        except RhinoappError as error:
            self._say(f"Could not cancel: {error}", MessageKind.ERROR)
        else:
            self._say(f"Job on {record.project_name} cancelled.", MessageKind.INFO)
        self.refresh()
