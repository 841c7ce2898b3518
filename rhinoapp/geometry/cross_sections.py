"""Cross-sectional area profiles and the geometry metrics of each nasal side.

Planes: the coronal planes of the image grid (the array axis closest to LPS y), one per slice,
as acoustic rhinometry measures along the nasal axis. The distance of a plane is measured from
the nostril's inlet centre towards posterior. The area of a side in a plane is its voxel count
there times the pixel area (labels 1 and 2, so the profile runs from the nostril to the choanae;
the nasopharynx, label 3, belongs to neither side). Near the nostril a coronal plane cuts the
nostril lengthwise, so the minimal cross-sectional area (mCSA) is searched from the posterior
edge of the nostril opening onwards. A head rotated in the scanner tilts these planes against
the anatomy: about 1.5 % more area at 10 degrees.

Examples
--------
>>> from rhinoapp.core.volume import ImageGeometry, LabelMap
>>> from rhinoapp.segmentation.options import Opening, Plane
>>> labels = np.zeros((10, 20, 10), dtype=np.uint8)
>>> labels[2:8, 2:18, 1:4] = 1      # a 6 x 3 voxel tube along y ...
>>> labels[2:5, 9:11, 1:4] = 0      # ... narrowed to 3 x 3 voxels at y = 9, 10
>>> inlet = Opening("inlet_left", Plane((2.0, 1.5, 5.0), (0, -1, 0)), 18.0, 2.0, ((1, 3), (1.5, 1.5), (2, 7)))
>>> profile = area_profile(LabelMap(labels, ImageGeometry(labels.shape)), 1, inlet)
>>> profile.mcsa_mm2, profile.mcsa_distance_mm
(9.0, 7.5)
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import numpy as np

from rhinoapp.core.volume import AirwayLabel, LabelMap
from rhinoapp.geometry.surface import AirwaySurface, Face
from rhinoapp.segmentation.masks import AxisFrame
from rhinoapp.segmentation.options import Opening

__all__ = ["AreaProfile", "SideMetrics", "area_profile", "side_metrics"]


@dataclasses.dataclass(frozen=True, eq=False)
class AreaProfile:
    """Area (mm2) of one side in each coronal plane, by distance (mm) behind the nostril."""

    distance_mm: np.ndarray
    area_mm2: np.ndarray
    search_from_mm: float

    @property
    def _searched(self) -> np.ndarray:
        keep = (self.distance_mm >= self.search_from_mm) & (self.area_mm2 > 0)
        if not keep.any():
            keep = self.area_mm2 > 0
        return np.flatnonzero(keep)

    @property
    def mcsa_mm2(self) -> float:
        """The minimal cross-sectional area behind the nostril opening."""
        searched = self._searched
        return float(self.area_mm2[searched].min()) if len(searched) else 0.0

    @property
    def mcsa_distance_mm(self) -> float:
        """Distance of the minimal cross-section from the nostril."""
        searched = self._searched
        if not len(searched):
            return float("nan")
        return float(self.distance_mm[searched[np.argmin(self.area_mm2[searched])]])

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready profile (areas in cm2)."""
        return {"distance_mm": [round(float(d), 3) for d in self.distance_mm],
                "area_cm2": [round(float(a) / 100.0, 5) for a in self.area_mm2],
                "search_from_mm": round(self.search_from_mm, 3)}


@dataclasses.dataclass(frozen=True, eq=False)
class SideMetrics:
    """Geometry of one nasal side, in the units clinicians use."""

    side: str
    volume_ml: float
    surface_cm2: float
    mcsa_cm2: float
    mcsa_distance_mm: float
    profile: AreaProfile

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready metrics with units in the keys."""
        return {"volume_ml": round(self.volume_ml, 4), "surface_cm2": round(self.surface_cm2, 4),
                "mcsa_cm2": round(self.mcsa_cm2, 5), "mcsa_distance_mm": round(self.mcsa_distance_mm, 3)}


def area_profile(labels: LabelMap, label: int, inlet: Opening) -> AreaProfile:
    """Area profile of ``label`` over the coronal planes, from the nostril ``inlet`` backwards."""
    geometry = labels.geometry
    frame = AxisFrame.of(geometry)
    axis = frame.coronal
    spacing = np.asarray(geometry.spacing_mm)  # i, j, k
    pixel = float(np.prod(np.delete(spacing, 2 - axis)))
    others = tuple(a for a in range(3) if a != axis)
    counts = np.count_nonzero(labels.labels == label, axis=others)
    filled = np.flatnonzero(counts)
    if not len(filled):
        return AreaProfile(np.zeros(0), np.zeros(0), 0.0)
    span = np.arange(filled.min(), filled.max() + 1)
    start = float(geometry.physical_to_index(inlet.plane.point_mm)[2 - axis])
    step = float(spacing[2 - axis]) * frame.coronal_sign
    distance = (span - start) * step
    posterior = geometry.direction_matrix[:, 2 - axis] * frame.coronal_sign
    corners = np.array(list(itertools.product(*inlet.bounds_mm)))
    search_from = float(((corners - np.asarray(inlet.plane.point_mm)) @ posterior).max()) + abs(step) / 2
    order = np.argsort(distance)
    return AreaProfile(distance[order], counts[span][order] * pixel, search_from)


def side_metrics(labels: LabelMap, inlets: tuple[Opening, Opening], surface: AirwaySurface | None = None
                 ) -> tuple[SideMetrics, SideMetrics]:
    """Volume, wall area, mCSA and profile of the left and right side.

    The wall area counts the surface's wall triangles in each side's region (0 without a surface).
    """
    metrics = []
    sides = (("left", AirwayLabel.LEFT_CAVITY, inlets[0]), ("right", AirwayLabel.RIGHT_CAVITY, inlets[1]))
    for name, label, inlet in sides:
        profile = area_profile(labels, label, inlet)
        wall = surface.area_mm2(Face.WALL, region=label) if surface is not None else 0.0
        metrics.append(SideMetrics(name, labels.volume_ml(label), wall / 100.0, profile.mcsa_mm2 / 100.0,
                                   profile.mcsa_distance_mm, profile))
    return metrics[0], metrics[1]
