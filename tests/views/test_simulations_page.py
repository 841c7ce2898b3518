"""SimulationsPage without a browser: it builds, and history changes stream into the plot's buffer."""

from __future__ import annotations

import panel as pn

from rhinoapp.state.session import Page, SessionState
from rhinoapp.state.simulations import ConvergencePoint, SimulationsState
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.views.simulations import SimulationsPage


def test_page_builds_and_streams_only_new_samples(repo) -> None:
    session = SessionState(repository=repo)
    session.open_project(repo.create("No airway").id)
    state = SimulationsState(session=session)
    state.reload()
    page = SimulationsPage(state=state)
    root = pn.panel(page).get_root()  # every part of the page renders to Bokeh models
    assert any("no airway geometry yet" in str(getattr(model, "text", "")) for model in root.references())
    sent: list[int] = []
    page._buffer.param.watch(lambda event: sent.append(len(event.new)), "data")  # the rows the plot holds
    first = [ConvergencePoint(100, 1.0, 50.0), ConvergencePoint(200, 2.0, 90.0)]
    state.history = first
    state.history = [*first, ConvergencePoint(300, 3.0, 120.0)]
    assert page._buffer.data["step"].tolist() == [100, 200, 300]
    state.history = [ConvergencePoint(50, 0.5, 10.0)]  # another run: the plot starts again
    assert page._buffer.data["step"].tolist() == [50]
    state.history = []
    assert page._buffer.data.empty and sent[-1] == 0


def test_no_page_polls_the_store_on_a_timer(settings, store) -> None:
    """The pages learn of job changes from job events: building the whole app registers no periodic callback."""
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    from rhinoapp.jobs.runner import JobRunner
    from rhinoapp.views.shell import AppShell

    runner = JobRunner(settings, store)  # never started: no job runs here
    session = SessionState(repository=ProjectRepository(store, owner="local"), runner=runner, settings=settings)
    doc = Document()
    with set_curdoc(doc):
        shell = AppShell(session=session)
        pn.panel(shell).get_root(doc)
        for name in (Page.JOBS, Page.GEOMETRY, Page.SIMULATIONS):
            session.page = name.value  # every page shown once
            pn.panel(shell).get_root(doc)
    assert not pn.state._periodic.get(doc)
    assert len(runner.events) == 3  # the Jobs, Geometry and Simulations states listen to job events instead


def test_the_automatic_resolution_is_proposed_and_an_override_named(repo) -> None:
    session = SessionState(repository=repo)
    session.open_project(repo.create("Proposal").id)
    state = SimulationsState(session=session)
    page = SimulationsPage(state=state)

    def texts() -> str:
        return " ".join(str(getattr(model, "text", "")) for model in pn.panel(page).get_root().references())

    assert state.automatic_resolution and state.resolution_mm is None
    state.param.update(resolution_text="Automatic (0.9 mm from the narrowest passage, 5.5 mm wide: 6.1 cells "
                                       "across; 123,456 fluid cells)", proposed_resolution_mm=0.9)
    assert "Resolution: Automatic (0.9 mm from the narrowest passage" in texts()
    state.resolution_mm = 1.5  # typed into the field: the user's spacing replaces the automatic one
    assert not state.automatic_resolution
    assert "Resolution: 1.5 mm, given by you (the automatic one is 0.9 mm)." in texts()
