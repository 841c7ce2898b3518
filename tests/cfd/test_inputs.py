"""Flow domains from label maps and from the folder `rhinoapp segment` writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rhinoapp.cfd.domain import Opening
from rhinoapp.cfd.inputs import (OpeningPlane, domain_from_labels, read_geometry_dir, read_label_nifti,
                                 write_label_nifti)
from rhinoapp.cfd.shapes import two_channel_labels
from rhinoapp.core.errors import ValidationError
from rhinoapp.core.volume import AirwayLabel, ImageGeometry, LabelMap


def test_nifti_round_trip_converts_ras_to_lps(tmp_path: Path) -> None:
    import nibabel

    labels = two_channel_labels(2.0)
    path = write_label_nifti(tmp_path / "labels.nii.gz", labels)
    affine = nibabel.load(str(path)).affine
    assert np.allclose(affine, labels.geometry.affine_ras)  # other tools read RAS
    back = read_label_nifti(path)
    assert np.array_equal(back.labels, labels.labels)
    assert back.geometry.origin_mm == labels.geometry.origin_mm
    assert np.allclose(back.geometry.direction_matrix, np.eye(3))
    point = back.geometry.index_to_physical((3, 4, 5))
    assert np.allclose(point, labels.geometry.index_to_physical((3, 4, 5)))


def test_oblique_nifti_keeps_its_orientation(tmp_path: Path) -> None:
    direction = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    geometry = ImageGeometry((3, 4, 5), (0.5, 0.8, 1.0), (1.0, 2.0, 3.0), tuple(direction.ravel()))
    labels = LabelMap(np.arange(60, dtype=np.uint8).reshape(3, 4, 5) % 4, geometry)
    back = read_label_nifti(write_label_nifti(tmp_path / "l.nii.gz", labels))
    assert np.allclose(back.geometry.direction_matrix, direction)
    assert np.allclose(back.geometry.spacing_mm, (0.5, 0.8, 1.0)) and np.array_equal(back.labels, labels.labels)


def test_automatic_openings_are_the_outer_layers() -> None:
    labels = two_channel_labels(2.0)
    domain = domain_from_labels(labels)
    for opening in Opening:
        assert domain.touches(opening)
    assert np.all(np.nonzero(domain.inlet_left)[1] == 0)  # anterior face, j = 0
    assert np.all(np.nonzero(domain.outlet)[0] == 0)  # inferior face, k = 0
    assert np.all(labels.labels[domain.inlet_left] == AirwayLabel.LEFT_CAVITY)


def test_planes_cut_the_airway() -> None:
    labels = two_channel_labels(2.0)
    geometry = labels.geometry
    outlet_z = geometry.origin_mm[2] + 6.0  # 3 voxels up from the bottom
    planes = {Opening.OUTLET: OpeningPlane((0.0, 80.0, outlet_z), (0.0, 0.0, -1.0))}
    domain = domain_from_labels(labels, planes=planes)
    z = geometry.index_to_physical(np.argwhere(domain.outlet)[:, ::-1])[:, 2]
    assert np.allclose(z, z[0]) and abs(z[0] - outlet_z) <= 1.0
    fluid_z = geometry.index_to_physical(np.argwhere(domain.fluid)[:, ::-1])[:, 2]
    assert fluid_z.min() > z[0]


def test_missing_label_is_named() -> None:
    labels = two_channel_labels(2.0)
    values = labels.labels.copy()
    values[values == AirwayLabel.NASOPHARYNX] = AirwayLabel.RIGHT_CAVITY
    with pytest.raises(ValidationError, match="no nasopharynx voxels.*outlet.*its labels: 1, 2: check the segmentation"):
        domain_from_labels(LabelMap(values, labels.geometry))


@pytest.mark.parametrize(("numbering", "found"), [([0, 4, 3, 5, 1], "3, 4, 5"), ([0, 1, 1, 1, 0], "1"),
                                                  ([0, 255, 255, 255, 0], "255")])
def test_a_label_map_numbered_otherwise_is_pointed_to_the_import(numbering: list[int], found: str) -> None:
    """A data set's own numbering, a binary mask or a 0/255 mask given as a geometry folder's labels: the message
    names the labels found, rhinoapp's numbering and the import that maps them."""
    labels = two_channel_labels(2.0)
    values = np.array(numbering, dtype=np.uint8)[labels.labels]
    with pytest.raises(ValidationError) as refused:
        domain_from_labels(LabelMap(values, labels.geometry))
    message = str(refused.value)
    assert f"its labels: {found}. " in message and "1 left cavity, 2 right cavity, 3 nasopharynx" in message
    assert "--from-labels FILE --map" in message and "--map 1:airway" in message


def test_geometry_folder_as_segment_writes_it(tmp_path: Path) -> None:
    labels = two_channel_labels(2.0)
    write_label_nifti(tmp_path / "labels.nii.gz", labels)
    meta = {"format": "rhinoapp-geometry/1",
            "inlets": {"left": {"point_lps_mm": [8.5, 1.0, -8.0], "normal_lps": [0, -1, 0], "area_mm2": 50.0},
                       "right": {"point_lps_mm": [-8.5, 1.0, -8.0], "normal_lps": [0, -1, 0]}},
            "outlet": {"point_lps_mm": [0.0, 78.0, -29.0], "normal_lps": [0, 0, -1]}}
    (tmp_path / "geometry.json").write_text(json.dumps(meta))
    read, planes = read_geometry_dir(tmp_path)
    assert set(planes) == set(Opening) and planes[Opening.OUTLET].normal == (0.0, 0.0, -1.0)
    domain = domain_from_labels(read, planes=planes)
    assert all(domain.touches(o) for o in Opening)
    (tmp_path / "geometry.json").write_text('{"inlets": {"left": {"point": [1, 2, 3]}}}')
    with pytest.raises(ValidationError, match="unusable opening planes"):
        read_geometry_dir(tmp_path)
    with pytest.raises(ValidationError, match="no labels.nii.gz"):
        read_geometry_dir(tmp_path / "nothing")
