"""ImageGeometry, CTVolume and LabelMap: the LPS convention and the validation rules."""

from __future__ import annotations

import numpy as np
import pytest

from rhinoapp.core.errors import RhinoappError, ValidationError
from rhinoapp.core.volume import (
    LPS_RAS_SIGNS,
    AirwayLabel,
    CTVolume,
    ImageGeometry,
    LabelMap,
    lps_ras_affine,
)


def test_index_to_physical_follows_direction_columns() -> None:
    # i runs towards the patient's right (-x), j posterior (+y), k inferior (-z).
    direction = np.array([[-1, 0, 0], [0, 1, 0], [0, 0, -1]], dtype=float)
    g = ImageGeometry((4, 5, 6), spacing_mm=(0.5, 0.8, 2.0), origin_mm=(10, 20, 30), direction=direction.ravel())
    assert g.index_to_physical((2, 1, 3)).tolist() == pytest.approx([9.0, 20.8, 24.0])
    points = np.array([[0, 0, 0], [5, 4, 3], [1.5, 2.5, 0.5]])
    assert np.allclose(g.physical_to_index(g.index_to_physical(points)), points)
    assert np.allclose(g.affine_lps @ [2, 1, 3, 1], [9.0, 20.8, 24.0, 1])
    assert np.allclose(g.affine_ras @ [2, 1, 3, 1], [-9.0, -20.8, 24.0, 1])


def test_geometry_normalises_and_reports() -> None:
    g = ImageGeometry([2, 3, 4], spacing_mm=[1, 2, 3])
    assert g.shape == (2, 3, 4) and g.spacing_mm == (1.0, 2.0, 3.0)
    assert g.voxel_volume_mm3 == 6.0 and g.extent_mm == (4.0, 6.0, 6.0)
    assert g.as_dict()["shape_kji"] == [2, 3, 4]
    assert g.with_shape((1, 1, 1)).spacing_mm == g.spacing_mm


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"shape": (0, 2, 2)}, "three positive dimensions"),
    ({"shape": (2, 2)}, "three positive dimensions"),
    ({"shape": (2, 2, 2), "spacing_mm": (1, 0, 1)}, "spacing must be positive"),
    ({"shape": (2, 2, 2), "origin_mm": (1, 2)}, "origin_mm needs three"),
    ({"shape": (2, 2, 2), "direction": (1, 1, 0, 0, 1, 0, 0, 0, 1)}, "orthonormal"),
    ({"shape": (2, 2, 2), "direction": (1, 0, 0, 0, 1, 0)}, "3x3"),
])
def test_geometry_rejects_bad_values(kwargs: dict, fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment) as info:
        ImageGeometry(**kwargs)
    assert isinstance(info.value, RhinoappError) and isinstance(info.value, ValueError)


def test_volume_and_labels_check_their_arrays() -> None:
    g = ImageGeometry((2, 2, 2), spacing_mm=(0.5, 0.5, 0.5))
    labels = np.zeros((2, 2, 2), dtype=np.uint8)
    labels[0] = AirwayLabel.RIGHT_CAVITY
    label_map = LabelMap(labels, g)
    assert label_map.count(AirwayLabel.RIGHT_CAVITY) == 4
    assert label_map.volume_ml(AirwayLabel.RIGHT_CAVITY) == pytest.approx(4 * 0.125 / 1000)
    with pytest.raises(ValidationError, match="shape"):
        CTVolume(np.zeros((2, 2, 3)), g)
    with pytest.raises(ValidationError, match="integers"):
        LabelMap(np.zeros((2, 2, 2)), g)
    with pytest.raises(ValidationError, match="numpy array"):
        CTVolume([[[0]]], ImageGeometry((1, 1, 1)))  # type: ignore[arg-type]


def test_lps_ras_conversion_is_its_own_inverse_and_negates_x_and_y() -> None:
    geometry = ImageGeometry((3, 4, 5), (0.5, 0.6, 2.0), (10.0, -20.0, 30.0), (0, -1, 0, 1, 0, 0, 0, 0, 1))
    ras = geometry.affine_ras
    assert np.array_equal(ras[:3], geometry.affine_lps[:3] * np.asarray(LPS_RAS_SIGNS)[:, None])
    assert ras[:3, 3].tolist() == [-10.0, 20.0, 30.0] and ras[3].tolist() == [0.0, 0.0, 0.0, 1.0]
    assert np.array_equal(lps_ras_affine(ras), geometry.affine_lps)
    assert lps_ras_affine(ras[:3]).shape == (3, 4)  # a 3x4 affine too
    point_lps = geometry.index_to_physical((1, 2, 1))
    assert np.allclose(ras @ [1, 2, 1, 1], [*(point_lps * LPS_RAS_SIGNS), 1.0])
    with pytest.raises(ValidationError):
        lps_ras_affine(np.eye(3))


def test_geometry_from_an_affine_round_trips_and_refuses_shear() -> None:
    geometry = ImageGeometry((3, 4, 5), (0.5, 0.6, 2.0), (10.0, -20.0, 30.0), (0, -1, 0, 1, 0, 0, 0, 0, 1))
    back = ImageGeometry.from_affine_lps(geometry.affine_lps, geometry.shape)
    assert back.shape == geometry.shape and np.allclose(back.spacing_mm, geometry.spacing_mm)
    assert np.allclose(back.origin_mm, geometry.origin_mm) and np.allclose(back.direction, geometry.direction)
    sheared = np.eye(4)
    sheared[0, 1] = 0.5
    with pytest.raises(ValidationError, match="sheared"):
        ImageGeometry.from_affine_lps(sheared, (2, 2, 2))
    flat = np.eye(4)
    flat[2, 2] = 0.0
    with pytest.raises(ValidationError, match="zero-length"):
        ImageGeometry.from_affine_lps(flat, (2, 2, 2))
