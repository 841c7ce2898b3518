"""Options, planes and openings of the airway segmentation.

Defaults (documented choices, all configurable)
-----------------------------------------------
* ``threshold_hu = -550``: voxels below it are air for sure (the iso-level of the Jülich/Aachen
  pipeline). A plain global threshold under-segments (partial volume), so with
  ``partial_volume=True`` a voxel touching that air is added when its value lies below the local
  half-maximum of its 3x3x3 neighbourhood, ``(darkest + min(brightest, 100 HU)) / 2``: the 50 %
  air fraction of a blurred edge between air and the soft tissue lining it
  (``partial_volume_tissue_hu = 100`` keeps bone behind thin mucosa from shifting it). Boundary
  voxels are therefore added up to at most (-550 + 100) / 2 = -225 HU.
* The outlet is an axial plane ``outlet_depth_mm = 10`` below the nasal floor at the choanae.
* Sinuses connected through an ostium narrower than ``max_ostium_area_mm2 = 40`` are excluded
  (``SinusMode.EXCLUDE``) or kept as label 4 (``SinusMode.KEEP``).

Examples
--------
>>> SegmentationOptions(sinus_mode="keep").sinus_mode
<SinusMode.KEEP: 'keep'>
>>> Plane((0, 0, -10), (0, 0, -2)).normal
(0.0, 0.0, -1.0)
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from rhinoapp.core.errors import ValidationError

__all__ = ["Opening", "Plane", "SegmentationOptions", "SinusMode"]

Vec3 = tuple[float, float, float]


def _vector(values: Sequence[float], name: str) -> Vec3:
    numbers = tuple(float(v) for v in values)
    if len(numbers) != 3 or not all(math.isfinite(v) for v in numbers):
        raise ValidationError(f"{name} needs three finite numbers (x, y, z in LPS mm), got {values!r}")
    return numbers


class SinusMode(enum.Enum):
    """What happens to paranasal sinuses connected to the airway."""

    EXCLUDE = "exclude"
    KEEP = "keep"


@dataclasses.dataclass(frozen=True)
class Plane:
    """A plane through ``point_mm`` (LPS) with unit ``normal`` pointing out of the airway.

    Examples
    --------
    >>> Plane((0, 0, 5), (0, 0, 1)).signed_distance([[0, 0, 7], [1, 1, 4]]).tolist()
    [2.0, -1.0]
    """

    point_mm: Vec3
    normal: Vec3

    def __post_init__(self) -> None:
        object.__setattr__(self, "point_mm", tuple(v + 0.0 for v in _vector(self.point_mm, "point_mm")))
        normal = np.asarray(_vector(self.normal, "normal"))
        length = float(np.linalg.norm(normal))
        if length < 1e-9:
            raise ValidationError("a plane normal must not be the zero vector")
        object.__setattr__(self, "normal", tuple(float(v) + 0.0 for v in normal / length))

    def signed_distance(self, points_mm: Any) -> np.ndarray:
        """Distance of LPS points from the plane, positive on the side the normal points to."""
        offset = np.asarray(points_mm, dtype=float) - np.asarray(self.point_mm)
        result: np.ndarray = offset @ np.asarray(self.normal)
        return result

    def as_dict(self) -> dict[str, list[float]]:
        """JSON-ready plane."""
        return {"point_lps_mm": [round(v, 4) for v in self.point_mm], "normal_lps": [round(v, 6) for v in self.normal]}


@dataclasses.dataclass(frozen=True)
class Opening:
    """Where the airway opens: a nostril inlet or the outlet.

    ``area_mm2`` is the opening's area, ``radius_mm`` the largest distance of its rim from
    ``plane.point_mm`` within the plane, and ``bounds_mm`` its LPS bounding box
    ((x0, x1), (y0, y1), (z0, z1)). ``short_of_nostril`` says, where the labels were cut before the
    nostril in a way that leaves part of the nose's resistance out (a coronal cut through the vestibule),
    what is missing; empty for an opening at the nostril.
    """

    name: str
    plane: Plane
    area_mm2: float
    radius_mm: float
    bounds_mm: tuple[tuple[float, float], tuple[float, float], tuple[float, float]]
    short_of_nostril: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready opening."""
        document = {**self.plane.as_dict(), "area_mm2": round(self.area_mm2, 3),
                    "radius_mm": round(self.radius_mm, 3),
                    "bounds_lps_mm": [[round(lo, 3), round(hi, 3)] for lo, hi in self.bounds_mm]}
        return document | ({"short_of_nostril": self.short_of_nostril} if self.short_of_nostril else {})


@dataclasses.dataclass(frozen=True)
class SegmentationOptions:
    """Everything the segmentation can be told; see the module notes for the defaults.

    Parameters
    ----------
    threshold_hu
        Voxels below this are air.
    partial_volume, partial_volume_tissue_hu
        Add partial-volume boundary voxels (local half-maximum, bright side capped at this value).
    seeds_lps_mm
        Manual (left, right) seed points inside the nostrils, LPS mm; ``None`` finds the nostrils.
    outlet_plane
        Manual outlet plane (normal pointing down the pharynx, out of the airway); ``None``
        places it ``outlet_depth_mm`` below the nasal floor at the choanae.
    sinus_mode
        Exclude the paranasal sinuses or keep them as label 4.
    min_nostril_area_mm2
        Smallest opening to the outside air accepted as a nostril.
    max_ostium_area_mm2, sinus_core_radius_mm, max_ostium_length_mm, min_sinus_volume_ml
        A sinus is an air space with an inscribed ball of at least ``sinus_core_radius_mm`` and
        ``min_sinus_volume_ml``, joined to the rest through a neck of at most
        ``max_ostium_area_mm2`` within ``max_ostium_length_mm``, and not on the way from a
        nostril to the outlet.
    cell_core_radius_mm, max_cell_ostium_area_mm2, max_cell_ostium_length_mm, min_cell_volume_ml
        The same for small air cells (ethmoid cells), found in a second pass among what is left.
    roi_margin_mm
        Margin around the airway's bounding box for the detailed steps.
    """

    threshold_hu: float = -550.0
    partial_volume: bool = True
    partial_volume_tissue_hu: float = 100.0
    seeds_lps_mm: tuple[Vec3, Vec3] | None = None
    outlet_plane: Plane | None = None
    outlet_depth_mm: float = 10.0
    sinus_mode: SinusMode = SinusMode.EXCLUDE
    min_nostril_area_mm2: float = 8.0
    max_ostium_area_mm2: float = 40.0
    sinus_core_radius_mm: float = 4.0
    max_ostium_length_mm: float = 12.0
    min_sinus_volume_ml: float = 0.3
    cell_core_radius_mm: float = 1.5
    max_cell_ostium_area_mm2: float = 8.0
    max_cell_ostium_length_mm: float = 8.0
    min_cell_volume_ml: float = 0.02
    roi_margin_mm: float = 3.0

    def __post_init__(self) -> None:
        if not -1000.0 < self.threshold_hu < 0.0:
            raise ValidationError(
                f"threshold_hu must lie between -1000 and 0 HU (air is about -1000), got {self.threshold_hu!r}")
        if not -200.0 <= self.partial_volume_tissue_hu <= 400.0:
            raise ValidationError("partial_volume_tissue_hu must lie between -200 and 400 HU (soft tissue is about 40)")
        object.__setattr__(self, "sinus_mode", SinusMode(self.sinus_mode))
        if self.seeds_lps_mm is not None:
            if len(self.seeds_lps_mm) != 2:
                raise ValidationError("seeds_lps_mm needs two points: (left nostril, right nostril)")
            seeds = tuple(_vector(seed, "a seed") for seed in self.seeds_lps_mm)
            object.__setattr__(self, "seeds_lps_mm", seeds)
        if self.outlet_plane is not None and not isinstance(self.outlet_plane, Plane):
            raise ValidationError("outlet_plane must be a Plane (point and normal) or None")
        for name in ("outlet_depth_mm", "min_nostril_area_mm2", "max_ostium_area_mm2", "sinus_core_radius_mm",
                     "max_ostium_length_mm", "min_sinus_volume_ml", "roi_margin_mm", "cell_core_radius_mm",
                     "max_cell_ostium_area_mm2", "max_cell_ostium_length_mm", "min_cell_volume_ml"):
            value = float(getattr(self, name))
            if not (math.isfinite(value) and value > 0):
                raise ValidationError(f"{name} must be a positive number, got {getattr(self, name)!r}")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready options."""
        values = dataclasses.asdict(self)
        values["sinus_mode"] = self.sinus_mode.value
        values["outlet_plane"] = None if self.outlet_plane is None else self.outlet_plane.as_dict()
        return values
