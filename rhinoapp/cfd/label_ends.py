"""Where a label map stops: the open end faces of the nasal cavities and of the nasopharynx.

Expert label maps rarely end at the nostrils: the nasal cavity label often starts inside the
vestibule, the nasopharynx is cut by the image's lower face, and a plane that a tool or a person
gave may miss the labels altogether. :func:`open_ends` finds, for such a label, the face through
which it opens:

1. the **far end**: the voxels farthest from where the label meets the rest of the airway (the
   choanae), measured through the label (geodesic distance);
2. the **local axis** there: from the centre of the slab ``2 L .. L`` before the far end to the
   centre of the last ``L`` (``L = max(6 mm, 2 voxels)``), and the **equivalent diameter**
   ``2 sqrt(A / pi)`` of the cross-section ``A`` (the slab's volume over ``L``);
3. the **open face**: among the six grid directions within 73 degrees of the local axis, the one
   through which most of the end looks out (its area weighted by ``1 + cos`` of the angle to the
   patient's inferior direction: nostrils and the nasopharynx open downward). The nasopharynx goes on
   down into the oropharynx, and a nasopharynx label is a room about as long as it is wide, whose far
   end is a corner (tilted 20 degrees forward or back, the back wall won): its face is sought around
   its lowest part, within 73 degrees of the inferior direction or where the image's face cuts it,
   its area weighted also by the cosine of the angle to the inferior direction (1 for a cut by the
   image's face), so that a wall seen at a grazing angle does not outscore the cut. The face
   is made of label voxels with no air beyond them along that
   direction up to the image border (so they can be opened into a chamber or an extension without
   crossing the airway), within one equivalent diameter of the far end, connected to the voxel
   nearest it. Where that face lies on the image's border (the label cut by the image's face, as a
   field of view that ends inside the vestibule or below the nasopharynx cuts it), the whole cut
   of the label in that border layer is the face, however far it reaches: a part left out would
   stay air walled off by the image's edge. Where both nostrils need it, they share the direction
   (the ambient chamber of :mod:`rhinoapp.cfd.openings` lies along one axis).

The result is one voxel per footprint column, a possibly ragged face the openings fill up to a flat
layer.

Examples
--------
>>> from rhinoapp.cfd.shapes import two_channel_labels
>>> labels = two_channel_labels(2.0)  # its nasopharynx ends at the lower image face (k = 0)
>>> ends = open_ends(labels.labels, labels.labels > 0, labels.geometry.spacing_mm[::-1], [Opening.OUTLET])
>>> outlet = ends[Opening.OUTLET]
>>> int(outlet.mask.sum()), np.unique(np.argwhere(outlet.mask)[:, 0]).tolist(), outlet.outward_kji
(60, [0], (-1, 0, 0))
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from rhinoapp.cfd.domain import Opening, link_structure
from rhinoapp.core.volume import AirwayLabel

__all__ = ["OpenEnd", "open_ends"]

_log = logging.getLogger(__name__)

_LABEL_OF = {Opening.INLET_LEFT: AirwayLabel.LEFT_CAVITY, Opening.INLET_RIGHT: AirwayLabel.RIGHT_CAVITY,
             Opening.OUTLET: AirwayLabel.NASOPHARYNX}
_SLAB_MM = 4.0
_MIN_ALIGNMENT = 0.3  # cos 73 degrees: a face direction may deviate this far from the local axis


def _geodesic(region: np.ndarray, seeds: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    """Distance (mm, steps to the 18 lattice neighbours) through ``region`` from ``seeds``; ``inf`` where
    unreachable. Computed on the region's bounding box."""
    box = ndimage.find_objects(region.astype(np.uint8))[0]
    inside = region[box]
    index = np.full(inside.shape, -1, dtype=np.int64)
    n = int(inside.sum())
    index[inside] = np.arange(n)
    rows, cols, weights = [], [], []
    shape = inside.shape
    for step in np.argwhere(link_structure()) - 1:  # the 18 neighbours, each pair once
        if tuple(step) <= (0, 0, 0):
            continue
        lo = tuple(slice(max(0, -s), n_ - max(0, s)) for s, n_ in zip(step, shape))
        hi = tuple(slice(max(0, s), n_ - max(0, -s)) for s, n_ in zip(step, shape))
        both = inside[lo] & inside[hi]
        rows.append(index[lo][both])
        cols.append(index[hi][both])
        weights.append(np.full(int(both.sum()), float(np.linalg.norm(step * spacing))))
    graph = coo_matrix((np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)).tocsr()
    distance = np.full(region.shape, np.inf)
    within = np.full(inside.shape, np.inf)
    within[inside] = dijkstra(graph, directed=False, indices=np.unique(index[seeds[box] & inside]), min_only=True)
    distance[box] = within
    return distance


def _nothing_beyond(fluid: np.ndarray, axis: int, sign: int) -> np.ndarray:
    """Voxels with no fluid after them along ``sign`` x ``axis`` up to the grid's border."""
    if sign > 0:
        seen = np.flip(np.logical_or.accumulate(np.flip(fluid, axis), axis=axis), axis)
    else:
        seen = np.logical_or.accumulate(fluid, axis=axis)
    beyond = np.zeros_like(fluid)
    to = [slice(None)] * 3
    frm = [slice(None)] * 3
    if sign > 0:
        to[axis], frm[axis] = slice(0, -1), slice(1, None)
    else:
        to[axis], frm[axis] = slice(1, None), slice(0, -1)
    beyond[tuple(to)] = seen[tuple(frm)]
    result: np.ndarray = ~beyond
    return result


class _End:
    """The far end of one label: its centre, local axis and equivalent diameter (voxel index units, mm)."""

    def __init__(self, region: np.ndarray, seeds: np.ndarray, spacing: np.ndarray) -> None:
        distance = _geodesic(region, seeds, spacing)
        reached = np.isfinite(distance)
        far = float(distance[reached].max())
        slab = max(_SLAB_MM, 2.0 * float(spacing.max()))
        end = reached & (distance >= far - slab)
        before = reached & (distance >= far - 2.0 * slab) & (distance < far - slab)
        tip = reached & (distance >= far - float(spacing.max()))
        self.centre = np.argwhere(tip).mean(axis=0)
        axis = (np.argwhere(end).mean(axis=0) - np.argwhere(before).mean(axis=0)) * spacing if before.any() else \
            np.zeros(3)
        norm = float(np.linalg.norm(axis))
        self.axis: np.ndarray | None = axis / norm if norm > 0 else None
        area = float(before.sum() if before.any() else end.sum()) * float(np.prod(spacing)) / slab
        self.diameter_mm = 2.0 * math.sqrt(area / math.pi)

    def face(self, region: np.ndarray, outward: np.ndarray, spacing: np.ndarray, axis: int, sign: int) -> np.ndarray:
        """The connected part of ``region & outward`` within one diameter of the far end that is nearest it; where
        that part lies on the grid's border layer along ``sign`` x ``axis``, all of ``region`` in that layer
        connected to it."""
        reach = self.diameter_mm + float(spacing.max())
        box = tuple(slice(max(0, int(math.floor(c - reach / s))), int(math.ceil(c + reach / s)) + 1)
                    for c, s in zip(self.centre, spacing))
        corner = np.array([b.start for b in box])
        voxels = region[box] & outward[box]
        result = np.zeros(region.shape, dtype=bool)
        grid = np.indices(voxels.shape, sparse=True)
        offset = sum(((g + c0 - c) * s) ** 2 for g, c0, c, s in zip(grid, corner, self.centre, spacing))
        voxels &= offset <= reach ** 2
        if not voxels.any():
            return result
        parts, _ = ndimage.label(voxels, structure=np.ones((3, 3, 3), dtype=bool))
        where = np.argwhere(voxels)
        nearest = where[np.argmin((((where + corner - self.centre) * spacing) ** 2).sum(axis=1))]
        result[box] = parts == parts[tuple(nearest)]
        border = 0 if sign < 0 else region.shape[axis] - 1
        if np.all(np.argwhere(result)[:, axis] == border):  # cut by the image's face: the whole cut opens
            layer = np.take(region, border, axis=axis)
            cut, _ = ndimage.label(layer, structure=np.ones((3, 3), dtype=bool))
            chosen = np.unique(cut[np.take(result, border, axis=axis)])
            result = np.zeros(region.shape, dtype=bool)
            index: list[slice | int] = [slice(None)] * 3
            index[axis] = border
            result[tuple(index)] = np.isin(cut, chosen[chosen > 0])
        return result


def _lowest(region: np.ndarray, inferior: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    """The centre (voxel index units) of ``region``'s voxels within one voxel of its lowest extent along
    ``inferior``."""
    voxels = np.argwhere(region)
    depth = (voxels * spacing) @ inferior
    centre: np.ndarray = voxels[depth >= depth.max() - float(spacing.max())].mean(axis=0)
    return centre


@dataclass(frozen=True, eq=False)
class OpenEnd:
    """An open end face: its voxels (``[k, j, i]`` mask) and the grid direction it looks out along (a unit step
    in array axes ``k, j, i``)."""

    mask: np.ndarray
    outward_kji: tuple[int, int, int]


def open_ends(values: np.ndarray, fluid: np.ndarray, spacing_kji: Sequence[float] | np.ndarray,
              openings: Iterable[Opening], *, inferior_kji: Sequence[float] | np.ndarray = (-1.0, 0.0, 0.0)
              ) -> dict[Opening, OpenEnd]:
    """The open end face of each of ``openings`` in the label array ``values`` (``[k, j, i]``).

    ``fluid`` marks all air of the domain (the faces see no air beyond them); ``spacing_kji`` is the
    voxel size in millimetres along ``k, j, i``; ``inferior_kji`` the patient's inferior direction in
    array axes (nostrils and the nasopharynx open downward: where an end looks out through two faces
    of about the same area, as at the corner of a vestibule, the lower one wins). An opening whose label has no contact with the rest of
    the airway, or no face that looks out, is left out of the result (the caller falls back).
    """
    spacing = np.asarray(spacing_kji, dtype=float)
    inferior = np.asarray(inferior_kji, dtype=float) / float(np.linalg.norm(inferior_kji))
    wanted = list(openings)
    cavities = np.isin(values, [int(AirwayLabel.LEFT_CAVITY), int(AirwayLabel.RIGHT_CAVITY)])
    pharynx = values == int(AirwayLabel.NASOPHARYNX)
    ends: dict[Opening, _End] = {}
    regions: dict[Opening, np.ndarray] = {}
    axes: dict[Opening, np.ndarray] = {}
    for opening in wanted:
        region = values == int(_LABEL_OF[opening])
        other = pharynx if opening.is_inlet else cavities
        seeds = region & ndimage.binary_dilation(other, link_structure())
        if not seeds.any() or not region.any():
            continue
        end = _End(region, seeds, spacing)
        if end.axis is None:
            continue
        if not opening.is_inlet:  # the nasopharynx goes on down: its end is its lowest part
            end.centre = _lowest(region, inferior, spacing)
        ends[opening], regions[opening], axes[opening] = end, region, end.axis
    groups = [[o for o in ends if o.is_inlet], [o for o in ends if not o.is_inlet]]
    result: dict[Opening, OpenEnd] = {}
    for group in (g for g in groups if g):
        # the nasopharynx goes on down into the oropharynx: its far end from the choanae, in a label about as long
        # as it is wide, is a corner of the room (tilted 20 degrees forward or back, its back wall)
        pharynx_end = not group[0].is_inlet
        axis_sum = inferior if pharynx_end else np.sum([axes[o] for o in group], axis=0)
        best: tuple[float, dict[Opening, np.ndarray], float, tuple[int, int, int]] | None = None
        for axis in range(3):
            for sign in (-1, 1):
                unit = np.zeros(3)
                unit[axis] = sign
                alignment = float(np.dot(axis_sum, unit)) / float(np.linalg.norm(axis_sum))
                border = 0 if sign < 0 else fluid.shape[axis] - 1
                cut = pharynx_end and np.take(regions[group[0]], border, axis=axis).any()
                if alignment < _MIN_ALIGNMENT and not cut:
                    continue
                outward = _nothing_beyond(fluid, axis, sign)
                faces = {o: ends[o].face(regions[o], outward, spacing, axis, sign) for o in group}
                if cut and all(f.any() and np.all(np.argwhere(f)[:, axis] == border) for f in faces.values()):
                    alignment = 1.0  # cut by the image's face: open, whichever way it looks
                elif alignment < _MIN_ALIGNMENT:
                    continue
                area = sum(float(f.sum()) for f in faces.values()) * float(np.prod(np.delete(spacing, axis)))
                # the nasopharynx's cut shows its area times the cosine along each direction, a wall along the axis
                # its length at a grazing angle: the alignment keeps such a wall from outscoring the cut. (The
                # nostrils keep the area alone: a vestibule tilted 10 degrees chin up looked forward with it.)
                score = area * (alignment if pharynx_end else 1.0) * (1.0 + float(np.dot(inferior, unit)))
                if all(f.any() for f in faces.values()) and (best is None or score > best[0]):
                    best = (score, faces, float(np.prod(np.delete(spacing, axis))),
                            (int(unit[0]), int(unit[1]), int(unit[2])))
        if best is None:
            continue
        for opening, face in best[1].items():
            result[opening] = OpenEnd(face, best[3])
            _log.info("the %s opens where its label ends: %d voxels (%.0f mm2), equivalent diameter %.1f mm",
                      opening.value, int(face.sum()), face.sum() * best[2], ends[opening].diameter_mm)
    return result
