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
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from rhinoapp.core.documents import document_bytes, parse_document, require
from rhinoapp.core.errors import ValidationError
from rhinoapp.core.layout import ProjectLayout

__all__ = [
    "CT_METADATA_FORMAT",
    "LPS_RAS_SIGNS",
    "AirwayLabel",
    "CTMetadata",
    "CTVolume",
    "ImageGeometry",
    "LabelMap",
    "ct_metadata_grid",
    "lps_ras_affine",
]

_WHAT: str = ProjectLayout().ct_metadata.name  # the document's file name, for messages

_ORTHONORMAL_TOLERANCE = 1e-4

#: Signs of ``(x, y, z)`` between LPS and RAS: x and y change sign, z keeps it. The conversion is
#: its own inverse, so these signs turn RAS into LPS and LPS into RAS alike.
LPS_RAS_SIGNS: tuple[float, float, float] = (-1.0, -1.0, 1.0)


def lps_ras_affine(affine: Any) -> np.ndarray:
    """An affine (3x4 or 4x4, rows x, y, z[, w]) into RAS from LPS, or into LPS from RAS (a copy).

    The one LPS/RAS conversion of the package: NIfTI files carry RAS affines, rhinoapp works in LPS.

    Examples
    --------
    >>> ras = lps_ras_affine(np.diag([0.5, 0.5, 2.0, 1.0]))
    >>> ras.diagonal().tolist(), lps_ras_affine(ras).diagonal().tolist()
    ([-0.5, -0.5, 2.0, 1.0], [0.5, 0.5, 2.0, 1.0])
    """
    converted = np.array(affine, dtype=float)
    if converted.ndim != 2 or converted.shape[0] not in (3, 4) or converted.shape[1] != 4:
        raise ValidationError(f"an affine is a 3x4 or 4x4 matrix, got shape {converted.shape}")
    converted[:3] *= np.asarray(LPS_RAS_SIGNS)[:, None]
    return converted + 0.0  # no negative zeros


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
        return lps_ras_affine(self.affine_lps)

    @classmethod
    def from_affine_lps(cls, affine_lps: Any, shape: tuple[int, int, int]) -> ImageGeometry:
        """The grid of an affine mapping ``(i, j, k, 1)`` to LPS millimetres (the inverse of :attr:`affine_lps`).

        ``shape`` is the array shape ``(nk, nj, ni)``. A sheared or degenerate affine is refused.

        Examples
        --------
        >>> g = ImageGeometry((2, 3, 4), (0.5, 0.6, 2.0), (1.0, 2.0, 3.0), (0, -1, 0, 1, 0, 0, 0, 0, 1))
        >>> ImageGeometry.from_affine_lps(g.affine_lps, g.shape) == g
        True
        >>> ImageGeometry.from_affine_lps(lps_ras_affine(g.affine_ras), g.shape) == g
        True
        """
        matrix = np.asarray(affine_lps, dtype=float)[:3]
        spacing = np.linalg.norm(matrix[:, :3], axis=0)
        if np.any(spacing <= 0) or not np.all(np.isfinite(matrix)):
            raise ValidationError("the affine has a zero-length or invalid axis; the file is damaged.")
        direction = matrix[:, :3] / spacing
        if not np.allclose(direction.T @ direction, np.eye(3), atol=_ORTHONORMAL_TOLERANCE):
            raise ValidationError("the affine is sheared (its axes are not perpendicular); rhinoapp needs an orthogonal "
                                  "grid. Resample the volume (e.g. with ITK or 3D Slicer) and import it again.")
        return cls(shape, tuple(spacing), tuple(matrix[:, 3]), tuple(direction.ravel()))

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
        result: np.ndarray = ijk * np.asarray(self.spacing_mm) @ self.direction_matrix.T + np.asarray(self.origin_mm)
        return result

    def physical_to_index(self, lps_mm: Any) -> np.ndarray:
        """Continuous ``(i, j, k)`` indices of one or more LPS points (last axis of length 3)."""
        offset = np.asarray(lps_mm, dtype=float) - np.asarray(self.origin_mm)
        result: np.ndarray = offset @ self.direction_matrix / np.asarray(self.spacing_mm)
        return result

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


@dataclass(frozen=True)
class CTMetadata:
    """The typed ``ct.json`` of a project: what the stored CT volume is and how it was made.

    ``document`` keeps every entry (de-identification, assembly, ...) for display; the typed
    fields are those the application reads. Read and write through :meth:`from_json` and
    :meth:`to_json`; the store writes the bytes.

    Examples
    --------
    >>> grid = ct_metadata_grid(ImageGeometry((3, 4, 5), spacing_mm=(0.5, 0.5, 2.0)))
    >>> meta = CTMetadata.from_document({"format": CT_METADATA_FORMAT, "source": "nifti", **grid, "notes": ["n"]})
    >>> meta.dimensions_ijk, meta.spacing_mm, meta.notes
    ((5, 4, 3), (0.5, 0.5, 2.0), ('n',))
    >>> CTMetadata.from_json(meta.to_json()) == meta
    True
    """

    dimensions_ijk: tuple[int, ...]
    spacing_mm: tuple[float, ...]
    source: str
    notes: tuple[str, ...]
    document: Mapping[str, Any] = field(compare=False, repr=False)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> CTMetadata:
        """The metadata in a decoded ``ct.json``; ValidationError when entries are missing."""
        require(document, ("dimensions_ijk", "spacing_mm"), what=_WHAT, expected_format=CT_METADATA_FORMAT)
        assembly = document.get("assembly") or {}
        notes = (*assembly.get("notes", ()), *document.get("notes", ()))
        return cls(tuple(int(v) for v in document["dimensions_ijk"]), tuple(float(v) for v in document["spacing_mm"]),
                   str(document.get("source", "")), tuple(str(n) for n in notes), MappingProxyType(dict(document)))

    @property
    def warnings(self) -> tuple[str, ...]:
        """What the user must know about the values (e.g. slices interpolated by a resampling)."""
        return tuple(str(w) for w in (self.document.get("assembly") or {}).get("warnings", ()))

    def to_document(self) -> dict[str, Any]:
        """The JSON-ready ``ct.json`` content."""
        return {"format": CT_METADATA_FORMAT, **self.document, "dimensions_ijk": list(self.dimensions_ijk),
                "spacing_mm": list(self.spacing_mm), "source": self.source}

    @classmethod
    def from_json(cls, data: bytes | str) -> CTMetadata:
        """Read ``ct.json`` bytes."""
        return cls.from_document(parse_document(data, what=_WHAT))

    def to_json(self) -> bytes:
        """The ``ct.json`` bytes."""
        return document_bytes(self.to_document())


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
