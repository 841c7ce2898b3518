"""Mesh checks, label-map measures and the STL/VTP writers."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from vtkmodules.vtkIOXML import vtkXMLPolyDataReader

from rhinoapp.geometry import (
    AirwaySurface,
    SurfaceOptions,
    TriangleMesh,
    label_area_mm2,
    stl_bytes,
    vtp_bytes,
    write_stl,
    write_vtp,
)

TETRA = TriangleMesh(np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=float),
                     np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]]))


def test_mesh_checks_find_holes_non_manifold_edges_and_flips() -> None:
    assert TETRA.check().watertight and TETRA.check().manifold
    assert TETRA.enclosed_volume_mm3 == pytest.approx(1 / 6) and TETRA.flipped().enclosed_volume_mm3 < 0
    open_mesh = TriangleMesh(TETRA.points, TETRA.triangles[:3])
    assert open_mesh.check().boundary_edges == 3 and not open_mesh.check().watertight
    flipped_one = TriangleMesh(TETRA.points, np.vstack([TETRA.triangles[:3], TETRA.triangles[3, ::-1]]))
    assert flipped_one.check().inconsistent_edges > 0 and not flipped_one.check().manifold
    fin = TriangleMesh(np.vstack([TETRA.points, [[1, 1, 1]]]), np.vstack([TETRA.triangles, [[1, 2, 4]]]))
    assert fin.check().non_manifold_edges == 1


def test_label_area_of_a_tilted_slab() -> None:
    zz, yy, xx = np.ogrid[:60, :60, :60]
    slab = np.abs(0.6 * xx + 0.8 * yy - 42) < 6
    slab = slab & (zz > 5) & (zz < 55) & (0.8 * xx - 0.6 * yy > -20) & (0.8 * xx - 0.6 * yy < 20)
    # two 49 x 40 faces, the rest of the box is small: about 2 * 49 * 40 + 2 * 12 * 49 + 2 * 12 * 40
    assert label_area_mm2(slab, (1.0, 1.0, 1.0)) == pytest.approx(2 * 49 * 40 + 2 * 12 * 49 + 2 * 12 * 40, rel=0.05)


def test_stl_and_vtp_files(tmp_path: Path) -> None:
    airway = AirwaySurface(TETRA, np.array([0, 1, 2, 3], np.uint8), np.ones(4, np.uint8), SurfaceOptions())
    stl = write_stl(airway, tmp_path / "out" / "airway.stl").read_bytes()
    assert b"LPS" in stl[:80] and struct.unpack("<I", stl[80:84])[0] == 4 and len(stl) == 84 + 4 * 50
    write_vtp(airway, tmp_path / "out" / "airway.vtp")
    reader = vtkXMLPolyDataReader()
    reader.SetFileName(str(tmp_path / "out" / "airway.vtp"))
    reader.Update()
    polydata = reader.GetOutput()
    faces = polydata.GetCellData().GetArray("face")
    assert [int(faces.GetValue(i)) for i in range(4)] == [0, 1, 2, 3]
    assert polydata.GetFieldData().GetAbstractArray("units").GetValue(0) == "mm"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["airway.stl", "airway.vtp"]  # no temp files


def test_stl_matches_vtk_reading(tmp_path: Path) -> None:
    from vtkmodules.vtkIOGeometry import vtkSTLReader

    airway = AirwaySurface(TETRA, np.zeros(4, np.uint8), np.ones(4, np.uint8), SurfaceOptions())
    assert write_stl(airway, tmp_path / "a.stl").read_bytes() == stl_bytes(airway)
    reader = vtkSTLReader()
    reader.SetFileName(str(tmp_path / "a.stl"))
    reader.Update()
    assert reader.GetOutput().GetNumberOfCells() == 4
    assert reader.GetOutput().GetBounds() == (0.0, 1.0, 0.0, 1.0, 0.0, 1.0)
    assert vtp_bytes(airway).startswith(b"<?xml") or vtp_bytes(airway).startswith(b"<VTKFile")


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    airway = AirwaySurface(TETRA, np.zeros(4, np.uint8), np.ones(4, np.uint8), SurfaceOptions())
    (tmp_path / "airway.stl").mkdir()  # a folder where the file should go
    with pytest.raises(OSError):
        write_stl(airway, tmp_path / "airway.stl")
    assert [p.name for p in tmp_path.iterdir()] == ["airway.stl"]
