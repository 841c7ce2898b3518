"""An imported airway (a label map or a filled surface) on the CT grid, made into an :class:`AirwaySegmentation`.

The openings are found as for the automatic segmentation: a nostril is where a nasal cavity meets
the air outside the body below it (:func:`~rhinoapp.segmentation.openings.interface_clusters` on
the CT's outside air, which includes the air of a vestibule whose labels stop short of the nostril), or the opening nearest a point given by hand; the outlet is the most
inferior layer of the nasopharynx, cut by an axial plane. A binary airway (a filled surface, or a
label map that labels the whole airway as one) is first split into left and right cavity and nasopharynx from its nostrils, as the automatic
segmentation splits it (in front of the choanae, the part connected to each nostril).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from rhinoapp.core.volume import AirwayLabel, CTVolume, ImageGeometry, LabelMap
from rhinoapp.segmentation.airway import AirwaySegmentation, _find_choana, _split_sides  # the automatic split
from rhinoapp.segmentation.edges import deidentification_masks
from rhinoapp.segmentation.label_import import LabelImportError
from rhinoapp.segmentation.masks import AxisFrame, outside_air, voxel_centres
from rhinoapp.segmentation.openings import Cluster, interface_clusters, opening_from_cluster, pick_nostrils
from rhinoapp.segmentation.options import Opening, Plane, SegmentationOptions, SinusMode

__all__ = ["EndFace", "NostrilNotFoundError", "segmentation_from_ends", "segmentation_from_labels",
           "segmentation_from_mask"]

Vec3 = tuple[float, float, float]
#: Parts of an imported airway at least this large (ml) count as airway when it falls apart (a nasal cavity holds
#: about 10 ml; specks and stray islands are smaller).
_LARGE_PART_ML = 1.0
#: What an inlet cut by a coronal plane inside the vestibule leaves out (``Opening.short_of_nostril``).
_FRONT_CUT = ("the labels are cut by a coronal plane inside the vestibule (the label map's front face or where "
              "the labelling stopped): the nostril and the front of the vestibule are not in the airway")
_PICK_HINT = "or give the nostril points by hand (--nostril-left X Y Z --nostril-right X Y Z, LPS mm)"


class NostrilNotFoundError(LabelImportError):
    """A cavity of an imported label map meets the CT's outside air nowhere (its nostril is cut off, or the labels
    end at the image's face), so no nostril is found in the CT. ``finding`` says which; the message adds what to do.

    Examples
    --------
    >>> error = NostrilNotFoundError("the left cavity meets no air", "label the vestibule")
    >>> error.finding, str(error)
    ('the left cavity meets no air', 'the left cavity meets no air: label the vestibule')
    """

    def __init__(self, finding: str, advice: str) -> None:
        super().__init__(f"{finding}: {advice}")
        self.finding = finding


def _outside(ct: CTVolume, airway: np.ndarray, frame: AxisFrame,
             threshold_hu: float) -> tuple[np.ndarray, np.ndarray]:
    """The CT's air outside ``airway`` that reaches the air outside the body without crossing the airway, and
    the part of it that is the air around the head (connected to the image border within its axial slice).

    The first holds the air around the head below the nose and also the air of a vestibule whose labels stop
    short of the nostril (as expert label maps often do): it reaches the outside through the nostril, so the
    cavity's opening is where its labels end, facing that air.
    """
    spacing_kji = tuple(ct.geometry.spacing_mm[::-1])
    air = (ct.hu < threshold_hu) & ~deidentification_masks(ct.hu, spacing_kji) & ~airway
    closed = [(frame.coronal, -1 if frame.coronal_sign > 0 else 0)]
    around = outside_air(air | airway, frame.axial, closed=closed) & air
    components, _ = ndimage.label(air)
    reached = np.unique(components[around])
    result: np.ndarray = np.isin(components, reached[reached > 0])
    return result, around


def _faces_the_vestibule(cluster: Cluster, around: np.ndarray, axial: int) -> bool:
    """True when most of the air beyond ``cluster``'s faces is not the air around the head (a vestibule's)."""
    beyond = cluster.inner_kji.copy()
    beyond[:, axial] += cluster.step
    return bool(np.mean(around[tuple(beyond.T)]) < 0.5)


def _nearest(candidates: Sequence[tuple[Cluster, int]], point: Vec3, ct: CTVolume) -> tuple[Cluster, int] | None:
    """The candidate (cluster, its axis) with a face nearest ``point``."""
    if not candidates:
        return None
    return min(candidates, key=lambda c: float(np.linalg.norm(c[0].face_centres(ct.geometry, c[1]) - point,
                                                              axis=1).min()))


def _nostril(cavity: np.ndarray, outside: np.ndarray, frame: AxisFrame, ct: CTVolume,
             point: Vec3 | None) -> tuple[Cluster, int] | None:
    """Where a cavity opens (the cluster of faces, and the axis they face along), or None.

    Nostrils face down: the largest cluster of faces where the cavity meets the outside air below it. A label
    map cropped through the vestibules by a coronal face meets that air at its front instead: the largest
    forward-facing cluster is taken where it is more than twice the largest downward one. With ``point`` (a
    nostril picked by hand) the cluster nearest it, facing any of these ways.
    """
    axial = [(c, frame.axial) for c in interface_clusters(cavity, outside, frame.axial)]
    front = [(c, frame.coronal) for c in interface_clusters(cavity, outside, frame.coronal)
             if c.step == -frame.coronal_sign]
    if point is not None:
        return _nearest(axial + front, point, ct)
    down = [c for c in axial if c[0].step == -frame.axial_sign]
    best_down = max(down, key=lambda c: c[0].size, default=None)
    best_front = max(front, key=lambda c: c[0].size, default=None)
    if best_front is not None and best_front[0].size > 2 * (best_down[0].size if best_down else 0):
        return best_front
    return best_down


def _seed(cluster: Cluster) -> np.ndarray:
    inner = cluster.inner_kji
    result: np.ndarray = inner[np.argmin(np.abs(inner - inner.mean(axis=0)).sum(axis=1))]
    return result


def _gaps(values: np.ndarray, pharynx: np.ndarray) -> list[str]:
    """Notes for each cavity that no path through the airway's labels joins to the nasopharynx (as the lattice's
    links join cells: across faces and edges)."""
    parts, _ = ndimage.label(values > 0, structure=ndimage.generate_binary_structure(3, 2))
    reached = set(np.unique(parts[pharynx]).tolist()) - {0}
    notes = []
    for side, label in (("left", AirwayLabel.LEFT_CAVITY), ("right", AirwayLabel.RIGHT_CAVITY)):
        if not reached & set(np.unique(parts[values == label]).tolist()):
            notes.append(f"the {side} cavity does not join the nasopharynx anywhere in the labels: the airflow "
                         f"simulation will refuse it (no path from the {side} nostril to the outlet); close the gap in "
                         "the label map, unless that side is truly closed")
    return notes


def _layer_opening(name: str, region: np.ndarray, geometry: ImageGeometry, lps_axis: int, sign: int) -> Opening:
    """The outermost layer of ``region`` along LPS axis ``lps_axis`` (``sign`` -1: its low end) as an opening."""
    points = voxel_centres(geometry, np.nonzero(region))
    thickness = float(np.abs(geometry.direction_matrix[lps_axis]) @ np.asarray(geometry.spacing_mm))
    end = points[:, lps_axis].max() if sign > 0 else points[:, lps_axis].min()
    layer = points[np.abs(points[:, lps_axis] - end) <= thickness / 2]
    normal = np.zeros(3)
    normal[lps_axis] = sign
    centre = layer.mean(axis=0)
    centre[lps_axis] = end
    offsets = np.delete(layer - centre, lps_axis, axis=1)
    radius = float(np.sqrt((offsets**2).sum(axis=1)).max()) + thickness
    area = len(layer) * geometry.voxel_volume_mm3 / thickness
    bounds = tuple((float(lo), float(hi)) for lo, hi in zip(layer.min(axis=0), layer.max(axis=0)))
    return Opening(name, Plane(tuple(centre), tuple(normal)), area, radius, bounds)  # type: ignore[arg-type]


def segmentation_from_labels(ct: CTVolume, labels: LabelMap, *, nostrils: tuple[Vec3, Vec3] | None = None,
                             threshold_hu: float = -550.0, warnings: Sequence[str] = ()) -> AirwaySegmentation:
    """The segmentation of ``labels`` (project labels on the CT's grid) with its nostrils, outlet and choanae.

    Parameters
    ----------
    ct
        The CT the labels belong to (its air below ``threshold_hu`` outside the body finds the nostrils).
    labels
        Values of :class:`~rhinoapp.core.volume.AirwayLabel` on ``ct.geometry``.
    nostrils
        Points (left, right) near the nostril openings, LPS mm; ``None`` takes each cavity's largest
        opening facing down to the outside air.

    Raises
    ------
    LabelImportError
        When a nostril or the outlet cannot be placed; the message says what to do.
    """
    geometry = ct.geometry
    frame = AxisFrame.of(geometry)
    values = labels.labels
    outside, around = _outside(ct, values > 0, frame, threshold_hu)
    inlets, seeds, notes = [], [], list(warnings)
    for index, (side, label) in enumerate((("left", AirwayLabel.LEFT_CAVITY), ("right", AirwayLabel.RIGHT_CAVITY))):
        found = _nostril(values == label, outside, frame, ct, None if nostrils is None else nostrils[index])
        if found is None:
            raise NostrilNotFoundError(
                f"the {side} cavity (label {int(label)}) meets the air outside the nose nowhere, so its nostril cannot "
                "be found", f"include the {side} vestibule down to the nostril opening in the segmentation, {_PICK_HINT}")
        chosen, axis = found
        opening = opening_from_cluster(f"inlet_{side}", chosen, geometry, axis)
        seeds.append(tuple(float(v) for v in voxel_centres(geometry, _seed(chosen)[:, None])[0]))
        if axis != frame.axial:
            notes.append(f"the {side} cavity's labels are cut by the label map's front face inside the vestibule: its "
                         "opening is that cut, facing forward (the simulation attaches the ambient air there, and "
                         "flags its results: the nostril and the front of the vestibule are missing)")
            opening = dataclasses.replace(opening, short_of_nostril=_FRONT_CUT)
        elif _faces_the_vestibule(chosen, around, frame.axial):
            notes.append(f"the {side} cavity's labels stop inside the vestibule, short of the nostril: its opening is "
                         "where they end (the simulation attaches the ambient air there)")
        inlets.append(opening)
    return _assembled(labels, (inlets[0], inlets[1]), (seeds[0], seeds[1]), None, notes,  # type: ignore[arg-type]
                      threshold_hu=threshold_hu)


def _assembled(labels: LabelMap, inlets: tuple[Opening, Opening], seeds: tuple[Vec3, Vec3], outlet: Opening | None,
               notes: list[str], *, threshold_hu: float) -> AirwaySegmentation:
    """The segmentation of ``labels`` with these nostrils: the outlet (``None``: the nasopharynx's most inferior
    layer), choanae and notes (swapped sides, cavities that do not join the nasopharynx)."""
    values = labels.labels
    if inlets[0].plane.point_mm[0] < inlets[1].plane.point_mm[0]:
        notes.append("the left nostril lies to the patient's right of the right one (LPS x): check that the mapping "
                     "does not swap left and right")
    pharynx = values == AirwayLabel.NASOPHARYNX
    if not pharynx.any():
        raise LabelImportError("the imported airway has no nasopharynx (label 3), so the outlet cannot be placed; "
                               "map a label to nasopharynx")
    outlet = outlet or _layer_opening("outlet", pharynx, labels.geometry, 2, -1)
    notes.extend(_gaps(values, pharynx))
    choana = _layer_opening("choana", pharynx, labels.geometry, 1, -1).plane
    sinus_mode = SinusMode.KEEP if np.any(values == AirwayLabel.SINUS) else SinusMode.EXCLUDE
    options = SegmentationOptions(threshold_hu=threshold_hu, sinus_mode=sinus_mode, outlet_plane=outlet.plane)
    return AirwaySegmentation(labels, inlets[0], inlets[1], outlet, Plane(choana.point_mm, (0.0, 1.0, 0.0)),
                              seeds, options, tuple(notes))


@dataclasses.dataclass(frozen=True, eq=False)
class EndFace:
    """Where a label ends and opens: its voxels (a ``[k, j, i]`` mask on the label map's grid), the grid direction
    it looks out along (a unit step in ``k, j, i``) and, for a nostril, what it leaves out (empty: nothing)."""

    mask: np.ndarray
    outward_kji: tuple[int, int, int]
    short_of_nostril: str = ""

    def opening(self, name: str, geometry: ImageGeometry) -> Opening:
        """The opening of this face: its plane through the faces' outer sides, area and extent.

        Examples
        --------
        >>> mask = np.zeros((4, 4, 4), dtype=bool); mask[1:3, 1:3, 0] = True
        >>> opening = EndFace(mask, (0, 0, -1)).opening("inlet_left", ImageGeometry((4, 4, 4)))
        >>> opening.plane.point_mm, opening.plane.normal, opening.area_mm2
        ((-0.5, 1.5, 1.5), (-1.0, 0.0, 0.0), 4.0)
        """
        axis = int(np.flatnonzero(self.outward_kji)[0])
        opening = opening_from_cluster(name, Cluster(np.argwhere(self.mask), int(self.outward_kji[axis])), geometry,
                                       axis)
        return dataclasses.replace(opening, short_of_nostril=self.short_of_nostril)


def segmentation_from_ends(labels: LabelMap, ends: tuple[EndFace, EndFace, EndFace], *,
                           warnings: Sequence[str] = ()) -> AirwaySegmentation:
    """The segmentation of ``labels`` (project labels, without a CT) whose openings are where the labels end.

    ``ends`` are the faces (left nostril, right nostril, outlet) through which the cavities and the
    nasopharynx open, as :func:`rhinoapp.cfd.label_ends.open_ends` finds them: without the CT's air
    the nostrils are the cavities' far ends from the nasopharynx. A nostril face that says what it
    leaves out (a front cut) is written so, and noted.

    Examples
    --------
    >>> from rhinoapp.core.volume import ImageGeometry
    >>> values = np.zeros((8, 6, 6), dtype=np.uint8)
    >>> values[2:, 1, 1], values[2:, 1, 4], values[:2, 1, 1:5] = 2, 1, 3  # two channels down to a joining pharynx
    >>> labels = LabelMap(values, ImageGeometry((8, 6, 6)))
    >>> def end(k, i): mask = np.zeros_like(values, dtype=bool); mask[k, 1, i] = True; return mask
    >>> ends = (EndFace(end(7, 4), (1, 0, 0)), EndFace(end(7, 1), (1, 0, 0)), EndFace(values == 3, (0, -1, 0)))
    >>> segmentation = segmentation_from_ends(labels, ends)
    >>> segmentation.inlet_left.plane.point_mm, segmentation.outlet.plane.normal
    ((4.0, 1.0, 7.5), (0.0, -1.0, 0.0))
    """
    geometry = labels.geometry
    notes = list(warnings)
    inlets = tuple(end.opening(f"inlet_{side}", geometry) for side, end in zip(("left", "right"), ends[:2]))
    for side, end in zip(("left", "right"), ends[:2]):
        if end.short_of_nostril:
            notes.append(f"the {side} cavity's labels end in a coronal face inside the vestibule: its opening is "
                         "that face, facing forward (the simulation attaches the ambient air there, and flags its "
                         "results: the nostril and the front of the vestibule are missing)")
    seeds = tuple(tuple(float(v) for v in voxel_centres(geometry, _seed(Cluster(np.argwhere(end.mask), 1))[:, None])[0])
                  for end in ends[:2])
    return _assembled(labels, inlets, seeds, ends[2].opening("outlet", geometry), notes,  # type: ignore[arg-type]
                      threshold_hu=SegmentationOptions().threshold_hu)


def _apart(volumes_ml: dict[int, float]) -> str:
    """What to say when the imported airway (``volumes_ml`` per connected part) is in several large parts (the
    cavities without the nasopharynx that joins them); empty when it is not."""
    large = sorted((size for size in volumes_ml.values() if size >= _LARGE_PART_ML), reverse=True)
    if len(large) < 2:
        return ""
    return (f"the imported airway falls apart into {len(large)} parts that do not join ({', '.join(f'{v:.1f} ml' for v in large)}"
            "), so no nostril leads through it to an outlet: the nasal cavities join only behind the choanae, in the "
            "nasopharynx. Include the nasopharynx in the segmentation (label it and map it to nasopharynx, or to "
            "airway with the cavities); sinuses go to sinus")


def segmentation_from_mask(ct: CTVolume, mask: np.ndarray, *, nostrils: tuple[Vec3, Vec3] | None = None,
                           threshold_hu: float = -550.0, sinus: np.ndarray | None = None,
                           warnings: Sequence[str] = ()) -> AirwaySegmentation:
    """The segmentation of a binary airway ``mask`` on the CT's grid (e.g. a filled surface).

    The nostrils are the pair of openings to the outside air below the nose (or those nearest
    ``nostrils``); the airway connected to them is split into left and right cavities in front of
    the choanae and the nasopharynx behind them. Voxels of ``sinus`` outside that airway are kept
    as sinuses; ``warnings`` (e.g. the import's notes) are passed on to the segmentation's.
    """
    geometry = ct.geometry
    frame = AxisFrame.of(geometry)
    outside, _ = _outside(ct, mask, frame, threshold_hu)
    components, _ = ndimage.label(mask)
    clusters = interface_clusters(mask, outside, frame.axial, components)
    volumes = {c: float(n) * geometry.voxel_volume_mm3 / 1000 for c, n in enumerate(np.bincount(components.ravel())) if c}
    if nostrils is not None:
        picked = [_nearest([(c, frame.axial) for c in clusters], point, ct) for point in nostrils]
        pair = None if picked[0] is None or picked[1] is None else (picked[0][0], picked[1][0])
    else:
        pair = pick_nostrils(clusters, geometry, frame, min_area_mm2=SegmentationOptions().min_nostril_area_mm2,
                             component_volumes_ml=volumes)
    if pair is None:
        raise LabelImportError(_apart(volumes) or "no pair of nostrils found where the imported airway "
                               f"meets the air outside the nose: check that the surface reaches the nostril openings, "
                               f"{_PICK_HINT}")
    if pair[0].component != pair[1].component:
        raise LabelImportError(_apart(volumes) or "the two nostrils lie in parts of the imported airway "
                               "that are not connected; check the surface or the nostril points")
    airway = components == pair[0].component
    box = tuple(slice(max(0, s.start - 1), min(n, s.stop + 1))
                for s, n in zip(ndimage.find_objects(airway.astype(np.uint8))[0], geometry.shape))
    offset = np.array([s.start for s in box])
    seeds = [_seed(c) - offset for c in pair]
    raw = airway[box]
    try:
        choana = _find_choana(raw, seeds, frame)
        split = _split_sides(raw, raw, seeds, frame, choana)
    except LabelImportError:
        raise
    except ValueError as error:  # the automatic split's refusals, said of the imported airway
        raise LabelImportError(f"the imported airway cannot be split into left and right: {error}") from None
    labels = np.zeros(geometry.shape, dtype=np.uint8)
    labels[box] = split
    if sinus is not None:
        labels[sinus & (labels == 0)] = AirwayLabel.SINUS
    points = tuple(tuple(float(v) for v in c.face_centres(geometry, frame.axial).mean(axis=0)) for c in pair)
    return segmentation_from_labels(ct, LabelMap(labels, geometry), nostrils=points,  # type: ignore[arg-type]
                                    threshold_hu=threshold_hu, warnings=warnings)
