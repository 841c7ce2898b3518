"""The real head CTs of the workplace (``../shared/data/ct`` beside the project root): each ends in a
result or a specific message. Skipped, with the folder's own reason, where the folder is absent."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from rhinoapp.segmentation import SegmentationError, segment_airway

_ROOT = Path(__file__).resolve().parents[2]
_CT = Path(os.environ.get("RHINOAPP_REAL_CT_DIR", _ROOT.parent / "shared" / "data" / "ct"))
_REASON = (f"{_CT} is absent: the real CT scans are for robustness checks in the rhinoapp workplace only "
           "(see its NOTICE.md); a clone elsewhere does not have them")

pytestmark = pytest.mark.skipif(not (_CT / "NOTICE.md").is_file(), reason=_REASON)


def test_the_cadaver_nose_is_blocked_and_the_message_says_where() -> None:
    from rhinoapp.volumes.io import read_volume

    volume = read_volume(_CT / "vhf-cadaver-head" / "nasal_crop_ct.nrrd")
    with pytest.raises(SegmentationError) as raised:
        segment_airway(volume)
    message = str(raised.value)
    assert "no pair of nostrils" not in message
    assert "nasal passages are blocked" in message
    assert message.count("mm (LPS)") >= 2 and "voxel i, j, k" in message
    assert "Air threshold (HU)" in message


def test_the_tilted_uneven_stack_is_resampled_or_refused_by_name_and_then_segmented_or_explained() -> None:
    from rhinoapp.dicom import Deidentifier, SeriesError, TiltPolicy, assemble_volume, load_upload

    blobs = [path.read_bytes() for path in sorted((_CT / "ge-tilted-head").glob("*.dcm"))]
    loaded = load_upload(blobs, deidentifier=Deidentifier(b"k" * 16))
    assert len(loaded.series) == 1
    with pytest.raises(SeriesError) as refused:  # refused by default: the message names the problems and the option
        assemble_volume(loaded.series[0])
    message = str(refused.value)
    assert "missing slices" not in message
    assert "uneven slice spacing: 4.00 mm (13 steps), then 1.08 mm, then 7.00 mm (13 steps)" in message
    assert "gantry tilt of 18.5 degrees" in message and "--tilt resample" in message
    assembled = assemble_volume(loaded.series[0], tilt=TiltPolicy.RESAMPLE)
    assert assembled.report.resampled and assembled.volume.geometry.spacing_mm[2] == pytest.approx(4.0, abs=0.01)
    [warning] = assembled.report.warnings
    assert "interpolated, not measured" in warning and "7.00 mm apart" in warning
    # Only the lowest slices, 4 mm apart, hold the nose, and the lowest one already cuts the nasal cavity.
    with pytest.raises(SegmentationError) as raised:
        segment_airway(assembled.volume)
    message = str(raised.value)
    assert message.startswith("the scan does not cover the nose well enough for a simulation")
    assert "4.00 mm apart" in message and "nostrils and the nasal floor lie below the scan" in message
    assert re.search(r"mm \(LPS\), voxel i, j, k = \d+, \d+, 0\)", message), message  # where: on the lowest slice
