"""The part of a label that an opening's plane cuts off: the layer the plane passes through, within the opening's
disc, and what lies beyond it that the cut separates from the rest of the airway.

A plane's half-space alone is not the part cut off. A nostril's plane is often tilted (fitted to a staircase of
voxel faces, as a CT or a label map with thick slices gives): its half-space then reaches the floor of the
nasal cavity far behind the nostril, and removing that would close the cavity. So only the plane's layer
within the opening's disc (its radius, as ``geometry.json`` gives it; without one, the connected part of
the layer nearest the plane's point) is cut, and of what lies beyond it
only the parts that the cut leaves without a path to the airway on the near side (a vestibule's tip beyond a
nostril's plane, the nasopharynx below an outlet plane placed by hand).

A label drawn up to a tilted plane ends in a staircase, and some of its columns end short of the plane's layer;
the layer caps them with the voxel beyond their end, so that every column of the passage opens (:func:`_caps`).

Examples
--------
>>> from rhinoapp.core.volume import ImageGeometry
>>> airway = np.zeros((4, 12, 3), dtype=bool)
>>> airway[:, 0, 1] = airway[3, :, 1] = True  # up from a nostril at k = 0, then back along the floor at k = 3
>>> geometry = ImageGeometry(airway.shape)
>>> tilted = (0.0, 0.35, -0.94)  # the nostril's plane, tilted: its half-space reaches the floor from j = 8 on
>>> cut = plane_cut(geometry, (1.0, 0.0, -0.5), tilted, 1.0, airway, airway)
>>> np.argwhere(cut)[:, :2].tolist()  # the nostril's layer alone
[[0, 0]]
>>> np.argwhere(plane_cut(geometry, (1.0, 0.0, -0.5), tilted, None, airway, airway))[:, :2].tolist()
[[0, 0]]

Without a radius, the part of the layer nearest the point is cut (here the same): the half-space would
have cut the floor from ``j = 8`` on, and closed the cavity there.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from rhinoapp.cfd.domain import link_structure
from rhinoapp.cfd.regrid import shifted
from rhinoapp.core.volume import ImageGeometry

__all__ = ["plane_cut"]

#: How far beyond the opening's radius (in voxels) the layer is cut: the rim of a ragged opening.
_RIM_VOXELS = 2.0
#: A plane within this angle (degrees) of a grid axis is level: no staircase, no caps (:func:`_caps`).
_LEVEL_DEG = 1.0


def _caps(band: np.ndarray, inside: np.ndarray, normal_ijk: np.ndarray) -> np.ndarray:
    """The voxels of ``band`` whose neighbour inward, along the grid axis nearest the plane's normal, is ``inside``.

    A label drawn up to a tilted plane ends in a staircase: in a column where its last voxel's centre lies
    more than half a voxel short of the plane, the plane's layer holds no voxel of the label, and the column
    would end in wall. A head rolled 10 degrees had such walls in three columns of every six across its outlet,
    a comb of slits 1.5 mm wide that the outlet's extension carried on, and the flow diverged in them. The voxel
    beyond the column's end, in the layer, caps it. ``normal_ijk`` is the plane's normal in millimetres per index
    step along i, j and k. A plane within :data:`_LEVEL_DEG` of a grid axis has no staircase, and no caps: its layer
    is one layer of the grid, and a column that ends short of it ends a whole voxel short (a cavity's floor beside a
    nostril's layer), which no label drawn to the plane does.

    Examples
    --------
    >>> band = np.zeros((3, 1, 4), dtype=bool); band[1] = True  # the layer; the label reaches it in columns 0, 1
    >>> free = band.copy(); free[1, 0, :2] = False  # the layer outside the air
    >>> inside = np.zeros_like(band); inside[0] = True  # the label short of the layer
    >>> _caps(free, inside, np.array([0.1, 0.0, 0.99]))[:, 0].astype(int).tolist()
    [[0, 0, 0, 0], [0, 0, 1, 1], [0, 0, 0, 0]]
    >>> bool(_caps(free, inside, np.array([0.1, 0.0, -0.99])).any())  # the label lies beyond: nothing to cap
    False
    >>> bool(_caps(free, inside, np.array([0.0, 0.0, 1.0])).any())  # a level plane: no staircase
    False
    """
    steps = np.abs(np.asarray(normal_ijk, dtype=float))
    if steps.max() >= math.cos(math.radians(_LEVEL_DEG)) * float(np.linalg.norm(steps)):
        return np.zeros_like(band)  # a level plane: its layer is a layer of the grid, and no staircase ends short of it
    axis = 2 - int(np.argmax(steps))  # the array's axis (k, j, i) of that index axis
    outward = 1 if normal_ijk[2 - axis] > 0 else -1
    result: np.ndarray = band & shifted(inside, axis, outward)  # a voxel whose neighbour inward is inside
    return result


def plane_cut(geometry: ImageGeometry, point_mm: tuple[float, float, float] | np.ndarray,
              normal: tuple[float, float, float] | np.ndarray, radius_mm: float | None, region: np.ndarray,
              fluid: np.ndarray) -> np.ndarray:
    """The voxels that the plane cuts off ``region`` (a ``[k, j, i]`` mask within ``fluid``).

    ``normal`` points out of the airway; ``radius_mm`` bounds the disc of the plane that cuts (``None``: the
    connected part of the plane's layer nearest ``point_mm``). The layer is the voxels of ``region`` whose centres
    lie within half the largest voxel size of the plane, and the voxels there outside ``fluid`` that cap a column
    of ``region`` ending short of it (:func:`_caps`); beyond it, the parts of ``region`` that no path through
    ``fluid`` joins to fluid on the near side of the plane, or outside ``region``'s bounding box, without crossing
    the layer.
    """
    box = tuple(slice(max(0, s.start - 1), min(n, s.stop + 1))
                for s, n in zip(ndimage.find_objects(region.astype(np.uint8))[0], region.shape))
    corner = np.array([s.start for s in box], dtype=float)
    shape = tuple(s.stop - s.start for s in box)
    k, j, i = (np.arange(n, dtype=float) + c for n, c in zip(shape, corner))
    index = (i[None, None, :], j[None, :, None], k[:, None, None])  # broadcast along the array axes k, j, i
    matrix = np.asarray(geometry.direction_matrix, dtype=float) * np.asarray(geometry.spacing_mm, dtype=float)
    offset = np.asarray(geometry.origin_mm, dtype=float) - np.asarray(point_mm, dtype=float)
    unit = np.asarray(normal, dtype=float) / float(np.linalg.norm(normal))
    along = sum(float(unit @ matrix[:, axis]) * index[axis] for axis in range(3)) + float(unit @ offset)
    along = np.broadcast_to(along, shape)
    reach = 0.5 * float(max(geometry.spacing_mm))
    band = np.abs(along) <= reach
    layer = region[box] & band
    caps = _caps(band & ~fluid[box], region[box] & ~band, matrix.T @ unit)
    squared = sum((sum(matrix[lps, axis] * index[axis] for axis in range(3)) + offset[lps]) ** 2 for lps in range(3))
    off_axis = np.sqrt(np.maximum(squared - along**2, 0.0))  # each voxel's distance from the plane's normal line
    if radius_mm is not None:
        layer = (layer | caps) & (off_axis <= radius_mm + _RIM_VOXELS * float(max(geometry.spacing_mm)))
    elif layer.any():  # the connected sheet of the layer and its caps nearest the point (caps join a staircase's strips)
        every = np.ones((3, 3, 3), dtype=bool)
        parts, _ = ndimage.label(layer | caps, structure=every)
        nearest = np.unravel_index(np.argmin(np.where(layer, squared, np.inf)), shape)
        layer = parts == parts[nearest]
    result = np.zeros(region.shape, dtype=bool)
    result[box] = layer
    if not layer.any():
        return result
    rest = fluid & ~result
    components, _ = ndimage.label(rest, structure=link_structure())
    near_side = np.ones(region.shape, dtype=bool)
    near_side[box] = along < -reach  # the near side of the plane, and all fluid outside the box
    joined = np.unique(components[rest & near_side])
    local = components[box]
    result[box] |= region[box] & (along > reach) & (local > 0) & ~np.isin(local, joined[joined > 0])
    return result
