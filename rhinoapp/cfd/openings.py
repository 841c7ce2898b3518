"""Openings that hold for any airway: ambient air in front of the nostrils, a flow extension at the outlet.

A label map stops somewhere: at the nostrils, inside the vestibules, or at the image's face. A
pressure condition laid directly on such a cut squeezes the inflow through its (often ragged)
cross-section, and a plug velocity laid directly on the cut nasopharynx shapes the flow inside.
:func:`with_open_surroundings` therefore, as published nasal CFD does,

* attaches to each nostril a **chamber of ambient air**: a box that extends outward from the
  nostril (along the grid axis nearest its outward normal) by ``chamber_depth_mm`` and sideways by
  ``chamber_margin_mm`` around it. A nostril oblique to that axis is joined to it by stems of air
  (each column of its footprint, from its nostril voxel out to the outermost one), and the box reaches
  in to the deepest nostril voxel, beside the stems, a wall's cell away from the airway: the room is
  open beside a nose. Its far faces (the outward face and the sides, not the face
  towards the head) are at ambient pressure, so the air enters the nostril as in life. A wall
  midway between the two nostrils keeps the two chambers apart, so the flow of each side is
  still measured where it enters;
* extends the **outlet** by ``extension_diameters`` equivalent diameters of its cross-section,
  as a straight prism along the grid axis nearest its normal; the flow (or pressure) condition sits
  at the end of the prism.

The grid grows where these regions need room (the origin moves accordingly). The former opening
layers become fluid and are kept as measurement planes (see :data:`PLANE_NOSTRIL_LEFT` and the
others) in :attr:`FlowDomain.planes`: the pressure drop is reported between the ambient air in
front of the nostrils and the posterior plane (the end of the segmented nasopharynx).

Examples
--------
>>> from rhinoapp.cfd.shapes import square_duct
>>> domain = with_open_surroundings(square_duct(4, 10))
>>> sorted(domain.planes), domain.geometry.shape[0] > 12
(['nostril_left', 'outlet', 'surroundings'], True)
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from rhinoapp.cfd.domain import FlowDomain, Opening, link_structure
from rhinoapp.core.errors import ValidationError
from rhinoapp.core.volume import ImageGeometry

__all__ = ["PLANE_CHOANA_LEFT", "PLANE_CHOANA_RIGHT", "PLANE_NOSTRIL_LEFT", "PLANE_NOSTRIL_RIGHT", "PLANE_OUTLET",
           "PLANE_SURROUNDINGS", "SurroundingsConfig", "nostril_tilts_deg", "with_open_surroundings"]

_log = logging.getLogger(__name__)

#: Names of the measurement planes a domain may carry (masks of fluid cells).
PLANE_NOSTRIL_LEFT = "nostril_left"
PLANE_NOSTRIL_RIGHT = "nostril_right"
PLANE_OUTLET = "outlet"
PLANE_CHOANA_LEFT = "choana_left"
PLANE_CHOANA_RIGHT = "choana_right"
#: Not a plane: the cells of the chambers and of the outlet extension (left out of the airway's volume).
PLANE_SURROUNDINGS = "surroundings"
#: The widest gap (columns) between an opening's columns that its stems close (:func:`_closed_columns`).
_GAP_COLUMNS = 2
_NOSTRIL_PLANE = {Opening.INLET_LEFT: PLANE_NOSTRIL_LEFT, Opening.INLET_RIGHT: PLANE_NOSTRIL_RIGHT,
                  Opening.OUTLET: PLANE_OUTLET}


@dataclass(frozen=True, kw_only=True)
class SurroundingsConfig:
    """Sizes of the ambient-air chambers and of the outlet extension.

    Parameters
    ----------
    chamber_depth_mm
        How far each chamber reaches outward from its nostril.
    chamber_margin_mm
        How far each chamber reaches sideways beyond its nostril.
    extension_diameters
        Length of the outlet extension in equivalent diameters ``2 sqrt(A / pi)`` of the outlet.
    min_extension_mm
        The extension is at least this long.

    Examples
    --------
    >>> SurroundingsConfig().extension_diameters
    2.0
    """

    chamber_depth_mm: float = 10.0
    chamber_margin_mm: float = 6.0
    extension_diameters: float = 2.0
    min_extension_mm: float = 6.0

    def __post_init__(self) -> None:
        for name in ("chamber_depth_mm", "chamber_margin_mm", "extension_diameters", "min_extension_mm"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValidationError(f"{name} must be a non-negative number, got {value}")


def _outward(domain: FlowDomain, opening: Opening) -> np.ndarray:
    """Outward direction of an opening in physical units, ``(k, j, i)`` components: the domain's own where it knows
    it (:attr:`FlowDomain.outward_kji`), else from the opening's voxels to the air next to them."""
    if opening.value in domain.outward_kji:
        return np.asarray(domain.outward_kji[opening.value], dtype=float)
    mask = domain.opening_mask(opening)
    near = ndimage.binary_dilation(mask, link_structure()) & domain.fluid
    spacing = np.asarray(domain.geometry.spacing_mm)[::-1]
    direction = (np.argwhere(mask).mean(axis=0) - np.argwhere(near).mean(axis=0)) * spacing
    if not np.linalg.norm(direction) > 0:
        raise ValidationError("an opening has no outward direction (it surrounds the air symmetrically): make it a "
                              "layer across the airway")
    result: np.ndarray = direction / np.linalg.norm(direction)
    return result


def _columns(mask: np.ndarray, axis: int, sign: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Footprint ``(n, 3)`` voxels of an opening seen along ``axis``, their innermost coordinate, and the outermost one."""
    voxels = np.argwhere(mask)
    along = voxels[:, axis]
    others = np.delete(voxels, axis, axis=1)
    keys, inverse = np.unique(others, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    inner = np.full(len(keys), np.iinfo(np.int64).max if sign > 0 else np.iinfo(np.int64).min, dtype=np.int64)
    (np.minimum if sign > 0 else np.maximum).at(inner, inverse, along)
    outer = int(along.max() if sign > 0 else along.min())
    return keys, inner, outer


def _closed_columns(mask: np.ndarray, axis: int, sign: int) -> tuple[np.ndarray, np.ndarray, int]:
    """:func:`_columns`, with the gaps of the footprint closed: a tilted opening (a nostril's plane 20 degrees off the
    grid) passes some columns between two voxel centres, or the label ends short of its layer there, so the layer
    misses them and their stems would be missing: walls one or two columns wide between the stems, a comb in front
    of the nostril that took most of the pressure drop. Columns in a gap of up to :data:`_GAP_COLUMNS` between two of
    the footprint's (along a row, a column or a diagonal), or enclosed by it, get a stem from the innermost of their
    neighbours' inner coordinates."""
    keys, inner, outer = _columns(mask, axis, sign)
    reach = _GAP_COLUMNS + 1
    low = keys.min(axis=0) - reach
    image = np.zeros(tuple(keys.max(axis=0) - low + reach + 1), dtype=bool)
    image[tuple((keys - low).T)] = True
    between = np.zeros_like(image)
    for step in ((1, 0), (0, 1), (1, 1), (1, -1)):  # footprint columns on both sides, across faces or edges
        for ahead in range(1, reach):
            for behind in range(1, reach + 1 - ahead):
                between |= (np.roll(image, (-ahead * step[0], -ahead * step[1]), axis=(0, 1))
                            & np.roll(image, (behind * step[0], behind * step[1]), axis=(0, 1)))
    gaps = ndimage.binary_fill_holes(image | between) & ~image
    if not gaps.any():
        return keys, inner, outer
    # in floats: scipy's filters take their constant as a float, and an int64 sentinel's would wrap round (a
    # column from -2**63 up, an extension without end)
    empty = np.inf if sign > 0 else -np.inf
    level = np.full(image.shape, empty)
    level[tuple((keys - low).T)] = inner
    innermost = (ndimage.minimum_filter if sign > 0 else ndimage.maximum_filter)(
        level, size=2 * reach - 1, mode="constant", cval=empty)
    added = np.argwhere(gaps & np.isfinite(innermost))
    return (np.concatenate([keys, added + low]),
            np.concatenate([inner, innermost[tuple(added.T)].astype(np.int64)]), outer)


def _place(keys: np.ndarray, axis: int, coordinate: np.ndarray) -> np.ndarray:
    """Voxels ``(n, 3)`` from footprint keys and coordinates along ``axis``."""
    return np.insert(keys, axis, coordinate, axis=1)


def _prism(keys: np.ndarray, inner: np.ndarray, axis: int, sign: int, last: int) -> np.ndarray:
    """The voxels of every footprint column from its inner coordinate out to ``last`` (inclusive)."""
    parts = []
    for start in np.unique(inner):
        chosen = keys[inner == start]
        for t in range(int(start), last + sign, sign):
            parts.append(_place(chosen, axis, np.full(len(chosen), t)))
    return np.concatenate(parts) if parts else np.zeros((0, 3), dtype=np.int64)


def with_open_surroundings(domain: FlowDomain, config: SurroundingsConfig | None = None) -> FlowDomain:
    """``domain`` with ambient-air chambers at its nostrils and a flow extension at its outlet.

    The domain's openings must be layers across the airway (as :func:`~rhinoapp.cfd.inputs.domain_from_labels`
    makes them). Periodic domains are returned unchanged.

    Examples
    --------
    >>> from rhinoapp.cfd.inputs import domain_from_labels
    >>> from rhinoapp.cfd.shapes import two_channel_labels
    >>> plain = domain_from_labels(two_channel_labels(2.0))
    >>> open_ = with_open_surroundings(plain)
    >>> open_.n_fluid > plain.n_fluid, sorted(open_.planes)
    (True, ['nostril_left', 'nostril_right', 'outlet', 'surroundings'])
    """
    config = config or SurroundingsConfig()
    if any(domain.periodic):
        return domain
    spacing = np.asarray(domain.geometry.spacing_mm, dtype=float)[::-1]  # (k, j, i)
    fluid = domain.fluid
    shape = np.asarray(fluid.shape)
    regions: dict[str, np.ndarray] = {}
    planes = {name: np.argwhere(domain.opening_mask(o)) for o, name in _NOSTRIL_PLANE.items()
              if domain.opening_mask(o).any()}

    # the outlet extension: a prism of the outlet's footprint
    outlet = domain.opening_mask(Opening.OUTLET)
    axis_out, sign_out = _axis_sign(_outward(domain, Opening.OUTLET))
    keys, inner, outer = _closed_columns(outlet, axis_out, sign_out)
    area = len(keys) * float(np.prod(np.delete(spacing, axis_out)))
    length_mm = max(config.min_extension_mm, config.extension_diameters * 2.0 * math.sqrt(area / math.pi))
    cells = max(2, int(math.ceil(length_mm / spacing[axis_out])))
    regions["extension"] = _prism(keys, inner, axis_out, sign_out, outer + sign_out * cells)
    regions["outlet"] = _place(keys, axis_out, np.full(len(keys), outer + sign_out * (cells + 1)))

    # the chambers: one box per nostril, outward along the axis nearest the nostrils' mean normal
    inlets = [o for o in (Opening.INLET_LEFT, Opening.INLET_RIGHT) if domain.opening_mask(o).any()]
    direction = sum(_outward(domain, o) for o in inlets)
    axis_in, sign_in = _axis_sign(np.asarray(direction))
    depth = max(2, int(math.ceil(config.chamber_depth_mm / spacing[axis_in])))
    margin = np.ceil(config.chamber_margin_mm / np.delete(spacing, axis_in)).astype(int)
    boxes = {}
    for opening in inlets:
        keys, inner, outer = _closed_columns(domain.opening_mask(opening), axis_in, sign_in)
        regions[f"stem_{opening.value}"] = _prism(keys, inner, axis_in, sign_in, outer)
        low, high = keys.min(axis=0) - margin, keys.max(axis=0) + margin
        innermost = int(inner.min() if sign_in > 0 else inner.max())
        boxes[opening] = (low, high, outer, innermost)
    for opening, (low, high, outer, _) in boxes.items():
        corner = _place(np.array([low - 1, high + 1]), axis_in,
                        np.array([outer + sign_in, outer + sign_in * (depth + 1)]))
        regions[f"box_{opening.value}"] = corner  # only its bounds matter for the padding

    # grow the grid so that every region (and the wall around it) fits
    every = np.concatenate([np.argwhere(fluid)[[0, -1]]] + list(regions.values()))
    pad_before = np.maximum(0, -every.min(axis=0) + 1)
    pad_after = np.maximum(0, every.max(axis=0) - (shape - 1) + 1)
    pads = [(int(a), int(b)) for a, b in zip(pad_before, pad_after)]
    new_fluid = np.pad(fluid, pads)
    new_shape = new_fluid.shape
    geometry = _padded_geometry(domain.geometry, pad_before, new_shape)

    def paint(voxels: np.ndarray) -> np.ndarray:
        mask = np.zeros(new_shape, dtype=bool)
        if len(voxels):
            v = voxels + pad_before
            mask[v[:, 0], v[:, 1], v[:, 2]] = True
        return mask

    original = ndimage.binary_dilation(new_fluid, link_structure())
    extension = paint(regions["extension"])
    new_outlet = paint(regions["outlet"]) & ~new_fluid
    new_fluid |= extension
    stems = {o: paint(regions[f"stem_{o.value}"]) for o in inlets}
    for stem in stems.values():
        new_fluid |= stem
    keep_out = original | ndimage.binary_dilation(extension | new_outlet, link_structure())
    side = _sides(inlets, stems, axis_in, new_shape)
    chambers, walls = {}, np.zeros(new_shape, dtype=bool)
    for opening, (low, high, outer, innermost) in boxes.items():
        box = np.zeros(new_shape, dtype=bool)
        index = [slice(None)] * 3
        others = [a for a in range(3) if a != axis_in]
        for a, lo, hi in zip(others, low + pad_before[others], high + pad_before[others]):
            index[a] = slice(max(int(lo), 0), int(hi) + 1)
        first = innermost + sign_in + pad_before[axis_in]
        last = outer + sign_in * depth + pad_before[axis_in]
        index[axis_in] = slice(min(first, last), max(first, last) + 1)
        box[tuple(index)] = True
        mine = side[opening]
        chambers[opening] = box & mine & ~keep_out & ~new_fluid
        grown = np.zeros(new_shape, dtype=bool)
        index[axis_in] = slice(min(first, last + sign_in), max(first, last + sign_in) + 1)
        for a in others:
            index[a] = slice(max(index[a].start - 1, 0), index[a].stop + 1)
        grown[tuple(index)] = True
        walls |= grown & ~box  # the sides and the far face of the box
    for chamber in chambers.values():
        new_fluid |= chamber
    masks = {}
    for opening, chamber in chambers.items():
        ring = ndimage.binary_dilation(chamber, link_structure()) & ~new_fluid & ~keep_out & walls
        masks[opening] = ring & side[opening]
    empty = np.zeros(new_shape, dtype=bool)
    new_planes = {name: paint(voxels) & new_fluid for name, voxels in planes.items()}
    new_planes[PLANE_SURROUNDINGS] = new_fluid & ~np.pad(fluid, pads) & ~(
        new_planes.get(PLANE_NOSTRIL_LEFT, False) | new_planes.get(PLANE_NOSTRIL_RIGHT, False) | new_planes[PLANE_OUTLET])
    for name, mask in domain.planes.items():
        new_planes.setdefault(name, np.pad(mask, pads) & new_fluid)
    result = FlowDomain(new_fluid, masks.get(Opening.INLET_LEFT, empty), masks.get(Opening.INLET_RIGHT, empty),
                        new_outlet, geometry, planes=new_planes, placement=domain.placement,
                        short_of_nostril=domain.short_of_nostril, label_origin=domain.label_origin)
    _log.info("openings: ambient chambers %s cells, outlet extension %d cells (%.1f mm); grid %s -> %s",
              [int(c.sum()) for c in chambers.values()], int(extension.sum()), cells * spacing[axis_out],
              tuple(int(n) for n in shape), new_shape)
    return result


def _axis_sign(direction: np.ndarray) -> tuple[int, int]:
    axis = int(np.argmax(np.abs(direction)))
    return axis, 1 if direction[axis] > 0 else -1


def _sides(inlets: list[Opening], stems: dict[Opening, np.ndarray], axis: int,
           shape: tuple[int, ...]) -> dict[Opening, np.ndarray]:
    """Where each chamber may lie: everywhere with one nostril; with two, each side of a wall midway between them."""
    if len(inlets) < 2:
        return {o: np.ones(shape, dtype=bool) for o in inlets}
    centres = [np.argwhere(stems[o]).mean(axis=0) for o in inlets]
    between = centres[1] - centres[0]
    between[axis] = 0.0
    norm = float(np.linalg.norm(between))
    if not norm > 0:
        raise ValidationError("the two nostrils lie one behind the other: check the inlet labels or planes")
    unit = between / norm
    middle = 0.5 * (centres[0] + centres[1])
    k, j, i = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij", sparse=True)
    along = (k - middle[0]) * unit[0] + (j - middle[1]) * unit[1] + (i - middle[2]) * unit[2]
    half_wall = 0.75  # a lattice link moves at most sqrt(2) < 1.5 cells across the wall
    return {inlets[0]: along < -half_wall, inlets[1]: along > half_wall}


def _padded_geometry(geometry: ImageGeometry, pad_before: np.ndarray, shape: tuple[int, ...]) -> ImageGeometry:
    """The grid of ``geometry`` grown by ``pad_before`` voxels (``(k, j, i)``) before its first ones."""
    shift_ijk = -np.asarray(pad_before, dtype=float)[::-1]
    origin = np.asarray(geometry.index_to_physical(shift_ijk))
    ox, oy, oz = (float(v) for v in origin)
    nk, nj, ni = (int(n) for n in shape)
    return ImageGeometry((nk, nj, ni), geometry.spacing_mm, (ox, oy, oz), geometry.direction)


def nostril_tilts_deg(domain: FlowDomain) -> dict[str, float]:
    """How far each nostril's measurement plane (the opening before its chamber was attached) lies off the grid: the
    angle (degrees, rounded to 0.1) between its normal (the direction of its cells' least spread) and the nearest
    grid axis; sides without a plane of at least three cells are left out.

    The ambient chamber lies along a grid axis, and an oblique nostril is joined to it by stems of air, with the
    chamber beside them: on the clinical phantom, the head tilted 20 degrees back (nostrils 19.9 degrees off the grid)
    reads within 1 % of the straight head, rolled 10 degrees 6 % more, tilted and turned (askew) 8-9 % more
    (``docs/validation.md``, twenty-fifth follow-up); the accuracy note says so (:func:`rhinoapp.analysis.accuracy.oblique_nostrils_note`).

    Examples
    --------
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> nostril_tilts_deg(with_open_surroundings(square_duct(4, 10)))  # a level nostril
    {'left': 0.0}
    """
    spacing = np.asarray(domain.geometry.spacing_mm, dtype=float)[::-1]
    tilts = {}
    for side, name in (("left", PLANE_NOSTRIL_LEFT), ("right", PLANE_NOSTRIL_RIGHT)):
        mask = domain.planes.get(name)
        if mask is None or np.count_nonzero(mask) < 3:
            continue
        points = np.argwhere(mask) * spacing
        _, vectors = np.linalg.eigh(np.cov((points - points.mean(axis=0)).T))
        along_axis = min(1.0, float(np.max(np.abs(vectors[:, 0]))))
        tilts[side] = round(math.degrees(math.acos(along_axis)), 1)
    return tilts
