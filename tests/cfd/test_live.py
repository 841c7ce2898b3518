"""Live checkpoints of a running simulation: written while it runs, atomically, readable as the run's files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkIOXML import vtkXMLImageDataReader, vtkXMLPolyDataReader

from rhinoapp.cfd.config import PhysicsConfig, RunConfig
from rhinoapp.cfd.live import LIVE_MANIFEST, read_live_checkpoint
from rhinoapp.cfd.shapes import square_duct
from rhinoapp.cfd.simulation import simulate
from rhinoapp.core.progress import ProgressReport


def _read(reader_type, path: Path):
    reader = reader_type()
    reader.SetFileName(str(path))
    reader.Update()
    return reader.GetOutput()


def test_a_run_writes_live_checkpoints_that_follow_the_flow(tmp_path: Path) -> None:
    reports: list[ProgressReport] = []
    live_dir = tmp_path / "live"
    seen: list[tuple[int, float]] = []  # (step, largest speed of the checkpoint) as each report arrives

    def progress(report: ProgressReport) -> None:
        reports.append(report)
        checkpoint = read_live_checkpoint(live_dir)
        if checkpoint is not None and (not seen or seen[-1][0] != checkpoint.step):
            fields = _read(vtkXMLImageDataReader, checkpoint.fields)
            speed = np.linalg.norm(vtk_to_numpy(fields.GetPointData().GetArray("velocity_m_s")), axis=1)
            seen.append((checkpoint.step, float(speed.max())))

    run = RunConfig(backend="numpy", max_steps=600, check_every=50, live_interval_s=1e-9)  # every check
    result = simulate(square_duct(6, 16), PhysicsConfig(flow_ml_s=1.0, kinematic_viscosity_m2_s=1e-4), run,
                      out_dir=tmp_path / "run", progress=progress, live_dir=live_dir)
    steps = [r.live_step for r in reports if r.live_step is not None]
    assert steps and steps == sorted(steps) and len(set(steps)) > 3, steps
    assert len(seen) > 3 and seen[-1][1] > seen[0][1] > 0, seen  # the flow starts up: the pictures change
    latest = read_live_checkpoint(live_dir)
    assert latest is not None and latest.step == steps[-1]
    surface = _read(vtkXMLPolyDataReader, latest.surface)
    pressure = vtk_to_numpy(surface.GetPointData().GetArray("pressure_pa"))
    assert surface.GetNumberOfPoints() == pressure.size > 0 and np.ptp(pressure) > 0
    assert surface.GetPointData().HasArray("face")
    names = sorted(p.name for p in live_dir.iterdir())
    assert LIVE_MANIFEST in names and len(names) == 7, names  # the three latest checkpoints and the manifest
    assert not any(".tmp" in name or name.startswith(".") for name in names)
    cost = result.results["live_view"]  # what the live view cost the run
    assert cost["checkpoints"] == len(set(steps)) and cost["seconds"] > 0 and cost["interval_s"] == 1e-9


def test_a_run_without_an_interval_writes_none(tmp_path: Path) -> None:
    simulate(square_duct(4, 8), PhysicsConfig(flow_ml_s=1.0, kinematic_viscosity_m2_s=1e-4),
             RunConfig(backend="numpy", max_steps=100), live_dir=tmp_path / "live")
    assert not (tmp_path / "live").exists()
