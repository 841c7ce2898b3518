"""Air masks: orientation of the grid, air outside the body, partial-volume boundary voxels.

Outside air
-----------
Air outside the body is found slice by slice on the axial planes (the array axis closest to LPS
z): air connected within its slice to the slice border is outside. A nostril is enclosed by the
ala, columella and lip in every axial slice above its opening, so its lumen stays inside, and the
air below the nose is outside; the nostril opening is where the two meet between slices.

Examples
--------
>>> from rhinoapp.core.volume import ImageGeometry
>>> frame = AxisFrame.of(ImageGeometry((4, 5, 6)))
>>> frame.axial, frame.coronal, frame.lateral
(0, 1, 2)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from rhinoapp.core.volume import ImageGeometry

__all__ = ["AxisFrame", "Box", "coordinate_grid", "enclosed_air_on_face", "outside_air", "partial_volume_band",
           "voxel_centres"]

Box = tuple[slice, slice, slice]


@dataclasses.dataclass(frozen=True)
class AxisFrame:
    """Which array axis (``[k, j, i]`` numbering) runs closest to LPS z, y and x, and which way.

    ``*_sign`` is +1 when the index grows towards superior (axial), posterior (coronal) or the
    patient's left (lateral).
    """

    axial: int
    axial_sign: int
    coronal: int
    coronal_sign: int
    lateral: int
    lateral_sign: int

    @classmethod
    def of(cls, geometry: ImageGeometry) -> AxisFrame:
        """The frame of a grid; refuses grids whose axes are not close to the LPS axes."""
        from rhinoapp.segmentation.errors import SegmentationError

        matrix = geometry.direction_matrix  # columns: i, j, k in LPS
        chosen: list[tuple[int, int]] = []
        for lps_axis in (2, 1, 0):  # z, y, x
            row = np.abs(matrix[lps_axis])
            column = int(np.argmax(row))
            if row[column] < 0.8 or any(column == c for c, _ in chosen):
                raise SegmentationError(
                    "the image axes are too oblique to the patient axes (more than about 35 degrees): "
                    "resample the volume to an axial orientation first")
            chosen.append((column, 1 if matrix[lps_axis, column] > 0 else -1))
        (kz, sz), (ky, sy), (kx, sx) = chosen
        return cls(2 - kz, sz, 2 - ky, sy, 2 - kx, sx)


def voxel_centres(geometry: ImageGeometry, index_kji: tuple[np.ndarray, ...] | np.ndarray,
                  offset_kji: tuple[int, int, int] = (0, 0, 0)) -> np.ndarray:
    """LPS millimetres (n, 3) of voxel indices ``(k, j, i)`` given relative to ``offset_kji``.

    Examples
    --------
    >>> g = ImageGeometry((2, 2, 2), spacing_mm=(0.5, 0.5, 2.0), origin_mm=(1.0, 0.0, 0.0))
    >>> voxel_centres(g, (np.array([1]), np.array([0]), np.array([1]))).tolist()
    [[1.5, 0.0, 2.0]]
    """
    k, j, i = (np.asarray(a) + o for a, o in zip(index_kji, offset_kji))
    return geometry.index_to_physical(np.stack([i, j, k], axis=-1))


def coordinate_grid(geometry: ImageGeometry, vector: Sequence[float], shape: Sequence[int],
                    offset_kji: Sequence[int] = (0, 0, 0)) -> np.ndarray:
    """``vector . position`` (LPS mm) of every voxel centre of a box, as a broadcastable sum.

    Linear in the indices, so it costs three 1-D arrays instead of one point per voxel.

    Examples
    --------
    >>> g = ImageGeometry((2, 3, 4), spacing_mm=(0.5, 1.0, 2.0))
    >>> coordinate_grid(g, (0, 0, 1), (2, 3, 4))[:, 0, 0].tolist()  # z of each slice
    [0.0, 2.0]
    """
    along = np.asarray(vector, dtype=float) @ geometry.direction_matrix * np.asarray(geometry.spacing_mm)  # per i, j, k
    base = float(np.asarray(vector, dtype=float) @ np.asarray(geometry.origin_mm))
    parts = []
    for axis in range(3):
        steps = (np.arange(shape[axis]) + offset_kji[axis]) * along[2 - axis]
        view = [1, 1, 1]
        view[axis] = shape[axis]
        parts.append(steps.reshape(view))
    result: np.ndarray = (parts[0] + parts[1] + parts[2] + base).astype(np.float32)
    return result


def outside_air(air: np.ndarray, axial_axis: int, *, closed: Sequence[tuple[int, int]] = ()) -> np.ndarray:
    """Air connected, within its axial slice, to the slice border (the air outside the body).

    ``closed`` lists borders, as (axis, end) with end 0 or -1, that do not count: a scan cropped to
    the nose cuts the nasopharynx at its posterior face, where the air is no outside air.

    Examples
    --------
    >>> air = np.ones((1, 5, 5), dtype=bool)
    >>> air[0, 1:4, 1:4] = False
    >>> air[0, 2, 2] = True  # enclosed
    >>> outside_air(air, 0)[0].astype(int)[2].tolist()
    [1, 0, 0, 0, 1]
    """
    structure = np.zeros((3, 3, 3), dtype=bool)
    plane = [1, 1, 1]
    plane[axial_axis] = slice(None)  # type: ignore[call-overload]
    structure[tuple(plane)] = False
    structure[1, 1, 1] = True
    for axis in range(3):
        if axis != axial_axis:
            index = [1, 1, 1]
            index[axis] = slice(None)  # type: ignore[call-overload]
            structure[tuple(index)] = True
    labels, count = ndimage.label(air, structure=structure)
    border = np.zeros(count + 1, dtype=bool)
    for axis in range(3):
        if axis == axial_axis:
            continue
        for end in (0, -1):
            if (axis, end) not in closed:
                border[np.unique(np.take(labels, end, axis=axis))] = True
    border[0] = False
    result: np.ndarray = border[labels]
    return result


def enclosed_air_on_face(air: np.ndarray, axis: int, end: int, min_pixels: int) -> list[tuple[np.ndarray, ...]]:
    """Air regions on one face of the volume that are enclosed by non-air within that face.

    Each result holds the 2-D pixel indices of one region of at least ``min_pixels``; such a
    region is an air space cut open by the edge of the field of view.

    Examples
    --------
    >>> air = np.zeros((3, 6, 6), dtype=bool)
    >>> air[:, 2:4, 2:4] = True
    >>> [len(r[0]) for r in enclosed_air_on_face(air, 0, 0, 2)]
    [4]
    """
    face = np.take(air, end, axis=axis)
    labels, count = ndimage.label(face)
    touching = np.zeros(count + 1, dtype=bool)
    for edge in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        touching[edge] = True
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    return [np.nonzero(labels == n) for n in range(1, count + 1) if not touching[n] and sizes[n] >= min_pixels]


def partial_volume_band(hu: np.ndarray, airway: np.ndarray, *, threshold_hu: float, tissue_hu: float) -> np.ndarray:
    """Boundary voxels to add to ``airway``: touching it, brighter than the threshold and darker than
    the local half-maximum of their 3x3x3 neighbourhood, ``(min + min(max, tissue_hu)) / 2``.

    Capping the bright side at ``tissue_hu`` keeps bone behind a thin mucosa from pulling the
    half-maximum up: the boundary sought is the one between air and the soft tissue lining it.

    Examples
    --------
    >>> hu = np.array([[[-1000, -1000, -500, 40, 40]]], dtype=np.int16)
    >>> airway = hu < -550
    >>> partial_volume_band(hu, airway, threshold_hu=-550, tissue_hu=100).astype(int).tolist()
    [[[0, 0, 1, 0, 0]]]
    >>> hu = np.array([[[-1000, -1000, -440, 900, 900]]], dtype=np.int16)  # bone behind: not half air
    >>> partial_volume_band(hu, airway, threshold_hu=-550, tissue_hu=100).astype(int).tolist()
    [[[0, 0, 0, 0, 0]]]
    """
    touching: np.ndarray = ndimage.binary_dilation(airway) & ~airway
    # The local minimum is below the threshold (the voxel touches the airway), which bounds the half-maximum.
    candidates = touching & (hu >= threshold_hu) & (hu < (threshold_hu + tissue_hu) / 2)
    if not candidates.any():
        return candidates
    index = np.nonzero(candidates)
    lo = [max(0, int(a.min()) - 1) for a in index]
    hi = [int(a.max()) + 2 for a in index]
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    sub = hu[box].astype(np.float32)
    half = (ndimage.minimum_filter(sub, size=3) + np.minimum(ndimage.maximum_filter(sub, size=3), tissue_hu)) / 2
    local = tuple(a - o for a, o in zip(index, lo))
    accept = sub[local] < half[local]
    band = np.zeros_like(candidates)
    band[tuple(a[accept] for a in index)] = True
    return band
