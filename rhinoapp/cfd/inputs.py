"""Flow domains from airway labels, and the geometry folder that ``rhinoapp segment`` writes.

A geometry folder holds ``labels.nii.gz`` (values of :class:`~rhinoapp.core.volume.AirwayLabel`;
NIfTI carries a RAS affine, converted here to LPS) and optionally ``geometry.json`` as
``rhinoapp segment`` writes it, whose opening planes (LPS millimetres, normal pointing out of the
airway) are used::

    {"inlets": {"left": {"point_lps_mm": [x, y, z], "normal_lps": [nx, ny, nz], ...}, "right": {...}},
     "outlet": {"point_lps_mm": [...], "normal_lps": [...], ...}, ...}

The voxels of an opening's label (left or right cavity, nasopharynx) that reach the plane or lie
beyond it are cut off; those that touch the remaining air become the opening. Without a plane, or
where the label ends before its plane, an opening is the face where its label ends
(:func:`~rhinoapp.cfd.label_ends.open_ends`: the far end of each nasal cavity from its choana, of the
nasopharynx from the choanae, inside the vestibule or at the image border as the labels stop);
only a label without such a face falls back to its outermost layer (anterior for the nostrils,
inferior for the outlet).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from rhinoapp.cfd.domain import FlowDomain, LabelOrigin, Opening, link_structure
from rhinoapp.cfd.label_ends import OpenEnd, open_ends
from rhinoapp.cfd.plane_cut import plane_cut
from rhinoapp.cfd.openings import PLANE_CHOANA_LEFT, PLANE_CHOANA_RIGHT, SurroundingsConfig, with_open_surroundings
from rhinoapp.core.errors import ValidationError
from rhinoapp.core.volume import AirwayLabel, ImageGeometry, LabelMap, lps_ras_affine
from rhinoapp.core.layout import GeometryFolder

_log = logging.getLogger(__name__)

__all__ = ["OpeningPlane", "airway_domain", "domain_from_labels", "label_end_faces", "nostril_cut_short",
           "read_geometry_dir", "read_geometry_inputs", "read_label_nifti", "write_label_nifti"]

_LABEL_OF = {Opening.INLET_LEFT: AirwayLabel.LEFT_CAVITY, Opening.INLET_RIGHT: AirwayLabel.RIGHT_CAVITY,
             Opening.OUTLET: AirwayLabel.NASOPHARYNX}
#: What a nostril opening that looks forward leaves out (:attr:`FlowDomain.short_of_nostril`): nostrils open downward.
_CORONAL_END = ("the labels end in a coronal face inside the vestibule, looking forward (the label map's front face "
                "or where the labelling stopped): the nostril and the front of the vestibule are not in the airway")


def _missing_label(values: np.ndarray, opening: Opening) -> str:
    """What to say when the label of ``opening`` is not in ``values``: the labels found, and how to import a label
    map numbered otherwise."""
    found = [int(v) for v in np.unique(values) if v != 0]
    native = {int(label) for label in AirwayLabel if label != AirwayLabel.BACKGROUND}
    shown = ", ".join(map(str, found[:12])) + (" ..." if len(found) > 12 else "") if found else "none"
    text = (f"the label map has no {_LABEL_OF[opening].name.lower().replace('_', ' ')} voxels (label "
            f"{int(_LABEL_OF[opening])}), so the {opening.value} cannot be placed; its labels: {shown}")
    if not set(found) <= native or len(found) == 1:
        return (f"{text}. A geometry folder's labels.nii.gz is numbered as rhinoapp writes it (1 left cavity, 2 right "
                "cavity, 3 nasopharynx, 4 sinus): import a label map numbered otherwise, saying what its labels are "
                "(rhinoapp segment --from-labels FILE --map 4:left,3:right,5:nasopharynx --out DIR; with its CT, "
                "rhinoapp segment CT --from-labels ..., which also takes --map 1:airway for one label of the whole "
                "airway)")
    return f"{text}: check the segmentation or give its plane in geometry.json"


def nostril_cut_short(geometry: ImageGeometry, end: OpenEnd) -> str:
    """What a nostril's open end leaves out where it is a coronal cut, else an empty string.

    A cut looks mostly anterior (LPS -y) and is flat: nine in ten of its voxels in one grid layer (a nostril
    of a head tilted chin down may look forward too, but its rim is not flat).
    """
    direction = np.asarray(geometry.direction_matrix, dtype=float) @ np.asarray(end.outward_kji[::-1], dtype=float)
    if not direction[1] < -0.7:
        return ""
    layers = np.argwhere(end.mask)[:, int(np.flatnonzero(end.outward_kji)[0])]
    return _CORONAL_END if np.bincount(layers - layers.min()).max() >= 0.9 * len(layers) else ""


def label_end_faces(labels: LabelMap, *, openings: Sequence[Opening] = tuple(Opening)) -> dict[Opening, OpenEnd]:
    """Where each of ``openings``' labels ends and opens, as :func:`domain_from_labels` finds it without planes
    (:func:`~rhinoapp.cfd.label_ends.open_ends` over the cavities and the nasopharynx); an opening whose label
    has none is left out.

    Examples
    --------
    >>> from rhinoapp.cfd.shapes import two_channel_labels
    >>> ends = label_end_faces(two_channel_labels(2.0))
    >>> [(o.value, int(e.mask.sum()), e.outward_kji) for o, e in ends.items()]
    [('inlet_left', 14, (0, -1, 0)), ('inlet_right', 14, (0, -1, 0)), ('outlet', 60, (-1, 0, 0))]
    """
    values = labels.labels
    fluid = np.isin(values, [int(v) for v in _LABEL_OF.values()])
    return open_ends(values, fluid, _spacing_kji(labels.geometry), list(openings),
                     inferior_kji=_inferior_kji(labels.geometry))


@dataclass(frozen=True)
class OpeningPlane:
    """A cutting plane in LPS millimetres; ``normal`` points out of the airway. ``short_of_nostril`` says what a
    nostril's plane leaves out where the labels were cut before the nostril (``geometry.json``'s entry of that
    name; empty where they were not). ``radius_mm`` bounds the disc that cuts
    (:func:`~rhinoapp.cfd.plane_cut.plane_cut`; ``None``: the part of the plane's layer nearest the point)."""

    point_mm: tuple[float, float, float]
    normal: tuple[float, float, float]
    short_of_nostril: str = ""
    radius_mm: float | None = None

    def __post_init__(self) -> None:
        normal = np.asarray(self.normal, dtype=float)
        if normal.shape != (3,) or not np.linalg.norm(normal) > 0 or len(self.point_mm) != 3:
            raise ValidationError("an opening plane needs a point and a non-zero normal (three numbers each)")
        if self.radius_mm is not None and not self.radius_mm > 0:
            raise ValidationError(f"an opening plane's radius must be positive (mm), got {self.radius_mm}")
        object.__setattr__(self, "normal", tuple(float(v) for v in normal / np.linalg.norm(normal)))
        object.__setattr__(self, "point_mm", tuple(float(v) for v in self.point_mm))


def domain_from_labels(labels: LabelMap, *, planes: Mapping[Opening, OpeningPlane] | None = None,
                       include_sinuses: bool = False) -> FlowDomain:
    """The flow domain of an airway label map, with openings from ``planes`` or from the labels.

    A nostril whose plane says what it leaves out (``OpeningPlane.short_of_nostril``), or whose label ends in a face
    that looks forward (nostrils open downward: a coronal cut through the vestibule), is named in the domain's
    :attr:`~rhinoapp.cfd.domain.FlowDomain.short_of_nostril`.

    Examples
    --------
    >>> from rhinoapp.cfd.shapes import two_channel_labels
    >>> domain = domain_from_labels(two_channel_labels(2.0))
    >>> [int(domain.opening_mask(o).sum()) for o in Opening]
    [14, 14, 60]
    """
    air_labels = [AirwayLabel.LEFT_CAVITY, AirwayLabel.RIGHT_CAVITY, AirwayLabel.NASOPHARYNX]
    if include_sinuses:
        air_labels.append(AirwayLabel.SINUS)
    values = labels.labels
    fluid = np.isin(values, [int(v) for v in air_labels])
    geometry = labels.geometry
    planes = dict(planes or {})
    masks: dict[Opening, np.ndarray] = {}
    placement: dict[str, str] = {}
    short = {o.value: plane.short_of_nostril for o, plane in planes.items() if o.is_inlet and plane.short_of_nostril}
    missed: list[Opening] = []
    outward: dict[str, tuple[float, float, float]] = {}
    for opening in Opening:
        region = values == int(_LABEL_OF[opening])
        if not region.any():
            raise ValidationError(_missing_label(values, opening))
        plane = planes.get(opening)
        beyond = None if plane is None else plane_cut(geometry, plane.point_mm, plane.normal, plane.radius_mm,
                                                      region, fluid)
        if plane is not None and beyond is not None and beyond.any() and (beyond != region).any():
            masks[opening] = beyond
            placement[opening.value] = "at the plane given for it"
            outward[opening.value] = _kji(geometry, plane.normal)
        else:
            if beyond is not None:  # the label ends before the plane (an image cut above it): use the label's end
                _log.warning("the %s plane does not cut the %s label: opening it where the label ends instead",
                             opening.value, _LABEL_OF[opening].name.lower())
            missed.append(opening)
    ends = open_ends(values, fluid & ~_union(masks.values(), fluid.shape), _spacing_kji(geometry), missed,
                     inferior_kji=_inferior_kji(geometry))
    for opening in missed:
        why = "the plane given misses the labels" if opening in planes else "no plane given"
        if opening in ends:
            masks[opening] = ends[opening].mask
            placement[opening.value] = f"where its label ends ({why})"
            k, j, i = (float(v) for v in ends[opening].outward_kji)
            outward[opening.value] = (k, j, i)
            cut = nostril_cut_short(geometry, ends[opening]) if opening.is_inlet else ""
            if cut:
                short.setdefault(opening.value, cut)
        else:
            placement[opening.value] = f"the outermost layer of its label ({why}, no open end found)"
            _log.warning("the %s label has no open end face: using its outermost layer", _LABEL_OF[opening].name.lower())
            masks[opening] = _outer_layer(values == int(_LABEL_OF[opening]), geometry, opening)
    for mask in masks.values():
        fluid &= ~mask
    near = ndimage.binary_dilation(fluid, link_structure())
    return FlowDomain(fluid, masks[Opening.INLET_LEFT] & near, masks[Opening.INLET_RIGHT] & near,
                      masks[Opening.OUTLET] & near, geometry, placement={o.value: placement[o.value] for o in Opening},
                      short_of_nostril=short, outward_kji=outward)


def airway_domain(labels: LabelMap, *, planes: Mapping[Opening, OpeningPlane] | None = None,
                  surroundings: SurroundingsConfig | None = None, open_surroundings: bool = True,
                  label_origin: LabelOrigin | None = None) -> FlowDomain:
    """The flow domain of an airway as the simulations use it: openings from :func:`domain_from_labels`, then an
    ambient-air chamber in front of each nostril and a flow extension at the outlet
    (:func:`~rhinoapp.cfd.openings.with_open_surroundings`), with the choanae (where each cavity meets the
    nasopharynx) as measurement planes. ``open_surroundings=False`` leaves the chambers and the extension out:
    the openings are then the label map's own end faces (for comparisons with solvers that take the air in
    there). ``label_origin`` says what the label map was like: the voxel sides of the file the labels were drawn
    on, where they were resampled from another grid, and how ragged its walls were
    (:attr:`~rhinoapp.cfd.domain.FlowDomain.label_origin`).

    Examples
    --------
    >>> from rhinoapp.cfd.shapes import two_channel_labels
    >>> sorted(airway_domain(two_channel_labels(2.0)).planes)
    ['choana_left', 'choana_right', 'nostril_left', 'nostril_right', 'outlet', 'surroundings']
    >>> sorted(airway_domain(two_channel_labels(2.0), open_surroundings=False).planes)
    ['choana_left', 'choana_right']
    """
    domain = domain_from_labels(labels, planes=planes)
    values = labels.labels
    pharynx = ndimage.binary_dilation(values == int(AirwayLabel.NASOPHARYNX), link_structure())
    choanae = {name: (values == int(label)) & pharynx & domain.fluid
               for name, label in ((PLANE_CHOANA_LEFT, AirwayLabel.LEFT_CAVITY),
                                   (PLANE_CHOANA_RIGHT, AirwayLabel.RIGHT_CAVITY))}
    domain = FlowDomain(domain.fluid, domain.inlet_left, domain.inlet_right, domain.outlet, domain.geometry,
                        planes={name: mask for name, mask in choanae.items() if mask.any()},
                        placement=domain.placement, short_of_nostril=domain.short_of_nostril,
                        label_origin=label_origin or LabelOrigin(), outward_kji=domain.outward_kji)
    return with_open_surroundings(domain, surroundings) if open_surroundings else domain


def _union(masks: object, shape: tuple[int, ...]) -> np.ndarray:
    result = np.zeros(shape, dtype=bool)
    for mask in masks:  # type: ignore[attr-defined]
        result |= mask
    return result


def _inferior_kji(geometry: ImageGeometry) -> np.ndarray:
    """The patient's inferior direction (LPS -z) along the array axes ``k, j, i``."""
    return np.asarray(_kji(geometry, (0.0, 0.0, -1.0)))


def _kji(geometry: ImageGeometry, direction_lps: Sequence[float]) -> tuple[float, float, float]:
    """An LPS direction along the array axes ``k, j, i`` (millimetres)."""
    along_ijk = np.asarray(geometry.direction_matrix, dtype=float).T @ np.asarray(direction_lps, dtype=float)
    k, j, i = (float(v) for v in along_ijk[::-1])
    return k, j, i


def _spacing_kji(geometry: ImageGeometry) -> np.ndarray:
    """Voxel size along the array axes ``k, j, i`` in millimetres."""
    return np.asarray(geometry.spacing_mm, dtype=float)[::-1]


def _outer_layer(region: np.ndarray, geometry: ImageGeometry, opening: Opening) -> np.ndarray:
    """The outermost layer of ``region``: anterior (-y) for the nostrils, inferior (-z) for the outlet."""
    lps_axis = 1 if opening.is_inlet else 2
    direction = geometry.direction_matrix
    axis_ijk = int(np.argmax(np.abs(direction[lps_axis])))
    axis_kji = 2 - axis_ijk
    index = np.nonzero(region)[axis_kji]
    layer = index.min() if direction[lps_axis, axis_ijk] > 0 else index.max()
    mask = np.zeros_like(region)
    selector = [slice(None)] * 3
    selector[axis_kji] = slice(int(layer), int(layer) + 1)
    mask[tuple(selector)] = region[tuple(selector)]
    return mask


def read_label_nifti(path: Path) -> LabelMap:
    """A label map from a NIfTI file (its RAS affine converted to LPS, the array to ``[k, j, i]``)."""
    import nibabel

    try:
        image = nibabel.load(str(path))
    except (OSError, ValueError, nibabel.filebasedimages.ImageFileError) as error:
        raise ValidationError(f"cannot read {path} as NIfTI ({error}): give the labels.nii.gz that "
                              "`rhinoapp segment` wrote") from error
    if not isinstance(image, nibabel.spatialimages.SpatialImage):
        raise ValidationError(f"{path} is not a volume image: give the labels.nii.gz that `rhinoapp segment` wrote")
    data = np.asarray(image.dataobj)
    if data.ndim != 3 or not np.issubdtype(data.dtype, np.integer) and not np.all(np.mod(data, 1) == 0):
        raise ValidationError(f"{path} is not a 3D integer label map (shape {data.shape}, dtype {data.dtype})")
    geometry = ImageGeometry.from_affine_lps(lps_ras_affine(image.affine), data.shape[::-1])
    return LabelMap(np.ascontiguousarray(data.transpose(2, 1, 0)).astype(np.uint8), geometry)


def write_label_nifti(path: Path, labels: LabelMap) -> Path:
    """Write a label map as NIfTI with its RAS affine (for tests and tools).

    Examples
    --------
    >>> import tempfile
    >>> from rhinoapp.cfd.shapes import two_channel_labels
    >>> path = write_label_nifti(Path(tempfile.mkdtemp()) / "labels.nii.gz", two_channel_labels(2.0))
    >>> back = read_label_nifti(path)
    >>> back.geometry.shape, back.geometry.origin_mm
    ((23, 43, 16), (-15.0, 1.0, -29.0))
    """
    import nibabel

    image = nibabel.Nifti1Image(np.ascontiguousarray(labels.labels.transpose(2, 1, 0)).astype(np.uint8),
                                labels.geometry.affine_ras)
    image.header.set_xyzt_units("mm")
    nibabel.save(image, str(path))
    return Path(path)


def read_geometry_dir(folder: Path) -> tuple[LabelMap, dict[Opening, OpeningPlane]]:
    """The labels and opening planes of a geometry folder (``labels.nii.gz``, optional ``geometry.json``)."""
    labels, planes, _ = read_geometry_inputs(folder)
    return labels, planes


def read_geometry_inputs(folder: Path) -> tuple[LabelMap, dict[Opening, OpeningPlane], LabelOrigin]:
    """The labels and opening planes of a geometry folder, and what the label map of an imported airway was like
    (``geometry.json``'s provenance ``label_voxel_mm``, the voxel sides it was drawn on, None: the folder's own grid,
    or not recorded; ``ragged_pits_pct``), from one reading of ``geometry.json``.

    Examples
    --------
    >>> import tempfile
    >>> from rhinoapp.cfd.shapes import two_channel_labels
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = write_label_nifti(folder / "labels.nii.gz", two_channel_labels(2.0))
    >>> read_geometry_inputs(folder)[2]
    LabelOrigin(drawn_mm=None, ragged_pits_pct=None)
    >>> _ = (folder / "geometry.json").write_text('{"provenance": {"label_voxel_mm": [0.5, 0.5, 2.0], '
    ...                                           '"ragged_pits_pct": 5.7}}')
    >>> read_geometry_inputs(folder)[1:]
    ({}, LabelOrigin(drawn_mm=(0.5, 0.5, 2.0), ragged_pits_pct=5.7))
    """
    folder = Path(folder)
    labels_path, meta_path = GeometryFolder(folder).labels, GeometryFolder(folder).report
    if not labels_path.is_file():
        raise ValidationError(f"{folder} has no {labels_path.name}: give the folder `rhinoapp segment` wrote")
    try:
        meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    except ValueError as error:
        raise _unusable(meta_path, error) from error
    return read_label_nifti(labels_path), _opening_planes(meta, meta_path), _label_origin(meta)


def _opening_planes(meta: Any, meta_path: Path) -> dict[Opening, OpeningPlane]:
    """The opening planes of a decoded ``geometry.json`` (none where it has none)."""
    planes: dict[Opening, OpeningPlane] = {}
    try:
        found = {Opening.INLET_LEFT: (meta.get("inlets") or {}).get("left"),
                 Opening.INLET_RIGHT: (meta.get("inlets") or {}).get("right"), Opening.OUTLET: meta.get("outlet")}
        for opening, plane in found.items():
            if plane:
                radius = plane.get("radius_mm")
                planes[opening] = OpeningPlane(tuple(plane["point_lps_mm"]), tuple(plane["normal_lps"]),
                                               str(plane.get("short_of_nostril") or ""),
                                               None if radius is None else float(radius))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise _unusable(meta_path, error) from error
    return planes


def _unusable(meta_path: Path, error: Exception) -> ValidationError:
    return ValidationError(f"{meta_path} has unusable opening planes ({error}); expected "
                           '"inlets": {"left": {"point_lps_mm": [x, y, z], "normal_lps": [nx, ny, nz]}, ...} '
                           'and "outlet" likewise, as `rhinoapp segment` writes')


def _label_origin(meta: Any) -> LabelOrigin:
    """What ``provenance`` of a decoded ``geometry.json`` says of the label map (nothing where it says nothing
    usable): ``label_voxel_mm`` and ``ragged_pits_pct``."""
    provenance = meta.get("provenance") if isinstance(meta, dict) else None
    if not isinstance(provenance, dict):
        return LabelOrigin()
    drawn: tuple[float, float, float] | None = None
    try:
        found = provenance.get("label_voxel_mm")
        drawn = None if not found else (float(found[0]), float(found[1]), float(found[2]))
    except (ValueError, TypeError, IndexError, KeyError):
        drawn = None
    try:
        ragged = provenance.get("ragged_pits_pct")
        pits = None if ragged is None else float(ragged)
    except (ValueError, TypeError):
        pits = None
    return LabelOrigin(drawn, pits)
