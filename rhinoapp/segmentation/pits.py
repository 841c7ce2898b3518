"""Ragged label walls: single-voxel pits in an imported airway's labels, measured and, where there are many, filled.

A label map made with a noisy threshold, a coarse brush or an eraser leaves its walls pitted: voxels of the
air's outer layer unlabelled here and there, open to the tissue behind them, so they are not the enclosed
specks that :mod:`rhinoapp.segmentation.holes` fills. Each pit is a notch in the wall, and in the narrow
passages of the nose, which are a few voxels across, the notches make the airway narrower than the labeller
meant. On the ``clinical`` phantom a fifth of the outer layer left unlabelled raised the pressure drop from
12.88 to 15.14 Pa (+17.6 %), with nothing said (``benchmarks/label_map_variety.py``, ``ragged rim``).

A drawn or rasterised wall has almost no pits: an unlabelled voxel with five or six of its six face
neighbours labelled is a notch one voxel deep and wide. Such pits are at most 0.07 % of the wall voxels
(the unlabelled voxels that touch the labels) of every phantom's truth and of rhinoapp's own segmentations
of the phantoms' CTs, noisy ones included; a fifth of the outer layer taken away makes them 5.4 %.
:func:`fill_wall_pits` measures them; where they exceed :data:`RAGGED_PIT_FRACTION`, it fills every
unlabelled voxel with at least four labelled face neighbours with a neighbour's label, twice over (a pair of
pits side by side is filled from its ends), and says so. A wall of single-voxel thickness between two
passages (two labelled neighbours) and the corners of a thin fin of tissue (at most three) are never filled.

Examples
--------
>>> from rhinoapp.core.volume import ImageGeometry
>>> labels = np.zeros((12, 12, 12), dtype=np.uint8); labels[2:10, 2:10, 2:10] = 1
>>> labels[2, 3:9:2, 3:9:2] = 0  # nine pits in the lowest layer
>>> filled = fill_wall_pits(labels, ImageGeometry((12, 12, 12)))
>>> filled.voxels, round(filled.pit_fraction, 3), int(filled.labels[2, 3, 3])
(9, 0.023, 1)
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage

from rhinoapp.core.volume import ImageGeometry

__all__ = ["RAGGED_PIT_FRACTION", "FilledPits", "fill_wall_pits", "pit_fraction"]

#: Walls with more pits than this fraction of their voxels are ragged and get their pits filled: 0.07 % at most on
#: drawn and segmented walls (the phantoms' truths and segmentations), 5.4 % with a fifth of the outer layer taken.
RAGGED_PIT_FRACTION = 0.005

_CROSS = ndimage.generate_binary_structure(3, 1).astype(np.uint8)
_FILL_PASSES = 2


@dataclasses.dataclass(frozen=True)
class FilledPits:
    """The labels with their wall pits filled where the walls are ragged, the voxels filled (0 when the walls are
    not ragged), the fraction of wall voxels that were pits before, and what to tell people (empty when nothing
    was filled)."""

    labels: np.ndarray
    voxels: int = 0
    pit_fraction: float = 0.0
    note: str = ""


def _labelled_neighbours(labelled: np.ndarray) -> np.ndarray:
    counts: np.ndarray = ndimage.convolve(labelled.astype(np.uint8), _CROSS, mode="constant") - labelled
    return counts


def pit_fraction(labels: np.ndarray) -> float:
    """The fraction of the wall voxels of ``labels`` (unlabelled voxels touching a label through a face) that are
    pits: five or six of their six face neighbours labelled.

    >>> labels = np.zeros((6, 6, 6), dtype=np.uint8); labels[1:5, 1:5, 1:5] = 1
    >>> pit_fraction(labels)
    0.0
    """
    labelled = labels > 0
    return _pit_fraction(labelled, _labelled_neighbours(labelled))


def _pit_fraction(labelled: np.ndarray, neighbours: np.ndarray) -> float:
    wall = ~labelled & (neighbours > 0)
    count = int(np.count_nonzero(wall))
    return float(np.count_nonzero(wall & (neighbours >= 5))) / count if count else 0.0


def _neighbour_label(labels: np.ndarray) -> np.ndarray:
    """Per voxel, the largest label among its six face neighbours (0 where none)."""
    padded = np.pad(labels, 1)
    best = np.zeros_like(labels)
    for axis in range(3):
        for shift in (0, 2):
            index = [slice(1, -1)] * 3
            index[axis] = slice(shift, shift + labels.shape[axis])
            np.maximum(best, padded[tuple(index)], out=best)
    return best


def fill_wall_pits(labels: np.ndarray, geometry: ImageGeometry, *,
                   threshold: float = RAGGED_PIT_FRACTION) -> FilledPits:
    """Fill the pits of ragged walls: where more than ``threshold`` of the wall voxels of ``labels`` (on
    ``geometry``, 0 = unlabelled) are pits, every unlabelled voxel with four or more labelled face neighbours
    takes a neighbour's label (two passes); else the labels come back as they are."""
    found = ndimage.find_objects((labels > 0).astype(np.uint8))
    if not found or found[0] is None:
        return FilledPits(labels)
    box = tuple(slice(max(s.start - 1, 0), min(s.stop + 1, n)) for s, n in zip(found[0], labels.shape))
    labelled = labels[box] > 0
    neighbours = _labelled_neighbours(labelled)
    fraction = _pit_fraction(labelled, neighbours)
    if fraction <= threshold:
        return FilledPits(labels, 0, fraction)
    crop = labels[box].copy()
    voxels = 0
    for done in range(_FILL_PASSES):
        if done:  # the neighbours after the last pass's filling
            labelled = crop > 0
            neighbours = _labelled_neighbours(labelled)
        pits = ~labelled & (neighbours >= 4)
        if not pits.any():
            break
        crop[pits] = _neighbour_label(crop)[pits]
        voxels += int(np.count_nonzero(pits))
    filled = labels.copy()
    filled[box] = crop
    volume = voxels * geometry.voxel_volume_mm3
    note = (f"the labels' walls are ragged: {100 * fraction:.1f} % of the wall voxels are single-voxel pits (a "
            f"drawn or segmented wall has under 0.1 %), which narrow the passages; {voxels} voxels ({volume:.3g} mm³) "
            "of pits and notches were filled. Check the walls in the 3D view, or smooth the label map where it "
            "was made")
    return FilledPits(filled, voxels, fraction, note)
