"""Sharing a project with named users, or with groups, as viewer or editor; only its owner (or an admin) may.

A group share reaches every account whose groups (:class:`~rhinoapp.store.accounts.Account`: from
the identity provider at login, or set on the Users page) include the group, now and later; removing
the share, or the account from the group, ends that access.
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rhinoapp.core.access import AuditAction, Role
from rhinoapp.core.errors import NotFoundError, ValidationError
from rhinoapp.store.accounts import AccountStore, validate_group_name, validate_user_name
from rhinoapp.store.audit import AuditLog
from rhinoapp.store.database import Store
from rhinoapp.store.models import GroupShareRow, ShareRow, utcnow
from rhinoapp.store.repository import ProjectRepository

__all__ = ["Share", "SharingService"]


@dataclasses.dataclass(frozen=True)
class Share:
    """One user's (or, with ``group``, one group's) role on one project."""

    project_id: str
    user: str
    role: Role
    group: bool = False


class SharingService:
    """Shares of the projects ``repository``'s user manages.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store.database import open_store
    >>> store = open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp())))
    >>> project = ProjectRepository(store, owner="ana").create("Case 1")
    >>> SharingService(ProjectRepository(store, owner="ana")).share(project.id, "bob", Role.VIEWER).role.value
    'viewer'
    >>> [p.name for p in ProjectRepository(store, owner="bob").list_projects()]
    ['Case 1']
    >>> SharingService(ProjectRepository(store, owner="ana")).unshare(project.id, "bob")
    >>> ProjectRepository(store, owner="bob").list_projects()
    []
    >>> _ = SharingService(ProjectRepository(store, owner="ana")).share(project.id, "ent", Role.EDITOR, group=True)
    >>> [(s.user, s.group) for s in SharingService(ProjectRepository(store, owner="ana")).shares(project.id)]
    [('ent', True)]
    """

    def __init__(self, repository: ProjectRepository) -> None:
        self._repo = repository

    @property
    def _store(self) -> Store:
        return self._repo.store

    def share(self, project_id: str, user: str, role: Role, *, group: bool = False) -> Share:
        """Give ``user`` (or the group named so, with ``group``) ``role`` on the project, replacing an earlier share."""
        project = self._repo.require(project_id, Role.OWNER)
        if role is Role.OWNER:
            raise ValidationError("A project is shared as viewer or editor; its owner stays who created it.")
        if group:
            user = validate_group_name(user)
        else:
            user = validate_user_name(user)
            if user == project.owner:
                raise ValidationError(f"{user} owns this project already.")
            accounts = AccountStore(self._store)
            if accounts.any() and not accounts.active(user):
                raise NotFoundError(f"No enabled account {user!r}: check the name (`rhinoapp users list`).")
        with Session(self._store.write_engine) as session, session.begin():
            key = (project_id, user)
            row = session.get(GroupShareRow, key) if group else session.get(ShareRow, key)
            if row is None:
                session.add(GroupShareRow(project_id=project_id, group_name=user, role=role.value, created_at=utcnow())
                            if group else
                            ShareRow(project_id=project_id, user_name=user, role=role.value, created_at=utcnow()))
            else:
                row.role = role.value
        AuditLog(self._store).record(self._repo.owner, AuditAction.SHARE, project_id=project_id,
                                     detail=f"group-{role.value}" if group else role.value)
        return Share(project_id, user, role, group)

    def unshare(self, project_id: str, user: str, *, group: bool = False) -> None:
        """Withdraw ``user``'s (or the group's) access (nothing happens when there was none)."""
        self._repo.require(project_id, Role.OWNER)
        with Session(self._store.write_engine) as session, session.begin():
            if group:
                session.execute(sa.delete(GroupShareRow).where(GroupShareRow.project_id == project_id,
                                                               GroupShareRow.group_name == user))
            else:
                session.execute(sa.delete(ShareRow).where(ShareRow.project_id == project_id, ShareRow.user_name == user))
        AuditLog(self._store).record(self._repo.owner, AuditAction.UNSHARE, project_id=project_id,
                                     detail="group" if group else "")

    def shares(self, project_id: str) -> list[Share]:
        """The project's shares, users by name then groups by name (to anyone who may read it)."""
        self._repo.get(project_id)
        with Session(self._store.engine) as session:
            users = session.scalars(sa.select(ShareRow).where(ShareRow.project_id == project_id)
                                    .order_by(ShareRow.user_name))
            found = [Share(r.project_id, r.user_name, Role(r.role)) for r in users]
            groups = session.scalars(sa.select(GroupShareRow).where(GroupShareRow.project_id == project_id)
                                     .order_by(GroupShareRow.group_name))
            return found + [Share(r.project_id, r.group_name, Role(r.role), True) for r in groups]
