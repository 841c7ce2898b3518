"""NIfTI and NRRD files read within limits: dimensions checked from the header, streams expanded no further than declared."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import nrrd
import numpy as np
import pytest

from rhinoapp.core.errors import ValidationError
from rhinoapp.core.limits import InputLimits, LimitError
from rhinoapp.core.volume import CTVolume, ImageGeometry
from rhinoapp.usecases.ct_import import research_volume
from rhinoapp.volumes import nifti_bytes, nrrd_bytes, read_nifti_bytes, read_nrrd_bytes, read_volume, write_nrrd

NAME = "PATIENT-Doe-John"
SMALL = InputLimits(max_bytes=1 << 20)  # 1 MiB: far less than any bomb below holds


def volume() -> CTVolume:
    hu = np.arange(6 * 7 * 8, dtype=np.int16).reshape(6, 7, 8) - 1000
    return CTVolume(hu, ImageGeometry(hu.shape, (0.5, 0.6, 1.5), (1.0, 2.0, 3.0)))


def nifti_header(shape: tuple[int, ...]) -> bytes:
    header = nib.Nifti1Header()
    header.set_data_shape(shape)
    header.set_data_dtype(np.int16)
    header.set_data_offset(352)
    header.set_sform(np.eye(4), code=1)
    return header.binaryblock + bytes(4)


def nrrd_header(sizes: str, encoding: str) -> bytes:
    return (f"NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\nsizes: {sizes}\n"
            f"space directions: (1,0,0) (0,1,0) (0,0,1)\nencoding: {encoding}\nendian: little\n\n").encode()


def test_a_nifti_declaring_a_gigabyte_is_refused_from_its_header(tmp_path: Path) -> None:
    bomb = gzip.compress(nifti_header((512, 512, 2048)) + bytes(4 << 20), compresslevel=9)
    path = tmp_path / f"{NAME}.nii.gz"
    path.write_bytes(bomb)
    for read in (lambda: research_volume(bomb, filename=path.name), lambda: read_volume(path, limits=InputLimits()),
                 lambda: research_volume(path)):
        with pytest.raises(LimitError, match=r"536,870,912 voxels .*RHINOAPP_MAX_VOXELS") as refused:
            read()
        assert NAME not in str(refused.value)


def test_bytes_beyond_the_declared_voxels_are_never_inflated() -> None:
    raw = nifti_bytes(volume(), compress=False)
    bomb = gzip.compress(raw + bytes(64 << 20), compresslevel=9)  # 64 MiB of zeros after the voxels
    assert np.array_equal(read_nifti_bytes(bomb, limits=SMALL).hu, volume().hu)


def test_the_bytes_a_nifti_declares_are_held_to_max_upload_mb() -> None:
    declared = gzip.compress(nifti_header((1024, 1024, 1)) + bytes(16))  # 2 MiB of voxels declared
    with pytest.raises(LimitError, match=r"needs 2,097,504 bytes .*RHINOAPP_MAX_UPLOAD_MB"):
        read_nifti_bytes(declared, limits=SMALL)


def test_truncated_and_tiny_niftis_are_validation_errors() -> None:
    packed = nifti_bytes(volume())
    with pytest.raises(ValidationError, match="truncated"):
        read_nifti_bytes(packed[: len(packed) // 2])
    with pytest.raises(ValidationError, match="too short for a NIfTI header"):
        read_nifti_bytes(b"\x00" * 100)


def test_nifti2_bytes_are_read() -> None:
    source = volume()
    image = nib.Nifti2Image(source.hu.transpose(2, 1, 0), source.geometry.affine_ras)
    image.set_sform(source.geometry.affine_ras, code=1)
    assert np.array_equal(read_nifti_bytes(gzip.compress(image.to_bytes())).hu, source.hu)


@pytest.mark.parametrize("encoding", ["gzip", "bzip2"])
def test_an_nrrd_declaring_a_gigabyte_is_refused_from_its_header(tmp_path: Path, encoding: str) -> None:
    bomb = nrrd_header("512 512 2048", encoding) + gzip.compress(bytes(1 << 20))
    path = tmp_path / f"{NAME}.nrrd"
    path.write_bytes(bomb)
    for read in (lambda: read_nrrd_bytes(bomb), lambda: read_volume(path, limits=InputLimits())):
        with pytest.raises(LimitError, match=r"536,870,912 voxels .*RHINOAPP_MAX_VOXELS") as refused:
            read()
        assert NAME not in str(refused.value)


def test_nrrd_streams_are_expanded_only_to_the_declared_voxels(tmp_path: Path) -> None:
    source = volume()
    values = np.ascontiguousarray(source.hu).astype("<i2").tobytes()
    bomb = nrrd_header("8 7 6", "gzip") + gzip.compress(values + bytes(64 << 20), compresslevel=9)
    read = read_nrrd_bytes(bomb, limits=SMALL)
    assert np.array_equal(read.hu, source.hu)
    detached = write_nrrd(source, tmp_path / "ct.nhdr")  # and its data file beside it, gzip
    assert np.array_equal(read_volume(detached, limits=SMALL).hu, source.hu)


@pytest.mark.parametrize("encoding", ["raw", "gzip", "bzip2", "ascii"])
def test_nrrd_encodings_round_trip_within_limits(tmp_path: Path, encoding: str) -> None:
    source = volume()
    path = tmp_path / "ct.nrrd"
    nrrd.write(str(path), source.hu, {"space": "left-posterior-superior", "space directions": np.diag([1.5, 0.6, 0.5]),
                                     "encoding": encoding}, index_order="C")
    assert np.array_equal(read_volume(path, limits=SMALL).hu, source.hu)
    assert np.array_equal(read_nrrd_bytes(path.read_bytes(), limits=SMALL).hu, source.hu)
    assert np.array_equal(read_nrrd_bytes(nrrd_bytes(source, encoding=encoding), limits=SMALL).hu, source.hu)
