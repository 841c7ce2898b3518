"""Volume and surface area measured on a label map itself, independent of any mesh.

The surface area uses the projection (Cauchy) relation: the exposed voxel faces perpendicular to
axis ``a`` add up to the surface's projection ``integral |n_a| dA``, so weighting each face by
``1 / (|n_x| + |n_y| + |n_z|)`` of the unit normal ``n`` there recovers ``integral dA``. The
normal comes from the gradient of the Gaussian-smoothed mask (``sigma_voxels``). A plain count of
faces would overestimate oblique walls by up to sqrt(3).

Examples
--------
>>> zz, yy, xx = np.ogrid[:40, :40, :40]
>>> ball = (zz - 20) ** 2 + (yy - 20) ** 2 + (xx - 20) ** 2 <= 15 ** 2
>>> round(label_area_mm2(ball, (1.0, 1.0, 1.0)) / (4 * np.pi * 15 ** 2), 2)
1.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

__all__ = ["label_area_mm2", "label_volume_mm3"]


def label_volume_mm3(mask: np.ndarray, spacing_kji: Sequence[float]) -> float:
    """Voxel count times voxel volume.

    Examples
    --------
    >>> label_volume_mm3(np.ones((2, 2, 2), dtype=bool), (0.5, 0.5, 2.0))
    4.0
    """
    return float(np.count_nonzero(mask) * np.prod(spacing_kji))


def label_area_mm2(mask: np.ndarray, spacing_kji: Sequence[float], *, sigma_voxels: float = 1.0) -> float:
    """Surface area of a boolean mask estimated from its voxel faces and smoothed normals."""
    if not mask.any():
        return 0.0
    box = ndimage.find_objects(mask.astype(np.uint8))[0]
    pad = int(np.ceil(3 * sigma_voxels)) + 1
    sub = np.pad(mask[box], pad).astype(np.float32)
    spacing = np.asarray(spacing_kji, dtype=float)
    smooth = ndimage.gaussian_filter(sub, sigma_voxels)
    gradient = [np.gradient(smooth, axis=a) / spacing[a] for a in range(3)]
    length = np.sqrt(sum(g * g for g in gradient))
    l1 = sum(np.abs(g) for g in gradient) / np.maximum(length, 1e-12)
    area = 0.0
    for axis in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis], hi[axis] = slice(0, -1), slice(1, None)
        inside_lo, inside_hi = sub[tuple(lo)] > 0.5, sub[tuple(hi)] > 0.5
        faces = inside_lo != inside_hi
        weight = 2.0 / (l1[tuple(lo)][faces] + l1[tuple(hi)][faces])
        face_area = float(np.prod(np.delete(spacing, axis)))
        area += face_area * float(np.clip(weight, 1 / np.sqrt(3), 1.0).sum())
    return area
