"""The append-only audit log: who did what to which project, when, and whether it was allowed.

Events name projects by id only and carry no free text (project names, descriptions and file names
may hold patient data). On SQLite, triggers refuse any UPDATE or DELETE of the table; this module
only appends and reads.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rhinoapp.core.access import AuditAction, AuditOutcome
from rhinoapp.store.database import Store
from rhinoapp.store.models import AuditRow, utcnow

__all__ = ["AuditEvent", "AuditLog", "AuditQuery"]

_log = logging.getLogger(__name__)
_COLUMNS = ("at", "user", "action", "outcome", "project_id", "detail", "remote")


@dataclasses.dataclass(frozen=True)
class AuditEvent:
    """One recorded event (``detail`` is a word from a closed set, e.g. a job kind or a role)."""

    at: dt.datetime
    user: str
    action: AuditAction
    outcome: AuditOutcome
    project_id: str = ""
    detail: str = ""
    remote: str = ""


@dataclasses.dataclass(frozen=True)
class AuditQuery:
    """Filters of the audit page; empty ones match everything."""

    user: str = ""
    action: AuditAction | None = None
    project_id: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    limit: int = 1000


class AuditLog:
    """Append events, read them back filtered, export them as CSV.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store.database import open_store
    >>> log = AuditLog(open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))))
    >>> log.record("ana", AuditAction.LOGIN, AuditOutcome.FAILURE, remote="127.0.0.1")
    >>> [(e.user, e.action.value, e.outcome.value) for e in log.events(AuditQuery(user="ana"))]
    [('ana', 'login', 'failure')]
    >>> log.csv(AuditQuery()).splitlines()[0]
    'at,user,action,outcome,project_id,detail,remote'
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    def record(self, user: str, action: AuditAction, outcome: AuditOutcome = AuditOutcome.SUCCESS, *,
               project_id: str = "", detail: str = "", remote: str = "") -> None:
        """Append one event (``detail`` must be a fixed word, never user-typed text)."""
        with Session(self._store.write_engine) as session, session.begin():
            session.add(AuditRow(at=utcnow(), user_name=user[:200], action=action.value, outcome=outcome.value,
                                 project_id=project_id[:32], detail=detail[:200], remote=remote[:64]))
        _log.debug("audit: %s %s %s %s", user, action.value, outcome.value, project_id)

    def events(self, query: AuditQuery) -> list[AuditEvent]:
        """The matching events, newest first."""
        statement = sa.select(AuditRow).order_by(AuditRow.id.desc()).limit(query.limit)
        if query.user:
            statement = statement.where(AuditRow.user_name == query.user)
        if query.action is not None:
            statement = statement.where(AuditRow.action == query.action.value)
        if query.project_id:
            statement = statement.where(AuditRow.project_id == query.project_id)
        if query.since is not None:
            statement = statement.where(AuditRow.at >= query.since)
        if query.until is not None:
            statement = statement.where(AuditRow.at < query.until)
        with Session(self._store.engine) as session:
            return [AuditEvent(r.at, r.user_name, AuditAction(r.action), AuditOutcome(r.outcome), r.project_id,
                               r.detail, r.remote) for r in session.scalars(statement)]

    def csv(self, query: AuditQuery) -> str:
        """The matching events as CSV with a header row."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(_COLUMNS)
        for e in self.events(query):
            writer.writerow([e.at.isoformat(), e.user, e.action.value, e.outcome.value, e.project_id, e.detail, e.remote])
        return buffer.getvalue()
