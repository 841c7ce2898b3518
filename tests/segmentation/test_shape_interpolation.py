"""Thick-slice label maps onto finer grids: shape-based interpolation against nearest-voxel sampling."""

from __future__ import annotations

import numpy as np

from rhinoapp.core.volume import ImageGeometry
from rhinoapp.segmentation.label_import import LabelMapping, imported_labels, resample_nearest
from rhinoapp.segmentation.shape_interpolation import is_coarser, isotropic_grid, shape_interpolated


def _ball(geometry: ImageGeometry, centre: tuple[float, float, float], radius: float, label: int) -> np.ndarray:
    nk, nj, ni = geometry.shape
    index = np.argwhere(np.ones(geometry.shape, dtype=bool))[:, ::-1]
    points = geometry.index_to_physical(index)
    inside = np.linalg.norm(points - np.asarray(centre), axis=1) <= radius
    return (inside.reshape(nk, nj, ni) * label).astype(np.uint8)


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * (a & b).sum() / (a.sum() + b.sum()))


FINE = ImageGeometry((48, 48, 48), spacing_mm=(0.5, 0.5, 0.5), origin_mm=(-12.0, -12.0, -12.0))
THICK = ImageGeometry((10, 48, 48), spacing_mm=(0.5, 0.5, 2.5), origin_mm=(-12.0, -12.0, -11.5))


def test_two_balls_from_thick_slices_come_back_closer_to_their_shape_than_by_nearest_voxel() -> None:
    truth = np.maximum(_ball(FINE, (-4.0, 0.0, 1.0), 6.5, 1), _ball(FINE, (5.0, 0.0, -2.0), 4.2, 2))
    thick = np.maximum(_ball(THICK, (-4.0, 0.0, 1.0), 6.5, 1), _ball(THICK, (5.0, 0.0, -2.0), 4.2, 2))
    assert is_coarser(THICK, FINE) and not is_coarser(FINE, FINE)
    shaped, nearest = shape_interpolated(thick, THICK, FINE), resample_nearest(thick, THICK, FINE)
    for label in (1, 2):
        by_shape, by_nearest = _dice(shaped == label, truth == label), _dice(nearest == label, truth == label)
        assert by_shape > by_nearest and by_shape > 0.9, (label, by_shape, by_nearest)
    # on the same grid it is the labels themselves
    assert np.array_equal(shape_interpolated(truth, FINE, FINE), truth)


def test_a_thick_label_map_is_interpolated_on_import_and_says_so() -> None:
    thick = np.maximum(_ball(THICK, (-4.0, 0.0, 1.0), 6.5, 7), _ball(THICK, (5.0, 0.0, -2.0), 4.2, 8))
    thick[0, 20:28, 20:28] = 9  # cut by the lower face
    imported = imported_labels(thick, THICK, FINE, LabelMapping.parse("7:left,8:right,9:nasopharynx"))
    labels, notes = imported.labels, imported.notes
    assert labels.count(1) > 0 and labels.count(2) > 0 and labels.count(3) > 0
    assert any("interpolated by shape" in note and "0.5 x 0.5 x 2.5 mm" in note for note in notes), notes
    notes = imported_labels(thick, THICK, THICK, LabelMapping.parse("7:left,8:right,9:nasopharynx")).notes
    assert not any("interpolated" in note for note in notes)


def test_an_isotropic_grid_keeps_labels_cut_by_the_label_maps_faces_on_its_own_faces() -> None:
    values = np.zeros(THICK.shape, dtype=np.uint8)
    values[:4, 10:30, 10:30] = 1  # from the lower face up
    grid = isotropic_grid(THICK, values)
    assert grid is not None and grid.spacing_mm == (0.5, 0.5, 0.5)
    resampled = shape_interpolated(values, THICK, grid)
    assert resampled[0].any()  # still cut by the lowest layer
    assert isotropic_grid(FINE, _ball(FINE, (0.0, 0.0, 0.0), 5.0, 1)) is None  # cubic voxels: kept as they are
