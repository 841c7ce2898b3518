"""The live 3D view's scene follows a run's live checkpoints."""

from __future__ import annotations

from pathlib import Path

from rhinoapp.cfd.config import PhysicsConfig, RunConfig
from rhinoapp.cfd.live import read_live_checkpoint
from rhinoapp.cfd.shapes import square_duct
from rhinoapp.cfd.simulation import simulate
from rhinoapp.state.live_view import LiveFlow


def test_the_live_flow_shows_each_new_checkpoint_once(tmp_path: Path) -> None:
    live_dir = tmp_path / "live"
    simulate(square_duct(4, 8), PhysicsConfig(flow_ml_s=1.0, kinematic_viscosity_m2_s=1e-4),
             RunConfig(backend="numpy", max_steps=200, check_every=50, live_interval_s=1e-9), live_dir=live_dir)
    flow = LiveFlow()
    flow.follow(live_dir)
    latest = read_live_checkpoint(live_dir)
    assert latest is not None
    assert flow.update(latest.step) and not flow.update(latest.step)
    scene = flow.scene()
    assert scene is not None and scene.surface == str(latest.surface) and scene.flow == str(latest.fields)
    assert scene.streamlines and scene.revision == f"live-{latest.step}"
    flow.follow(None)
    assert flow.scene() is None and not flow.update(latest.step + 50)
