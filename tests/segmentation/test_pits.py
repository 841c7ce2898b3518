"""Ragged label walls: their pits are measured and filled; drawn walls, thin walls and fins are left alone."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from rhinoapp.core.volume import ImageGeometry
from rhinoapp.segmentation.pits import RAGGED_PIT_FRACTION, fill_wall_pits, pit_fraction

GEOMETRY = ImageGeometry((40, 30, 40), spacing_mm=(0.5, 0.5, 0.5))


def _passages() -> np.ndarray:
    """Two slit passages (4 and 3 voxels wide) of label 1 side by side, a wall one voxel thick between them, and
    a round passage of label 2 beside them; every passage runs the length of the image along k."""
    labels = np.zeros(GEOMETRY.shape, dtype=np.uint8)
    labels[:, 5:25, 4:8] = 1
    labels[:, 5:25, 9:12] = 1  # i = 8: a wall of one voxel between the slits
    j, i = np.mgrid[0:30, 0:40]
    labels[:, (j - 15) ** 2 + (i - 28) ** 2 <= 36] = 2
    return labels


def _ragged(labels: np.ndarray, fraction: float, seed: int = 3) -> np.ndarray:
    """``labels`` with a random ``fraction`` of their outer layer unlabelled."""
    airway = labels > 0
    rim = airway & ~ndimage.binary_erosion(airway)
    out = labels.copy()
    out[rim & (np.random.default_rng(seed).random(labels.shape) < fraction)] = 0
    return out


def _mean_section(labels: np.ndarray, label: int) -> float:
    """The mean cross-section (voxels) of a passage along k."""
    return float((labels == label).sum(axis=(1, 2)).mean())


def test_the_pits_of_a_ragged_wall_are_filled_with_the_passages_label() -> None:
    clean = _passages()
    ragged = _ragged(clean, 0.2)
    assert pit_fraction(clean) < 0.001 < RAGGED_PIT_FRACTION < pit_fraction(ragged)
    filled = fill_wall_pits(ragged, GEOMETRY)
    taken = np.count_nonzero(clean) - np.count_nonzero(ragged)
    assert filled.voxels > 0.6 * taken and filled.pit_fraction == pit_fraction(ragged)
    assert np.array_equal(filled.labels[ragged > 0], ragged[ragged > 0])  # nothing labelled changes
    assert np.all(filled.labels[(filled.labels > 0) & (clean > 0)] == clean[(filled.labels > 0) & (clean > 0)])
    assert np.count_nonzero((filled.labels > 0) & (clean == 0)) < 0.05 * filled.voxels  # corners at most
    assert np.all(filled.labels[:, 5:25, 8] == 0)  # the wall between the slits stays
    for label in (1, 2):  # most of the cross-section that the pits took comes back (slits 91 %, round 72 %)
        lost = _mean_section(clean, label) - _mean_section(ragged, label)
        assert _mean_section(clean, label) - _mean_section(filled.labels, label) < 0.35 * lost
    assert filled.note.startswith("the labels' walls are ragged: ") and "single-voxel pits" in filled.note
    assert f"{filled.voxels} voxels" in filled.note and "smooth the label map where it was made" in filled.note


def test_drawn_walls_come_back_unchanged() -> None:
    clean = _passages()
    filled = fill_wall_pits(clean, GEOMETRY)
    assert filled.labels is clean and filled.voxels == 0 and filled.note == ""
    sparse = _ragged(clean, 0.005)  # a few pits: not a ragged wall, and a notch may be anatomy
    assert pit_fraction(sparse) < RAGGED_PIT_FRACTION and fill_wall_pits(sparse, GEOMETRY).labels is sparse
    empty = np.zeros((4, 4, 4), dtype=np.uint8)
    assert fill_wall_pits(empty, ImageGeometry(empty.shape)).note == ""


def test_a_thin_fin_of_tissue_keeps_its_corners() -> None:
    labels = np.zeros((20, 20, 20), dtype=np.uint8)
    labels[2:18, 2:18, 2:18] = 1
    labels[2:18, 9, 2:8] = 0  # a fin one voxel thick from the wall at i = 2 into the air, its edge at i = 7
    ragged = _ragged(labels, 0.2, seed=5)
    ragged[2:18, 9, 2:8] = 0
    filled = fill_wall_pits(ragged, ImageGeometry(labels.shape), threshold=0.0)
    assert filled.voxels > 0 and np.all(filled.labels[3:17, 9, 3:8] == 0)
