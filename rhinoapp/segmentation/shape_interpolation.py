"""Label maps onto finer grids by shape-based interpolation: smooth walls between thick slices, not staircases.

A label map with thick slices (2 mm axial slices, 1.5 mm sagittal ones) sampled at the nearest voxel
of a finer grid keeps its slices' staircase: steps as high as a slice, in passages a few millimetres
wide. Which side of a step a finer grid's voxel falls on then depends on where the grids happen to
align, and so does the width of a narrow passage: on the phantom, shifting a 1.5 mm sagittal label
map by half a millimetre changed the pressure drop by 16 %. Shape-based interpolation (Raya and Udupa,
1990) interpolates each label's signed distance to its boundary linearly instead, and a voxel takes
the label it lies deepest inside: the boundary runs smoothly between the slices, as the anatomy does.

Examples
--------
>>> from rhinoapp.core.volume import ImageGeometry
>>> thick = np.zeros((3, 1, 8), dtype=np.uint8)
>>> thick[0, 0, 1:7] = thick[1, 0, 3:5] = 1  # a passage narrowing from 6 voxels to 2 over one 2 mm slice
>>> source = ImageGeometry(thick.shape, spacing_mm=(1.0, 1.0, 2.0))
>>> fine = ImageGeometry((5, 1, 8), spacing_mm=(1.0, 1.0, 1.0))
>>> interpolated = shape_interpolated(thick, source, fine)[:, 0]
>>> [int(row.sum()) for row in interpolated]  # the slice between narrows halfway (nearest: 6 or 2)
[6, 4, 2, 0, 0]
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from rhinoapp.core.volume import ImageGeometry

__all__ = ["COARSER_FACTOR", "is_coarser", "isotropic_grid", "shape_interpolated"]

#: A source grid is interpolated by shape where one of its voxel sides is this many times the target's finest.
COARSER_FACTOR = 1.5
_PAD_VOXELS = 2
_CHUNK_VOXELS = 4_000_000


def is_coarser(source: ImageGeometry, target: ImageGeometry, *, factor: float = COARSER_FACTOR) -> bool:
    """True when the largest voxel side of ``source`` is at least ``factor`` times the largest of ``target``
    (thick slices onto a finer grid; a grid onto itself is not).

    Examples
    --------
    >>> thick, fine = ImageGeometry((4, 4, 4), spacing_mm=(0.5, 0.5, 2.0)), ImageGeometry((4, 4, 4), spacing_mm=(0.5,) * 3)
    >>> is_coarser(thick, fine), is_coarser(thick, thick)
    (True, False)
    """
    return max(source.spacing_mm) >= factor * max(target.spacing_mm)


def isotropic_grid(geometry: ImageGeometry, values: np.ndarray, *, finest_mm: float = 0.4, margin_mm: float = 3.0,
                   factor: float = COARSER_FACTOR) -> ImageGeometry | None:
    """An isotropic grid for a label map with thick slices, or ``None`` for one whose voxels are nearly cubic.

    The grid has the label map's axes and its finest voxel side (not finer than ``finest_mm``), and covers
    the labelled voxels (``values`` non-zero) and ``margin_mm`` around them, within the label map's own field
    of view: labels cut by its faces stay cut by the new grid's.

    Examples
    --------
    >>> values = np.zeros((10, 20, 20), dtype=np.uint8); values[:, 5:15, 5:15] = 1  # labels up to both axial faces
    >>> grid = isotropic_grid(ImageGeometry(values.shape, spacing_mm=(0.5, 0.5, 2.0)), values, margin_mm=1.0)
    >>> grid.shape, grid.spacing_mm, grid.origin_mm  # 2 mm slices: four 0.5 mm voxels each, the first from -1 mm
    ((40, 14, 14), (0.5, 0.5, 0.5), (1.5, 1.5, -0.75))
    """
    spacing = np.asarray(geometry.spacing_mm, dtype=float)  # i, j, k
    if spacing.max() < factor * spacing.min():
        return None
    size = max(float(spacing.min()), finest_mm)
    found = ndimage.find_objects((values > 0).astype(np.uint8))
    if not found or found[0] is None:
        return None
    margin = np.ceil(margin_mm / spacing).astype(int)  # voxels, i, j, k
    lo = np.maximum(np.array([s.start for s in found[0]][::-1]) - margin, 0)
    hi = np.minimum(np.array([s.stop for s in found[0]][::-1]) - 1 + margin, np.array(geometry.shape[::-1]) - 1)
    start_mm = (lo - 0.5) * spacing  # the first voxel's outer face, along each axis from the origin
    counts = np.maximum(1, np.round((hi - lo + 1) * spacing / size)).astype(int)
    direction = np.asarray(geometry.direction_matrix, dtype=float)
    origin = np.asarray(geometry.origin_mm, dtype=float) + direction @ (start_mm + size / 2)
    return ImageGeometry(tuple(int(n) for n in counts[::-1]), (size, size, size),  # type: ignore[arg-type]
                         tuple(float(v) for v in origin), geometry.direction)  # type: ignore[arg-type]


def _signed_distance(mask: np.ndarray, spacing_kji: tuple[float, float, float]) -> np.ndarray:
    """Millimetres to the boundary of ``mask``: negative inside, positive outside (zero on the voxel faces when
    interpolated linearly between the centres either side)."""
    outside = ndimage.distance_transform_edt(~mask, sampling=spacing_kji)
    inside = ndimage.distance_transform_edt(mask, sampling=spacing_kji)
    result: np.ndarray = (outside - inside).astype(np.float32)
    return result


def shape_interpolated(values: np.ndarray, source: ImageGeometry, target: ImageGeometry) -> np.ndarray:
    """``values`` (labels on ``source``, ``[k, j, i]``) on ``target`` by shape-based interpolation; 0 outside.

    Each label's signed distance (in millimetres, on the labelled box of ``source``) is interpolated
    trilinearly at ``target``'s voxel centres, and a voxel takes the label whose distance is the most
    negative there, or 0 where none is. Grids may differ in spacing, origin and axes.
    """
    result = np.zeros(target.shape, dtype=values.dtype)
    found = ndimage.find_objects((values > 0).astype(np.uint8))
    if not found or found[0] is None:
        return result
    box = tuple(slice(max(0, s.start - _PAD_VOXELS), min(n, s.stop + _PAD_VOXELS)) for s, n in zip(found[0], values.shape))
    local = values[box]
    labels = [int(v) for v in np.unique(local) if v != 0]
    spacing_kji = tuple(float(v) for v in source.spacing_mm[::-1])
    distances = [_signed_distance(local == label, spacing_kji) for label in labels]  # type: ignore[arg-type]
    corner = np.array([s.start for s in box][::-1], dtype=float)  # i, j, k of the box's first voxel
    to_source = np.linalg.inv(source.affine_lps) @ target.affine_lps
    nk, nj, ni = target.shape
    rows = max(1, _CHUNK_VOXELS // max(1, nj * ni))
    jj, ii = np.meshgrid(np.arange(nj, dtype=float), np.arange(ni, dtype=float), indexing="ij")
    upper = np.array(local.shape[::-1], dtype=float) - 1
    for first in range(0, nk, rows):
        ks = np.arange(first, min(nk, first + rows), dtype=float)
        points = np.stack(np.broadcast_arrays(ii[None], jj[None], ks[:, None, None]), axis=-1)  # i, j, k
        index = points @ to_source[:3, :3].T + to_source[:3, 3] - corner
        inside = np.all((index >= -0.5) & (index <= upper + 0.5), axis=-1)
        if not inside.any():
            continue
        where = index[inside][:, ::-1].T  # k, j, i rows for map_coordinates
        samples = np.stack([ndimage.map_coordinates(d, where, order=1, mode="nearest") for d in distances])
        best = np.argmin(samples, axis=0)
        chosen = np.where(samples[best, np.arange(samples.shape[1])] < 0, np.asarray(labels)[best], 0)
        chunk = result[first:first + len(ks)]
        chunk[inside] = chosen
    return result
