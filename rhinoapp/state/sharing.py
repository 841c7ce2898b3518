"""Sharing the open project: who else sees it, as viewer or editor; only its owner (or an admin) changes that."""

from __future__ import annotations

from typing import cast

import param

from rhinoapp.core.access import Role
from rhinoapp.core.errors import RhinoappError
from rhinoapp.state.session import SessionState
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.store.sharing import Share, SharingService

__all__ = ["SharingState"]

_ROLES: tuple[str, ...] = (Role.VIEWER.value, Role.EDITOR.value)
_KINDS: tuple[str, ...] = ("info", "success", "error")


class SharingState(param.Parameterized):
    """The shares of the session's open project, and the form that adds one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store import ProjectRepository, open_store
    >>> repo = ProjectRepository(open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))), owner="ana")
    >>> session = SessionState(repository=repo)
    >>> session.open_project(repo.create("Case 1").id)
    >>> sharing = SharingState(session=session)
    >>> _ = sharing.param.update(user="bob", role="editor"); sharing.share()
    >>> [(s.user, s.role.value) for s in sharing.shares], sharing.can_share
    ([('bob', 'editor')], True)
    """

    session = param.ClassSelector(class_=SessionState, constant=True)
    shares = param.List(default=[], item_type=Share, doc="Who else sees the open project.")
    can_share = param.Boolean(default=False, doc="Whether this user may change the shares (owner or admin).")
    role_here = param.String(default="", doc="The user's role on the open project (owner, editor, viewer).")
    project_name = param.String(default="", doc="The open project's name (empty: none open).")
    user = param.String(default="", doc="The account (or, with ``group``, the group) to share with.")
    group = param.Boolean(default=False, doc="Whether ``user`` names a group (every member gets the role).")
    role: param.Selector[str] = param.Selector(objects=list(_ROLES), default=Role.VIEWER.value)
    feedback = param.String(default="")
    feedback_kind: param.Selector[str] = param.Selector(objects=list(_KINDS), default="info")

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self.session.param.watch(lambda *_events: self.refresh(), ["current_project_id", "current_project_name"])
        self.refresh()

    def _service(self) -> SharingService:
        return SharingService(cast(ProjectRepository, cast(SessionState, self.session).repository))

    @property
    def _project_id(self) -> str:
        return str(self.session.current_project_id or "")

    def refresh(self) -> None:
        """Read the shares of the open project (none open: nothing to share).

        Only the values that differ from those shown are set, so a view over them is redrawn when
        what it shows changes, not at every read: param compares a list of :class:`Share` values by
        identity (every read is a new list), so ``shares`` is compared here, by value.
        """
        project_id = self.session.current_project_id
        if not project_id:
            self._show(shares=[], can_share=False, role_here="", project_name="")
            return
        try:
            role = self.session.repository.role(project_id)
            self._show(shares=self._service().shares(project_id), can_share=role.can_share, role_here=role.value,
                       project_name=self.session.current_project_name)
        except RhinoappError as error:
            self._show(shares=[], can_share=False, role_here="", project_name="")
            self.param.update(feedback=str(error), feedback_kind="error")

    def _show(self, **values: object) -> None:
        """Set the parameters in ``values`` that differ from their current value, in one update."""
        changed = {name: value for name, value in values.items() if getattr(self, name) != value}
        if changed:
            self.param.update(**changed)

    def share(self) -> None:
        """Share the open project with ``user`` as ``role``."""
        try:
            done = self._service().share(self._project_id, self.user, Role(self.role), group=self.group)
        except (RhinoappError, PermissionError) as error:
            self.param.update(feedback=str(error), feedback_kind="error")
            return
        whom = f"group {done.user}" if done.group else done.user
        self.param.update(user="", feedback=f"Shared with {whom} as {done.role.value}.", feedback_kind="success")
        self.refresh()

    def revoke(self, user: str, *, group: bool = False) -> None:
        """Withdraw ``user``'s (or, with ``group``, that group's) access to the open project."""
        try:
            self._service().unshare(self._project_id, user, group=group)
        except (RhinoappError, PermissionError) as error:
            self.param.update(feedback=str(error), feedback_kind="error")
            return
        whom = f"Group {user}" if group else user
        self.param.update(feedback=f"{whom} no longer sees this project.", feedback_kind="success")
        self.refresh()
