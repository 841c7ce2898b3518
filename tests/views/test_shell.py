"""The app shell: pages built when first shown, the header following the open project, sessions released."""

from __future__ import annotations

import gc
import socket
import urllib.request
import weakref

import panel as pn
import pytest
from bokeh.document import Document
from bokeh.model import Model
from panel.io.state import set_curdoc

from rhinoapp.app import PANEL_EXTENSIONS, app_factory, create_app
from rhinoapp.jobs.runner import JobRunner
from rhinoapp.state.session import Page, SessionState
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.views.shell import AppShell
from tests.waiting import wait_until


def _header_text(root: Model) -> str:
    return next(m.text for m in root.references() if "rh-header" in str(getattr(m, "text", "")))


def test_only_the_shown_page_is_built_until_another_is_shown(settings, store, repo) -> None:
    runner = JobRunner(settings, store)  # never started: no job runs here
    session = SessionState(repository=ProjectRepository(store, owner="local"), runner=runner, settings=settings)
    project = repo.create("Case 4")
    doc = Document()
    with set_curdoc(doc):
        shell = AppShell(session=session)
        root = pn.panel(shell).get_root(doc)
        assert set(shell._pages) == {Page.PROJECTS.value}  # no other page's view yet
        assert len(runner.events) == 3  # but the Jobs, Geometry and Simulations pages' states follow job events
        assert "No project open" in _header_text(root)

        session.open_project(project.id, page=Page.ANALYSIS)
        assert Page.ANALYSIS.value in shell._pages and Page.CT.value not in shell._pages
        assert "Case 4" in _header_text(root)
        assert shell.page_view(Page.ANALYSIS) is shell.page_view(Page.ANALYSIS)  # built once
        session.page = Page.GEOMETRY.value
        assert Page.GEOMETRY.value in shell._pages
        assert len(runner.events) == 3  # the Geometry view uses the state made with the session: no new subscriber


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.mark.slow
def test_a_closed_session_stops_its_pages_following_job_events(settings, store) -> None:
    from bokeh.client import pull_session

    runner = JobRunner(settings, store)  # never started: the pages only subscribe to its events
    port = _free_port()
    server = pn.serve({"/": app_factory(settings, store, runner)}, address="127.0.0.1", port=port, show=False,
                      threaded=True, websocket_origin=[f"127.0.0.1:{port}"], print=False,
                      unused_session_lifetime_milliseconds=500, check_unused_sessions_milliseconds=200)
    try:
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/"), what="the server answers")
        with pull_session(url=f"http://127.0.0.1:{port}/") as session:
            [nav] = [m for m in session.document.models if type(m).__name__ == "RadioButtonGroup"]
            nav.active = nav.labels.index(Page.JOBS.value)  # synced to the server: the Jobs page is built
            session.request_server_info()  # a round trip: the change has reached the server before the answer
            wait_until(lambda: len(runner.events) == 3, what="the pages follow job events")
        wait_until(lambda: len(runner.events) == 0, what="the closed session's pages stop following job events")
    finally:
        server.stop()


def _released(shells: list[weakref.ref[AppShell]]) -> bool:
    gc.collect()
    return all(shell() is None for shell in shells)


@pytest.mark.slow
def test_a_closed_session_releases_its_app(settings, store, repo) -> None:
    """Every page shown, then the session closed: its shell, pages and states are freed (no leak per page load)."""
    from bokeh.client import pull_session

    project = repo.create("Case 5")
    runner = JobRunner(settings, store)  # never started
    shells: list[weakref.ref[AppShell]] = []

    def build() -> pn.viewable.Viewable:
        pn.extension(*PANEL_EXTENSIONS)
        shell = create_app(settings, store=store, runner=runner)
        shells.append(weakref.ref(shell))
        shell.session.open_project(project.id, page=Page.PROJECTS)  # the pages show the project's content
        return shell.__panel__()

    port = _free_port()
    server = pn.serve({"/": build}, address="127.0.0.1", port=port, show=False, threaded=True,
                      websocket_origin=[f"127.0.0.1:{port}"], print=False,
                      unused_session_lifetime_milliseconds=500, check_unused_sessions_milliseconds=200)
    try:
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/"), what="the server answers")
        for _ in range(2):
            with pull_session(url=f"http://127.0.0.1:{port}/") as session:
                [nav] = [m for m in session.document.models if type(m).__name__ == "RadioButtonGroup"]
                for label in nav.labels:  # every page shown (Audit only to admins), its hooks made
                    nav.active = nav.labels.index(label)
                    session.request_server_info()  # a round trip: the page was built before the answer
                assert shells[-1]() is not None  # alive while its session is open
        assert len(shells) == 3  # the GET that waited for the server, and the two sessions
        wait_until(lambda: _released(shells), what="the closed sessions' shells to be freed")
        assert len(runner.events) == 0
    finally:
        server.stop()
