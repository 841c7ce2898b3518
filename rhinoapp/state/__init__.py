"""Param models of the app: what each session and page holds and does, with no UI imports."""

from rhinoapp.state.projects import ProjectsState, ProjectSummary
from rhinoapp.state.session import Page, SessionState

__all__ = ["Page", "ProjectSummary", "ProjectsState", "SessionState"]
