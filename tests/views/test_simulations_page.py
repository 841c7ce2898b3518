"""SimulationsPage without a browser: it builds, and history changes stream into the plot's buffer."""

from __future__ import annotations

import panel as pn

from rhinoapp.state.session import SessionState
from rhinoapp.state.simulations import ConvergencePoint, SimulationsState
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
