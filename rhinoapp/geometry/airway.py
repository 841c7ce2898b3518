"""From a segmentation to the airway geometry: surface, per-side metrics and the ``geometry.json`` content.

Examples
--------
>>> AirwayGeometry.FORMAT
'rhinoapp-geometry/1'
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from rhinoapp.core.progress import ProgressCallback
from rhinoapp.core.volume import AirwayLabel
from rhinoapp.geometry.cross_sections import SideMetrics, side_metrics
from rhinoapp.geometry.measures import label_area_mm2
from rhinoapp.geometry.surface import AirwaySurface, Face, SurfaceOptions, extract_surface
from rhinoapp.segmentation.airway import AirwaySegmentation

__all__ = ["AirwayGeometry", "build_geometry"]



@dataclasses.dataclass(frozen=True, eq=False)
class AirwayGeometry:
    """Segmentation, surface and the metrics of each side."""

    FORMAT: ClassVar[str] = "rhinoapp-geometry/1"

    segmentation: AirwaySegmentation
    surface: AirwaySurface
    left: SideMetrics
    right: SideMetrics

    def as_dict(self) -> dict[str, Any]:
        """The content of ``geometry.json``: units in the key names, LPS millimetres throughout."""
        seg, surface = self.segmentation, self.surface
        labels = seg.labels
        spacing_kji = labels.geometry.spacing_mm[::-1]
        airway = labels.labels > 0
        check = surface.mesh.check()
        sides = {}
        for metrics in (self.left, self.right):
            sides[metrics.side] = {**metrics.as_dict(), "profile": metrics.profile.as_dict()}
        return {
            "format": self.FORMAT,
            "coordinate_system": "LPS (x to the patient's left, y posterior, z superior), millimetres",
            "labels": {label.name.lower(): int(label) for label in AirwayLabel},
            "threshold_hu": seg.options.threshold_hu,
            "options": {"segmentation": seg.options.as_dict(), "surface": dataclasses.asdict(surface.options)},
            "cross_sections": "coronal planes of the image grid; distance from the nostril inlet centre, posterior "
                              "positive; mCSA searched behind the nostril opening",
            "left": sides["left"],
            "right": sides["right"],
            "nasopharynx": {"volume_ml": round(seg.volume_ml(AirwayLabel.NASOPHARYNX), 4),
                            "surface_cm2": round(surface.area_mm2(Face.WALL, AirwayLabel.NASOPHARYNX) / 100, 4)},
            "sinuses": {"mode": seg.options.sinus_mode.value, "volume_ml": round(seg.volume_ml(AirwayLabel.SINUS), 4)},
            "total": {"volume_ml": round(float(airway.sum()) * labels.geometry.voxel_volume_mm3 / 1000, 4),
                      "surface_cm2": round(surface.area_mm2(Face.WALL) / 100, 4)},
            "inlets": {"left": seg.inlet_left.as_dict(), "right": seg.inlet_right.as_dict()},
            "outlet": seg.outlet.as_dict(),
            "choana": seg.choana.as_dict(),
            "seeds_lps_mm": [list(seed) for seed in seg.seeds_lps_mm],
            "warnings": list(seg.warnings),
            "surface": {
                "triangles": int(len(surface.mesh.triangles)),
                "watertight": check.watertight,
                "manifold": check.manifold,
                "components": check.components,
                "enclosed_volume_ml": round(surface.enclosed_volume_mm3 / 1000, 4),
                "area_cm2": round(surface.mesh.area_mm2 / 100, 4),
                "face_area_cm2": {face.key: round(surface.area_mm2(face) / 100, 5) for face in Face},
            },
            "label_map": {"volume_ml": round(float(airway.sum()) * labels.geometry.voxel_volume_mm3 / 1000, 4),
                          "area_cm2": round(label_area_mm2(airway, spacing_kji) / 100, 4)},
            "volume": labels.geometry.as_dict(),
        }


def build_geometry(segmentation: AirwaySegmentation, options: SurfaceOptions | None = None, *,
                   progress: ProgressCallback | None = None) -> AirwayGeometry:
    """Surface and metrics of a segmentation (``progress`` gets the surface's fractions)."""
    openings = (segmentation.inlet_left, segmentation.inlet_right, segmentation.outlet)
    surface = extract_surface(segmentation.labels, openings, options, progress=progress)
    left, right = side_metrics(segmentation.labels, (segmentation.inlet_left, segmentation.inlet_right), surface)
    return AirwayGeometry(segmentation, surface, left, right)
