"""Writing the airway surface: binary STL and VTK XML PolyData, each atomically (temporary file, rename).

STL carries only triangles (LPS millimetres, as its header says); the VTP file also carries the
cell data ``face`` and ``region`` and field data naming the faces, the coordinate system and units.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> import numpy as np
>>> from rhinoapp.geometry.mesh import TriangleMesh
>>> from rhinoapp.geometry.surface import AirwaySurface, SurfaceOptions
>>> points = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=float)
>>> mesh = TriangleMesh(points, np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]]))
>>> surface = AirwaySurface(mesh, np.zeros(4, np.uint8), np.ones(4, np.uint8), SurfaceOptions())
>>> folder = Path(tempfile.mkdtemp())
>>> write_stl(surface, folder / "airway.stl").stat().st_size  # 80-byte header, count, 50 bytes a triangle
284
>>> write_vtp(surface, folder / "airway.vtp").suffix
'.vtp'
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from vtkmodules.vtkIOGeometry import vtkSTLWriter
from vtkmodules.vtkIOXML import vtkXMLPolyDataWriter

from rhinoapp.core.errors import StoreError
from rhinoapp.geometry.surface import AirwaySurface

__all__ = ["write_stl", "write_vtp"]


def _atomic(path: Path, write: Callable[[str], int]) -> Path:
    """Let ``write`` fill a temporary file next to ``path``, then rename it onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        if write(temporary) != 1:
            raise StoreError(f"VTK could not write {path}; check the free space and permissions of {path.parent}")
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_stl(surface: AirwaySurface, path: Path) -> Path:
    """Write the surface as binary STL (triangles only) and return the path."""
    writer = vtkSTLWriter()
    writer.SetInputData(surface.mesh.to_polydata())
    writer.SetFileTypeToBinary()
    writer.SetHeader("rhinoapp airway surface, LPS millimetres")

    def write(name: str) -> int:
        writer.SetFileName(name)
        return writer.Write()
    return _atomic(path, write)


def write_vtp(surface: AirwaySurface, path: Path) -> Path:
    """Write the surface with its cell and field data as a compressed VTK XML PolyData file."""
    writer = vtkXMLPolyDataWriter()
    writer.SetInputData(surface.to_polydata())
    writer.SetDataModeToAppended()
    writer.EncodeAppendedDataOff()
    writer.SetCompressorTypeToZLib()

    def write(name: str) -> int:
        writer.SetFileName(name)
        return writer.Write()
    return _atomic(path, write)
