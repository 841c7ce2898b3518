"""Bounded CT uploads: zip bombs of one member or of many small ones, member counts, image and series sizes.

Every refusal happens from the archive's directory or the DICOM header, before anything is
inflated or decoded; its message gives the limit and the setting that raises it, and never
a file or member name.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from rhinoapp.config import Settings
from rhinoapp.core.limits import LimitError
from rhinoapp.core.workflow import Step
from rhinoapp.dicom.deidentify import Deidentifier
from rhinoapp.dicom.importer import load_upload
from rhinoapp.dicom.io import read_dataset
from rhinoapp.dicom.series import group_series
from rhinoapp.dicom.testing import encode, make_ct_series
from rhinoapp.dicom.upload import (
    RATIO_FREE_BYTES,
    UploadError,
    UploadLimitError,
    UploadLimits,
    read_upload,
    read_uploaded,
)
from rhinoapp.dicom.volume import assemble_volume
from rhinoapp.state.ct_import import CTImportState
from rhinoapp.state.session import SessionState
from rhinoapp.store import ProjectRepository, Store
from tests.dicom.helpers import SECRET

NAME = "PATIENT-Doe-John"  # member names that must never reach a message


def zipped(members: int, size: int, *, compress: bool = True) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as archive:
        for number in range(members):
            archive.writestr(f"{NAME}/IM{number:05d}.dcm", bytes(size))
    return buffer.getvalue()


def test_many_small_members_are_refused_as_a_whole_before_any_is_inflated() -> None:
    bomb = zipped(1_100, RATIO_FREE_BYTES - 1024)  # each member below the per-member check: 69 MB in about 0.2 MB
    assert len(bomb) < 500_000
    with pytest.raises(UploadLimitError, match=r"compressed \d+:1 as a whole \(1,100 members\)") as refused:
        read_uploaded([bomb], UploadLimits.from_megabytes(2048))
    assert NAME not in str(refused.value) and "limit of 200:1" in str(refused.value)


def test_the_probe_zip_of_1100_members_is_refused(tmp_path: Path) -> None:
    bomb = zipped(1_100, 256 * 1024)  # the probe's members held 1 MiB each; the refusal is the same
    path = tmp_path / f"{NAME}.zip"
    path.write_bytes(bomb)
    for read in (lambda: read_uploaded([bomb], UploadLimits.from_megabytes(2048)),
                 lambda: read_upload([path], UploadLimits.from_megabytes(2048))):
        with pytest.raises(UploadLimitError, match=r"a zip member is compressed \d+:1") as refused:
            read()
        assert NAME not in str(refused.value)


def test_member_count_and_unzipped_size_name_their_settings(tmp_path: Path) -> None:
    stored = zipped(30, 10, compress=False)
    with pytest.raises(UploadLimitError, match=r"30 files, more than the limit of 20.*RHINOAPP_MAX_UPLOAD_FILES"):
        read_uploaded([stored], UploadLimits(max_bytes=1 << 20, max_files=20))
    with pytest.raises(UploadLimitError, match=r"more files, more than the limit of 20"):
        read_uploaded([b"x"] * 21, UploadLimits(max_bytes=1 << 20, max_files=20))
    with pytest.raises(UploadLimitError, match=r"limit of 1 MB after unzipping.*RHINOAPP_MAX_UPLOAD_MB"):
        read_uploaded([zipped(3, 400_000, compress=False)], UploadLimits.from_megabytes(1))
    for number in range(3):
        (tmp_path / f"{number}.dcm").write_bytes(b"x")
    with pytest.raises(UploadLimitError, match="max_upload_files"):
        read_upload([tmp_path], UploadLimits(max_bytes=1 << 20, max_files=2))
    assert issubclass(UploadLimitError, UploadError) and issubclass(UploadLimitError, LimitError)


def test_an_ordinary_zip_of_a_series_passes() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, dataset in enumerate(make_ct_series(slices=4, shape=(64, 64))):
            archive.writestr(f"IM{number}.dcm", encode(dataset))
    assert len(read_uploaded([buffer.getvalue()], UploadLimits.of(Settings().input_limits))) == 4


def test_an_image_declaring_too_many_pixels_is_refused_before_decoding() -> None:
    dataset = make_ct_series(slices=1, shape=(16, 16), phi=False)[0]
    dataset.NumberOfFrames = 5000
    dataset.Rows = dataset.Columns = 512  # 1.3 billion pixels declared, 512 bytes present
    data = encode(dataset)
    with pytest.raises(LimitError, match=r"1,310,720,000 voxels .*RHINOAPP_MAX_VOXELS"):
        read_dataset(data, what="file 1 of the upload")
    blobs = [encode(ds) for ds in make_ct_series(slices=3, shape=(16, 16))] + [data]
    loaded = load_upload(blobs, deidentifier=Deidentifier(SECRET, pseudonym="RHINO-1"))
    assert loaded.skipped_text() == "1 above max_voxels" and len(loaded.series) == 1


def test_a_series_above_max_voxels_is_refused_before_its_pixels_are_decoded() -> None:
    series = group_series(make_ct_series(slices=4, shape=(16, 16), phi=False))[0]
    with pytest.raises(LimitError, match=r"1,024 voxels \(4 x 16 x 16\), more than the limit of 1,000"):
        assemble_volume(series, max_voxels=1000)
    assert assemble_volume(series, max_voxels=1024).volume.hu.shape == (4, 16, 16)


def test_the_page_applies_the_configured_voxel_limit(tmp_path: Path, store: Store) -> None:
    settings = Settings(data_dir=tmp_path / "data", max_voxels=1000)
    repo = ProjectRepository(store, owner="local")
    session = SessionState(repository=repo, settings=settings)
    session.open_project(repo.create("Case 1").id)
    state = CTImportState(session=session)
    assert not state.upload([encode(ds) for ds in make_ct_series(slices=4, shape=(16, 16))])
    assert state.feedback_kind == "error" and "max_voxels" in state.feedback
    assert state.volume is None and not repo.artifacts(session.current_project_id, Step.DICOM)

