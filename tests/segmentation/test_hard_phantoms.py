"""Acceptance on the hard phantom variants (features of clinical scans): Dice per variant at its own
voxel size, sinus and ethmoid air kept out of the nasal labels, outside air and masks never airway.

The variants are generated at their own voxel sizes (0.5 mm, or 0.5 x 0.5 x 1.5 mm); the
512 x 512 x 300 timing is in ``benchmarks/segmentation_hard.py``.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from rhinoapp.core.volume import AirwayLabel, CTVolume
from rhinoapp.phantom import HARD_VARIANTS, AirRegion, generate_phantom, variant_params
from rhinoapp.segmentation import SegmentationError, SegmentationOptions, segment_airway
from tests.phantom.cases import dice, phantom, segmentation

_LOG = logging.getLogger(__name__)

#: Quick ones at 1.5 mm slices run in the default selection; the others are marked slow.
_QUICK = ("thick-noisy", "clinical")


def _scores(variant: str) -> tuple[float, float, float, float]:
    p = phantom(variant)
    truth, labels = p.truth.labels, segmentation(variant).labels.labels
    true_airway = (truth > 0) & (truth < AirwayLabel.SINUS)
    nasal = (labels > 0) & (labels < AirwayLabel.SINUS)
    sinus_inside = int((nasal & (truth == AirwayLabel.SINUS)).sum()) / int(true_airway.sum())
    return (dice(true_airway, nasal), dice(truth == AirwayLabel.LEFT_CAVITY, labels == AirwayLabel.LEFT_CAVITY),
            dice(truth == AirwayLabel.RIGHT_CAVITY, labels == AirwayLabel.RIGHT_CAVITY), sinus_inside)


@pytest.mark.parametrize("variant", [pytest.param(v.value, marks=() if v.value in _QUICK else pytest.mark.slow)
                                     for v in HARD_VARIANTS])
def test_dice_and_sinus_air_on_every_hard_variant(variant: str) -> None:
    whole, left, right, sinus_inside = _scores(variant)
    _LOG.warning("%s: Dice %.4f, left %.4f, right %.4f, sinus in labels 1-3 %.2f %%", variant, whole, left, right,
                 100 * sinus_inside)
    assert whole >= 0.95 and left >= 0.90 and right >= 0.90
    assert sinus_inside <= 0.02
    regions, labels = phantom(variant).air_regions.labels, segmentation(variant).labels.labels
    assert not np.any((labels > 0) & np.isin(regions, (AirRegion.OUTSIDE, AirRegion.MASK)))
    # Other air (below the outlet) only within one slice of the outlet plane, as nasopharynx.
    assert not np.any((labels > 0) & (labels != AirwayLabel.NASOPHARYNX) & (regions == AirRegion.OTHER_AIR))


def test_the_cut_at_the_superior_edge_is_a_warning_that_says_where() -> None:
    result = segmentation("clinical")
    assert len(result.warnings) == 1 and "superior edge" in result.warnings[0]
    assert "left out of the airway" in result.warnings[0] and "mm (LPS)" in result.warnings[0]
    assert result.metadata()["warnings"] == list(result.warnings)
    # The cut cells are gone: nothing of the airway is on the top face.
    assert not result.labels.labels[-1].any()


def test_the_plain_phantom_has_no_warning() -> None:
    assert segment_airway(generate_phantom(variant_params("straight", spacing_mm=1.0)).ct).warnings == ()


def test_sinuses_kept_as_label_4_hold_the_ethmoid_cells() -> None:
    p = phantom("clinical")
    result = segment_airway(p.ct, SegmentationOptions(sinus_mode="keep"))
    kept = result.labels.labels == AirwayLabel.SINUS
    assert dice(kept, p.truth.labels == AirwayLabel.SINUS) > 0.5
    assert not np.any(kept & (p.air_regions.labels == AirRegion.MASK))


def test_masks_touching_a_cell_open_no_path_to_the_outside() -> None:
    """Without the mask detection the masked orbits would join an ethmoid cell to the outside air."""
    p = phantom("clinical")
    assert np.any(p.ct.hu == -1024)
    hu = p.ct.hu.copy()
    hu[p.air_regions.labels == AirRegion.MASK] = -1000  # the masks as plain air: outside air touching a cell
    result = segment_airway(CTVolume(hu, p.ct.geometry))
    assert dice(result.labels.labels == 1, p.truth.labels == 1) > 0.9


def test_a_refusal_at_an_edge_names_the_place_and_the_control() -> None:
    p = generate_phantom(variant_params("thick-noisy", field_of_view_mm=((-34.0, 34.0), (-28.0, 70.0),
                                                                          (-28.0, 50.0))))
    with pytest.raises(SegmentationError) as raised:
        segment_airway(p.ct)
    message = str(raised.value)
    assert "posterior edge" in message and "mm (LPS)" in message and "voxel i, j, k" in message
    assert "Set the outlet plane by hand" in message
