"""Carrying a flow domain to a new grid: the openings' layers and the air's values (:meth:`FlowDomain.resampled`).

Examples
--------
>>> flat_axis(np.eye(3, dtype=bool)[None])
0
"""

from __future__ import annotations

import numpy as np

__all__ = ["facing_the_air", "flat_axis", "sample_linear", "shifted"]


def shifted(mask: np.ndarray, axis: int, step: int) -> np.ndarray:
    """``mask`` moved one voxel along array ``axis``, towards higher indices for ``step`` +1, lower for -1; what
    leaves the grid is dropped, what enters is False.

    Examples
    --------
    >>> shifted(np.array([[[True, False, False]]]), 2, 1).tolist(), shifted(np.array([[[True, False]]]), 2, -1).tolist()
    ([[[False, True, False]]], [[[False, False]]])
    """
    result = np.zeros_like(mask)
    source, target = [slice(None)] * 3, [slice(None)] * 3
    if step > 0:
        target[axis], source[axis] = slice(1, None), slice(None, -1)
    else:
        target[axis], source[axis] = slice(None, -1), slice(1, None)
    result[tuple(target)] = mask[tuple(source)]
    return result


def flat_axis(mask: np.ndarray) -> int | None:
    """The axis along which ``mask`` is one layer thick, or None (a ring, a staircase, a cap of several layers)."""
    for axis in range(3):
        if np.unique(np.nonzero(mask)[axis]).size == 1:
            return axis
    return None


def facing_the_air(chosen: np.ndarray, fluid: np.ndarray, axis: int | None) -> np.ndarray:
    """The voxels of ``chosen`` whose face neighbour along ``axis`` is fluid (all of ``chosen`` without an axis, or
    when none faces the air).

    An opening that is a flat layer across a passage, such as the outlet at the end of its extension, is carried to
    a new grid as the voxels next to the air within a voxel of it. Those include the rim round the passage's end,
    whose voxels touch the air only across an edge, so that the outflow's condition also sat on the passage's sides
    (a third of a rolled head's outlet on the 0.75 mm lattice, a tenth of the straight head's). Only the voxels
    that cap the passage are kept.

    Examples
    --------
    >>> fluid = np.zeros((3, 4, 4), dtype=bool); fluid[1:, 1:3, 1:3] = True  # a square passage from k = 1 on
    >>> layer = np.zeros_like(fluid); layer[0, :, 1:3] = layer[0, 1:3, :] = True  # its end and the rim round it
    >>> int(layer.sum()), int(facing_the_air(layer, fluid, 0).sum())
    (12, 4)
    """
    if axis is None:
        return chosen
    kept = chosen & (shifted(fluid, axis, 1) | shifted(fluid, axis, -1))
    return kept if kept.any() else chosen


def sample_linear(values: np.ndarray, shape_ijk: np.ndarray, spacing: np.ndarray, resolution_mm: float,
                   periodic: tuple[bool, bool, bool]) -> np.ndarray:
    """``values`` (``[k, j, i]``) interpolated linearly, one axis at a time, at the centres of the new grid's cells
    (``shape_ijk`` of them per axis), the grids sharing their corner; periodic axes wrap."""
    result = values
    for ijk_axis, (count, step, wrap) in enumerate(zip((int(n) for n in shape_ijk), spacing, periodic, strict=True)):
        axis = 2 - ijk_axis
        size = values.shape[axis]
        position = (np.arange(count) + 0.5) * resolution_mm / float(step) - 0.5
        if wrap:
            low = np.floor(position).astype(int)
            weight = (position - low).astype(np.float32)
            low, high = np.mod(low, size), np.mod(low + 1, size)
        else:
            position = np.clip(position, 0.0, size - 1.0)
            low = np.minimum(np.floor(position).astype(int), max(size - 2, 0))
            high = np.minimum(low + 1, size - 1)
            weight = (position - low).astype(np.float32)
        shape = [1, 1, 1]
        shape[axis] = count
        result = (np.take(result, low, axis=axis) * (1.0 - weight.reshape(shape))
                  + np.take(result, high, axis=axis) * weight.reshape(shape))
    return result
