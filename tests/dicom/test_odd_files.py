"""Odd and hostile inputs: pydicom's odd files, truncated files, unsafe zips, empty uploads."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from rhinoapp.dicom.deidentify import BurnedInAnnotationError, Deidentifier
from rhinoapp.dicom.io import NotDicomError, UnreadableDicomError, read_dataset
from rhinoapp.dicom.options import BurnedInPolicy, DeidentOptions
from rhinoapp.dicom.testing import encode, make_ct_series
from rhinoapp.dicom.upload import UploadError, UploadLimits, iter_zip, read_upload, read_uploaded
from tests.dicom.helpers import SECRET, parse, pydicom_file

ALLOW = Deidentifier(SECRET, DeidentOptions(burned_in=BurnedInPolicy.ALLOW))


def test_deflated_file_round_trips_in_its_transfer_syntax() -> None:
    data = pydicom_file("image_dfl.dcm")
    with pytest.raises(BurnedInAnnotationError, match="Secondary Capture"):  # an SC without the flag
        Deidentifier(SECRET).bytes(data)
    clean = parse(ALLOW.bytes(data))
    assert clean.file_meta.TransferSyntaxUID == parse(data).file_meta.TransferSyntaxUID
    assert clean.pixel_array.shape == (512, 512) and clean.PatientIdentityRemoved == "YES"


def test_implicit_vr_file() -> None:
    clean = parse(ALLOW.bytes(pydicom_file("MR_small_implicit.dcm")))
    assert clean.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2" and str(clean.PatientName).startswith("ANON-")


def test_file_without_preamble_or_meta_is_refused_as_not_dicom() -> None:
    with pytest.raises(NotDicomError, match="not a DICOM file"):
        ALLOW.bytes(pydicom_file("no_meta.dcm"))  # parses (forced) into one meaningless element


def test_bad_sequence_file_is_handled_without_a_crash() -> None:
    data = pydicom_file("bad_sequence.dcm")
    try:
        clean = parse(ALLOW.bytes(data))
    except UnreadableDicomError as error:
        assert "export it again" in str(error)
    else:
        assert clean.PatientIdentityRemoved == "YES"


def test_non_dicom_and_empty_input() -> None:
    with pytest.raises(NotDicomError, match="not a DICOM file"):
        ALLOW.bytes(b"%PDF-1.7 this is not an image" * 20)
    with pytest.raises(NotDicomError, match="empty"):
        read_dataset(b"")


@pytest.mark.parametrize("cut", [200, 1000, -100])
def test_truncated_files_give_a_clear_error(cut: int) -> None:
    data = encode(make_ct_series(slices=1, shape=(32, 32), phi=False)[0])  # pixel data last
    with pytest.raises((NotDicomError, UnreadableDicomError), match="truncated|damaged"):
        ALLOW.bytes(data[:cut])
    with pytest.raises((NotDicomError, UnreadableDicomError)):
        ALLOW.bytes(pydicom_file("CT_small.dcm")[:cut])


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize("name", ["../../etc/evil.dcm", "/abs/evil.dcm", "a/../../evil.dcm", "C:\\evil.dcm"])
def test_zip_with_escaping_paths_is_refused(name: str) -> None:
    with pytest.raises(UploadError, match="leaves its folder"):
        read_uploaded([_zip({"ok.dcm": b"x", name: b"y"})], UploadLimits(10**6))


def test_zip_bomb_is_refused_by_its_compression_ratio() -> None:
    bomb = _zip({"bomb.dcm": bytes(50 * 1024 * 1024)})
    assert len(bomb) < 100_000
    with pytest.raises(UploadError, match=r"compressed \d+:1, above the limit"):
        read_uploaded([bomb], UploadLimits(10**9))


def test_size_limit_and_empty_uploads(tmp_path: Path) -> None:
    (tmp_path / "a.dcm").write_bytes(b"x" * 2000)
    with pytest.raises(UploadError, match="larger than the limit"):
        read_upload([tmp_path], UploadLimits(1000))
    with pytest.raises(UploadError, match="larger than the limit"):
        read_uploaded([_zip({"a": b"x" * 5000})], UploadLimits(1000))
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "zero.dcm").write_bytes(b"")
    with pytest.raises(UploadError, match="upload is empty"):
        read_upload([empty], UploadLimits(1000))
    with pytest.raises(UploadError, match="upload is empty"):
        read_uploaded([_zip({})], UploadLimits(1000))


def test_zip_members_are_read_in_memory(tmp_path: Path) -> None:
    archive = tmp_path / "series.zip"
    archive.write_bytes(_zip({"PAT/1.dcm": b"one", "PAT/2.dcm": b"two", "PAT/.DS_Store": b"junk"}))
    assert read_upload([archive], UploadLimits(10**6)) == [b"one", b"two"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["series.zip"]  # nothing extracted
    with pytest.raises(UploadError, match="damaged"):
        list(iter_zip(io.BytesIO(b"PK\x03\x04broken"), UploadLimits(100)))
