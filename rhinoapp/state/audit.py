"""The audit page's state: filters, the matching events and their CSV; admins only."""

from __future__ import annotations

import datetime as dt

import param

from rhinoapp.core.access import AuditAction
from rhinoapp.core.errors import PermissionDeniedError
from rhinoapp.state.session import SessionState
from rhinoapp.store.accounts import AccountStore
from rhinoapp.store.audit import AuditEvent, AuditLog, AuditQuery

__all__ = ["AuditState"]

_ACTIONS: tuple[str, ...] = ("", *(a.value for a in AuditAction))


class AuditState(param.Parameterized):
    """Filtered audit events for an admin; anyone else gets :class:`PermissionDeniedError`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store import ProjectRepository, open_store
    >>> store = open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp())))
    >>> _ = AccountStore(store).add("root", "a long password", admin=True)
    >>> state = AuditState(session=SessionState(repository=ProjectRepository(store, owner="root")))
    >>> AuditLog(store).record("ana", AuditAction.LOGIN)
    >>> state.user = "ana"; [e.action.value for e in state.events]
    ['login']
    """

    session = param.ClassSelector(class_=SessionState, constant=True)
    user = param.String(default="", doc="Only this user's events (empty: everyone's).")
    action: param.Selector[str] = param.Selector(objects=list(_ACTIONS), default="", doc="Only this action.")
    project_id = param.String(default="", doc="Only this project's events.")
    days = param.Integer(default=30, bounds=(1, 3650), doc="Events of the last so many days.")
    events = param.List(default=[], item_type=AuditEvent)

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self.refresh()

    @property
    def allowed(self) -> bool:
        """Whether the session's user is an enabled admin."""
        account = AccountStore(self.session.repository.store).get(self.session.user)
        return account is not None and account.admin and not account.disabled

    def _query(self) -> AuditQuery:
        if not self.allowed:
            raise PermissionDeniedError("Only administrators see the audit log: ask one to grant you the role.")
        since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=self.days)
        return AuditQuery(user=self.user.strip(), action=AuditAction(self.action) if self.action else None,
                          project_id=self.project_id.strip(), since=since)

    @param.depends("user", "action", "project_id", "days", watch=True)
    def refresh(self) -> None:
        """Read the events matching the filters (none for a non-admin)."""
        self.events = AuditLog(self.session.repository.store).events(self._query()) if self.allowed else []

    def csv(self) -> str:
        """The matching events as CSV."""
        return AuditLog(self.session.repository.store).csv(self._query())
