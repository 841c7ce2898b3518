"""The Simulations page's colour ranges: set by the user, passed to the scene, refused when reversed."""

from __future__ import annotations

import datetime as dt
import pathlib
from types import MappingProxyType

from rhinoapp.config import Settings
from rhinoapp.render.spec import Colouring
from rhinoapp.state.session import SessionState
from rhinoapp.state.simulations import SimulationRun, SimulationsState
from rhinoapp.store import ProjectRepository, open_store

RESULTS = {"pressure_drop_pa": 15.0, "flow_ml_s": {"total": 250.0, "left": 125.0, "right": 125.0}, "converged": True}


def test_colour_ranges_reach_the_scene(tmp_path: pathlib.Path) -> None:
    store = open_store(Settings(data_dir=tmp_path))
    try:
        repo = ProjectRepository(store, owner="local")
        session = SessionState(repository=repo)
        session.open_project(repo.create("Colours").id)
        state = SimulationsState(session=session)
        state.runs = [SimulationRun("run-a", tmp_path / "run-a", dt.datetime.now(dt.timezone.utc), None,
                                    MappingProxyType(RESULTS), (), {}, "r1")]
        state.select("run-a")
        assert state.scene.colour_range is None and state.scene.velocity_range is None  # automatic: percentiles
        state.param.update(colour_low=-30.0, colour_high=0.0, velocity_low=0.0, velocity_high=2.5)
        assert state.scene.colour_range == (-30.0, 0.0) and state.scene.velocity_range == (0.0, 2.5)
        assert state.range_problem == ""
        state.velocity_high = -1.0  # reversed: the automatic range, and the page says why
        assert state.scene.velocity_range is None and "velocity colour range" in state.range_problem
        state.colouring = Colouring.WALL_SHEAR_STRESS.value  # another quantity and unit: automatic again
        assert (state.colour_low, state.colour_high) == (None, None) and state.scene.colour_range is None
        state.streamlines = False
        assert state.scene.velocity_range is None and state.range_problem == ""
    finally:
        store.close()
