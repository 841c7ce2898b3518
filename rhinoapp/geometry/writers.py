"""Writing the airway surface: binary STL and VTK XML PolyData, each atomically (temporary file, rename).

``stl_bytes`` and ``vtp_bytes`` give the file contents, for publishing through the store's
``write_artifact``; ``write_stl`` and ``write_vtp`` write them to explicit paths. STL carries
only triangles (LPS millimetres, as its header says); the VTP file also carries the cell data
``face`` and ``region`` and field data naming the faces, the coordinate system and units.

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

import tempfile
from pathlib import Path

import numpy as np
from vtkmodules.vtkIOXML import vtkXMLPolyDataWriter

from rhinoapp.core.errors import StoreError
from rhinoapp.core.files import atomic_write
from rhinoapp.geometry.surface import AirwaySurface

__all__ = ["stl_bytes", "vtp_bytes", "write_stl", "write_vtp"]


_STL_HEADER = b"rhinoapp airway surface, LPS millimetres"
_STL_TRIANGLE = np.dtype([("normal", "<f4", 3), ("vertices", "<f4", (3, 3)), ("attribute", "<u2")])


def stl_bytes(surface: AirwaySurface) -> bytes:
    """The binary STL file of the surface: 80-byte header, triangle count, 50 bytes a triangle."""
    mesh = surface.mesh
    records = np.zeros(len(mesh.triangles), dtype=_STL_TRIANGLE)
    records["normal"] = mesh.cell_normals
    records["vertices"] = mesh.points[mesh.triangles]
    header = _STL_HEADER.ljust(80, b" ")
    return header + np.uint32(len(records)).tobytes() + records.tobytes()


def vtp_bytes(surface: AirwaySurface) -> bytes:
    """The VTK XML PolyData file (appended raw data, zlib) with cell data ``face`` and ``region``."""
    writer = vtkXMLPolyDataWriter()
    writer.SetInputData(surface.to_polydata())
    writer.SetDataModeToAppended()
    writer.EncodeAppendedDataOff()
    writer.SetCompressorTypeToZLib()
    with tempfile.TemporaryDirectory(prefix="rhinoapp-vtp-") as folder:  # VTK's string output is text, not bytes
        name = str(Path(folder) / "polydata.vtp")
        writer.SetFileName(name)
        if writer.Write() != 1:
            raise StoreError("VTK could not write the surface as VTP; check the free space of the temporary folder")
        return Path(name).read_bytes()


def write_stl(surface: AirwaySurface, path: Path) -> Path:
    """Write :func:`stl_bytes` to ``path`` atomically and return the path."""
    return atomic_write(path, stl_bytes(surface)).path


def write_vtp(surface: AirwaySurface, path: Path) -> Path:
    """Write :func:`vtp_bytes` to ``path`` atomically and return the path."""
    return atomic_write(path, vtp_bytes(surface)).path
