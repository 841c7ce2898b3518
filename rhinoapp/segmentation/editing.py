"""Manual corrections of an airway label map: brush, region, cut-plane and crop edits.

Each edit is a frozen dataclass in LPS millimetres (JSON-ready with :func:`edit_to_dict`, so the
list of edits can be stored as the provenance of an edited geometry). :func:`plan_edit` computes
what an edit changes as a :class:`Change`: the bounding sub-block of the changed voxels with its
values before and after. Nothing is copied beyond that block, so a brush stroke on a
512 x 512 x 300 volume touches a few thousand voxels; undo writes ``before`` back, redo
``after``, which restores the label map exactly.

* :class:`Paint` / :class:`Erase`: a sphere brush of ``radius_mm`` around a point, measured in
  millimetres along each axis (anisotropic voxels give an ellipsoid of voxels).
* :class:`RemoveRegion` / :class:`KeepRegion`: the connected airway (any label > 0, face
  neighbours) containing the point is removed, or everything else is.
* :class:`CutSuperior` / :class:`CutPosterior`: airway above ``z_mm`` (LPS z, superior positive)
  or behind ``y_mm`` (LPS y, posterior positive) is removed.
* :class:`Crop`: airway outside an LPS box is removed.

Examples
--------
>>> from rhinoapp.core.volume import ImageGeometry
>>> labels = np.zeros((5, 5, 5), np.uint8)
>>> geometry = ImageGeometry(labels.shape)
>>> change = plan_edit(labels, geometry, Paint((2.0, 2.0, 2.0), 1.0, 1))
>>> change.apply(labels); int(labels.sum())
7
>>> change.revert(labels); int(labels.sum())
0
>>> edit_from_dict(edit_to_dict(Erase((1.0, 2.0, 3.0), 2.5)))
Erase(point_mm=(1.0, 2.0, 3.0), radius_mm=2.5)
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Union

import numpy as np
from scipy import ndimage

from rhinoapp.core.errors import ValidationError
from rhinoapp.core.volume import AirwayLabel, ImageGeometry

__all__ = ["Change", "Crop", "CutPosterior", "CutSuperior", "Edit", "EditKind", "Erase", "KeepRegion", "Paint",
           "RemoveRegion", "edit_from_dict", "edit_to_dict", "plan_edit", "voxel_at"]

Vec3 = tuple[float, float, float]
Box = tuple[slice, slice, slice]
MAX_BRUSH_MM = 50.0


class EditKind(enum.Enum):
    """The correction tools."""

    PAINT = "paint"
    ERASE = "erase"
    REMOVE_REGION = "remove-region"
    KEEP_REGION = "keep-region"
    CUT_SUPERIOR = "cut-superior"
    CUT_POSTERIOR = "cut-posterior"
    CROP = "crop"


def _point(values: Sequence[float]) -> Vec3:
    numbers = tuple(float(v) for v in values)
    if len(numbers) != 3 or not all(math.isfinite(v) for v in numbers):
        raise ValidationError(f"an edit needs a point of three finite LPS millimetres (x, y, z), got {values!r}")
    return numbers


def _radius(value: float) -> float:
    radius = float(value)
    if not 0 < radius <= MAX_BRUSH_MM:
        raise ValidationError(f"the brush radius must lie in (0, {MAX_BRUSH_MM:g}] mm, got {value!r}: "
                              "choose another brush size")
    return radius


def _finite(value: float, name: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValidationError(f"{name} must be a finite number of millimetres, got {value!r}")
    return number


@dataclasses.dataclass(frozen=True)
class Paint:
    """Set ``label`` (1 left, 2 right, 3 nasopharynx, 4 sinus) in a sphere of ``radius_mm`` around ``point_mm``."""

    kind: ClassVar[EditKind] = EditKind.PAINT
    point_mm: Vec3
    radius_mm: float
    label: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "point_mm", _point(self.point_mm))
        object.__setattr__(self, "radius_mm", _radius(self.radius_mm))
        if int(self.label) not in {int(v) for v in AirwayLabel if v}:
            raise ValidationError(f"paint label must be 1 (left), 2 (right), 3 (nasopharynx) or 4 (sinus), "
                                  f"got {self.label!r}")
        object.__setattr__(self, "label", int(self.label))


@dataclasses.dataclass(frozen=True)
class Erase:
    """Clear the labels in a sphere of ``radius_mm`` around ``point_mm``."""

    kind: ClassVar[EditKind] = EditKind.ERASE
    point_mm: Vec3
    radius_mm: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "point_mm", _point(self.point_mm))
        object.__setattr__(self, "radius_mm", _radius(self.radius_mm))


@dataclasses.dataclass(frozen=True)
class RemoveRegion:
    """Remove the connected airway containing ``point_mm``."""

    kind: ClassVar[EditKind] = EditKind.REMOVE_REGION
    point_mm: Vec3

    def __post_init__(self) -> None:
        object.__setattr__(self, "point_mm", _point(self.point_mm))


@dataclasses.dataclass(frozen=True)
class KeepRegion:
    """Keep only the connected airway containing ``point_mm``."""

    kind: ClassVar[EditKind] = EditKind.KEEP_REGION
    point_mm: Vec3

    def __post_init__(self) -> None:
        object.__setattr__(self, "point_mm", _point(self.point_mm))


@dataclasses.dataclass(frozen=True)
class CutSuperior:
    """Remove the airway above the axial plane at LPS ``z_mm`` (superior positive)."""

    kind: ClassVar[EditKind] = EditKind.CUT_SUPERIOR
    z_mm: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "z_mm", _finite(self.z_mm, "the superior limit"))


@dataclasses.dataclass(frozen=True)
class CutPosterior:
    """Remove the airway behind the coronal plane at LPS ``y_mm`` (posterior positive)."""

    kind: ClassVar[EditKind] = EditKind.CUT_POSTERIOR
    y_mm: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "y_mm", _finite(self.y_mm, "the posterior limit"))


@dataclasses.dataclass(frozen=True)
class Crop:
    """Remove the airway outside the LPS box ``((x0, x1), (y0, y1), (z0, z1))``."""

    kind: ClassVar[EditKind] = EditKind.CROP
    bounds_mm: tuple[tuple[float, float], tuple[float, float], tuple[float, float]]

    def __post_init__(self) -> None:
        bounds = tuple((_finite(lo, "a crop bound"), _finite(hi, "a crop bound")) for lo, hi in self.bounds_mm)
        if len(bounds) != 3 or any(hi <= lo for lo, hi in bounds):
            raise ValidationError(f"the crop box needs three (low, high) ranges with low < high, got {self.bounds_mm!r}")
        object.__setattr__(self, "bounds_mm", bounds)


Edit = Union[Paint, Erase, RemoveRegion, KeepRegion, CutSuperior, CutPosterior, Crop]
_CLASSES: Mapping[EditKind, type] = {cls.kind: cls for cls in (Paint, Erase, RemoveRegion, KeepRegion, CutSuperior,
                                                                CutPosterior, Crop)}


def edit_to_dict(edit: Edit) -> dict[str, Any]:
    """The JSON-ready form of an edit: ``{"op": kind, ...fields}``."""
    fields = dataclasses.asdict(edit)
    return {"op": edit.kind.value, **{k: (list(map(list, v)) if k == "bounds_mm" else list(v) if isinstance(v, tuple)
                                          else v) for k, v in fields.items()}}


def edit_from_dict(document: Mapping[str, Any]) -> Edit:
    """The edit of :func:`edit_to_dict`'s output; ValidationError for an unknown one.

    Examples
    --------
    >>> edit_from_dict({"op": "cut-superior", "z_mm": 40})
    CutSuperior(z_mm=40.0)
    >>> edit_from_dict({"op": "smudge"})
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ValidationError: unknown edit 'smudge': use one of paint, erase, remove-region, keep-region, cut-superior, cut-posterior, crop
    """
    values = dict(document)
    name = values.pop("op", None)
    try:
        cls = _CLASSES[EditKind(name)]
    except ValueError:
        raise ValidationError(f"unknown edit {name!r}: use one of {', '.join(k.value for k in EditKind)}") from None
    try:
        return cls(**values)  # type: ignore[no-any-return]
    except TypeError as error:
        raise ValidationError(f"edit {name!r} has wrong fields ({error}): store it with edit_to_dict") from None


@dataclasses.dataclass(frozen=True, eq=False)
class Change:
    """What an edit changes: the voxels of ``box`` (array slices, order k, j, i) before and after it."""

    box: Box
    before: np.ndarray
    after: np.ndarray

    def apply(self, labels: np.ndarray) -> None:
        """Write the edited values into ``labels`` (the edit, or its redo)."""
        labels[self.box] = self.after

    def revert(self, labels: np.ndarray) -> None:
        """Write the previous values back into ``labels`` (undo)."""
        labels[self.box] = self.before

    @property
    def nbytes(self) -> int:
        """Memory held for undo and redo."""
        return int(self.before.nbytes + self.after.nbytes)

    @property
    def changed(self) -> int:
        """Number of voxels whose label changes."""
        return int(np.count_nonzero(self.before != self.after))

    def spans(self, axis: int, index: int) -> bool:
        """True when the slice ``index`` along array ``axis`` (0 k, 1 j, 2 i) cuts the changed block."""
        part = self.box[axis]
        return bool(part.start <= index < part.stop)


def voxel_at(geometry: ImageGeometry, point_mm: Sequence[float]) -> tuple[int, int, int] | None:
    """Array index ``(k, j, i)`` of the voxel containing an LPS point, None outside the grid.

    Examples
    --------
    >>> voxel_at(ImageGeometry((4, 4, 4), (0.5, 0.5, 2.0)), (1.0, 0.4, 2.2))
    (1, 1, 2)
    >>> voxel_at(ImageGeometry((4, 4, 4)), (9.0, 0.0, 0.0)) is None
    True
    """
    ijk = np.rint(geometry.physical_to_index(np.asarray(point_mm, dtype=float))).astype(int)
    kji = tuple(int(v) for v in ijk[::-1])
    if any(not 0 <= v < n for v, n in zip(kji, geometry.shape)):
        return None
    return kji  # type: ignore[return-value]


def _bounding_box(mask: np.ndarray) -> Box | None:
    parts = []
    for axis in range(3):
        hit = np.flatnonzero(np.any(mask, axis=tuple(a for a in range(3) if a != axis)))
        if not len(hit):
            return None
        parts.append(slice(int(hit[0]), int(hit[-1]) + 1))
    return tuple(parts)  # type: ignore[return-value]


def _masked_change(labels: np.ndarray, box: Box | None, mask: np.ndarray, value: int) -> Change | None:
    """The change that writes ``value`` where ``mask`` (the shape of ``box``) holds, or None when nothing changes."""
    if box is None:
        return None
    before = labels[box]
    after = before.copy()
    after[mask] = value
    if np.array_equal(before, after):
        return None
    return Change(box, before.copy(), after)


def _sphere(labels: np.ndarray, geometry: ImageGeometry, point_mm: Vec3, radius_mm: float, value: int) -> Change | None:
    centre = geometry.physical_to_index(np.asarray(point_mm))[::-1]  # continuous (k, j, i)
    spacing = np.asarray(geometry.spacing_mm[::-1])
    reach = radius_mm / spacing
    low = np.maximum(np.ceil(centre - reach).astype(int), 0)
    high = np.minimum(np.floor(centre + reach).astype(int) + 1, geometry.shape)
    if np.any(high <= low):
        return None
    box = tuple(slice(int(a), int(b)) for a, b in zip(low, high))
    # Orthonormal axes: the distance in mm is the index offset scaled by each axis' spacing.
    offsets = [((np.arange(a, b) - c) * s) ** 2 for a, b, c, s in zip(low, high, centre, spacing)]
    inside = offsets[0][:, None, None] + offsets[1][None, :, None] + offsets[2][None, None, :] <= radius_mm ** 2
    return _masked_change(labels, box, inside, value)  # type: ignore[arg-type]


def _region(labels: np.ndarray, geometry: ImageGeometry, point_mm: Vec3, *, keep: bool) -> Change | None:
    voxel = voxel_at(geometry, point_mm)
    if voxel is None or labels[voxel] == 0:
        where = "outside the image" if voxel is None else "on background"
        raise ValidationError(f"the point {tuple(round(v, 1) for v in point_mm)} mm (LPS) lies {where}: "
                              "click inside a coloured airway region")
    components, _ = ndimage.label(labels > 0)
    chosen = components[voxel]
    if not keep:
        box = ndimage.find_objects(components, max_label=chosen)[chosen - 1]
        return _masked_change(labels, box, components[box] == chosen, 0)
    others = (components != chosen) & (components > 0)
    box = _bounding_box(others)
    return None if box is None else _masked_change(labels, box, others[box], 0)


def _lps_component(geometry: ImageGeometry, component: int) -> np.ndarray:
    """LPS coordinate ``component`` of every voxel centre, as a broadcastable (k, j, i) sum of three axes."""
    matrix = geometry.direction_matrix
    total: np.ndarray = np.full((1, 1, 1), geometry.origin_mm[component], dtype=np.float32)
    shape = geometry.shape
    for axis_kji in range(3):
        axis_ijk = 2 - axis_kji
        step = np.float32(geometry.spacing_mm[axis_ijk] * matrix[component, axis_ijk])
        view = [1, 1, 1]
        view[axis_kji] = shape[axis_kji]
        total = total + (np.arange(shape[axis_kji], dtype=np.float32) * step).reshape(view)
    return np.broadcast_to(total, shape)


def _outside(labels: np.ndarray, outside: np.ndarray) -> Change | None:
    remove = (labels > 0) & outside
    box = _bounding_box(remove)
    return None if box is None else _masked_change(labels, box, remove[box], 0)


def plan_edit(labels: np.ndarray, geometry: ImageGeometry, edit: Edit) -> Change | None:
    """What ``edit`` changes in ``labels`` (k, j, i array on ``geometry``); None when it changes nothing.

    ``labels`` is only read: apply the result with :meth:`Change.apply`.

    Raises
    ------
    ValidationError
        A region edit whose point lies outside the image or on background.

    Examples
    --------
    >>> from rhinoapp.core.volume import ImageGeometry
    >>> labels = np.zeros((6, 4, 4), np.uint8); labels[:2] = 1; labels[4:] = 2
    >>> g = ImageGeometry(labels.shape)
    >>> plan_edit(labels, g, RemoveRegion((1.0, 1.0, 0.0))).box
    (slice(0, 2, None), slice(0, 4, None), slice(0, 4, None))
    >>> plan_edit(labels, g, CutSuperior(4.5)).changed
    16
    """
    if labels.shape != geometry.shape:
        raise ValidationError(f"the label map {labels.shape} is not on the grid {geometry.shape}: reload the geometry")
    if isinstance(edit, Paint):
        return _sphere(labels, geometry, edit.point_mm, edit.radius_mm, edit.label)
    if isinstance(edit, Erase):
        return _sphere(labels, geometry, edit.point_mm, edit.radius_mm, 0)
    if isinstance(edit, (RemoveRegion, KeepRegion)):
        return _region(labels, geometry, edit.point_mm, keep=isinstance(edit, KeepRegion))
    if isinstance(edit, CutSuperior):
        return _outside(labels, _lps_component(geometry, 2) > edit.z_mm)
    if isinstance(edit, CutPosterior):
        return _outside(labels, _lps_component(geometry, 1) > edit.y_mm)
    if isinstance(edit, Crop):
        outside = np.zeros(geometry.shape, dtype=bool)
        for component, (low, high) in enumerate(edit.bounds_mm):
            coordinate = _lps_component(geometry, component)
            outside |= (coordinate < low) | (coordinate > high)
        return _outside(labels, outside)
    raise ValidationError(f"unknown edit {edit!r}: use one of {', '.join(k.value for k in EditKind)}")
