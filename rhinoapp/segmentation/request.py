"""What a person asks of the segmentation: the request type shared by the CLI, the Geometry page and the job.

:class:`SegmentationRequest` holds the choices people make (threshold, partial volume, sinuses,
manual seeds and outlet); its defaults and :data:`SEGMENTATION_RANGES` are the only ones: the
command line's defaults, the page's bounds and the job's parameters all come from here, and
every rule (both seeds or neither, two different seeds, values in range) is checked when a
request is made, on every path.

Examples
--------
>>> request = SegmentationRequest(threshold_hu=-500, sinuses="keep")
>>> request.options().sinus_mode.value, request.to_parameters()["threshold_hu"]
('keep', -500.0)
>>> SegmentationRequest.from_parameters(request.to_parameters()) == request
True
>>> SegmentationRequest(seed_left=(1, 2, 3), seed_right=(1, 2, 3))
Traceback (most recent call last):
...
rhinoapp.core.errors.ValidationError: The left and right nostril seeds are the same point: put one in each nostril.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from rhinoapp.core.errors import ValidationError
from rhinoapp.core.requests import Range
from rhinoapp.segmentation.options import Plane, SegmentationOptions, SinusMode

__all__ = ["SEGMENTATION_RANGES", "SegmentationRequest"]

Vec3 = tuple[float, float, float]

#: Bounds of the numbers people choose (the page's sliders and the CLI's checks use these).
SEGMENTATION_RANGES: Mapping[str, Range] = MappingProxyType({
    "threshold_hu": Range(-990.0, -100.0, "HU"),
    "outlet_depth_mm": Range(1.0, 40.0, "mm"),
})


def _seed(value: Sequence[float] | None, side: str) -> Vec3 | None:
    if value is None:
        return None
    try:
        numbers = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        numbers = ()
    if len(numbers) != 3 or not all(math.isfinite(v) for v in numbers):
        raise ValidationError(f"The {side} nostril seed needs three numbers (x, y, z in LPS mm), got {value!r}.")
    return (numbers[0], numbers[1], numbers[2])


@dataclasses.dataclass(frozen=True, kw_only=True)
class SegmentationRequest:
    """The choices of one segmentation; see :class:`~rhinoapp.segmentation.options.SegmentationOptions`.

    Parameters
    ----------
    threshold_hu
        Voxels darker than this are air (:data:`SEGMENTATION_RANGES`).
    partial_volume
        Add the boundary voxels that are half air, half tissue.
    sinuses
        Exclude the paranasal sinuses or keep them as label 4.
    seed_left, seed_right
        Manual seed points inside the nostrils (LPS mm); both or neither, and not the same point.
    outlet_z_mm
        Manual axial outlet plane at this LPS z; ``None`` places it automatically.
    outlet_depth_mm
        Automatic outlet: this far below the nasal floor at the choanae.
    """

    threshold_hu: float = -550.0
    partial_volume: bool = True
    sinuses: SinusMode = SinusMode.EXCLUDE
    seed_left: Vec3 | None = None
    seed_right: Vec3 | None = None
    outlet_z_mm: float | None = None
    outlet_depth_mm: float = 10.0

    def __post_init__(self) -> None:
        for name, bounds in SEGMENTATION_RANGES.items():
            object.__setattr__(self, name, bounds.check(name, getattr(self, name)))
        try:
            object.__setattr__(self, "sinuses", SinusMode(self.sinuses))
        except ValueError:
            raise ValidationError(f"sinuses must be one of {[m.value for m in SinusMode]}, got {self.sinuses!r}.") from None
        object.__setattr__(self, "partial_volume", bool(self.partial_volume))
        left, right = _seed(self.seed_left, "left"), _seed(self.seed_right, "right")
        if (left is None) != (right is None):
            raise ValidationError("Give both nostril seeds (left and right) or neither.")
        if left is not None and left == right:
            raise ValidationError("The left and right nostril seeds are the same point: put one in each nostril.")
        object.__setattr__(self, "seed_left", left)
        object.__setattr__(self, "seed_right", right)
        if self.outlet_z_mm is not None:
            z = float(self.outlet_z_mm)
            if not math.isfinite(z):
                raise ValidationError(f"outlet_z_mm must be a finite height in mm, got {self.outlet_z_mm!r}.")
            object.__setattr__(self, "outlet_z_mm", z)

    def options(self) -> SegmentationOptions:
        """The segmentation's options for this request."""
        seeds = ((self.seed_left, self.seed_right) if self.seed_left is not None and self.seed_right is not None
                 else None)
        outlet = Plane((0.0, 0.0, self.outlet_z_mm), (0.0, 0.0, -1.0)) if self.outlet_z_mm is not None else None
        return SegmentationOptions(threshold_hu=self.threshold_hu, partial_volume=self.partial_volume,
                                   seeds_lps_mm=seeds, outlet_plane=outlet, outlet_depth_mm=self.outlet_depth_mm,
                                   sinus_mode=self.sinuses)

    def to_parameters(self) -> dict[str, Any]:
        """JSON-ready job parameters (seeds and outlet only when set)."""
        parameters: dict[str, Any] = {"threshold_hu": self.threshold_hu, "partial_volume": self.partial_volume,
                                      "sinuses": self.sinuses.value, "outlet_depth_mm": self.outlet_depth_mm}
        if self.seed_left is not None and self.seed_right is not None:
            parameters.update(seed_left=list(self.seed_left), seed_right=list(self.seed_right))
        if self.outlet_z_mm is not None:
            parameters["outlet_z_mm"] = self.outlet_z_mm
        return parameters

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, Any]) -> SegmentationRequest:
        """The request of a job's parameters (other keys are ignored); bad values raise ValidationError."""
        names = ("threshold_hu", "partial_volume", "sinuses", "seed_left", "seed_right", "outlet_z_mm", "outlet_depth_mm")
        return cls(**{name: parameters[name] for name in names if name in parameters})
