"""Unlabelled specks enclosed by the labels are filled; notches, openings and large enclosed regions are not."""

from __future__ import annotations

import numpy as np

from rhinoapp.core.volume import ImageGeometry
from rhinoapp.segmentation.holes import fill_enclosed_holes


def _box(shape: tuple[int, int, int] = (20, 20, 20)) -> np.ndarray:
    labels = np.zeros(shape, dtype=np.uint8)
    labels[2:-2, 2:-2, 2:10] = 1  # left
    labels[2:-2, 2:-2, 10:-2] = 2  # right
    return labels


def test_enclosed_specks_take_the_nearest_label_and_notches_stay() -> None:
    labels = _box()
    labels[5, 5, 3] = 0  # a speck in the left
    labels[5:7, 7:9, 12:14] = 0  # a 2x2x2 hole in the right
    labels[2, 6, 12] = 0  # a notch in the surface: open to the outside, tissue
    filled = fill_enclosed_holes(labels, ImageGeometry(labels.shape, spacing_mm=(0.5, 0.5, 0.5)))
    assert filled.labels[5, 5, 3] == 1 and np.all(filled.labels[5:7, 7:9, 12:14] == 2)
    assert filled.labels[2, 6, 12] == 0 and filled.voxels == 9
    assert filled.note.startswith("filled 9 unlabelled voxels (1.12 mm³) that the labels enclose")
    assert np.array_equal(labels[labels > 0], filled.labels[labels > 0])  # nothing labelled changes


def test_a_hole_open_to_the_image_face_is_not_enclosed() -> None:
    labels = np.ones((6, 6, 6), dtype=np.uint8)  # labels up to every face of the image
    labels[0:3, 3, 3] = 0  # a channel from the lowest face inwards
    labels[4, 3, 3] = 0  # a speck
    filled = fill_enclosed_holes(labels, ImageGeometry(labels.shape))
    assert np.all(filled.labels[0:3, 3, 3] == 0) and filled.labels[4, 3, 3] == 1 and filled.voxels == 1


def test_large_enclosed_regions_are_kept_and_named() -> None:
    labels = _box()
    labels[6:12, 6:12, 3:5] = 0  # 72 voxels enclosed in the left: more than 1 % of the labelled volume
    geometry = ImageGeometry(labels.shape, spacing_mm=(1.0, 1.0, 1.0), origin_mm=(-10.0, 0.0, 0.0))
    filled = fill_enclosed_holes(labels, geometry)
    assert filled.voxels == 0 and np.array_equal(filled.labels, labels)
    assert filled.note.startswith("kept 1 larger unlabelled region(s) that the labels enclose as tissue (72 mm³ at "
                                  "x, y, z = -7.0, 6.0, 6.0 mm (LPS)") and "check the labels there" in filled.note
    assert fill_enclosed_holes(labels, geometry, max_fraction=0.1).voxels == 72


def test_labels_without_holes_come_back_unchanged() -> None:
    labels = _box()
    filled = fill_enclosed_holes(labels, ImageGeometry(labels.shape))
    assert filled.labels is labels and filled.voxels == 0 and filled.note == ""
    empty = np.zeros((4, 4, 4), dtype=np.uint8)
    assert fill_enclosed_holes(empty, ImageGeometry(empty.shape)).note == ""
