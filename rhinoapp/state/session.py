"""Per-session state of the app: who is using it, which page and which project are current.

Opening a project goes to the first step of the workflow that needs the user
(:func:`landing_page`: no CT, the CT page; a CT but no airway, the Geometry page; ...), and
:func:`next_step` says, on any page, what to do next and where.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping

import param

from rhinoapp.config import Settings
from rhinoapp.core.access import AuditAction
from rhinoapp.core.errors import NotFoundError
from rhinoapp.core.workflow import Step, StepState, StepStatus
from rhinoapp.jobs.runner import JobRunner
from rhinoapp.store.audit import AuditLog
from rhinoapp.store.repository import ProjectRepository

__all__ = ["NextStep", "Page", "SessionState", "landing_page", "next_step"]


class Page(enum.Enum):
    """The pages of the dashboard, in sidebar order."""

    PROJECTS = "Projects"
    CT = "CT"
    GEOMETRY = "Geometry"
    SIMULATIONS = "Simulations"
    ANALYSIS = "Analysis"
    JOBS = "Jobs"
    AUDIT = "Audit"
    USERS = "Users"


@dataclasses.dataclass(frozen=True)
class NextStep:
    """What the user does next (``text``, a short sentence) and on which page."""

    text: str
    page: Page


# The steps in the order the user meets them, with the page where each is done and the sentences
# for "to do" and "running".
_GUIDE: tuple[tuple[Step, Page, str, str], ...] = (
    (Step.DICOM, Page.CT, "import the project's CT (DICOM files or a NIfTI/NRRD volume)", ""),
    (Step.GEOMETRY, Page.GEOMETRY, "segment the nasal airway",
     "wait for the segmentation to finish (its progress is on the Jobs page)"),
    (Step.SIMULATION, Page.SIMULATIONS, "run an airflow simulation",
     "wait for the simulation to finish (its progress is on the Jobs page)"),
    (Step.RHINOMANOMETRY, Page.ANALYSIS, "upload the 4PR (rhinomanometry) recording to compare with", ""),
)


def _done(state: StepState | None) -> bool:
    return state is not None and state.status is StepStatus.DONE and not state.outdated


def next_step(statuses: Mapping[Step, StepState] | None) -> NextStep:
    """What to do next in a project whose step statuses are ``statuses`` (None: no project is open).

    Examples
    --------
    >>> next_step(None)
    NextStep(text='open a project, or create one, on the Projects page', page=<Page.PROJECTS: 'Projects'>)
    >>> dicom = {Step.DICOM: StepState(Step.DICOM, StepStatus.DONE)}
    >>> next_step(dicom).page, next_step({}).page
    (<Page.GEOMETRY: 'Geometry'>, <Page.CT: 'CT'>)
    """
    if statuses is None:
        return NextStep("open a project, or create one, on the Projects page", Page.PROJECTS)
    for step, page, todo, running in _GUIDE:
        state = statuses.get(step)
        if _done(state):
            continue
        if state is not None and state.status is StepStatus.IN_PROGRESS and running:
            return NextStep(running, page)
        if state is not None and state.outdated:
            return NextStep(f"{todo} again: its inputs changed since", page)
        return NextStep(todo, page)
    return NextStep("compare the simulation with the 4PR measurement", Page.ANALYSIS)


def landing_page(statuses: Mapping[Step, StepState]) -> Page:
    """The page that opening a project goes to: the first step that needs the user.

    Examples
    --------
    >>> landing_page({})
    <Page.CT: 'CT'>
    """
    return next_step(statuses).page


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
    >>> (session.current_project_name, session.page)  # no CT yet: the CT page
    ('Case 3', 'CT')
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

    def open_project(self, project_id: str, *, page: Page | None = None) -> None:
        """Make a project current and go to ``page``; by default the first step that needs the user."""
        project = self.repository.get(project_id)
        self.audit(AuditAction.OPEN, project.id)
        if page is None:
            page = landing_page(self.repository.statuses([project.id])[project.id])
        self.param.update(current_project_id=project.id, current_project_name=project.name, page=page.value)

    def next_step(self) -> NextStep:
        """What the user does next in the open project (see :func:`next_step`)."""
        if self.current_project_id is None:
            return next_step(None)
        try:
            statuses = self.repository.statuses([self.current_project_id])[self.current_project_id]
        except NotFoundError:
            return next_step(None)
        return next_step(statuses)

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
