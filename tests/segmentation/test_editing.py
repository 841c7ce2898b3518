"""Label-map edits: the sphere brush on anisotropic voxels, region edits, cut planes, crop, exact undo and redo."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rhinoapp.core.errors import RhinoappError, ValidationError
from rhinoapp.core.volume import ImageGeometry
from rhinoapp.segmentation.editing import (
    Crop,
    CutPosterior,
    CutSuperior,
    Erase,
    KeepRegion,
    Paint,
    RemoveRegion,
    edit_from_dict,
    edit_to_dict,
    plan_edit,
    voxel_at,
)

# i (x) 0.4 mm, j (y) 0.8 mm, k (z) 2.0 mm
ANISOTROPIC = ImageGeometry((20, 40, 60), spacing_mm=(0.4, 0.8, 2.0), origin_mm=(-10.0, 5.0, -20.0))


def centres(geometry: ImageGeometry) -> np.ndarray:
    k, j, i = np.indices(geometry.shape)
    return geometry.index_to_physical(np.stack([i, j, k], axis=-1))


def test_paint_fills_a_sphere_in_millimetres_on_anisotropic_voxels() -> None:
    labels = np.zeros(ANISOTROPIC.shape, np.uint8)
    point, radius = (1.3, 20.1, 0.4), 3.0
    change = plan_edit(labels, ANISOTROPIC, Paint(point, radius, 2))
    change.apply(labels)
    inside = np.linalg.norm(centres(ANISOTROPIC) - np.asarray(point), axis=-1) <= radius
    assert np.array_equal(labels == 2, inside)
    # the block held for undo is the sphere's bounding box, not the volume: radius / spacing per axis
    assert [s.stop - s.start for s in change.box] == [3, 7, 15]
    assert change.before.shape == change.after.shape == tuple(s.stop - s.start for s in change.box)
    assert change.changed == int(inside.sum())


def test_erase_clears_only_the_sphere_and_the_brush_is_clipped_at_the_edge() -> None:
    labels = np.ones(ANISOTROPIC.shape, np.uint8)
    corner = tuple(ANISOTROPIC.index_to_physical((0, 0, 0)))
    change = plan_edit(labels, ANISOTROPIC, Erase(corner, 2.1))
    change.apply(labels)
    inside = np.linalg.norm(centres(ANISOTROPIC) - np.asarray(corner), axis=-1) <= 2.1
    assert np.array_equal(labels == 0, inside) and all(s.start == 0 for s in change.box)
    assert plan_edit(labels, ANISOTROPIC, Erase((500.0, 0.0, 0.0), 2.0)) is None  # outside the image: nothing


def two_blobs() -> np.ndarray:
    labels = np.zeros(ANISOTROPIC.shape, np.uint8)
    labels[2:6, 5:15, 5:20] = 1
    labels[2:6, 5:15, 30:50] = 2  # a separate blob
    labels[10:12, 20:25, 5:10] = 4  # and a third one
    return labels


def test_remove_region_removes_the_connected_airway_under_the_point() -> None:
    labels = two_blobs()
    point = tuple(ANISOTROPIC.index_to_physical((40, 10, 3)))  # inside blob 2
    change = plan_edit(labels, ANISOTROPIC, RemoveRegion(point))
    change.apply(labels)
    assert not (labels == 2).any() and (labels == 1).sum() == 4 * 10 * 15 and (labels == 4).sum() == 2 * 5 * 5
    assert change.box == (slice(2, 6), slice(5, 15), slice(30, 50))


def test_keep_region_keeps_only_the_connected_airway_under_the_point() -> None:
    labels = two_blobs()
    plan_edit(labels, ANISOTROPIC, KeepRegion(tuple(ANISOTROPIC.index_to_physical((10, 10, 3))))).apply(labels)
    assert set(np.unique(labels)) == {0, 1} and (labels == 1).sum() == 4 * 10 * 15


def test_region_edits_refuse_a_point_on_background_and_say_what_to_do() -> None:
    labels = two_blobs()
    with pytest.raises(ValidationError, match="click inside a coloured airway region") as caught:
        plan_edit(labels, ANISOTROPIC, RemoveRegion(tuple(ANISOTROPIC.index_to_physical((0, 0, 0)))))
    assert isinstance(caught.value, RhinoappError)
    with pytest.raises(ValidationError, match="outside the image"):
        plan_edit(labels, ANISOTROPIC, KeepRegion((999.0, 0.0, 0.0)))


def test_cut_planes_remove_the_airway_above_and_behind_the_limits() -> None:
    labels = np.ones(ANISOTROPIC.shape, np.uint8)
    points = centres(ANISOTROPIC)
    superior = labels.copy()
    plan_edit(superior, ANISOTROPIC, CutSuperior(-3.0)).apply(superior)
    assert np.array_equal(superior == 0, points[..., 2] > -3.0)
    posterior = labels.copy()
    plan_edit(posterior, ANISOTROPIC, CutPosterior(20.0)).apply(posterior)
    assert np.array_equal(posterior == 0, points[..., 1] > 20.0)


def test_cut_planes_follow_lps_on_a_flipped_grid() -> None:
    flipped = ImageGeometry((10, 8, 6), (1.0, 1.0, 1.5), (0.0, 0.0, 10.0), (1, 0, 0, 0, -1, 0, 0, 0, -1))
    labels = np.ones(flipped.shape, np.uint8)
    plan_edit(labels, flipped, CutSuperior(4.0)).apply(labels)
    assert np.array_equal(labels == 0, centres(flipped)[..., 2] > 4.0)


def test_crop_keeps_the_box() -> None:
    labels = np.full(ANISOTROPIC.shape, 3, np.uint8)
    box = ((-5.0, 5.0), (10.0, 25.0), (-15.0, 0.0))
    plan_edit(labels, ANISOTROPIC, Crop(box)).apply(labels)
    points = centres(ANISOTROPIC)
    inside = np.ones(ANISOTROPIC.shape, bool)
    for axis, (low, high) in enumerate(box):
        inside &= (points[..., axis] >= low) & (points[..., axis] <= high)
    assert np.array_equal(labels == 3, inside) and inside.any()


def test_undo_and_redo_of_a_sequence_round_trip_exactly() -> None:
    labels = two_blobs()
    rng = np.random.default_rng(3)
    labels[rng.random(labels.shape) < 0.05] = 3  # speckle: many small regions
    original = labels.copy()
    def first_airway_point() -> tuple[float, ...]:
        k, j, i = (int(a[0]) for a in np.nonzero(labels))
        return tuple(ANISOTROPIC.index_to_physical((i, j, k)))

    edits = [lambda: Paint((0.0, 15.0, -10.0), 4.0, 1), lambda: Erase((2.0, 12.0, -14.0), 2.5),
             lambda: RemoveRegion(tuple(ANISOTROPIC.index_to_physical((5, 20, 10)))),  # blob 4 (and speckle on it)
             lambda: CutSuperior(0.0), lambda: CutPosterior(30.0), lambda: Crop(((-8.0, 10.0), (6.0, 30.0), (-20.0, 10.0))),
             lambda: KeepRegion(tuple(ANISOTROPIC.index_to_physical((10, 10, 3)))),  # blobs 1 and 2 joined by the paint
             lambda: RemoveRegion(first_airway_point())]
    changes, states = [], []
    for make in edits:
        edit = make()
        change = plan_edit(labels, ANISOTROPIC, edit)
        assert change is not None, edit
        change.apply(labels)
        changes.append(change)
        states.append(labels.copy())
    for change, state in zip(reversed(changes), reversed(states)):
        assert np.array_equal(labels, state)
        change.revert(labels)
    assert np.array_equal(labels, original)
    for change, state in zip(changes, states):
        change.apply(labels)
        assert np.array_equal(labels, state)


def test_edits_are_json_ready_values() -> None:
    edits = [Paint((1, 2, 3), 2, 4), Erase((1, 2, 3), 1.5), RemoveRegion((0, 0, 0)), KeepRegion((0, 1, 0)),
             CutSuperior(12), CutPosterior(-3.5), Crop(((0, 1), (2, 3), (4, 5)))]
    stored = json.loads(json.dumps([edit_to_dict(e) for e in edits]))
    assert [edit_from_dict(d) for d in stored] == edits
    assert stored[0] == {"op": "paint", "point_mm": [1.0, 2.0, 3.0], "radius_mm": 2.0, "label": 4}


@pytest.mark.parametrize("bad", [lambda: Paint((0, 0, 0), 2, 7), lambda: Erase((0, 0, 0), 0),
                                 lambda: Erase((0, float("nan"), 0), 1), lambda: Crop(((1, 0), (0, 1), (0, 1))),
                                 lambda: edit_from_dict({"op": "erase", "point_mm": [0, 0, 0]})])
def test_bad_edits_are_refused_with_a_fix(bad) -> None:
    with pytest.raises(ValidationError):
        bad()


def test_voxel_at_rounds_to_the_containing_voxel() -> None:
    assert voxel_at(ANISOTROPIC, ANISOTROPIC.index_to_physical((7, 3, 2)) + 0.15) == (2, 3, 7)
