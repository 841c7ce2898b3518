"""State of the Projects page: the table rows, search, the new-project form, rename and delete."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import param

from rhinoapp.core.errors import RhinoappError
from rhinoapp.core.project import Project
from rhinoapp.core.workflow import Step, StepState
from rhinoapp.state.session import SessionState
from rhinoapp.store.cleanup import delete_stopped_project

__all__ = ["ProjectSummary", "ProjectsState"]

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ProjectSummary:
    """One row of the Projects table."""

    project: Project
    statuses: dict[Step, StepState]
    last_active: dt.datetime


class ProjectsState(param.Parameterized):
    """Everything the Projects page shows and does, without any widget.

    Actions report problems through ``feedback`` (a sentence for the user) and
    ``feedback_kind`` instead of raising, so every view shows them the same way.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store import open_store, ProjectRepository
    >>> repo = ProjectRepository(open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))), owner="local")
    >>> page = ProjectsState(session=SessionState(repository=repo))
    >>> page.new_name = "Case 1"; page.create_project()
    >>> [row.project.name for row in page.rows], page.feedback_kind
    (['Case 1'], 'success')
    >>> page.new_name = "case 1"; page.create_project()
    >>> page.feedback
    'A project named "case 1" already exists: choose another name.'
    """

    session = param.ClassSelector(class_=SessionState, constant=True)
    search = param.String(default="", doc="Text to look for in names and descriptions (the page sets it as "
                                          "the user types).")
    search_note = param.String(default="", doc="Says so when no project matches the search; else empty.")
    page_size = param.Selector(objects=[10, 25, 50, 100], default=10, doc="Rows per page.")
    rows = param.List(default=[], item_type=ProjectSummary, doc="The table, newest first.")
    new_name = param.String(default="", doc="Name for a new project.")
    new_description = param.String(default="", doc="Description for a new project.")
    rename_target = param.String(default=None, allow_None=True, doc="Id of the project being renamed.")
    rename_name = param.String(default="", doc="The new name typed for it.")
    delete_target = param.String(default=None, allow_None=True, doc="Id awaiting delete confirmation.")
    deleting = param.Boolean(default=False, doc="A deletion is under way (its jobs are being stopped).")
    feedback = param.String(default="", doc="Last message for the user.")
    feedback_kind = param.Selector(objects=["info", "success", "error"], default="info")

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self.refresh()

    @param.depends("search", watch=True)
    def refresh(self) -> None:
        """Re-read the rows from the store."""
        repo = self.session.repository
        projects = repo.list_projects(search=self.search)
        ids = [p.id for p in projects]
        statuses, active = repo.statuses(ids), repo.last_activity(ids)
        self.rows = [ProjectSummary(p, statuses[p.id], active.get(p.id, p.updated)) for p in projects]
        wanted = self.search.strip()
        self.search_note = f"No project matches '{wanted}'." if wanted and not projects else ""

    def _say(self, text: str, kind: str) -> None:
        self.param.update(feedback=text, feedback_kind=kind)

    def _name_of(self, project_id: str | None) -> str:
        return next((r.project.name for r in self.rows if r.project.id == project_id), "")

    def create_project(self) -> None:
        """Create a project from the form; refuse bad or duplicate names with a message."""
        try:
            project = self.session.repository.create(self.new_name, self.new_description)
        except RhinoappError as error:
            self._say(str(error), "error")
            return
        self.param.update(new_name="", new_description="")
        self.refresh()
        self._say(f'Project "{project.name}" created. Next: import its CT (DICOM).', "success")

    def open_project(self, project_id: str) -> None:
        """Make a project current for the other pages."""
        try:
            self.session.open_project(project_id)
        except RhinoappError as error:
            self._say(str(error), "error")
            self.refresh()

    def start_rename(self, project_id: str) -> None:
        """Ask for a new name of a project."""
        self.param.update(rename_target=project_id, rename_name=self._name_of(project_id), delete_target=None)

    def confirm_rename(self) -> None:
        """Apply the typed name to the project being renamed."""
        if self.rename_target is None:
            return
        try:
            project = self.session.repository.update(self.rename_target, name=self.rename_name)
        except RhinoappError as error:
            self._say(str(error), "error")
            return
        self.param.update(rename_target=None, rename_name="")
        self.session.refresh_project_name()
        self.refresh()
        self._say(f'Renamed to "{project.name}".', "success")

    def request_delete(self, project_id: str) -> None:
        """Ask for confirmation before deleting a project."""
        self.param.update(delete_target=project_id, rename_target=None)

    def cancel(self) -> None:
        """Drop a pending rename or delete."""
        self.param.update(rename_target=None, delete_target=None)

    async def confirm_delete(self) -> None:
        """Delete the project awaiting confirmation, with its files, after stopping its jobs.

        With a job runner, its queued and running jobs are cancelled and their tasks waited for
        (``feedback`` says so meanwhile); without one, a project with active jobs is refused.
        """
        target = self.delete_target
        if target is None or self.deleting:
            return
        name = self._name_of(target)
        runner, repo = self.session.runner, self.session.repository
        self.deleting = True
        try:
            if runner is None:
                delete_stopped_project(repo.store, owner=repo.owner, project_id=target)
            else:
                await runner.delete_project(target, owner=repo.owner,
                                            on_progress=lambda text: self._say(f'"{name}": {text}', "info"))
        except (RhinoappError, OSError) as error:
            _log.warning("delete of project %s failed: %s", target, error)
            self._say(f"Could not delete the project: {error}", "error")
            return
        finally:
            self.param.update(delete_target=None, deleting=False)
        self.session.forget_project(target)
        self.refresh()
        self._say(f'Project "{name}" deleted.', "success")
