"""Per-session state of the app: who is using it, which page and which project are current."""

from __future__ import annotations

import enum

import param

from rhinoapp.config import Settings
from rhinoapp.core.access import AuditAction
from rhinoapp.core.errors import NotFoundError
from rhinoapp.jobs.runner import JobRunner
from rhinoapp.store.audit import AuditLog
from rhinoapp.store.repository import ProjectRepository

__all__ = ["Page", "SessionState"]


class Page(enum.Enum):
    """The pages of the dashboard, in sidebar order."""

    PROJECTS = "Projects"
    CT = "CT"
    GEOMETRY = "Geometry"
    SIMULATIONS = "Simulations"
    ANALYSIS = "Analysis"
    JOBS = "Jobs"
    AUDIT = "Audit"


class SessionState(param.Parameterized):
    """What one browser session (or notebook) has selected.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store import open_store
    >>> repo = ProjectRepository(open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))), owner="local")
    >>> session = SessionState(repository=repo)
    >>> session.open_project(repo.create("Case 3").id)
    >>> (session.current_project_name, session.page)
    ('Case 3', 'Geometry')
    """

    repository = param.ClassSelector(class_=ProjectRepository, constant=True, doc="The user's data store.")
    settings = param.ClassSelector(class_=Settings, default=Settings(), constant=True,
                                   doc="The app's settings (limits, job profiles).")
    runner = param.ClassSelector(class_=JobRunner, default=None, allow_None=True, constant=True,
                                 doc="The process's job runner; None where jobs cannot run.")
    page = param.Selector(objects=[p.value for p in Page], default=Page.PROJECTS.value, doc="The page shown.")
    current_project_id = param.String(default=None, allow_None=True, doc="Id of the open project.")
    current_project_name = param.String(default="", doc="Name of the open project, for the header.")

    @property
    def user(self) -> str:
        """The user every query of this session is scoped to."""
        return self.repository.owner

    def audit(self, action: AuditAction, project_id: str, *, detail: str = "") -> None:
        """Record what this session's user did to a project (``detail``: a fixed word, never typed text)."""
        AuditLog(self.repository.store).record(self.user, action, project_id=project_id, detail=detail)

    def open_project(self, project_id: str, *, page: Page = Page.GEOMETRY) -> None:
        """Make a project current and go to ``page``."""
        project = self.repository.get(project_id)
        self.audit(AuditAction.OPEN, project.id)
        self.param.update(current_project_id=project.id, current_project_name=project.name, page=page.value)

    def forget_project(self, project_id: str) -> None:
        """Clear the current project if it is ``project_id`` (after a delete)."""
        if self.current_project_id == project_id:
            self.param.update(current_project_id=None, current_project_name="")

    def refresh_project_name(self) -> None:
        """Re-read the current project's name (after a rename); forget it if it is gone."""
        if self.current_project_id is None:
            return
        try:
            self.current_project_name = self.repository.get(self.current_project_id).name
        except NotFoundError:
            self.forget_project(self.current_project_id)
