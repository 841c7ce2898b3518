"""SweepState: the newest flow sweep beside the 4PR measurement at 75 and 150 Pa, messages for what is missing."""

from __future__ import annotations

import pytest

from rhinoapp.analysis.flag_types import FlagKind, PlausibilityFlag, Severity
from rhinoapp.analysis.sweep import SweepResults
from rhinoapp.cfd.config import Direction
from rhinoapp.cfd.sweep_request import SweepPoint
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.core.workflow import Step
from rhinoapp.rhinomanometry.io import write_csv
from rhinoapp.rhinomanometry.synthetic import generate
from rhinoapp.state.rhinomanometry import RhinomanometryState
from rhinoapp.state.session import SessionState
from rhinoapp.state.sweep import NO_SWEEP, SweepState


STEADY = PlausibilityFlag(FlagKind.STEADY_STATE, Severity.WARNING, "change of the pressure drop over the last window",
                          4.0, "%", "steady state", "run again without a step limit.").to_document()


def sweep_document(sweep_id: str, k1: float, *, unsteady_above: float = 1e9) -> bytes:
    points = [SweepPoint(s * q, Direction.INSPIRATION if s > 0 else Direction.EXPIRATION, s * (k1 * q + 1e-3 * q * q),
                         s * q / 2, s * q / 2, 100, q <= unsteady_above, 1.0, False,
                         () if q <= unsteady_above else (STEADY,)) for s in (1, -1) for q in (100.0, 300.0)]
    return SweepResults.from_points(sweep_id, points, resolution_mm=1.0).to_json()


def test_the_newest_sweep_compares_with_the_measurement_at_matched_pressure(repo) -> None:
    session = SessionState(repository=repo)
    project = repo.create("Sweep")
    session.open_project(project.id)
    fourpr = RhinomanometryState(session=session)
    state = SweepState(rhinomanometry=fourpr)
    assert state.sweeps == [] and state.message == NO_SWEEP and state.results is None
    repo.write_artifact(project.id, Step.SIMULATION, str(ProjectLayout().simulation("sweep-a").sweep),
                        sweep_document("sweep-a", 0.1))
    repo.write_artifact(project.id, Step.SIMULATION, str(ProjectLayout().simulation("run-x").results), b"{}")
    state.reload()
    assert state.sweeps == ["sweep-a"] and state.sweep == "sweep-a"  # a plain run is no sweep
    assert "No 4PR measurement" in state.message
    assert [(r.side, r.pressure_pa) for r in state.rows] == [("left", 75.0), ("left", 150.0), ("right", 75.0),
                                                              ("right", 150.0)]
    left75 = state.rows[0]
    assert left75.measured is None and left75.simulated == pytest.approx(state.results.fits["left"].resistance_at(75.0))

    assert fourpr.upload("case.csv", write_csv(generate(seed=2).measurement).encode())  # the rows follow the 4PR part
    assert state.message == ""
    measured = {(s.side.value, 150.0): s.mean("r150").value for s in fourpr.result.sides}
    assert state.rows[1].measured == pytest.approx(measured[("left", 150.0)]) and state.rows[1].ratio is not None

    assert state.doubts == []
    repo.write_artifact(project.id, Step.SIMULATION, str(ProjectLayout().simulation("sweep-b").sweep),
                        sweep_document("sweep-b", 0.3, unsteady_above=200.0))
    state.reload()
    assert state.sweeps == ["sweep-b", "sweep-a"] and state.sweep == "sweep-b"
    assert [(d.flag.kind, d.runs) for d in state.doubts] == [
        (FlagKind.STEADY_STATE, ("300 ml/s inspiration", "300 ml/s expiration"))]  # what the page shows above the rows
    assert state.results.fits["total"].k1 == pytest.approx(0.3)
    assert state.results.fits["left"].k1 == pytest.approx(0.6)  # half the flow at the same pressure drop
    state.sweep = "sweep-a"
    assert state.results.sweep_id == "sweep-a" and state.doubts == []


def test_an_unreadable_sweep_says_so(repo) -> None:
    session = SessionState(repository=repo)
    project = repo.create("Broken sweep")
    session.open_project(project.id)
    repo.write_artifact(project.id, Step.SIMULATION, str(ProjectLayout().simulation("sweep-z").sweep), b"[1]")
    state = SweepState(rhinomanometry=RhinomanometryState(session=session))
    assert state.results is None and "could not be read" in state.message
