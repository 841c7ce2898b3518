"""The airway wall surface with wall pressure and wall shear stress, as VTK poly data (LPS mm).

The surface is the 0.5 iso-surface of the fluid mask (flying edges), so it lies half-way
between fluid cells and walls, where bounce-back puts the wall. Each point takes the values of
the nearest fluid cell with a wall link, and is labelled with the nearest non-fluid voxel:
wall (0) or an opening (1 left inlet, 2 right inlet, 3 outlet).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from rhinoapp.cfd.domain import Opening, link_structure
from rhinoapp.cfd.setup import SparseLattice

__all__ = ["FACE_LABELS", "airway_surface"]

#: Values of the ``face`` point array.
FACE_LABELS = {0: "wall", 1: Opening.INLET_LEFT.value, 2: Opening.INLET_RIGHT.value, 3: Opening.OUTLET.value}


def airway_surface(lattice: SparseLattice, wall_cells: np.ndarray, values: dict[str, np.ndarray]) -> Any:
    """A ``vtkPolyData`` of the air's boundary with ``values`` (per wall cell) as point data.

    Examples
    --------
    >>> from rhinoapp.cfd.setup import build_lattice
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> lattice = build_lattice(square_duct(3, 4))
    >>> cells = np.arange(lattice.n_cells)
    >>> surface = airway_surface(lattice, cells, {"wss_pa": np.ones(cells.size)})
    >>> surface.GetNumberOfPoints() > 0, surface.GetPointData().HasArray("face")
    (True, 1)
    """
    from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
    from vtkmodules.vtkCommonCore import vtkPoints

    from rhinoapp.geometry.surface import contour_half

    domain = lattice.domain
    surface = contour_half(np.pad(domain.fluid, 1).astype(np.float32))
    if surface.GetNumberOfPoints() == 0:
        return surface
    ijk = vtk_to_numpy(surface.GetPoints().GetData()).astype(np.float64) - 1.0  # undo the padding
    points = vtkPoints()
    points.SetData(numpy_to_vtk(domain.geometry.index_to_physical(ijk), deep=True))
    surface.SetPoints(points)
    cells_ijk = lattice.cell_coordinates()[wall_cells]
    nearest = cKDTree(cells_ijk).query(ijk)[1] if len(wall_cells) else np.zeros(len(ijk), dtype=int)
    for name, per_cell in values.items():
        array = numpy_to_vtk(np.asarray(per_cell, dtype=np.float32)[nearest], deep=True)
        array.SetName(name)
        surface.GetPointData().AddArray(array)
    face = numpy_to_vtk(_face_labels(domain, ijk).astype(np.int8), deep=True)
    face.SetName("face")
    surface.GetPointData().AddArray(face)
    return surface


def _face_labels(domain: Any, ijk: np.ndarray) -> np.ndarray:
    """Label of the nearest non-fluid voxel next to the air, for every point."""
    border = ndimage.binary_dilation(domain.fluid, link_structure()) & ~domain.fluid
    kji = np.argwhere(border)
    labels = np.zeros(len(kji), dtype=np.int8)
    for index, opening in enumerate(Opening, start=1):
        labels[domain.opening_mask(opening)[tuple(kji.T)]] = index
    if not len(kji):
        return np.zeros(len(ijk), dtype=np.int8)
    result: np.ndarray = labels[cKDTree(kji[:, ::-1].astype(np.float64)).query(ijk)[1]]
    return result
