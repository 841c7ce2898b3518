"""The phantom: realistic values, correct anatomy and sides, analytic narrowing, variants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from rhinoapp.core.volume import AirwayLabel
from rhinoapp.phantom import AirRegion, Phantom, PhantomParams, generate_phantom, variant_params
from tests.phantom.cases import phantom


@pytest.fixture(scope="module")
def straight() -> Phantom:
    return phantom("straight")


def _centroid_x(p: Phantom, label: int) -> float:
    index = np.nonzero(p.truth.labels == label)
    return float(p.truth.geometry.index_to_physical(np.stack(index[::-1], axis=1)).mean(axis=0)[0])


def test_realistic_hounsfield_units(straight: Phantom) -> None:
    hu, truth, regions = straight.ct.hu, straight.truth.labels, straight.air_regions.labels
    assert hu.dtype == np.int16 and straight.ct.geometry.spacing_mm == (0.5, 0.5, 0.5)
    assert abs(np.median(hu[regions == AirRegion.OUTSIDE]) + 1000) < 20
    assert abs(np.median(hu[truth == AirwayLabel.LEFT_CAVITY]) + 1000) < 20
    tissue = hu[regions == AirRegion.TISSUE]
    assert 20 < np.median(tissue) < 70  # soft tissue
    assert (tissue > 600).sum() * 0.125 > 2000  # bone: palate, walls, septum, turbinates
    assert (tissue < -50).sum() * 0.125 > 1000  # fat under the skin of the cheeks
    interior = ndimage.binary_erosion(truth == AirwayLabel.NASOPHARYNX, iterations=3)
    assert 8 < np.std(hu[interior]) < 16  # noise


def test_anatomy_sizes_and_sides(straight: Phantom) -> None:
    volumes = {label: straight.truth.volume_ml(label) for label in AirwayLabel if label}
    assert 9 < volumes[AirwayLabel.LEFT_CAVITY] < 16 and 9 < volumes[AirwayLabel.RIGHT_CAVITY] < 16
    assert 5 < volumes[AirwayLabel.SINUS] < 12 and 8 < volumes[AirwayLabel.NASOPHARYNX] < 20
    assert _centroid_x(straight, AirwayLabel.LEFT_CAVITY) > 3 > -3 > _centroid_x(straight, AirwayLabel.RIGHT_CAVITY)
    left, right = straight.landmarks.nostrils_lps_mm
    assert left[0] > 0 > right[0]  # +x in LPS is the patient's left


def test_the_airway_is_one_piece_opening_only_at_the_nostrils(straight: Phantom) -> None:
    airway = straight.truth.labels > 0
    _, count = ndimage.label(airway)
    assert count == 1
    outside = straight.air_regions.labels == AirRegion.OUTSIDE
    touching = airway[1:] & outside[:-1]  # outside air right below an airway voxel
    z = straight.truth.geometry.index_to_physical([[0, 0, k] for k in np.nonzero(touching)[0] + 1])[:, 2]
    assert touching.sum() > 0 and np.allclose(z, -3.75)  # the nostrils, on the underside of the nose


@pytest.mark.slow
def test_the_narrowing_has_its_analytic_area() -> None:
    p = generate_phantom(variant_params("narrowing", noise_hu=0.0))
    spacing = p.truth.geometry.spacing_mm
    y0, y1 = (d + p.landmarks.nostrils_lps_mm[0][1] for d in p.landmarks.valve_distance_mm)
    origin_y = p.truth.geometry.origin_mm[1]
    rows = [j for j in range(p.truth.geometry.shape[1]) if y0 <= origin_y + j * spacing[1] <= y1]
    assert len(rows) >= 3
    for j in rows:
        area = np.count_nonzero(p.truth.labels[:, j, :] == AirwayLabel.LEFT_CAVITY) * spacing[0] * spacing[2]
        assert area == pytest.approx(math.pi * 2.0 * 4.0, rel=0.04)
    assert p.landmarks.valve_area_mm2 == pytest.approx(8 * math.pi)


def test_deviation_and_swelling_narrow_the_cavities(straight: Phantom) -> None:
    deviated, swollen = phantom("deviated"), phantom("swollen")
    left, right = AirwayLabel.LEFT_CAVITY, AirwayLabel.RIGHT_CAVITY
    assert deviated.truth.volume_ml(left) < straight.truth.volume_ml(left) - 0.5
    assert deviated.truth.volume_ml(right) > straight.truth.volume_ml(right) + 0.3
    assert swollen.truth.volume_ml(left) < straight.truth.volume_ml(left) - 0.5
    assert swollen.truth.volume_ml(left) == pytest.approx(swollen.truth.volume_ml(right))


def test_same_seed_same_volume_other_seed_other_noise() -> None:
    params = PhantomParams(spacing_mm=2.0)
    first, again = generate_phantom(params), generate_phantom(params)
    other = generate_phantom(params, seed=7)
    assert np.array_equal(first.ct.hu, again.ct.hu)
    assert not np.array_equal(first.ct.hu, other.ct.hu)
    assert np.array_equal(first.truth.labels, other.truth.labels)


def test_robustness_variants() -> None:
    cropped = generate_phantom(variant_params("nostrils-cropped", spacing_mm=1.0))
    assert cropped.truth.geometry.origin_mm[1] > 4.0  # the field of view starts behind the nostrils
    mouth = generate_phantom(variant_params("mouth-open", spacing_mm=1.0))
    assert (mouth.air_regions.labels == AirRegion.OTHER_AIR).sum() > 1000  # the oral cavity
    rotated = generate_phantom(variant_params("rotated", spacing_mm=1.0))
    left = np.asarray(rotated.landmarks.nostrils_lps_mm[0])
    expected = np.array([6.5 * math.cos(math.radians(10)) - (-8.5 - 30) * math.sin(math.radians(10)),
                         6.5 * math.sin(math.radians(10)) + (-8.5 - 30) * math.cos(math.radians(10)) + 30, -4.0])
    assert np.allclose(left, expected)
    thick = generate_phantom(variant_params("thick-slices"))
    assert thick.ct.geometry.spacing_mm == (0.5, 0.5, 1.5)
    assert thick.truth.volume_ml(AirwayLabel.LEFT_CAVITY) == pytest.approx(
        phantom("straight").truth.volume_ml(AirwayLabel.LEFT_CAVITY), rel=0.05)
