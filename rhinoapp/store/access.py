"""SQL conditions that decide which projects a user may read, change or manage.

A user reads a project they own, one shared with them (viewer or editor) by name or through one of
their groups (:class:`~rhinoapp.store.models.UserGroupRow`: the higher of the roles counts), or any
project when they are an enabled admin account; they change one they own or edit; they share and delete one they own
(admins too). Every query of the repository and the job records goes through these conditions, so a
guessed id of another user's project is "not found", whatever the route.
"""

from __future__ import annotations

import sqlalchemy as sa

from rhinoapp.core.access import Role
from rhinoapp.store.models import GroupShareRow, ProjectRow, ShareRow, UserGroupRow, UserRow

__all__ = ["can_manage", "can_read", "can_write", "is_admin_clause"]


def is_admin_clause(user: str) -> sa.ColumnElement[bool]:
    """True when ``user`` is an enabled admin account."""
    return sa.exists(sa.select(UserRow.name).where(UserRow.name == user, UserRow.admin.is_(True),
                                                   UserRow.disabled.is_(False)))


def _shared(user: str, roles: tuple[Role, ...]) -> sa.ColumnElement[bool]:
    values = [r.value for r in roles]
    groups = sa.select(UserGroupRow.group_name).where(UserGroupRow.user_name == user)
    return sa.or_(
        sa.exists(sa.select(ShareRow.project_id).where(
            ShareRow.project_id == ProjectRow.id, ShareRow.user_name == user, ShareRow.role.in_(values))),
        sa.exists(sa.select(GroupShareRow.project_id).where(
            GroupShareRow.project_id == ProjectRow.id, GroupShareRow.group_name.in_(groups),
            GroupShareRow.role.in_(values))))


def can_read(user: str) -> sa.ColumnElement[bool]:
    """The condition on :class:`ProjectRow` under which ``user`` may see the project.

    Examples
    --------
    >>> sql = str(can_read("ana"))
    >>> "project_shares" in sql, "project_group_shares" in sql
    (True, True)
    """
    return sa.or_(ProjectRow.owner == user, _shared(user, (Role.VIEWER, Role.EDITOR)), is_admin_clause(user))


def can_write(user: str) -> sa.ColumnElement[bool]:
    """The condition under which ``user`` may change the project (upload, edit, run and cancel jobs)."""
    return sa.or_(ProjectRow.owner == user, _shared(user, (Role.EDITOR,)), is_admin_clause(user))


def can_manage(user: str) -> sa.ColumnElement[bool]:
    """The condition under which ``user`` may share or delete the project."""
    return sa.or_(ProjectRow.owner == user, is_admin_clause(user))
