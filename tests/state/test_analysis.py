"""AnalysisState: the newest run beside the newest 4PR measurement, messages for what is missing."""

from __future__ import annotations

import json

from rhinoapp.core.workflow import Step
from rhinoapp.render import Colouring
from rhinoapp.rhinomanometry import analyse
from rhinoapp.rhinomanometry.synthetic import generate
from rhinoapp.state.analysis import AnalysisState
from rhinoapp.state.session import SessionState

RESULTS = {"pressure_drop_pa": 20.0, "flow_ml_s": {"total": 250.0, "left": 130.0, "right": 120.0},
           "flow_partition_left_pct": 52.0}


def test_runs_compare_with_the_latest_measurement(repo) -> None:
    session = SessionState(repository=repo)
    project = repo.create("Compare")
    session.open_project(project.id)
    state = AnalysisState(session=session)
    repo.write_artifact(project.id, Step.SIMULATION, "simulations/run-a/results.json", json.dumps(RESULTS).encode())
    state.reload()
    assert state.runs == ["run-a"] and state.run == "run-a"
    assert "No 4PR measurement" in state.message
    assert state.rows[0].simulated == 20.0 / 130.0 and state.rows[0].measured is None
    assert state.scene.surface.endswith("simulations/run-a/surface.vtp")
    assert state.scene.colouring is Colouring.WALL_SHEAR_STRESS
    parameters = analyse(generate(duration_s=12.0, seed=1).measurement).as_dict()
    repo.write_artifact(project.id, Step.RHINOMANOMETRY, "rhinomanometry/m1/parameters.json",
                        json.dumps(parameters).encode())
    state.reload()
    assert state.message == "" and state.rows[0].measured is not None and state.rows[0].ratio is not None
    state.colouring = Colouring.PRESSURE.value
    assert state.scene.colouring is Colouring.PRESSURE


def test_other_project_without_runs(repo) -> None:
    session = SessionState(repository=repo)
    state = AnalysisState(session=session)
    assert state.message == "Open a project to compare its simulation with its 4PR measurement."
    session.open_project(repo.create("Empty").id)
    assert state.runs == [] and state.scene is None and "Simulations page" in state.message
