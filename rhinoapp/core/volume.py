"""Image volumes on the patient coordinate system: the values every imaging step passes on.

Convention (stated once, used everywhere)
-----------------------------------------
* Patient coordinates are millimetres in DICOM **LPS**: +x towards the patient's left, +y towards
  posterior, +z towards superior. "Left" and "right" always mean the patient's.
* Voxel arrays are C-ordered ``[k, j, i]`` (slice, row, column), which is also VTK's point order.
* ``spacing_mm``, ``origin_mm`` and the columns of ``direction`` are given in ``(i, j, k)`` order,
  as in ITK and VTK: the physical position of voxel ``(i, j, k)`` is
  ``origin_mm + direction @ (spacing_mm * (i, j, k))``.
* For a DICOM series, ``i`` runs along a row (the first ImageOrientationPatient triplet), ``j`` down
  the columns (the second triplet) and ``k`` along the slice normal, sorted by position.

This module imports numpy; :mod:`rhinoapp.core` itself does not import it, so the light layers stay
light.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rhinoapp.core.errors import ValidationError

__all__ = ["CT_METADATA_FORMAT", "AirwayLabel", "CTVolume", "ImageGeometry", "LabelMap", "ct_metadata_grid"]

_ORTHONORMAL_TOLERANCE = 1e-4


@dataclass(frozen=True)
class ImageGeometry:
    """Shape, spacing, origin and orientation of a voxel grid in LPS millimetres.

    Parameters
    ----------
    shape
        Array shape ``(nk, nj, ni)``.
    spacing_mm
        Voxel size along ``i``, ``j``, ``k`` in millimetres; all positive.
    origin_mm
        LPS position of the centre of voxel ``(0, 0, 0)``.
    direction
        Row-major 3x3 matrix (9 numbers) whose columns are the LPS unit vectors of the ``i``, ``j``
        and ``k`` axes; must be orthonormal.

    Examples
    --------
    >>> g = ImageGeometry(shape=(3, 4, 5), spacing_mm=(0.5, 0.5, 2.0))
    >>> g.index_to_physical((1, 2, 1)).tolist()
    [0.5, 1.0, 2.0]
    >>> g.physical_to_index((0.5, 1.0, 2.0)).round(6).tolist()
    [1.0, 2.0, 1.0]
    >>> g.voxel_volume_mm3
    0.5
    """

    shape: tuple[int, int, int]
    spacing_mm: tuple[float, float, float] = (1.0, 1.0, 1.0)
    origin_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: tuple[float, ...] = field(default=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0))

    def __post_init__(self) -> None:
        shape = tuple(int(n) for n in self.shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ValidationError(
                f"a volume needs three positive dimensions (slices, rows, columns), got {self.shape}"
            )
        spacing = _triple(self.spacing_mm, "spacing_mm")
        if min(spacing) <= 0 or not np.all(np.isfinite(spacing)):
            raise ValidationError(f"voxel spacing must be positive millimetres, got {spacing}")
        origin = _triple(self.origin_mm, "origin_mm")
        direction = tuple(float(v) for v in np.asarray(self.direction, dtype=float).ravel())
        if len(direction) != 9:
            raise ValidationError("direction must be a 3x3 matrix (9 numbers, row-major)")
        matrix = np.asarray(direction).reshape(3, 3)
        if not np.allclose(matrix.T @ matrix, np.eye(3), atol=_ORTHONORMAL_TOLERANCE):
            raise ValidationError(
                "direction columns must be orthonormal unit vectors; check the orientation "
                "(for DICOM: ImageOrientationPatient and the slice order)"
            )
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "spacing_mm", spacing)
        object.__setattr__(self, "origin_mm", origin)
        object.__setattr__(self, "direction", direction)

    @property
    def direction_matrix(self) -> np.ndarray:
        """The 3x3 direction matrix (columns: ``i``, ``j``, ``k`` axes in LPS)."""
        return np.asarray(self.direction, dtype=float).reshape(3, 3)

    @property
    def affine_lps(self) -> np.ndarray:
        """4x4 matrix mapping homogeneous ``(i, j, k, 1)`` to LPS millimetres."""
        affine = np.eye(4)
        affine[:3, :3] = self.direction_matrix * np.asarray(self.spacing_mm)
        affine[:3, 3] = self.origin_mm
        return affine

    @property
    def affine_ras(self) -> np.ndarray:
        """The same mapping into RAS millimetres, as NIfTI files carry it."""
        return np.diag([-1.0, -1.0, 1.0, 1.0]) @ self.affine_lps

    @property
    def voxel_volume_mm3(self) -> float:
        """Volume of one voxel in cubic millimetres."""
        return float(np.prod(self.spacing_mm))

    @property
    def extent_mm(self) -> tuple[float, float, float]:
        """Size of the grid along ``i``, ``j``, ``k`` (number of voxels times spacing)."""
        nk, nj, ni = self.shape
        si, sj, sk = self.spacing_mm
        return (ni * si, nj * sj, nk * sk)

    def index_to_physical(self, ijk: Any) -> np.ndarray:
        """LPS millimetres of one or more ``(i, j, k)`` indices (last axis of length 3)."""
        ijk = np.asarray(ijk, dtype=float)
        return ijk * np.asarray(self.spacing_mm) @ self.direction_matrix.T + np.asarray(self.origin_mm)

    def physical_to_index(self, lps_mm: Any) -> np.ndarray:
        """Continuous ``(i, j, k)`` indices of one or more LPS points (last axis of length 3)."""
        offset = np.asarray(lps_mm, dtype=float) - np.asarray(self.origin_mm)
        return offset @ self.direction_matrix / np.asarray(self.spacing_mm)

    def with_shape(self, shape: tuple[int, int, int]) -> ImageGeometry:
        """A copy with another shape (same spacing, origin and direction)."""
        return ImageGeometry(shape, self.spacing_mm, self.origin_mm, self.direction)

    def as_dict(self) -> dict[str, list[float] | list[int]]:
        """JSON-ready description of the grid."""
        return {
            "shape_kji": list(self.shape),
            "spacing_mm": list(self.spacing_mm),
            "origin_lps_mm": list(self.origin_mm),
            "direction": list(self.direction),
        }


#: Format tag of a project's ``volume/ct.json`` (what the stored CT volume is and how it was made).
CT_METADATA_FORMAT = "rhinoapp-ct-volume/1"


def ct_metadata_grid(geometry: ImageGeometry) -> dict[str, Any]:
    """The grid entries of ``volume/ct.json``, the same for every source (DICOM, NIfTI, NRRD).

    Examples
    --------
    >>> grid = ct_metadata_grid(ImageGeometry((3, 4, 5), spacing_mm=(0.5, 0.5, 2.0)))
    >>> grid["dimensions_ijk"], grid["spacing_mm"]
    ([5, 4, 3], [0.5, 0.5, 2.0])
    """
    return {
        "dimensions_ijk": list(geometry.shape[::-1]),
        "spacing_mm": [round(v, 6) for v in geometry.spacing_mm],
        "origin_lps_mm": [round(v, 6) for v in geometry.origin_mm],
        "direction_lps": [round(v, 9) + 0.0 for v in geometry.direction],
        "coordinates": "LPS millimetres; array order [k, j, i]; ct.nii.gz carries the equivalent RAS affine",
    }


class AirwayLabel(enum.IntEnum):
    """Values of the airway label map; left and right are the patient's."""

    BACKGROUND = 0
    LEFT_CAVITY = 1
    RIGHT_CAVITY = 2
    NASOPHARYNX = 3
    SINUS = 4


@dataclass(frozen=True, eq=False)
class CTVolume:
    """A CT volume in Hounsfield units on an :class:`ImageGeometry`.

    Examples
    --------
    >>> hu = np.full((2, 3, 4), -1000, dtype=np.int16)
    >>> volume = CTVolume(hu, ImageGeometry(hu.shape, spacing_mm=(0.5, 0.5, 1.0)))
    >>> volume.geometry.extent_mm
    (2.0, 1.5, 2.0)
    """

    hu: np.ndarray
    geometry: ImageGeometry

    def __post_init__(self) -> None:
        _check_array(self.hu, self.geometry, "HU volume")
        if not np.issubdtype(self.hu.dtype, np.number):
            raise ValidationError(f"HU values must be numeric, got dtype {self.hu.dtype}")


@dataclass(frozen=True, eq=False)
class LabelMap:
    """Integer labels (see :class:`AirwayLabel`) on an :class:`ImageGeometry`.

    Examples
    --------
    >>> labels = np.zeros((2, 2, 2), dtype=np.uint8)
    >>> labels[0, 0, 0] = AirwayLabel.LEFT_CAVITY
    >>> LabelMap(labels, ImageGeometry(labels.shape)).count(AirwayLabel.LEFT_CAVITY)
    1
    """

    labels: np.ndarray
    geometry: ImageGeometry

    def __post_init__(self) -> None:
        _check_array(self.labels, self.geometry, "label map")
        if not np.issubdtype(self.labels.dtype, np.integer):
            raise ValidationError(f"labels must be integers, got dtype {self.labels.dtype}")

    def count(self, label: int) -> int:
        """Number of voxels carrying ``label``."""
        return int(np.count_nonzero(self.labels == int(label)))

    def volume_ml(self, label: int) -> float:
        """Volume of ``label`` in millilitres."""
        return self.count(label) * self.geometry.voxel_volume_mm3 / 1000.0


def _check_array(array: np.ndarray, geometry: ImageGeometry, what: str) -> None:
    if not isinstance(array, np.ndarray):
        raise ValidationError(f"the {what} must be a numpy array, got {type(array).__name__}")
    if tuple(array.shape) != geometry.shape:
        raise ValidationError(
            f"the {what} has shape {array.shape} but its geometry says {geometry.shape}"
        )


def _triple(values: Any, name: str) -> tuple[float, float, float]:
    numbers = tuple(float(v) for v in np.asarray(values, dtype=float).ravel())
    if len(numbers) != 3:
        raise ValidationError(f"{name} needs three numbers (i, j, k), got {values!r}")
    return numbers
