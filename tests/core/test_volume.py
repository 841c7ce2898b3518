"""ImageGeometry, CTVolume and LabelMap: the LPS convention and the validation rules."""

from __future__ import annotations

import numpy as np
import pytest

from rhinoapp.core.errors import RhinoappError, ValidationError
from rhinoapp.core.volume import AirwayLabel, CTVolume, ImageGeometry, LabelMap


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
