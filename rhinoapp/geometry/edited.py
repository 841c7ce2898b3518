"""The airway geometry of a hand-edited label map: openings measured again, provenance recorded.

An edited label map keeps the nostril inlets and the outlet of the segmentation it started from
(``geometry.json`` of that variant), but brush, cut and region edits may change what lies on those
planes, so :func:`remeasure_opening` measures each opening again on the edited labels: the layer
of voxels of its label just inside the plane, near the old opening. :func:`edited_segmentation`
wraps the edited labels with those openings as an
:class:`~rhinoapp.segmentation.AirwaySegmentation`, from which
:func:`~rhinoapp.geometry.build_geometry` makes the surface and metrics as for an automatic one.

Examples
--------
>>> from rhinoapp.core.volume import ImageGeometry
>>> labels = np.zeros((6, 6, 6), np.uint8); labels[1:, 1:5, 1:5] = 1
>>> old = Opening("inlet_left", Plane((2.5, 2.5, 0.5), (0, 0, -1)), 16.0, 3.0, ((1, 4), (1, 4), (0.5, 0.5)))
>>> opening = remeasure_opening(LabelMap(labels, ImageGeometry(labels.shape)), old, 1)
>>> opening.area_mm2, opening.plane.point_mm
(16.0, (2.5, 2.5, 0.5))
>>> labels[1, 1:5, 1:3] = 0
>>> remeasure_opening(LabelMap(labels, ImageGeometry(labels.shape)), old, 1).area_mm2
8.0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rhinoapp.core.errors import ValidationError
from rhinoapp.core.volume import AirwayLabel, LabelMap
from rhinoapp.segmentation import AirwaySegmentation, Opening, Plane, SegmentationOptions

__all__ = ["edited_segmentation", "opening_from_dict", "options_from_dict", "remeasure_opening"]

_NEAR_MM = 2.0  # how far beyond the old rim the opening may have grown
_OPENING_LABELS = {"inlet_left": AirwayLabel.LEFT_CAVITY, "inlet_right": AirwayLabel.RIGHT_CAVITY,
                   "outlet": AirwayLabel.NASOPHARYNX}
_WHERE = {"inlet_left": "left nostril", "inlet_right": "right nostril", "outlet": "outlet (nasopharynx)"}


def opening_from_dict(name: str, document: Mapping[str, Any]) -> Opening:
    """The :class:`~rhinoapp.segmentation.Opening` of ``Opening.as_dict()``'s output."""
    plane = Plane(tuple(document["point_lps_mm"]), tuple(document["normal_lps"]))
    bounds = tuple((float(lo), float(hi)) for lo, hi in document["bounds_lps_mm"])
    return Opening(name, plane, float(document["area_mm2"]), float(document["radius_mm"]), bounds,  # type: ignore[arg-type]
                   str(document.get("short_of_nostril") or ""))


def options_from_dict(document: Mapping[str, Any]) -> SegmentationOptions:
    """The :class:`~rhinoapp.segmentation.SegmentationOptions` of ``SegmentationOptions.as_dict()``'s output.

    Examples
    --------
    >>> options = SegmentationOptions(threshold_hu=-500, outlet_plane=Plane((0, 0, -5), (0, 0, -1)))
    >>> options_from_dict(options.as_dict()) == options
    True
    """
    values = dict(document)
    plane = values.get("outlet_plane")
    if plane is not None:
        values["outlet_plane"] = Plane(tuple(plane["point_lps_mm"]), tuple(plane["normal_lps"]))
    if values.get("seeds_lps_mm") is not None:
        values["seeds_lps_mm"] = tuple(tuple(seed) for seed in values["seeds_lps_mm"])
    known = set(SegmentationOptions.__dataclass_fields__)
    return SegmentationOptions(**{k: v for k, v in values.items() if k in known})


def remeasure_opening(labels: LabelMap, opening: Opening, label: int) -> Opening:
    """``opening`` measured again on ``labels``: the voxels of ``label`` in the layer just inside its plane.

    Raises
    ------
    ValidationError
        When the edits left no voxel of ``label`` at the opening; the message says to undo or paint it back.
    """
    geometry = labels.geometry
    plane = opening.plane
    normal = np.asarray(plane.normal)
    index = np.nonzero(labels.labels == label)
    points = geometry.index_to_physical(np.stack(index[::-1], axis=-1)) if len(index[0]) else np.zeros((0, 3))
    thickness = float(np.abs(geometry.direction_matrix.T @ normal) @ np.asarray(geometry.spacing_mm))
    distance = plane.signed_distance(points) if len(points) else np.zeros(0)
    offsets = points - np.asarray(plane.point_mm)
    in_plane = offsets - np.outer(offsets @ normal, normal)
    near = np.sqrt((in_plane ** 2).sum(axis=1)) <= opening.radius_mm + _NEAR_MM
    layer = points[(distance > -thickness - 1e-4) & (distance <= 1e-4) & near]
    if not len(layer):
        raise ValidationError(f"the edits removed the airway at the {_WHERE.get(opening.name, opening.name)} "
                              f"(around {tuple(round(v, 1) for v in plane.point_mm)} mm LPS): undo the last edits "
                              "or paint that part back before saving")
    centre = layer.mean(axis=0)
    centre -= (centre - np.asarray(plane.point_mm)) @ normal * normal
    offsets = layer - centre
    in_plane = offsets - np.outer(offsets @ normal, normal)
    pixel = geometry.voxel_volume_mm3 / thickness
    radius = float(np.sqrt((in_plane ** 2).sum(axis=1)).max()) + float(np.sqrt(pixel)) / 2
    bounds = tuple((float(lo), float(hi)) for lo, hi in zip(layer.min(axis=0), layer.max(axis=0)))
    return Opening(opening.name, Plane(tuple(float(v) for v in centre), plane.normal),  # type: ignore[arg-type]
                   len(layer) * pixel, radius, bounds, opening.short_of_nostril)  # type: ignore[arg-type]


def edited_segmentation(labels: LabelMap, report: Mapping[str, Any], *,
                        warnings: Sequence[str] = ()) -> AirwaySegmentation:
    """The edited ``labels`` as a segmentation, with the openings of ``report`` (a ``geometry.json``) re-measured.

    Raises
    ------
    ValidationError
        When a side is empty or an opening was edited away; the message says what to do.
    """
    for label, side in ((AirwayLabel.LEFT_CAVITY, "left"), (AirwayLabel.RIGHT_CAVITY, "right")):
        if not np.any(labels.labels == label):
            raise ValidationError(f"the edited airway has no {side} nasal cavity (label {int(label)}): undo the "
                                  f"edit that removed it or paint it back with label {int(label)}")
    try:
        inlets = report["inlets"]
        old = {"inlet_left": opening_from_dict("inlet_left", inlets["left"]),
               "inlet_right": opening_from_dict("inlet_right", inlets["right"]),
               "outlet": opening_from_dict("outlet", report["outlet"])}
        options = options_from_dict(report["options"]["segmentation"])
        choana = report["choana"]
        seeds = tuple(tuple(float(v) for v in seed) for seed in report["seeds_lps_mm"])
    except (KeyError, TypeError, ValueError) as error:
        raise ValidationError(f"the geometry report the edits start from lacks {error}: run the segmentation "
                              "again, then edit its result") from None
    openings = {name: remeasure_opening(labels, opening, _OPENING_LABELS[name]) for name, opening in old.items()}
    return AirwaySegmentation(labels, openings["inlet_left"], openings["inlet_right"], openings["outlet"],
                              Plane(tuple(choana["point_lps_mm"]), tuple(choana["normal_lps"])),
                              seeds, options, tuple(warnings))  # type: ignore[arg-type]
