"""The simulation request's rules hold on the command line, on the Simulations page and in the job alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rhinoapp.cfd.request import SIMULATION_RANGES, SimulationRequest
from rhinoapp.cli import main
from rhinoapp.core.errors import ValidationError
from rhinoapp.core.workflow import JobKind
from rhinoapp.state.session import SessionState
from rhinoapp.state.simulations import SimulationsState
from rhinoapp.store.repository import ProjectRepository
from tests.usecases.conftest import run_job_task

RULE = "resolution_mm must lie between 0.25 and 4 mm"


def test_a_resolution_out_of_range_is_refused_on_every_path(
        tmp_path: Path, repo: ProjectRepository, project_id: str, session: SessionState,
        capsys: pytest.CaptureFixture[str]) -> None:
    geometry = tmp_path / "geometry"
    geometry.mkdir()
    assert main(["simulate", str(geometry), "--out", str(tmp_path / "out"), "--resolution-mm", "0.1"]) == 2
    assert RULE in capsys.readouterr().err  # refused before the geometry is even read
    assert not (tmp_path / "out").exists()

    with pytest.raises(ValidationError, match=RULE):
        run_job_task(repo, project_id, JobKind.SIMULATION, {"resolution_mm": 0.1})
    assert repo.artifacts(project_id) == []

    state = SimulationsState(session=session)
    assert state.param.resolution_mm.bounds == SIMULATION_RANGES["resolution_mm"].bounds
    assert state.param.flow_ml_s.bounds == SIMULATION_RANGES["flow_ml_s"].bounds
    with pytest.raises(ValueError):
        state.resolution_mm = 0.1
    assert state.request() == SimulationRequest(resolution_mm=state.resolution_mm,
                                                live_interval_s=session.settings.live_view_interval_s)


def test_the_page_submits_only_what_the_request_accepts(session: SessionState) -> None:
    state = SimulationsState(session=session, resolution_mm=2.0, max_steps=400)
    assert SimulationRequest.from_parameters(state.parameters()) == state.request()
    assert state.parameters() == {"variant": "default", "flow_ml_s": 250.0, "direction": "inspiration",
                                  "resolution_mm": 2.0, "max_steps": 400, "flow_model": "smooth_walls",
                                  # and live checkpoints, as set
                                  "live_interval_s": session.settings.live_view_interval_s}
    assert state.parameters()["live_interval_s"] == 5.0
    state.variant = "../elsewhere"
    with pytest.raises(ValidationError, match="variant '../elsewhere'"):
        state.parameters()


def test_the_estimate_takes_this_machines_measured_speed_given_a_data_directory(tmp_path: Path) -> None:
    from rhinoapp.cfd.estimate import SpeedSource
    from rhinoapp.cfd.shapes import square_duct
    from rhinoapp.store.throughput import THROUGHPUT_FILE
    from rhinoapp.usecases.simulation import estimate_simulation

    domain = square_duct(12, 40, spacing_mm=0.5)
    request = SimulationRequest(flow_ml_s=20.0, backend="numpy")
    nominal = estimate_simulation(domain, request)
    measured = estimate_simulation(domain, request, data_dir=tmp_path)
    assert nominal.speed is SpeedSource.NOMINAL and measured.speed is SpeedSource.MEASURED
    assert (tmp_path / THROUGHPUT_FILE).is_file()  # kept for the next estimate
    assert (measured.fluid_cells, measured.steps) == (nominal.fluid_cells, nominal.steps)
    assert measured.seconds == pytest.approx(measured.fluid_cells * measured.steps / (measured.mlups * 1e6))
    assert estimate_simulation(domain, request, data_dir=tmp_path).mlups == measured.mlups  # the kept figure


def test_the_flow_model_is_chosen_on_the_page_and_estimated_with_its_own_kernel(session: SessionState,
                                                                               tmp_path: Path) -> None:
    """The flow model (smooth walls by default) travels from the page into the job's parameters and the solver's
    physics, and the estimate takes its own measured speed and memory (the strain average and the wall links)."""
    from rhinoapp.cfd.config import FlowModel, SubgridModel, WallBoundary
    from rhinoapp.cfd.shapes import square_duct
    from rhinoapp.store.throughput import THROUGHPUT_FILE, machine_key
    from rhinoapp.usecases.simulation import estimate_simulation

    state = SimulationsState(session=session, resolution_mm=2.0, max_steps=400)
    assert state.parameters()["flow_model"] == "smooth_walls"  # the default, written out
    request = SimulationRequest.from_parameters(state.parameters())
    assert request == state.request() and request.flow_model is FlowModel.SMOOTH_WALLS
    physics = request.physics()
    assert physics.wall_boundary is WallBoundary.INTERPOLATED_CONSERVING
    assert physics.subgrid_model is SubgridModel.SHEAR_IMPROVED and physics.bulk_relaxation_time == 1.0
    state.flow_model = "standard"
    assert state.parameters()["flow_model"] == "standard"
    standard_physics = SimulationRequest.from_parameters(state.parameters()).physics()
    assert standard_physics.wall_boundary is WallBoundary.HALFWAY
    assert standard_physics.subgrid_model is SubgridModel.SMAGORINSKY and standard_physics.bulk_relaxation_time is None
    with pytest.raises(ValidationError, match="flow_model must be one of"):
        SimulationRequest(flow_model="fast")

    domain = square_duct(12, 40, spacing_mm=0.5)
    standard = estimate_simulation(domain, SimulationRequest(flow_ml_s=20.0, backend="numba", threads=1,
                                                             flow_model="standard"), data_dir=tmp_path)
    smooth = estimate_simulation(domain, SimulationRequest(flow_ml_s=20.0, backend="numba", threads=1),
                                 data_dir=tmp_path)
    assert (smooth.fluid_cells, smooth.steps) == (standard.fluid_cells, standard.steps)
    assert smooth.memory_bytes > standard.memory_bytes
    kept = json.loads((tmp_path / THROUGHPUT_FILE).read_text())
    cells = next(iter(kept.values()))["cells"]
    assert kept[machine_key("numba", 1, cells, "smooth_walls")]["mlups"] == smooth.mlups
    assert kept[machine_key("numba", 1, cells)]["mlups"] == standard.mlups
