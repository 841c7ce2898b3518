"""Checks of the airway and the messages of the segmentation's refusals and warnings.

Every message says what is wrong, where (LPS millimetres and voxel indices) and which control of
the Geometry page (or which other step) resolves it.

Examples
--------
>>> from rhinoapp.core.volume import ImageGeometry
>>> where(ImageGeometry((4, 4, 4), spacing_mm=(0.5, 0.5, 2.0)), (1, 2, 3))
'x, y, z = 1.5, 1.0, 2.0 mm (LPS), voxel i, j, k = 3, 2, 1'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rhinoapp.core.volume import CTVolume, ImageGeometry
from rhinoapp.segmentation.errors import SegmentationError
from rhinoapp.segmentation.masks import AxisFrame, enclosed_air_on_face
from rhinoapp.segmentation.openings import Cluster, interface_clusters
from rhinoapp.segmentation.options import Opening, SegmentationOptions

__all__ = ["DEPTH_CONTROL", "OUTLET_CONTROL", "SEEDS_CONTROL", "THRESHOLD_CONTROL", "check_coverage", "check_front_face", "check_result", "diagnose_no_nostrils", "face_name", "where"]

#: Labels of the Geometry page's controls named in the messages.
THRESHOLD_CONTROL = "'Air threshold (HU)'"
SEEDS_CONTROL = "'Set the nostril seeds by hand'"
OUTLET_CONTROL = "'Set the outlet plane by hand' with 'Outlet plane height z (mm)'"
DEPTH_CONTROL = "'Automatic outlet: depth below the nasal floor (mm)'"


def where(geometry: ImageGeometry, index_kji: Sequence[float]) -> str:
    """A position as LPS millimetres and voxel indices (i, j, k, as the slice viewers number them)."""
    point = geometry.index_to_physical(np.array([index_kji[2], index_kji[1], index_kji[0]], dtype=float))
    mm = ", ".join(f"{v:.1f}" for v in point)
    voxel = ", ".join(str(int(round(float(v)))) for v in (index_kji[2], index_kji[1], index_kji[0]))
    return f"x, y, z = {mm} mm (LPS), voxel i, j, k = {voxel}"


def face_name(frame: AxisFrame, axis: int, end: int) -> str:
    """Anatomical name of a face of the image: ``axis`` and ``end`` (0 first slice, -1 last)."""
    names = {frame.axial: ("inferior", "superior"), frame.coronal: ("anterior", "posterior"),
             frame.lateral: ("right", "left")}[axis]
    sign = {frame.axial: frame.axial_sign, frame.coronal: frame.coronal_sign, frame.lateral: frame.lateral_sign}[axis]
    high = (end == -1) == (sign > 0)
    return names[1] if high else names[0]


def check_front_face(air: np.ndarray, volume: CTVolume, frame: AxisFrame, options: SegmentationOptions) -> None:
    """Refuse a nose cut open by the anterior face of the image."""
    spacing = np.asarray(volume.geometry.spacing_mm)
    pixel = float(np.prod(np.delete(spacing, 2 - frame.coronal)))
    end = 0 if frame.coronal_sign > 0 else -1
    holes = enclosed_air_on_face(air, frame.coronal, end, max(1, int(options.min_nostril_area_mm2 / pixel)))
    if holes:
        area = sum(len(h[0]) for h in holes) * pixel
        index = [float(np.mean(a)) for a in holes[0]]
        index.insert(frame.coronal, float(end % air.shape[frame.coronal]))
        raise SegmentationError(
            f"the nose is cut open by the front edge of the image ({len(holes)} air space(s), {area:.0f} mm2, enclosed "
            f"by tissue on the anterior face, the first at {where(volume.geometry, index)}): the nostrils are cropped "
            "out of the field of view. No control of the Geometry page can restore them: use a scan or "
            "reconstruction that includes the whole nose.")


#: Coarsest voxel (mm) on which a nasal airway is segmented: its slits are 1-2 mm wide.
MAX_VOXEL_MM = 3.0


def check_coverage(air: np.ndarray, volume: CTVolume, frame: AxisFrame, options: SegmentationOptions) -> None:
    """Refuse a scan too coarse to hold a nasal airway, saying where its nose is cut by the image edge.

    Examples
    --------
    >>> from rhinoapp.core.volume import ImageGeometry
    >>> hu = np.full((6, 20, 20), 40, dtype=np.int16)
    >>> hu[:, 8:12, 8:12] = -1000  # an air space cut by the lowest slice
    >>> volume = CTVolume(hu, ImageGeometry(hu.shape, spacing_mm=(0.5, 0.5, 4.0)))
    >>> check_coverage(hu < -400, volume, AxisFrame.of(volume.geometry), SegmentationOptions())
    Traceback (most recent call last):
    ...
    rhinoapp.segmentation.errors.SegmentationError: the scan does not cover the nose well enough ... 4.00 mm apart ...
    """
    spacing = np.asarray(volume.geometry.spacing_mm)
    if float(spacing.max()) <= MAX_VOXEL_MM:
        return
    slices = 2 - int(np.argmax(spacing))
    end = 0 if frame.axial_sign > 0 else -1
    pixel = float(np.prod(np.delete(spacing, 2 - frame.axial)))
    holes = enclosed_air_on_face(air, frame.axial, end, max(1, int(options.min_nostril_area_mm2 / pixel)))
    cut = ""
    if holes:
        index = [float(np.mean(a)) for a in holes[0]]
        index.insert(frame.axial, float(end % air.shape[frame.axial]))
        cut = (f"; and its lowest slice already cuts through enclosed air ({len(holes)} air space(s), the first at "
               f"{where(volume.geometry, index)}), so the nostrils and the nasal floor lie below the scan")
    raise SegmentationError(
        f"the scan does not cover the nose well enough for a simulation: its slices are {spacing.max():.2f} mm apart "
        f"(voxels {' x '.join(f'{v:.2f}' for v in spacing)} mm, the coarse axis is voxel index "
        f"{'ijk'[2 - slices]}, {air.shape[slices]} slices in all), while the nasal slits are 1-2 mm wide and the "
        f"nostrils span a few millimetres{cut}. No control of the Geometry page can make up for it: use a scan "
        f"reconstructed with slices of 1.5 mm or thinner (at most {MAX_VOXEL_MM:.0f} mm) that covers the whole nose, "
        "from below the nostrils to the nasal roof.")


_EDGE_FIX = {
    "inferior": f"set the outlet higher with {DEPTH_CONTROL} or {OUTLET_CONTROL}",
    "posterior": f"cut the pharynx in front of the edge with {OUTLET_CONTROL}, or use a scan reaching further back",
    "anterior": "use a scan that includes the whole nose (no control of the Geometry page restores it)",
    "left": f"lower {THRESHOLD_CONTROL} if a thin wall is missed, or use a wider field of view",
    "right": f"lower {THRESHOLD_CONTROL} if a thin wall is missed, or use a wider field of view",
    "superior": f"lower {THRESHOLD_CONTROL} if a thin roof is missed, or use a scan reaching higher",
}


def check_result(labels: np.ndarray, outside: np.ndarray, roi: tuple[slice, ...], volume: CTVolume,
                 frame: AxisFrame, inlets: tuple[Opening, Opening], centres_of: Callable[..., Any], *,
                 open_faces: Sequence[tuple[int, int]] = ()) -> None:
    """Refuse an airway that reaches an edge of the image (except ``open_faces``, (axis, end) pairs
    already reported) or opens to the outside air anywhere but at the nostrils."""
    shape = volume.geometry.shape
    offset = [s.start for s in roi]
    for axis in range(3):
        for end, at_edge in ((0, roi[axis].start == 0), (-1, roi[axis].stop == shape[axis])):
            layer = np.take(labels, end, axis=axis)
            if not at_edge or (axis, end) in open_faces or not layer.any():
                continue
            index = [float(np.mean(a)) for a in np.nonzero(layer)]
            index.insert(axis, float(end % labels.shape[axis]))
            index = [v + o for v, o in zip(index, offset)]
            name = face_name(frame, axis, end)
            area = int(layer.sum()) * float(np.prod(np.delete(np.asarray(volume.geometry.spacing_mm), 2 - axis)))
            raise SegmentationError(
                f"the airway reaches the {name} edge of the image ({area:.0f} mm2 of it around "
                f"{where(volume.geometry, index)}), so part of it lies outside the field of view: {_EDGE_FIX[name]}")
    for cluster in interface_clusters(labels > 0, outside, frame.axial):
        centre = centres_of(tuple(cluster.inner_kji.T)).mean(axis=0)
        near = [np.linalg.norm(centre - np.asarray(o.plane.point_mm)) <= o.radius_mm + 3.0 for o in inlets]
        if not any(near):
            index = cluster.inner_kji.mean(axis=0) + offset
            raise SegmentationError(
                f"the airway opens to the outside air besides the nostrils, at {where(volume.geometry, index)} "
                f"(an open mouth reaching the pharynx above the outlet, or a gap in a thin wall?): move the outlet "
                f"above it with {OUTLET_CONTROL}, raise the wall by lowering {THRESHOLD_CONTROL}, or give the seeds "
                f"({SEEDS_CONTROL})")


def diagnose_no_nostrils(clusters: list[Cluster], components: np.ndarray, volume: CTVolume, frame: AxisFrame,
                         options: SegmentationOptions) -> SegmentationError:
    """The error for a scan where no pair of nostrils opens into a large air space.

    When openings facing down lie side by side at the front of the nose but the air behind them is
    small, the nasal passages are blocked (congested mucosa, fluid, a post-mortem scan): the message
    says where each side's air ends. Otherwise no nostril was found at all.
    """
    geometry = volume.geometry
    down = -frame.axial_sign
    sizes = np.bincount(components.ravel())
    voxel_ml = geometry.voxel_volume_mm3 / 1000.0
    candidates = [(c, c.face_centres(geometry, frame.axial).mean(axis=0)) for c in clusters if c.step == down]
    best: tuple[float, tuple[tuple[Cluster, Any], tuple[Cluster, Any]]] | None = None
    for a, (first, p) in enumerate(candidates):
        for second, q in candidates[a + 1:]:
            dx, dy, dz = np.abs(p - q)
            if 5.0 <= dx <= 45.0 and dy <= 25.0 and dz <= 15.0:
                front = -float(p[1] + q[1])  # the most anterior pair (LPS y grows posterior)
                pair = ((first, p), (second, q)) if p[0] > q[0] else ((second, q), (first, p))
                if best is None or front > best[0]:
                    best = (front, pair)
    if best is None:
        return SegmentationError(
            f"no pair of nostrils found: of {len(clusters)} opening(s) between enclosed and outside air, none are two "
            f"side-by-side openings facing down into an air space (threshold {options.threshold_hu:g} HU). Check "
            f"that the nose lies inside the image; raise {THRESHOLD_CONTROL} if the nostrils are narrow, or give the "
            f"seeds with {SEEDS_CONTROL} (one point inside each nostril).")
    parts = []
    for side, (cluster, _) in zip(("left", "right"), best[1]):
        component = components == cluster.component
        index = np.nonzero(component)
        deepest = int(np.argmax(index[frame.coronal]) if frame.coronal_sign > 0 else np.argmin(index[frame.coronal]))
        end = [float(a[deepest]) for a in index]
        start = cluster.inner_kji.mean(axis=0)
        length = float(np.linalg.norm((np.asarray(end) - start) * np.asarray(geometry.spacing_mm)[::-1]))
        parts.append(f"the {side} one ({where(geometry, start)}) leads into {sizes[cluster.component] * voxel_ml:.2f} ml "
                     f"of air that ends {length:.0f} mm further in, at {where(geometry, end)}")
    largest: list[int] = [int(c) + 1 for c in np.argsort(sizes[1:])[::-1][:2]]
    spaces = [f"{sizes[c] * voxel_ml:.1f} ml around "
              f"{where(geometry, [float(np.mean(a)) for a in np.nonzero(components == c)])}"
              for c in largest if sizes[c] * voxel_ml >= 1.0]
    detached = (" The larger air spaces (" + "; ".join(spaces) + ") are not connected to the nostrils "
                "(sinuses?).") if spaces else ""
    return SegmentationError(
        "the nasal passages are blocked: the nostrils open into the nose, but " + "; ".join(parts) + ", with soft "
        f"tissue (above {options.threshold_hu:g} HU) behind, so no air path reaches the nasopharynx." + detached +
        f" If the passages are open but narrow, raise {THRESHOLD_CONTROL}; congested mucosa, fluid or a post-mortem "
        "scan leave no airway to simulate.")
