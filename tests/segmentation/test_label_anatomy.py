"""A label map's labels told from where they lie: the phantom variants' truth in any numbering, and no guess where
the places do not say it clearly."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from rhinoapp.core.volume import AirwayLabel, ImageGeometry
from rhinoapp.phantom import Phantom, generate_phantom, variant_params
from rhinoapp.phantom.params import PhantomVariant
from rhinoapp.segmentation.label_anatomy import FRONT_MM, MIN_LABEL_ML, label_contacts, mapping_from_anatomy
from rhinoapp.segmentation.label_import import LabelMapping, resample_nearest
from tests.segmentation.test_label_import import MAPPING, RENUMBER, other_grid

#: The truth's parts in another numbering: 4 left, 3 right, 5 nasopharynx, 1 sinus (as a data set may number them).
EXPECTED = LabelMapping.parse(MAPPING).as_dict()


@functools.cache
def phantom(variant: str) -> Phantom:
    return generate_phantom(variant_params(variant, spacing_mm=1.0, noise_hu=0.0))


@pytest.mark.parametrize("variant", [v.value for v in PhantomVariant])
def test_every_phantom_variants_truth_renumbered_maps_itself(variant: str) -> None:
    """Rotated heads, nostrils at the image's edge, an open mouth, thick slices, a cut ethmoid: the same mapping."""
    truth = phantom(variant).truth
    mapping = mapping_from_anatomy(RENUMBER[truth.labels], truth.geometry)
    assert mapping is not None and mapping.as_dict() == EXPECTED


def test_a_flipped_grid_of_other_voxels_says_the_same_and_a_single_label_is_the_whole_airway() -> None:
    truth = phantom("straight").truth
    grid = other_grid(flipped=True)  # x runs to the patient's right: the left cavity has the smaller index
    values = resample_nearest(RENUMBER[truth.labels], truth.geometry, grid)
    assert mapping_from_anatomy(values, grid).as_dict() == EXPECTED
    airway = np.where(np.isin(truth.labels, [1, 2, 3]), 6, 0)
    assert mapping_from_anatomy(airway, truth.geometry).as_dict() == {"6": "airway"}


def test_specks_are_left_out_and_unclear_places_give_no_guess() -> None:
    truth = phantom("straight").truth
    values = RENUMBER[truth.labels].copy()
    values[0, 0, 0] = 8  # a speck in a corner: neither a part nor a sinus
    assert 1000 * MIN_LABEL_ML > truth.geometry.voxel_volume_mm3
    assert mapping_from_anatomy(values, truth.geometry).as_dict() == EXPECTED
    cavities = np.where(np.isin(values, [3, 4]), values, 0)  # no nasopharynx behind them
    assert mapping_from_anatomy(cavities, truth.geometry) is None
    both = np.where(np.isin(values, [3, 4]), 2, values)  # both cavities one label, and the nasopharynx: not side by side
    assert mapping_from_anatomy(both, truth.geometry) is None
    # the nasopharynx cut in two along the midline: no label behind the cavities touches both
    halves = values.copy()
    pharynx = values == 5
    columns = np.arange(values.shape[2])
    x = truth.geometry.index_to_physical(np.stack([columns, 0 * columns, 0 * columns], axis=1))[:, 0]
    centre = truth.geometry.index_to_physical(np.argwhere(pharynx)[:, ::-1])[:, 0].mean()
    halves[pharynx & (x < centre)] = 6
    assert sorted(int(v) for v in np.unique(halves) if v) == [1, 3, 4, 5, 6, 8]
    assert mapping_from_anatomy(halves, truth.geometry) is None


def test_label_contacts_are_face_neighbours_of_different_labels() -> None:
    values = np.zeros((3, 3, 3), dtype=np.int16)
    values[1, 1, 0], values[1, 1, 1], values[2, 2, 2] = 1, 2, 3  # 3 touches 2 only across an edge: no contact
    assert label_contacts(values) == {(1, 2)}
    truth = phantom("straight").truth
    assert {(int(AirwayLabel.LEFT_CAVITY), int(AirwayLabel.NASOPHARYNX)),
            (int(AirwayLabel.RIGHT_CAVITY), int(AirwayLabel.NASOPHARYNX))} <= label_contacts(truth.labels)


def test_a_small_grid_geometry_is_read_in_millimetres() -> None:
    """The places are in LPS millimetres: cavities 3 mm apart across on a 0.5 mm grid are not side by side."""
    values = np.zeros((20, 40, 30), dtype=np.uint8)
    values[5:15, 2:25, 17:20] = 7
    values[5:15, 2:25, 11:14] = 9
    values[4:16, 25:35, 11:20] = 2
    coarse, fine = ImageGeometry(values.shape), ImageGeometry(values.shape, spacing_mm=(0.5, 0.5, 0.5))
    assert mapping_from_anatomy(values, coarse).text() == "2:nasopharynx,7:left,9:right"
    assert mapping_from_anatomy(values, fine) is None  # 6 voxels apart: 6 mm, then 3 mm across


def test_a_box_of_air_drawn_in_front_of_the_nose_is_left_out() -> None:
    """An inlet box over the nostrils (as some data sets label the air the nose breathes from) reaches 14 mm
    further forward than the cavities and touches both: the cavities are still the front-most pair, and the box
    is left out rather than taken for a sinus."""
    straight = phantom("straight")
    truth = straight.truth
    values = RENUMBER[truth.labels].copy()
    k, j, i = np.indices(values.shape)
    points = truth.geometry.index_to_physical(np.stack([i.ravel(), j.ravel(), k.ravel()], axis=1))
    y, z = (points[:, axis].reshape(values.shape) for axis in (1, 2))
    nostril_y = max(point[1] for point in straight.landmarks.nostrils_lps_mm)
    nostril_z = min(point[2] for point in straight.landmarks.nostrils_lps_mm)
    cavities = np.isin(values, [3, 4])
    bottom = np.array([z[cavities & (values == label)].min() for label in (3, 4)]).max()
    box = (values == 0) & (y <= nostril_y + 4) & (y >= y[cavities].min() - 25) & (z <= bottom + 1.5) \
        & (z >= nostril_z - 20)
    values[box] = 7
    assert {(3, 7), (4, 7)} <= label_contacts(values)  # the box touches both cavities at their nostrils
    assert y[values == 7].min() < y[cavities].min() - FRONT_MM  # and reaches far in front of them (to the image's face)
    assert mapping_from_anatomy(values, truth.geometry).as_dict() == EXPECTED


@pytest.mark.parametrize("rotation_deg", [(20.0, 0.0, 0.0), (-20.0, 0.0, 0.0), (0.0, 20.0, 0.0), (0.0, 0.0, 20.0),
                                          (15.0, 10.0, 10.0), (20.0, 20.0, 20.0)])
def test_a_head_tilted_in_the_scanner_maps_itself(rotation_deg: tuple[float, float, float]) -> None:
    """Tilted 20 degrees forward, the maxillary sinus reaches as far forward as the cavities and, with the nasopharynx
    touching both, a cavity and the sinus beside it looked like a pair of cavities too: no guess. The cavities are the
    pair most side by side (their centres least apart along and up for their distance across)."""
    truth = generate_phantom(variant_params("clinical", spacing_mm=1.0, noise_hu=0.0, rotation_deg=rotation_deg)).truth
    mapping = mapping_from_anatomy(RENUMBER[truth.labels], truth.geometry)
    assert mapping is not None and mapping.as_dict() == EXPECTED
