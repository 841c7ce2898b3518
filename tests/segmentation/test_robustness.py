"""Robustness: a right airway or a clear error, never outside (or oral) air counted as airway."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from rhinoapp.core.volume import AirwayLabel
from rhinoapp.phantom import AirRegion, Phantom, generate_phantom, variant_params
from rhinoapp.segmentation import AirwaySegmentation, Plane, SegmentationError, SegmentationOptions, segment_airway
from tests.phantom.cases import dice, phantom, segmentation

_LOG = logging.getLogger(__name__)


def _check(p: Phantom, result: AirwaySegmentation, minimum: float) -> None:
    truth, labels, regions = p.truth.labels, result.labels.labels, p.air_regions.labels
    assert not np.any((labels > 0) & (regions == AirRegion.OUTSIDE))
    if p.params.rotation_deg[:2] == (0.0, 0.0):
        assert not np.any((labels > 0) & (regions == AirRegion.OTHER_AIR))
    else:  # the phantom's outlet tilts with the head, the segmentation's stays axial: only pharynx may differ
        assert not np.any((labels > 0) & (labels != AirwayLabel.NASOPHARYNX) & (regions == AirRegion.OTHER_AIR))
    scores = [dice((truth > 0) & (truth < AirwayLabel.SINUS), labels > 0)]
    scores += [dice(truth == side, labels == side) for side in (AirwayLabel.LEFT_CAVITY, AirwayLabel.RIGHT_CAVITY)]
    _LOG.warning("Dice %s: %s", p.params, ", ".join(f"{s:.4f}" for s in scores))
    assert min(scores) >= minimum


def test_nostrils_cropped_out_is_a_clear_error() -> None:
    with pytest.raises(SegmentationError, match="nostrils are cropped out"):
        segment_airway(phantom("nostrils-cropped").ct)


@pytest.mark.slow
def test_mouth_open() -> None:
    p = phantom("mouth-open")
    _check(p, segmentation("mouth-open"), 0.97)
    with pytest.raises(SegmentationError, match="opens to the outside air"):
        segment_airway(p.ct, SegmentationOptions(outlet_plane=Plane((0, 74, -24), (0, 0, -1))))


@pytest.mark.slow
@pytest.mark.parametrize(("variant", "minimum"), [("thick-slices", 0.95), ("anisotropic", 0.95), ("rotated", 0.95)])
def test_other_grids_and_a_rotated_head(variant: str, minimum: float) -> None:
    _check(phantom(variant), segmentation(variant), minimum)


@pytest.mark.slow
def test_head_tilted_about_all_three_axes() -> None:
    p = generate_phantom(variant_params("straight", rotation_deg=(8.0, 6.0, 8.0), spacing_mm=0.6))
    _check(p, segment_airway(p.ct), 0.95)


@pytest.mark.slow
def test_threshold_range_of_the_literature() -> None:
    p = phantom("straight")
    volumes = []
    for threshold in (-800, -300):
        result = segment_airway(p.ct, SegmentationOptions(threshold_hu=threshold))
        _check(p, result, 0.95)
        volumes.append(result.volume_ml(AirwayLabel.LEFT_CAVITY))
    assert volumes[0] < volumes[1]


def test_a_volume_without_a_nose() -> None:
    p = phantom("straight")
    hu = p.ct.hu.copy()
    hu[hu < -400] = 40  # all air filled with tissue
    from rhinoapp.core.volume import CTVolume

    with pytest.raises(SegmentationError, match="no pair of nostrils"):
        segment_airway(CTVolume(hu, p.ct.geometry))


@pytest.mark.slow
def test_any_storage_order_gives_the_same_airway() -> None:
    from rhinoapp.core.volume import CTVolume, ImageGeometry

    p = phantom("thick-slices")
    grid = p.ct.geometry
    far = grid.index_to_physical(np.array(grid.shape[::-1]) - 1)
    reversed_grid = ImageGeometry(grid.shape, grid.spacing_mm, tuple(far), direction=(-1, 0, 0, 0, -1, 0, 0, 0, -1))
    result = segment_airway(CTVolume(np.ascontiguousarray(p.ct.hu[::-1, ::-1, ::-1]), reversed_grid))
    assert np.array_equal(result.labels.labels[::-1, ::-1, ::-1], segmentation("thick-slices").labels.labels)
    assert result.inlet_left.plane == segmentation("thick-slices").inlet_left.plane
