"""The request of the geometry step: a segmentation request, the surface size and the result's folder.

Used alike by ``rhinoapp segment``, the Geometry page and the segmentation job; the defaults and
:data:`GEOMETRY_RANGES` are the only ones.

Examples
--------
>>> request = GeometryRequest(target_triangles=20_000)
>>> parameters = request.to_parameters()
>>> parameters["variant"], parameters["target_triangles"], parameters["threshold_hu"]
('default', 20000, -550.0)
>>> GeometryRequest.from_parameters(parameters) == request
True
>>> GeometryRequest(target_triangles=10)
Traceback (most recent call last):
...
rhinoapp.core.errors.ValidationError: target_triangles must lie between 5000 and 2000000 triangles, got 10; choose a value in that range.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from rhinoapp.core.requests import Range, check_name
from rhinoapp.segmentation.request import SegmentationRequest

if TYPE_CHECKING:
    from rhinoapp.geometry.surface import SurfaceOptions

__all__ = ["GEOMETRY_RANGES", "GeometryRequest"]

#: Bounds of the numbers of a geometry request.
GEOMETRY_RANGES: Mapping[str, Range] = MappingProxyType({
    "target_triangles": Range(5_000, 2_000_000, "triangles"),
})


@dataclasses.dataclass(frozen=True, kw_only=True)
class GeometryRequest:
    """Segment, build the surface of about ``target_triangles`` and write it as the geometry folder of ``variant``."""

    segmentation: SegmentationRequest = dataclasses.field(default_factory=SegmentationRequest)
    target_triangles: int = 100_000
    variant: str = "default"

    def __post_init__(self) -> None:
        triangles = GEOMETRY_RANGES["target_triangles"].check("target_triangles", self.target_triangles)
        object.__setattr__(self, "target_triangles", int(triangles))
        object.__setattr__(self, "variant", check_name("variant", self.variant))

    def surface_options(self) -> SurfaceOptions:
        """The surface extraction's options."""
        from rhinoapp.geometry.surface import SurfaceOptions  # VTK only where the surface is built

        return SurfaceOptions(target_triangles=self.target_triangles)

    def to_parameters(self) -> dict[str, Any]:
        """JSON-ready job parameters (one flat mapping)."""
        return {"variant": self.variant, **self.segmentation.to_parameters(), "target_triangles": self.target_triangles}

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, Any]) -> GeometryRequest:
        """The request of a job's parameters; bad values raise ValidationError."""
        fields = {name: parameters[name] for name in ("target_triangles", "variant") if name in parameters}
        return cls(segmentation=SegmentationRequest.from_parameters(parameters), **fields)
