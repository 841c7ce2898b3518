"""The real head CTs of the workplace (``../shared/data/ct`` beside the project root): each ends in a
result or a specific message. Skipped, with the folder's own reason, where the folder is absent."""

from __future__ import annotations

import os
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
    for policy in TiltPolicy:
        try:
            assembled = assemble_volume(loaded.series[0], tilt=policy)
        except SeriesError as error:  # refused: the message names the problem and what to do
            message = str(error)
            assert any(word in message for word in ("tilt", "gap", "spacing")), message
            assert any(word in message for word in ("resample", "Export", "choose")), message
            continue
        try:
            result = segment_airway(assembled.volume)
        except SegmentationError as error:
            assert "mm (LPS)" in str(error) or "nostrils" in str(error), str(error)
        else:
            assert result.volume_ml(1) > 0 and result.volume_ml(2) > 0
