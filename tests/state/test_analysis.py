"""AnalysisState: the newest run beside the newest 4PR measurement, messages for what is missing."""

from __future__ import annotations

import json

from rhinoapp.analysis import Comparison
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.core.workflow import Step, StepStatus
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
    layout = ProjectLayout()
    repo.write_artifact(project.id, Step.SIMULATION, str(layout.simulation("run-a").results), json.dumps(RESULTS).encode())
    state.reload()
    assert state.runs == ["run-a"] and state.run == "run-a"
    assert "No 4PR measurement" in state.message
    assert state.rows[0].simulated == 20.0 / 130.0 and state.rows[0].measured is None
    assert state.scene.surface.endswith("simulations/run-a/surface.vtp")
    assert state.scene.colouring is Colouring.WALL_SHEAR_STRESS
    parameters = analyse(generate(duration_s=12.0, seed=1).measurement).as_dict()
    repo.write_artifact(project.id, Step.RHINOMANOMETRY, str(layout.measurement("m1").parameters),
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


def test_the_comparison_is_the_analysis_steps_output(repo) -> None:
    session = SessionState(repository=repo)
    project = repo.create("Analysis step")
    layout = ProjectLayout()
    repo.write_artifact(project.id, Step.DICOM, str(layout.ct_volume), b"ct")  # the chain Simulation needs
    repo.write_artifact(project.id, Step.GEOMETRY, str(layout.geometry().labels), b"labels")
    repo.write_artifact(project.id, Step.SIMULATION, str(layout.simulation("run-a").results), json.dumps(RESULTS).encode())
    assert repo.statuses([project.id])[project.id][Step.ANALYSIS].status is StepStatus.POSSIBLE
    session.open_project(project.id)
    state = AnalysisState(session=session)
    analysis = repo.statuses([project.id])[project.id][Step.ANALYSIS]
    assert analysis.status is StepStatus.DONE
    stored = Comparison.from_json(repo.layout(project.id).comparison.read_bytes())
    assert stored.run_id == "run-a" and stored.measurement_id is None and list(stored.rows) == state.rows
    parameters = analyse(generate(duration_s=12.0, seed=1).measurement).as_dict()
    repo.write_artifact(project.id, Step.RHINOMANOMETRY, str(layout.measurement("m1").parameters),
                        json.dumps(parameters).encode())
    analysis = repo.statuses([project.id])[project.id][Step.ANALYSIS]
    assert analysis.outdated and "4PR changed" in analysis.message  # a new measurement outdates the comparison
    state.reload()
    assert repo.statuses([project.id])[project.id][Step.ANALYSIS].status is StepStatus.DONE
    assert Comparison.from_json(repo.layout(project.id).comparison.read_bytes()).measurement_id == "m1"
    created = repo.artifacts(project.id, Step.ANALYSIS)[0].created
    state.reload()  # the same comparison is not written again
    assert repo.artifacts(project.id, Step.ANALYSIS)[0].created == created
