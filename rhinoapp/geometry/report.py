"""The typed geometry report (``geometry.json``): what the segmentation measured and used.

Examples
--------
>>> side = {"volume_ml": 10.0, "mcsa_cm2": 0.6}
>>> report = GeometryReport.from_document({"format": "rhinoapp-geometry/1", "left": side, "right": side})
>>> report.volume_ml("left"), report.mcsa_cm2("right")
(10.0, 0.6)
>>> GeometryReport.from_json(report.to_json()) == report
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import Any, ClassVar

from rhinoapp.core.documents import document_bytes, parse_document, require
from rhinoapp.core.layout import GeometryFolder
from rhinoapp.core.errors import ValidationError

__all__ = ["GeometryReport"]

_WHAT: str = GeometryFolder(PurePosixPath()).report.name  # the document's file name, for messages


@dataclasses.dataclass(frozen=True)
class GeometryReport:
    """Metrics of each side (volume, mCSA, profile), options and openings of one airway geometry.

    ``document`` is the whole report (see :meth:`rhinoapp.geometry.AirwayGeometry.as_dict`); the
    typed accessors are what the application reads.
    """

    FORMAT: ClassVar[str] = "rhinoapp-geometry/1"

    left: Mapping[str, Any]
    right: Mapping[str, Any]
    document: Mapping[str, Any] = dataclasses.field(compare=False, repr=False)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> GeometryReport:
        """The report in a decoded ``geometry.json``; ValidationError when a side's metrics are missing."""
        require(document, ("left", "right"), what=_WHAT, expected_format=cls.FORMAT)
        for side in ("left", "right"):
            metrics = document[side]
            if not isinstance(metrics, Mapping) or "volume_ml" not in metrics or "mcsa_cm2" not in metrics:
                raise ValidationError(f"geometry.json lacks the {side} side's volume_ml and mcsa_cm2: "
                                      "run the segmentation again.")
        return cls(MappingProxyType(dict(document["left"])), MappingProxyType(dict(document["right"])),
                   MappingProxyType(dict(document)))

    def to_document(self) -> dict[str, Any]:
        """The JSON-ready ``geometry.json`` content."""
        return {"format": self.FORMAT, **self.document, "left": dict(self.left), "right": dict(self.right)}

    @classmethod
    def from_json(cls, data: bytes | str) -> GeometryReport:
        """Read ``geometry.json`` bytes."""
        return cls.from_document(parse_document(data, what=_WHAT))

    def to_json(self) -> bytes:
        """The ``geometry.json`` bytes."""
        return document_bytes(self.to_document())

    def side(self, side: str) -> Mapping[str, Any]:
        """The metrics of ``"left"`` or ``"right"``."""
        return {"left": self.left, "right": self.right}[side]

    def volume_ml(self, side: str) -> float:
        """Volume of one side's cavity in ml."""
        return float(self.side(side)["volume_ml"])

    def mcsa_cm2(self, side: str) -> float:
        """Minimal cross-sectional area of one side in cm^2."""
        return float(self.side(side)["mcsa_cm2"])

    @property
    def seeds_lps_mm(self) -> tuple[tuple[float, ...], ...]:
        """The nostril seeds the segmentation used (LPS mm), empty when the report has none."""
        return tuple(tuple(float(v) for v in seed) for seed in self.document.get("seeds_lps_mm") or ())

    @property
    def warnings(self) -> tuple[str, ...]:
        """What the segmentation left out or doubted (e.g. air cut by the superior edge); empty when nothing.

        Examples
        --------
        >>> side = {"volume_ml": 1.0, "mcsa_cm2": 0.5}
        >>> GeometryReport.from_document({"left": side, "right": side, "warnings": ["air cut"]}).warnings
        ('air cut',)
        """
        return tuple(str(w) for w in self.document.get("warnings") or ())

    @property
    def outlet_point_lps_mm(self) -> tuple[float, ...] | None:
        """A point of the outlet plane (LPS mm), None when the report has none.

        Examples
        --------
        >>> side = {"volume_ml": 1.0, "mcsa_cm2": 0.5}
        >>> report = GeometryReport.from_document({"left": side, "right": side, "outlet": {"point_lps_mm": [0, 1, -6]}})
        >>> report.outlet_point_lps_mm, report.seeds_lps_mm
        ((0.0, 1.0, -6.0), ())
        """
        point = (self.document.get("outlet") or {}).get("point_lps_mm")
        return tuple(float(v) for v in point) if point else None
