"""Job records of the job runner: what runs where, its progress, and how it ended.

The runner (a server-wide service) updates records by id; reads for people are scoped to an
owner, so a user sees only the jobs of the projects they may read (:mod:`rhinoapp.store.access`), and
creates or cancels only those of the projects they may change.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rhinoapp.core.errors import NotFoundError, PermissionDeniedError
from rhinoapp.core.progress import ProgressReport
from rhinoapp.core.workflow import JobKind, JobState
from rhinoapp.store.access import can_read, can_write
from rhinoapp.store.database import Store
from rhinoapp.store.models import JobRow, ProjectRow, utcnow

_log = logging.getLogger(__name__)

__all__ = ["JobRecord", "JobStore", "queued_message"]

_RUNTIME_FIELDS = ("task_key", "scheduler_address", "worker_host", "slurm_job_id", "attempt", "profile")


@dataclasses.dataclass(frozen=True)
class JobRecord:
    """One job as the store knows it."""

    id: str
    project_id: str
    project_name: str
    owner: str
    kind: JobKind | None
    state: JobState
    submitted_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    message: str
    profile: str
    task_key: str
    scheduler_address: str
    worker_host: str
    slurm_job_id: str
    progress: float
    progress_message: str
    eta_s: float | None
    attempt: int
    parameters: Mapping[str, Any]
    progress_report: ProgressReport = ProgressReport(0.0)
    """The latest progress as numbers (its fraction and time left are ``progress`` and ``eta_s``)."""
    submitted_by: str = ""
    """The user who submitted it (whose job limit it counts against)."""
    waiting: bool = False
    """Queued behind the submitter's limit of concurrent jobs: it starts when one of their jobs ends."""

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to finish (or to now while running); ``None`` before it starts."""
        if self.started_at is None:
            return None
        end = self.finished_at or utcnow()
        return max(0.0, (end - self.started_at).total_seconds())

    @property
    def where(self) -> str:
        """Where it ran, for people: the host and the Slurm job when there was one."""
        if self.slurm_job_id:
            return f"{self.worker_host} (Slurm job {self.slurm_job_id})"
        return self.worker_host


class JobStore:
    """Create, update and list job records.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store import open_store
    >>> from rhinoapp.store.repository import ProjectRepository
    >>> store = open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp())))
    >>> project = ProjectRepository(store, owner="ana").create("Case 1")
    >>> jobs = JobStore(store)
    >>> job = jobs.create(owner="ana", project_id=project.id, kind=JobKind.VOLUME_HISTOGRAM, profile="local")
    >>> jobs.set_state(job.id, JobState.RUNNING)
    True
    >>> jobs.update(job.id, progress_report=ProgressReport(0.5, step=8, total=16))
    >>> [(r.state.value, r.progress, r.progress_report.step) for r in jobs.recent(owner="ana")]
    [('running', 0.5, 8)]
    >>> jobs.recent(owner="bob")
    []
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    def _session(self) -> Session:
        return Session(self._store.engine, expire_on_commit=False)

    def _write_session(self) -> Session:
        return Session(self._store.write_engine, expire_on_commit=False)

    def create(self, *, owner: str, project_id: str, kind: JobKind, profile: str,
               parameters: Mapping[str, Any] | None = None, limit: int | None = None) -> JobRecord:
        """A new queued record for a job of ``kind`` that user ``owner`` submits on a project they may change.

        With ``limit``, the record is ``waiting`` when ``owner`` already has that many jobs started
        (active and not waiting): counted and written in one write transaction, so concurrent
        submissions (threads or processes) never start more than ``limit``.
        """
        with self._write_session() as session, session.begin():
            project = session.scalar(sa.select(ProjectRow).where(ProjectRow.id == project_id, can_read(owner)))
            if project is None:
                raise NotFoundError(f"No project with id {project_id!r} for user {owner!r}: refresh the project list.")
            if session.scalar(sa.select(ProjectRow.id).where(ProjectRow.id == project_id, can_write(owner))) is None:
                raise PermissionDeniedError(f'Project "{project.name}" is shared with {owner} read-only: ask its owner '
                                            f"({project.owner}) for the editor role to run jobs.")
            started = self._started(session, owner)
            waiting = limit is not None and started >= limit
            message = queued_message(started) if waiting else ""
            row = JobRow(id=uuid.uuid4().hex, project_id=project_id, step=kind.step.value if kind.step else "", state=JobState.QUEUED.value,
                         submitted_at=utcnow(), message=message, kind=kind.value, profile=profile, progress=0.0,
                         progress_message=message or "queued", attempt=0, parameters=json.dumps(dict(parameters or {}), sort_keys=True),
                         task_key="", scheduler_address="", worker_host="", slurm_job_id="", submitted_by=owner,
                         waiting=waiting)
            session.add(row)
        return self.get(row.id)

    def set_state(self, job_id: str, state: JobState, *, message: str = "") -> bool:
        """Move a record to ``state``; sets the start and finish times. Returns whether it moved.

        A finished record (done, error, cancelled) never becomes active again: a late "running"
        from a worker that raced a cancel is ignored.
        """
        with self._write_session() as session, session.begin():
            row = self._row(session, job_id)
            if state.is_active and not JobState(row.state).is_active:
                _log.debug("job %s stays %s (a late %s was ignored)", job_id, row.state, state.value)
                return False
            now = utcnow()
            if state is JobState.RUNNING and row.started_at is None:
                row.started_at = now
            if not state.is_active:
                row.finished_at = now
                row.eta_s = None
                if state is JobState.DONE:
                    row.progress = 1.0
            row.state, row.message = state.value, message
        return True

    def update(self, job_id: str, *, progress_report: ProgressReport | None = None, **fields: Any) -> None:
        """Set runtime fields: where it runs, and its progress.

        ``progress_report`` stores the report's numbers (JSON) and sets ``progress``, ``eta_s`` and
        ``progress_message`` (its words, for older readers) from it.
        """
        allowed = set(_RUNTIME_FIELDS)
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"cannot update job field(s) {sorted(unknown)}; allowed: {sorted(allowed)}"
                             " and progress_report")
        if progress_report is not None:
            fields.update(progress=progress_report.fraction, eta_s=progress_report.eta_s,
                          progress_message=progress_report.message,
                          progress_data=json.dumps(progress_report.to_dict(), sort_keys=True))
        with self._write_session() as session, session.begin():
            row = self._row(session, job_id)
            for key, value in fields.items():
                setattr(row, key, value)

    def get(self, job_id: str, *, owner: str | None = None, writable: bool = False) -> JobRecord:
        """One record; with ``owner``, only if that user may read its project (``writable``: change it)."""
        query = sa.select(JobRow, ProjectRow).join(ProjectRow).where(JobRow.id == job_id)
        if owner is not None:
            query = query.where(can_read(owner))
        with self._session() as session:
            found = session.execute(query).first()
            if found is not None and owner is not None and writable and session.scalar(
                    sa.select(ProjectRow.id).where(ProjectRow.id == found[1].id, can_write(owner))) is None:
                raise PermissionDeniedError(f"The job's project is shared with {owner} read-only: ask its owner "
                                            f"({found[1].owner}) to cancel it.")
        if found is None:
            raise NotFoundError(f"No job {job_id!r}{f' for user {owner!r}' if owner else ''}: refresh the jobs list.")
        return _record(*found)

    def recent(self, *, owner: str, limit: int = 50, project_id: str | None = None) -> list[JobRecord]:
        """The owner's latest jobs, newest first."""
        query = (sa.select(JobRow, ProjectRow).join(ProjectRow).where(can_read(owner))
                 .order_by(JobRow.submitted_at.desc()).limit(limit))
        if project_id is not None:
            query = query.where(JobRow.project_id == project_id)
        with self._session() as session:
            return [_record(*row) for row in session.execute(query)]

    def active(self) -> list[JobRecord]:
        """Every queued or running record, of every user (for the runner's reconciliation)."""
        states = [s.value for s in JobState if s.is_active]
        query = sa.select(JobRow, ProjectRow).join(ProjectRow).where(JobRow.state.in_(states))
        with self._session() as session:
            return [_record(*row) for row in session.execute(query)]

    def admit(self, user: str, *, limit: int) -> list[JobRecord]:
        """Take ``user``'s oldest waiting jobs off the queue while they have fewer than ``limit`` started.

        Returns the admitted records (no longer ``waiting``, still queued), oldest first; the caller
        starts them. One write transaction: two callers never admit the same job or more than the limit.
        """
        with self._write_session() as session, session.begin():
            free = limit - self._started(session, user)
            if free <= 0:
                return []
            rows = session.scalars(sa.select(JobRow).where(
                JobRow.submitted_by == user, JobRow.state == JobState.QUEUED.value, JobRow.waiting.is_(True))
                .order_by(JobRow.submitted_at, JobRow.id).limit(free)).all()
            for row in rows:
                row.waiting, row.message, row.progress_message = False, "", "queued"
            admitted = [row.id for row in rows]
        return [self.get(job_id) for job_id in admitted]

    def waiting_users(self) -> list[str]:
        """The users who have jobs waiting behind their limit."""
        query = (sa.select(JobRow.submitted_by).distinct()
                 .where(JobRow.state == JobState.QUEUED.value, JobRow.waiting.is_(True)).order_by(JobRow.submitted_by))
        with self._session() as session:
            return list(session.scalars(query))

    @staticmethod
    def _started(session: Session, user: str) -> int:
        """How many of ``user``'s jobs are active and not waiting (submitted to a cluster, or running)."""
        states = [s.value for s in JobState if s.is_active]
        return int(session.scalar(sa.select(sa.func.count()).select_from(JobRow).where(
            JobRow.submitted_by == user, JobRow.state.in_(states), JobRow.waiting.is_(False))) or 0)

    @staticmethod
    def _row(session: Session, job_id: str) -> JobRow:
        row = session.get(JobRow, job_id)
        if row is None:
            raise NotFoundError(f"No job {job_id!r}: it may have been deleted with its project.")
        return row


def _record(row: JobRow, project: ProjectRow) -> JobRecord:
    try:
        kind = JobKind(row.kind) if row.kind else None
    except ValueError:
        kind = None
    return JobRecord(
        id=row.id, project_id=row.project_id, project_name=project.name, owner=project.owner, kind=kind,
        state=JobState(row.state), submitted_at=row.submitted_at, started_at=row.started_at,
        finished_at=row.finished_at, message=row.message or "", profile=row.profile or "",
        task_key=row.task_key or "", scheduler_address=row.scheduler_address or "",
        worker_host=row.worker_host or "", slurm_job_id=row.slurm_job_id or "", progress=float(row.progress or 0.0),
        progress_message=row.progress_message or "", eta_s=row.eta_s, attempt=int(row.attempt or 0),
        parameters=json.loads(row.parameters or "{}"), progress_report=_progress_report(row),
        submitted_by=row.submitted_by or "", waiting=bool(row.waiting) and JobState(row.state) is JobState.QUEUED,
    )


def queued_message(started: int) -> str:
    """What a user reads about a job queued behind their limit of concurrent jobs.

    Examples
    --------
    >>> queued_message(2)
    'queued: you have 2 jobs running; it starts when one ends'
    """
    return f"queued: you have {started} job{'s' if started != 1 else ''} running; it starts when one ends"


def _progress_report(row: JobRow) -> ProgressReport:
    """The stored report; a record written before reports were stored gives its words as the stage."""
    try:
        data = json.loads(row.progress_data or "{}")
    except ValueError:
        data = {}
    fraction = float(row.progress or 0.0)
    if isinstance(data, dict) and data:
        return dataclasses.replace(ProgressReport.from_dict(data), fraction=fraction, eta_s=row.eta_s)
    return ProgressReport(fraction, stage=row.progress_message or "", eta_s=row.eta_s)
