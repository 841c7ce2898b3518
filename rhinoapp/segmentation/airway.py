"""Airway segmentation: from a HU volume to labels 1 left cavity, 2 right cavity, 3 nasopharynx, 4 sinuses.

Steps (see :mod:`rhinoapp.segmentation.options` for the defaults):

1. Air below ``threshold_hu``, without the -1024 HU de-identification masks
   (:func:`~rhinoapp.segmentation.edges.deidentification_masks`: neither air nor a path for it);
   a nose cut open by the front edge of the image is refused.
2. Air outside the body (per axial slice, :func:`~rhinoapp.segmentation.masks.outside_air`), flooded
   through voxels below the half level between air and soft tissue (about -450 HU) so that
   partial-volume rims cannot enclose outside air, whatever the threshold. The posterior face
   seeds no outside air: a crop to the nose cuts the nasopharynx there.
3. Nostrils: the openings between enclosed and outside air (or the manual seeds); the airway is
   the enclosed air connected to them (region growing = connected components). Without a pair,
   :func:`~rhinoapp.segmentation.checks.diagnose_no_nostrils` says whether the passages are blocked
   and where.
4. Choanae: the most anterior coronal plane behind which the two sides join.
5. Outlet: an axial plane ``outlet_depth_mm`` below the nasal floor at the choanae (or the
   manual plane); air beyond it is dropped.
6. Partial-volume boundary voxels are added. Air cut by the superior face is left out with the
   cells it belongs to (:func:`~rhinoapp.segmentation.edges.superior_cut`, a warning, no refusal).
   The sinuses are found in two passes (large sinuses, then small ethmoid cells) and excluded or
   labelled.
7. Left and right: in front of the choanae, the part connected to each nostril (the patient's
   left is +x in LPS); behind them the nasopharynx.
8. Checks: the airway may open to the outside air only at the nostrils and may not touch the edge
   of the image; otherwise a :class:`SegmentationError` says what, where (LPS mm and voxel) and
   which control of the Geometry page resolves it.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import ndimage

from rhinoapp.core.progress import ProgressCallback, ProgressReport
from rhinoapp.core.volume import AirwayLabel, CTVolume, LabelMap
from rhinoapp.segmentation.checks import (
    DEPTH_CONTROL,
    OUTLET_CONTROL,
    check_coverage,
    check_front_face,
    check_result,
    diagnose_no_nostrils,
)
from rhinoapp.segmentation.edges import deidentification_masks, superior_cut
from rhinoapp.segmentation.errors import SegmentationError
from rhinoapp.segmentation.masks import AxisFrame, coordinate_grid, outside_air, partial_volume_band, voxel_centres
from rhinoapp.segmentation.openings import Cluster, interface_clusters, opening_from_cluster, pick_nostrils
from rhinoapp.segmentation.options import Opening, Plane, SegmentationOptions, SinusMode
from rhinoapp.segmentation.sinuses import find_sinuses

__all__ = ["AirwaySegmentation", "segment_airway"]

_LOG = logging.getLogger(__name__)
Vec3 = tuple[float, float, float]


@dataclasses.dataclass(frozen=True, eq=False)
class AirwaySegmentation:
    """Result of :func:`segment_airway`: labels, openings and what was used to get them."""

    labels: LabelMap
    inlet_left: Opening
    inlet_right: Opening
    outlet: Opening
    choana: Plane
    seeds_lps_mm: tuple[Vec3, Vec3]
    options: SegmentationOptions
    warnings: tuple[str, ...] = ()

    def volume_ml(self, label: int) -> float:
        """Volume of one label in millilitres."""
        return self.labels.volume_ml(label)

    def metadata(self) -> dict[str, Any]:
        """JSON-ready description: threshold, options, seeds, planes and volumes per label."""
        return {
            "threshold_hu": self.options.threshold_hu,
            "options": self.options.as_dict(),
            "seeds_lps_mm": [list(seed) for seed in self.seeds_lps_mm],
            "inlets": {"left": self.inlet_left.as_dict(), "right": self.inlet_right.as_dict()},
            "outlet": self.outlet.as_dict(),
            "choana": self.choana.as_dict(),
            "volume_ml": {label.name.lower(): round(self.volume_ml(label), 4) for label in AirwayLabel if label},
            "warnings": list(self.warnings),
        }


def _report(progress: ProgressCallback | None, fraction: float, stage: str) -> None:
    _LOG.debug("%3.0f %% %s", 100 * fraction, stage)
    if progress is not None:
        progress(ProgressReport(fraction, stage=stage))


def _seed_clusters(clusters: list[Cluster], components: np.ndarray, objects: list[Any], volume: CTVolume,
                   frame: AxisFrame, options: SegmentationOptions,
                   all_clusters: Callable[[], list[Cluster]]) -> tuple[Cluster, Cluster]:
    geometry = volume.geometry
    if options.seeds_lps_mm is None:
        used = {c.component for c in clusters if c.component}
        volumes = {c: float(np.count_nonzero(components[objects[c - 1]] == c)) * geometry.voxel_volume_mm3 / 1000
                   for c in used}
        pair = pick_nostrils(clusters, geometry, frame, min_area_mm2=options.min_nostril_area_mm2,
                             component_volumes_ml=volumes)
        if pair is None:
            raise diagnose_no_nostrils(all_clusters(), components, volume, frame, options)
        return pair
    picked = []
    for side, seed in zip(("left", "right"), options.seeds_lps_mm):
        index = np.rint(geometry.physical_to_index(seed)[::-1]).astype(int)
        if np.any(index < 0) or np.any(index >= geometry.shape):
            raise SegmentationError(
                f"the {side} seed {seed} lies outside the image; place it inside the {side} nostril")
        radius = np.ceil(2.0 / np.asarray(geometry.spacing_mm)[::-1]).astype(int)
        box = tuple(slice(max(0, a - r), a + r + 1) for a, r in zip(index, radius))
        found = np.argwhere(components[box] > 0)
        if not len(found):
            raise SegmentationError(
                f"the {side} seed {seed} is not in air enclosed by the nose (HU {int(volume.hu[tuple(index)])}, "
                f"threshold {options.threshold_hu:g}); place it inside the {side} nostril or vestibule")
        nearest = found[np.argmin(((found + [b.start for b in box] - index) ** 2).sum(axis=1))]
        component = int(components[tuple(nearest + [b.start for b in box])])
        own = [c for c in clusters if c.component == component and c.step == -frame.axial_sign]
        if not own:
            raise SegmentationError(f"the air around the {side} seed has no opening to the outside air below the nose")
        picked.append(min(own, key=lambda c: float(((c.inner_kji - index) ** 2).sum(axis=1).min())))
    if picked[0].component != picked[1].component:
        raise SegmentationError("the left and right seeds lie in airways that are not connected; check the seeds")
    return picked[0], picked[1]


def _openings(inside: np.ndarray, outside: np.ndarray, components: np.ndarray, objects: list[Any], frame: AxisFrame,
              volume: CTVolume, min_volume_ml: float = 0.5) -> list[Cluster]:
    """Openings of the enclosed air spaces of at least ``min_volume_ml`` (searched in their bounding box only)."""
    least = min_volume_ml * 1000.0 / volume.geometry.voxel_volume_mm3
    boxes = [box for n, box in enumerate(objects, start=1) if box is not None
             and np.prod([s.stop - s.start for s in box]) >= least
             and np.count_nonzero(components[box] == n) >= least]
    if not boxes:
        return []
    lo = [max(0, min(b[a].start for b in boxes) - (a == frame.axial)) for a in range(3)]
    hi = [min(n, max(b[a].stop for b in boxes) + (a == frame.axial)) for a, n in enumerate(inside.shape)]
    window = tuple(slice(a, b) for a, b in zip(lo, hi))
    found = interface_clusters(inside[window], outside[window], frame.axial, components[window])
    return [Cluster(c.inner_kji + lo, c.step, c.component) for c in found]


def _coronal_part(frame: AxisFrame, size: int, count: int) -> slice:
    """The ``count`` most anterior coronal slices of an axis of ``size`` slices."""
    return slice(0, count) if frame.coronal_sign > 0 else slice(size - count, size)


def _posterior_position(frame: AxisFrame, index: int, size: int) -> int:
    return index if frame.coronal_sign > 0 else size - 1 - index


def _find_choana(raw: np.ndarray, seeds: list[np.ndarray], frame: AxisFrame) -> int:
    """Posterior position (0 = most anterior slice) of the first coronal slice joining the sides."""
    axis, size = frame.coronal, raw.shape[frame.coronal]

    def joined(count: int) -> bool:
        window = [slice(None)] * 3
        window[axis] = _coronal_part(frame, size, count)
        labels, _ = ndimage.label(raw[tuple(window)])
        values = []
        for seed in seeds:
            local = seed.copy()
            local[axis] -= window[axis].start
            values.append(int(labels[tuple(local)]))
        return values[0] == values[1] and values[0] > 0

    low = max(_posterior_position(frame, int(s[axis]), size) for s in seeds) + 1
    if joined(low):
        raise SegmentationError("the left and right airways join in front of the choanae (a septal perforation?); "
                                "the left/right split needs them separate up to the nasopharynx")
    if not joined(size):
        raise SegmentationError("the left and right airways do not join in a nasopharynx: a side is blocked at this "
                                "threshold or the image ends too early; raise the threshold or check the scan")
    high: int = size
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if joined(middle) else (middle, high)
    return high - 1


def _cavities(airway: np.ndarray, seeds: list[np.ndarray], frame: AxisFrame, choana: int) -> np.ndarray:
    """The parts of ``airway`` in front of the choanae connected there to a nostril seed."""
    front = [slice(None)] * 3
    front[frame.coronal] = _coronal_part(frame, airway.shape[frame.coronal], choana)
    labels, _ = ndimage.label(airway[tuple(front)])
    cavities = np.zeros_like(airway)
    for seed in seeds:
        local = seed.copy()
        local[frame.coronal] -= front[frame.coronal].start
        cavities[tuple(front)] |= labels == labels[tuple(local)]
    return cavities


def _split_sides(nasal: np.ndarray, core: np.ndarray, seeds: list[np.ndarray], frame: AxisFrame,
                 choana: int) -> np.ndarray:
    """Labels 1/2 in front of the choanae, 3 elsewhere. Sides come from the thresholded ``core``
    (boundary voxels can bridge a thin wall); boundary voxels take the side they touch."""
    labels = np.zeros(nasal.shape, dtype=np.uint8)
    labels[nasal] = AirwayLabel.NASOPHARYNX
    sides = [(_cavities(core, [seed], frame, choana) & nasal, label)
             for seed, label in zip(seeds, (AirwayLabel.LEFT_CAVITY, AirwayLabel.RIGHT_CAVITY))]
    if (sides[0][0] & sides[1][0]).any():
        raise SegmentationError("the left and right airways join in front of the choanae (a septal perforation?); "
                                "the left/right split needs them separate up to the nasopharynx")
    front = _cavities(nasal, seeds, frame, choana)
    for side, label in sides:
        labels[side] = label
    for side, label in sides:
        rim = ndimage.binary_dilation(side) & front & (labels == AirwayLabel.NASOPHARYNX)
        labels[rim] = label
    return labels


def _auto_outlet(raw: np.ndarray, seeds: list[np.ndarray], centres_of: Callable[..., Any], frame: AxisFrame, choana: int,
                 depth_mm: float, volume: CTVolume, offset: tuple[int, ...]) -> Plane:
    """Axial plane ``depth_mm`` below the nasal floor in the last 6 mm in front of the choanae."""
    geometry = volume.geometry
    size = raw.shape[frame.coronal]
    count = max(2, int(round(6.0 / geometry.spacing_mm[2 - frame.coronal])))
    cavities = _cavities(raw, seeds, frame, choana)
    sub = [slice(None)] * 3
    start = max(0, choana - count)
    sub[frame.coronal] = slice(start, choana) if frame.coronal_sign > 0 else slice(size - choana, size - start)
    index = np.nonzero(cavities[tuple(sub)])
    index = tuple(a + (s.start or 0) for a, s in zip(index, sub))
    points = centres_of(index)
    if not len(points):
        raise SegmentationError(f"no nasal floor found in front of the choanae; set the outlet with {OUTLET_CONTROL}")
    half_voxel = 0.5 * float(np.abs(geometry.direction_matrix[2]) @ np.asarray(geometry.spacing_mm))
    floor = float(points[:, 2].min()) - half_voxel
    outlet_z = floor - depth_mm
    height = coordinate_grid(geometry, (0.0, 0.0, 1.0), raw.shape, offset)
    below = centres_of(np.nonzero(raw & (np.abs(height - np.float32(outlet_z)) <= 2 * half_voxel + 0.5)))
    if not len(below):
        raise SegmentationError(
            f"the airway ends above the outlet plane ({depth_mm:g} mm below the nasal floor, z = {outlet_z:.1f} mm): "
            f"the image stops too high; lower {DEPTH_CONTROL}, set the outlet with {OUTLET_CONTROL}, or use a scan "
            "reaching lower")
    return Plane((float(below[:, 0].mean()), float(below[:, 1].mean()), outlet_z), (0.0, 0.0, -1.0))


def _component_with(mask: np.ndarray, seeds: list[np.ndarray], what: str) -> np.ndarray:
    labels, _ = ndimage.label(mask)
    values = {int(labels[tuple(s)]) for s in seeds}
    if 0 in values:
        raise SegmentationError(f"a nostril seed is not part of the airway after {what}")
    if len(values) > 1:
        raise SegmentationError(f"{what} separates the left and right nostrils from each other; "
                                "move the outlet plane lower (towards the oropharynx)")
    result: np.ndarray = labels == values.pop()
    return result


def _outlet_opening(airway: np.ndarray, centres_of: Callable[..., Any], plane: Plane, volume: CTVolume) -> Opening:
    geometry = volume.geometry
    index = np.nonzero(airway)
    points = centres_of(index)
    distance = plane.signed_distance(points)
    normal = np.asarray(plane.normal)
    thickness = float(np.abs(geometry.direction_matrix.T @ normal) @ np.asarray(geometry.spacing_mm))
    layer = points[distance > -thickness - 1e-4]
    if not len(layer):
        raise SegmentationError("the outlet plane does not cross the airway; move it into the pharynx")
    centre = layer.mean(axis=0)
    centre -= (centre - np.asarray(plane.point_mm)) @ normal * normal
    offsets = layer - centre
    in_plane = offsets - np.outer(offsets @ normal, normal)
    radius = float(np.sqrt((in_plane**2).sum(axis=1)).max()) + thickness
    area = len(layer) * geometry.voxel_volume_mm3 / thickness
    bounds = tuple((float(lo), float(hi)) for lo, hi in zip(layer.min(axis=0), layer.max(axis=0)))
    return Opening("outlet", Plane(tuple(centre), plane.normal), area, radius, bounds)  # type: ignore[arg-type]


def segment_airway(volume: CTVolume, options: SegmentationOptions | None = None, *,
                   progress: ProgressCallback | None = None) -> AirwaySegmentation:
    """Segment the nasal airway of ``volume``; see the module notes for the steps.

    Parameters
    ----------
    volume
        CT in Hounsfield units.
    options
        :class:`SegmentationOptions` (defaults when ``None``).
    progress
        Called with a :class:`~rhinoapp.core.progress.ProgressReport` (fraction done, stage) between steps.

    Raises
    ------
    SegmentationError
        When a trustworthy airway cannot be found; the message says what is missing.

    Examples
    --------
    >>> from rhinoapp.core.volume import ImageGeometry
    >>> solid = CTVolume(np.full((20, 20, 20), 40, dtype=np.int16), ImageGeometry((20, 20, 20)))
    >>> segment_airway(solid)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rhinoapp.segmentation.errors.SegmentationError: no pair of nostrils found: ... give the seeds with ... (one point ...
    """
    options = options if options is not None else SegmentationOptions()
    geometry = volume.geometry
    frame = AxisFrame.of(geometry)
    _report(progress, 0.0, "thresholding air")
    spacing_kji = tuple(geometry.spacing_mm[::-1])
    masks = deidentification_masks(volume.hu, spacing_kji)  # neither air nor a path for it
    air = volume.hu < options.threshold_hu
    air &= ~masks
    check_coverage(air, volume, frame, options)
    check_front_face(air, volume, frame, options)
    _report(progress, 0.1, "finding the air outside the body")
    # Partial-volume rims (e.g. under the nose) must not enclose outside air: flood at the half level.
    half_level = max(options.threshold_hu, (-1000.0 + options.partial_volume_tissue_hu) / 2)
    # The posterior face seeds no outside air: a crop to the nose cuts the nasopharynx there.
    closed = [(frame.coronal, -1 if frame.coronal_sign > 0 else 0)]
    outside = outside_air((volume.hu < half_level) & ~masks, frame.axial, closed=closed) & air \
        if half_level > options.threshold_hu else outside_air(air, frame.axial, closed=closed)
    del masks
    inside = air & ~outside
    del air
    _report(progress, 0.3, "finding the nostrils")
    components, _ = ndimage.label(inside)
    objects = ndimage.find_objects(components)
    clusters = _openings(inside, outside, components, objects, frame, volume)
    left, right = _seed_clusters(clusters, components, objects, volume, frame, options,
                                 functools.partial(interface_clusters, inside, outside, frame.axial, components))
    del inside
    inlets = (opening_from_cluster("inlet_left", left, geometry, frame.axial),
              opening_from_cluster("inlet_right", right, geometry, frame.axial))
    margin = np.ceil(options.roi_margin_mm / np.asarray(geometry.spacing_mm)[::-1]).astype(int)
    roi = tuple(slice(max(0, s.start - m), min(n, s.stop + m))
                for s, m, n in zip(objects[left.component - 1], margin, geometry.shape))
    offset = tuple(s.start for s in roi)
    raw = components[roi] == left.component
    del components
    outside = outside[roi]
    hu = volume.hu[roi]
    seeds = [c.inner_kji[np.argmin(np.abs(c.inner_kji - c.inner_kji.mean(axis=0)).sum(axis=1))] - offset
             for c in (left, right)]

    def centres_of(index: tuple[np.ndarray, ...]) -> np.ndarray:
        return voxel_centres(geometry, index, offset)

    _report(progress, 0.45, "finding the choanae and the outlet")
    choana = _find_choana(raw, seeds, frame)
    plane = options.outlet_plane or _auto_outlet(raw, seeds, centres_of, frame, choana, options.outlet_depth_mm,
                                                 volume, offset)
    # The outlet cuts the pharynx only: in front of the choanae (a tilted head) nothing is dropped.
    size = raw.shape[frame.coronal]
    front = np.zeros([size if a == frame.coronal else 1 for a in range(3)], dtype=bool)
    front[tuple(_coronal_part(frame, size, choana) if a == frame.coronal else slice(None) for a in range(3))] = True
    before_outlet = front | (coordinate_grid(geometry, plane.normal, raw.shape, offset) < np.float32(
        np.dot(plane.normal, plane.point_mm)))
    raw &= before_outlet
    airway = _component_with(raw, seeds, "the outlet plane")
    core = airway.copy()
    del raw
    if options.partial_volume:
        _report(progress, 0.55, "adding partial-volume boundary voxels")
        band = partial_volume_band(hu, airway, threshold_hu=options.threshold_hu,
                                   tissue_hu=options.partial_volume_tissue_hu)
        airway |= band & ~outside & before_outlet
    warnings: list[str] = []
    open_faces: list[tuple[int, int]] = []
    top = -1 if frame.axial_sign > 0 else 0
    if (roi[frame.axial].stop == geometry.shape[frame.axial] if top == -1 else roi[frame.axial].start == 0) \
            and np.take(airway, top, axis=frame.axial).any():
        _report(progress, 0.6, "leaving out the air cut by the superior edge")
        airway, warning, kept = superior_cut(airway, frame, top, options, geometry, offset)
        warnings.append(warning)
        if kept:
            open_faces.append((frame.axial, top))
    _report(progress, 0.65, "finding the paranasal sinuses")
    distance = ndimage.distance_transform_edt(airway, sampling=spacing_kji).astype(np.float32)
    sinus = find_sinuses(airway, spacing_kji, seeds_kji=seeds, distance=distance,
                         core_radius_mm=options.sinus_core_radius_mm, max_ostium_area_mm2=options.max_ostium_area_mm2,
                         max_ostium_length_mm=options.max_ostium_length_mm, min_volume_ml=options.min_sinus_volume_ml)
    # Small cells (ethmoid) in a second pass over what is left, with the same distances.
    sinus |= find_sinuses(airway & ~sinus, spacing_kji, seeds_kji=seeds, distance=distance,
                          core_radius_mm=options.cell_core_radius_mm,
                          max_ostium_area_mm2=options.max_cell_ostium_area_mm2,
                          max_ostium_length_mm=options.max_cell_ostium_length_mm,
                          min_volume_ml=options.min_cell_volume_ml, canal_factor=1.0,
                          max_core_extent_mm=4 * options.max_cell_ostium_length_mm)
    del distance
    nasal = _component_with(airway & ~sinus, seeds, "removing the sinuses")
    _report(progress, 0.85, "splitting left and right")
    labels = _split_sides(nasal, core & ~sinus, seeds, frame, choana)
    if options.sinus_mode is SinusMode.KEEP:
        labels[sinus & airway] = AirwayLabel.SINUS
    check_result(labels, outside, roi, volume, frame, inlets, centres_of, open_faces=open_faces)
    outlet = _outlet_opening(labels == AirwayLabel.NASOPHARYNX, centres_of, plane, volume)
    full = np.zeros(geometry.shape, dtype=np.uint8)
    full[roi] = labels
    choana_index = np.mean(seeds, axis=0)
    choana_index[frame.coronal] = (choana if frame.coronal_sign > 0 else airway.shape[frame.coronal] - choana) - 0.5
    choana_point = voxel_centres(geometry, choana_index[:, None], offset)[0]
    posterior = (0.0, 1.0, 0.0)
    seeds_lps = tuple(tuple(float(v) for v in centres_of(tuple(np.array([a]) for a in s))[0]) for s in seeds)
    _report(progress, 1.0, "segmentation done")
    return AirwaySegmentation(LabelMap(full, geometry), inlets[0], inlets[1], outlet,
                              Plane(tuple(choana_point), posterior), seeds_lps, options,  # type: ignore[arg-type]
                              tuple(warnings))
