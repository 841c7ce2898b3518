"""The app shell: header with the app name and current project, sidebar navigation, pages."""

from __future__ import annotations

import base64
import functools
import html
from collections.abc import Callable

import panel as pn
import param

from rhinoapp.state.analysis import AnalysisState
from rhinoapp.state.audit import AuditState
from rhinoapp.state.sharing import SharingState
from rhinoapp.state.sweep import SweepState
from rhinoapp.state.users import UsersState
from rhinoapp.state.ct_import import CTImportState
from rhinoapp.state.geometry import GeometryState
from rhinoapp.state.jobs import JobsState
from rhinoapp.state.projects import ProjectsState
from rhinoapp.state.rhinomanometry import RhinomanometryState
from rhinoapp.state.session import Page, SessionState
from rhinoapp.store.accounts import AccountStore
from rhinoapp.state.simulations import SimulationsState
from rhinoapp.views.analysis import SimulationComparison
from rhinoapp.views.dispatch import bind_to_session
from rhinoapp.views.downloads import MeasurementDownloads
from rhinoapp.views.sweep import SweepComparison
from rhinoapp.views.assets import read_asset
from rhinoapp.views.audit import AuditPage
from rhinoapp.views.sharing import SharingPanel
from rhinoapp.views.ct_import import CTImportPage
from rhinoapp.views.geometry import GeometryPage
from rhinoapp.views.jobs import JobsPage
from rhinoapp.views.login import signout_form
from rhinoapp.views.next_step import NextLine
from rhinoapp.views.projects import ProjectsPage
from rhinoapp.views.rhinomanometry import RhinomanometryPage
from rhinoapp.views.simulations import SimulationsPage
from rhinoapp.views.swap import swapping
from rhinoapp.views.users import UsersPage

__all__ = ["AppShell"]

_BRAND = "#12355b"
_SIDEBAR = "#f4f6f9"
_SIDEBAR_PX = 190
_ADMIN_PAGES = (Page.AUDIT, Page.USERS)


class AppShell(pn.viewable.Viewer):
    """Composes the pages of one session around a :class:`SessionState`."""

    session = param.ClassSelector(class_=SessionState)

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        accounts = AccountStore(self.session.repository.store)
        self._signed_in = accounts.any()  # logins are on: the header offers to sign out
        self._xsrf = pn.state.cookies.get("_xsrf")  # the token the header's "Sign out" form posts
        account = accounts.get(self.session.user)
        self._admin = account is not None and account.admin and not account.disabled
        self.projects = ProjectsState(session=self.session)
        # Bokeh's websocket carries the upload: 4PR files are small, keep well under its 20 MB limit.
        self.rhinomanometry = RhinomanometryState(session=self.session,
                                                  max_upload_mb=min(self.session.settings.max_upload_mb, 15))
        self.ct_import = CTImportState(session=self.session)
        self.analysis = AnalysisState(session=self.session)
        self.sweep = SweepState(rhinomanometry=self.rhinomanometry)
        self.rhinomanometry.param.watch(lambda _e: self.analysis.reload(), "stored")
        self.session.param.watch(self._on_page, "page")
        self.next_line = NextLine(session=self.session)  # what to do next, under every page
        for state in (self.ct_import, self.rhinomanometry):
            state.param.watch(lambda _e: self.next_line.refresh(), "stored")
        self.rhinomanometry.param.watch(lambda _e: self.projects.refresh(), "stored")  # the 4PR status changed
        # Pages are built when first shown: a session that only sees the Projects page pays for no other
        # page's widgets, plots or 3D views (the page load of benchmarks/many_sessions.py). The states of
        # the pages that follow job events are made and bound to the session with it, as before, so they
        # follow job events and page changes from the start; only their views wait for the first visit.
        jobs = JobsState(session=self.session)
        geometry = GeometryState(session=self.session, ct=self.ct_import)
        simulations = SimulationsState(session=self.session)
        for followed in (jobs, geometry, simulations):
            bind_to_session(followed)
        self._builders: dict[str, Callable[[], pn.viewable.Viewable]] = {
            Page.PROJECTS.value: lambda: pn.Column(ProjectsPage(state=self.projects),
                                                   SharingPanel(state=SharingState(session=self.session)),
                                                   sizing_mode="stretch_width"),
            Page.CT.value: lambda: CTImportPage(state=self.ct_import),
            Page.JOBS.value: lambda: JobsPage(state=jobs),
            Page.GEOMETRY.value: lambda: GeometryPage(state=geometry),
            Page.SIMULATIONS.value: lambda: SimulationsPage(state=simulations),
            Page.ANALYSIS.value: lambda: pn.Column(pn.pane.Markdown("## Rhinomanometry (4PR)"),
                                                   RhinomanometryPage(state=self.rhinomanometry),
                                                   MeasurementDownloads(state=self.rhinomanometry),
                                                   SimulationComparison(state=self.analysis),
                                                   SweepComparison(state=self.sweep),
                                                   sizing_mode="stretch_width"),
            Page.AUDIT.value: lambda: AuditPage(state=AuditState(session=self.session)),
            Page.USERS.value: lambda: UsersPage(state=UsersState(session=self.session)),
        }
        self._pages: dict[str, pn.viewable.Viewable] = {}

    def page_view(self, page: Page) -> pn.viewable.Viewable:
        """The view of ``page``, built on the first call (the first time the page is shown)."""
        view = self._pages.get(page.value)
        if view is None:
            view = self._pages[page.value] = self._builders[page.value]()
        return view

    def _on_page(self, event: param.parameterized.Event) -> None:
        if event.new == Page.PROJECTS.value:  # statuses may have changed on other pages or by jobs
            self.projects.refresh()
        elif event.new == Page.ANALYSIS.value:  # a simulation or a sweep may have finished meanwhile
            self.analysis.reload()
            self.sweep.reload()

    def _header_html(self, project: str) -> str:
        current = (f'<span class="rh-project">Project: <b>{html.escape(project)}</b></span>' if project
                   else '<span class="rh-project">No project open</span>')
        return (f'<div class="rh-header"><img alt="rhinoapp" src="{_logo_uri()}">'
                f'<span class="rh-title">rhinoapp</span>{current}'
                f'<span class="rh-user">{html.escape(self.session.user)}</span>'
                + (signout_form(self._xsrf) if self._signed_in else "") + "</div>")

    def __panel__(self) -> pn.viewable.Viewable:
        nav = pn.widgets.RadioButtonGroup.from_param(
            self.session.param.page, orientation="vertical", color="primary", variant="outline",
            label="", description=None, width=160, css_classes=["rh-nav"],
        )
        if not self._admin:  # the audit and users pages are for admins (their states refuse everyone else too)
            nav.options = [p.value for p in Page if p not in _ADMIN_PAGES]
        sidebar = pn.Column(nav, width=_SIDEBAR_PX, margin=0, css_classes=["rh-sidebar"])
        title = pn.pane.HTML(pn.bind(self._header_html, self.session.param.current_project_name),
                             stylesheets=[read_asset("style.css")], sizing_mode="stretch_width", margin=(8, 16))
        header = pn.Row(title, styles={"background": _BRAND}, sizing_mode="stretch_width", margin=0)
        shown = swapping(lambda: self.page_view(Page(self.session.page)), self.session, "page",
                         sizing_mode="stretch_width", margin=(8, 24), css_classes=["rh-main"],
                         styles={"min-width": "0"})
        # The row paints the sidebar's background, so it spans the page however long the page is; the
        # page's column may shrink below its content's width (min-width 0): its rows wrap instead of
        # pushing the page wider than the window.
        main = pn.Column(self.next_line, shown, sizing_mode="stretch_width", margin=0, styles={"min-width": "0"})
        body = pn.Row(sidebar, main, sizing_mode="stretch_width", margin=0, css_classes=["rh-body"], styles={
            "background": f"linear-gradient(to right, {_SIDEBAR} {_SIDEBAR_PX}px, transparent {_SIDEBAR_PX}px)",
            "min-height": "calc(100vh - 52px)"})
        return pn.Column(header, body, sizing_mode="stretch_width", css_classes=["rh-root"])


@functools.cache
def _logo_uri() -> str:
    """The logo as a data URI (encoded once per process)."""
    return "data:image/svg+xml;base64," + base64.b64encode(read_asset("logo.svg").encode()).decode()
