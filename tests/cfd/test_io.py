"""Atomic output files, VTK images on LPS coordinates, checkpoints."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import numpy as np

from rhinoapp.cfd import io
from rhinoapp.core.volume import ImageGeometry


def test_json_and_csv_are_written_atomically(tmp_path: Path) -> None:
    io.write_json(tmp_path / "r.json", {"a": np.float64(1.5), "b": float("nan"), "c": np.arange(2), "d": (1, 2)})
    assert json.loads((tmp_path / "r.json").read_text()) == {"a": 1.5, "b": None, "c": [0, 1], "d": [1, 2]}
    io.write_csv(tmp_path / "c.csv", ["x", "y"], [[1, 2], [3, 4]])
    assert (tmp_path / "c.csv").read_text() == "x,y\n1,2\n3,4\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.csv", "r.json"]  # no temporary files left
    assert stat.S_IMODE((tmp_path / "r.json").stat().st_mode) == 0o644


def test_image_keeps_the_ct_coordinates(tmp_path: Path) -> None:
    from vtkmodules.vtkIOXML import vtkXMLImageDataReader

    direction = (0.0, -1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0)
    geometry = ImageGeometry((2, 3, 4), (0.5, 0.6, 0.7), (10.0, -20.0, 30.0), direction)
    scalar = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    vector = np.stack([scalar, -scalar, 2 * scalar], axis=-1)
    io.write_image(tmp_path / "f.vti", geometry, {"p": scalar, "v": vector}, {"note": "test"})
    reader = vtkXMLImageDataReader()
    reader.SetFileName(str(tmp_path / "f.vti"))
    reader.Update()
    image = reader.GetOutput()
    assert image.GetDimensions() == (4, 3, 2)
    assert np.allclose(image.GetOrigin(), geometry.origin_mm) and np.allclose(image.GetSpacing(), (0.5, 0.6, 0.7))
    matrix = image.GetDirectionMatrix()
    assert np.allclose([matrix.GetElement(r, c) for r in range(3) for c in range(3)], direction)
    point = [0.0, 0.0, 0.0]
    image.TransformIndexToPhysicalPoint(1, 2, 1, point)
    assert np.allclose(point, geometry.index_to_physical((1, 2, 1)))
    from vtkmodules.util.numpy_support import vtk_to_numpy

    assert np.array_equal(vtk_to_numpy(image.GetPointData().GetArray("p")).reshape(2, 3, 4), scalar)
    assert vtk_to_numpy(image.GetPointData().GetArray("v")).shape == (24, 3)
    assert image.GetFieldData().GetAbstractArray("coordinate_system").GetValue(0) == "LPS"


def test_checkpoints_keep_the_newest_two_and_skip_damaged_ones(tmp_path: Path) -> None:
    state = np.arange(8, dtype=np.float32)
    for step in (10, 20, 30):
        io.save_checkpoint(tmp_path, step=step, state=state * step, history=[{"step": step}], fingerprint="f")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-0000000020.npz", "checkpoint-0000000030.npz"]
    (tmp_path / "checkpoint-0000000040.npz").write_bytes(b"broken")
    found = io.load_latest_checkpoint(tmp_path)
    assert found is not None and found.step == 30 and np.array_equal(found.state, state * 30)
    assert found.history == [{"step": 30}] and found.fingerprint == "f"
    assert io.load_latest_checkpoint(tmp_path / "missing") is None
