"""What clinical scans add at the edges of the image: de-identification masks and a superior face
that cuts through the ethmoid labyrinth.

Masks
-----
De-identification tools paint blocks or discs of -1024 HU (over the eyes, the orbits, the face)
that reach the image edge. They are air-valued but no air: neither airway nor a path for outside
air into the nose. A mask is a 6-connected region of the image's lowest value (at most
``MASK_MAX_HU``) of at least ``min_volume_ml`` that touches an edge of the image; the noise of real
air rarely reaches the lowest value, and never as a large solid region.

Superior face
-------------
A scan cropped to the nose cuts the ethmoid cells (and the frontal recess) at its superior face.
Each air space on that face is grown down through the airway (as a sinus is grown from its body
in :mod:`rhinoapp.segmentation.sinuses`): when the growing front narrows to an ostium and widens
again into the cavity, the cut cell, its ostium and its mouth are left out of the airway. Air on
the face with no such neck (a cavity cut at its roof) is kept up to the edge. Both are reported.

Examples
--------
>>> hu = np.full((10, 10, 10), -1000, dtype=np.int16); hu[:, :, 5:] = 40
>>> hu[6:, :4, :4] = -1024  # a block in a corner
>>> int(deidentification_masks(hu, (1.0, 1.0, 1.0), min_volume_ml=0.01).sum())
64
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from rhinoapp.core.volume import ImageGeometry
from rhinoapp.segmentation.checks import THRESHOLD_CONTROL, face_name, where
from rhinoapp.segmentation.masks import AxisFrame
from rhinoapp.segmentation.options import SegmentationOptions
from rhinoapp.segmentation.sinuses import grow_to_neck

__all__ = ["MASK_MAX_HU", "FaceCut", "cut_at_face", "deidentification_masks", "superior_cut"]

_LOG = logging.getLogger(__name__)

#: Regions of the lowest value count as masks only when that value is at most this.
MASK_MAX_HU = -1020


def _solid_core(candidate: np.ndarray) -> np.ndarray:
    """Voxels of ``candidate`` whose six neighbours (inside the array) are candidates too."""
    core = candidate.copy()
    for axis in range(3):
        lower = [slice(None)] * 3
        upper = [slice(None)] * 3
        lower[axis], upper[axis] = slice(0, -1), slice(1, None)
        core[tuple(upper)] &= candidate[tuple(lower)]
        core[tuple(lower)] &= candidate[tuple(upper)]
    return core


def deidentification_masks(hu: np.ndarray, spacing_kji: Sequence[float], *, min_volume_ml: float = 0.2) -> np.ndarray:
    """Boolean mask of the air-valued de-identification masks of ``hu`` (see the module notes).

    Cheap on a whole head: on a grid of every ``step``-th voxel (2 on large volumes), only voxels
    whose six neighbours share the lowest value (the inside of a solid region; noise clipped to that
    value is scattered) are labelled; a kept region gets a rim of ``step`` coarse voxels back and is
    intersected with the lowest-valued voxels at full resolution.
    """
    lowest = int(hu.min()) if hu.size else 0
    masks = np.zeros(hu.shape, dtype=bool)
    if lowest > MASK_MAX_HU:
        return masks
    step = 2 if min(hu.shape) >= 64 else 1
    coarse = hu[::step, ::step, ::step] == lowest
    core = _solid_core(coarse)
    labels, count = ndimage.label(core)
    if not count:
        return masks
    least = min_volume_ml * 1000.0 / float(np.prod(spacing_kji)) / step**3
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    keep = np.zeros(count + 1, dtype=bool)
    for n, found in enumerate(ndimage.find_objects(labels), start=1):
        edge = found is not None and any(s.start == 0 or s.stop == size for s, size in zip(found, coarse.shape))
        keep[n] = edge and sizes[n] >= least
    if not keep.any():
        return masks
    kept = ndimage.binary_dilation(keep[labels], structure=np.ones((3, 3, 3), dtype=bool), iterations=step)
    for axis in range(3):
        kept = np.repeat(kept, step, axis=axis)
    masks = np.asarray(kept[: hu.shape[0], : hu.shape[1], : hu.shape[2]] & (hu == lowest), dtype=bool)
    _LOG.info("%d de-identification mask(s) of %.1f ml at %d HU", int(keep.sum()),
              masks.sum() * float(np.prod(spacing_kji)) / 1000.0, lowest)
    return masks


@dataclasses.dataclass(frozen=True, eq=False)
class FaceCut:
    """The result of :func:`cut_at_face`: voxels to leave out, and the air kept on the face.

    ``removed`` (a mask like the airway) holds the cut cells with their ostia; ``removed_spaces``
    and ``kept_spaces`` are the (k, j, i) index centres of the air spaces on the face that were
    left out or kept.
    """

    removed: np.ndarray
    removed_spaces: tuple[tuple[float, float, float], ...]
    kept_spaces: tuple[tuple[float, float, float], ...]


def cut_at_face(airway: np.ndarray, axis: int, end: int, spacing_kji: Sequence[float], *, max_ostium_area_mm2: float,
                max_length_mm: float) -> FaceCut:
    """Leave out the air spaces of ``airway`` cut by one face of its box (see the module notes).

    Parameters
    ----------
    airway
        Boolean airway ``[k, j, i]`` whose box ends at the face.
    axis, end
        The face: array axis and 0 (first slice) or -1 (last slice).
    spacing_kji
        Voxel size in millimetres.
    max_ostium_area_mm2, max_length_mm
        A neck is a front of at most this area reached within this distance of the face.

    Examples
    --------
    >>> airway = np.zeros((20, 30, 30), dtype=bool)
    >>> airway[:8, 5:25, 5:25] = True      # the cavity
    >>> airway[8:14, 14:16, 14:16] = True  # an ostium
    >>> airway[14:, 10:20, 10:20] = True   # a cell cut by the last slice
    >>> cut = cut_at_face(airway, 0, -1, (1.0, 1.0, 1.0), max_ostium_area_mm2=10.0, max_length_mm=15.0)
    >>> bool(cut.removed[16, 15, 15]), bool(cut.removed[4, 15, 15]), len(cut.removed_spaces)
    (True, False, 1)
    """
    spacing = np.asarray(spacing_kji, dtype=float)
    removed = np.zeros_like(airway)
    face = np.take(airway, end, axis=axis)
    labels, count = ndimage.label(face, structure=np.ones((3, 3), dtype=bool))
    window = tuple(slice(0, n) for n in airway.shape)
    cut: list[tuple[float, float, float]] = []
    kept: list[tuple[float, float, float]] = []
    position = end % airway.shape[axis]
    for n in range(1, count + 1):
        pixels = np.nonzero(labels == n)
        index = list(pixels)
        index.insert(axis, np.full(len(pixels[0]), position))
        centre = tuple(float(np.mean(a)) for a in index)
        body = np.zeros_like(airway)
        body[tuple(index)] = True
        region = grow_to_neck(airway & ~removed, body, window, spacing, max_ostium_area_mm2, max_length_mm,
                              window_edge_ends=False)
        if region is None:
            kept.append(centre)  # type: ignore[arg-type]
            continue
        removed |= region & airway
        cut.append(centre)  # type: ignore[arg-type]
    return FaceCut(removed, tuple(cut), tuple(kept))


def _places(geometry: ImageGeometry, spaces: Sequence[Sequence[float]], offset: Sequence[int], most: int = 4) -> str:
    text = "; ".join(where(geometry, [float(v) + o for v, o in zip(c, offset)]) for c in spaces[:most])
    return text + (f"; and {len(spaces) - most} more" if len(spaces) > most else "")


def superior_cut(airway: np.ndarray, frame: AxisFrame, top: int, options: SegmentationOptions,
                 geometry: ImageGeometry, offset: Sequence[int]) -> tuple[np.ndarray, str, bool]:
    """The airway without the air spaces cut by the superior face (``top``: 0 or -1 on the axial
    axis of ``airway``, a box of the image at ``offset``), the warning, and whether air stays on it."""
    cut = cut_at_face(airway, frame.axial, top, geometry.spacing_mm[::-1],
                      max_ostium_area_mm2=options.max_ostium_area_mm2, max_length_mm=options.max_ostium_length_mm)
    text = f"the {face_name(frame, frame.axial, top)} edge of the image cuts through air connected to the nasal cavity"
    if cut.removed_spaces:
        removed_ml = float(cut.removed.sum()) * geometry.voxel_volume_mm3 / 1000.0
        text += (f"; {len(cut.removed_spaces)} air space(s) cut by it (ethmoid or frontal cells, at "
                 f"{_places(geometry, cut.removed_spaces, offset)}) were left out of the airway with the cells and "
                 f"ostia they belong to ({removed_ml:.2f} ml)")
    if cut.kept_spaces:
        text += (f"; the air at {_places(geometry, cut.kept_spaces, offset)} has no narrow connection below the edge "
                 "and was kept up to it: the airway there is incomplete (the image ends at its roof); check it on "
                 f"the slices, and lower {THRESHOLD_CONTROL} if a thin roof is missed")
    _LOG.warning("%s", text)
    return airway & ~cut.removed, text, bool(cut.kept_spaces)
