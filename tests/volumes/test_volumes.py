"""NIfTI and NRRD round trips: spacing, origin, orientation, and left stays left."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import nrrd
import numpy as np
import pytest

from rhinoapp.core.errors import ValidationError
from rhinoapp.core.volume import CTVolume, ImageGeometry
from rhinoapp.volumes import (
    VolumeFormat,
    format_of,
    nifti_bytes,
    read_nifti_bytes,
    read_volume,
    volume_metadata,
    write_volume,
)

# Oblique, left-handed-free orientations: identity, the Enhanced CT file's (rows towards the right,
# slices towards inferior), and a 20 degree rotation about z.
_C, _S = np.cos(np.radians(20)), np.sin(np.radians(20))
DIRECTIONS = {
    "axial": (1, 0, 0, 0, 1, 0, 0, 0, 1),
    "flipped": (-1, 0, 0, 0, 1, 0, 0, 0, -1),
    "rotated": (_C, -_S, 0, _S, _C, 0, 0, 0, 1),
}


def phantom(direction: tuple[float, ...]) -> CTVolume:
    """Air box with a dense marker at the patient's left-anterior (LPS: +x, -y)."""
    spacing, shape_kji = np.array([0.8, 0.7, 1.5]), (12, 20, 24)
    half = spacing * (np.array(shape_kji[::-1]) - 1) / 2
    origin = -np.asarray(direction, dtype=float).reshape(3, 3) @ half  # the grid is centred on the origin
    geometry = ImageGeometry(shape_kji, tuple(spacing), tuple(origin), direction)
    hu = np.full(geometry.shape, -1000, dtype=np.int16)
    k, j, i = np.meshgrid(*(np.arange(n) for n in geometry.shape), indexing="ij")
    lps = geometry.index_to_physical(np.stack([i, j, k], axis=-1))
    hu[(lps[..., 0] > 3) & (lps[..., 1] < -3) & (np.abs(lps[..., 2]) < 4)] = 2000
    assert np.count_nonzero(hu == 2000) > 5
    return CTVolume(hu, geometry)


def marker_centre_lps(volume: CTVolume) -> np.ndarray:
    k, j, i = np.nonzero(volume.hu == 2000)
    return volume.geometry.index_to_physical(np.stack([i, j, k], axis=-1)).mean(axis=0)


def assert_same(a: CTVolume, b: CTVolume) -> None:
    assert np.array_equal(a.hu, b.hu) and a.hu.dtype == b.hu.dtype
    assert np.allclose(a.geometry.spacing_mm, b.geometry.spacing_mm, atol=1e-5)
    assert np.allclose(a.geometry.origin_mm, b.geometry.origin_mm, atol=1e-4)
    assert np.allclose(a.geometry.direction, b.geometry.direction, atol=1e-5)


@pytest.mark.parametrize("name", DIRECTIONS)
@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_nifti_round_trip_keeps_the_marker_at_left_anterior(tmp_path: Path, name: str, suffix: str) -> None:
    volume = phantom(DIRECTIONS[name])
    path = write_volume(volume, tmp_path / f"ct{suffix}")
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary file left
    image = nib.load(str(path))  # an independent reader sees RAS: left is -x, anterior is +y
    i, j, k = np.nonzero(np.asanyarray(image.dataobj) == 2000)
    ras = nib.affines.apply_affine(image.affine, np.stack([i, j, k], axis=-1)).mean(axis=0)
    assert ras[0] < -3 and ras[1] > 3
    assert int(image.header["sform_code"]) == 1 and int(image.header["qform_code"]) == 1
    back = read_volume(path)
    assert_same(volume, back)
    lps = marker_centre_lps(back)
    assert lps[0] > 3 and lps[1] < -3


@pytest.mark.parametrize("name", DIRECTIONS)
@pytest.mark.parametrize("suffix", [".nrrd", ".nhdr"])
def test_nrrd_round_trip_keeps_the_marker_at_left_anterior(tmp_path: Path, name: str, suffix: str) -> None:
    volume = phantom(DIRECTIONS[name])
    path = write_volume(volume, tmp_path / f"ct{suffix}")
    data, header = nrrd.read(str(path))  # independent check: LPS space, fastest axis first
    assert header["space"] == "left-posterior-superior" and list(header["sizes"]) == [24, 20, 12]
    i, j, k = np.nonzero(data == 2000)
    lps = header["space origin"] + np.stack([i, j, k], axis=-1) @ header["space directions"]
    assert lps.mean(axis=0)[0] > 3 and lps.mean(axis=0)[1] < -3
    assert_same(volume, read_volume(path))


def test_nrrd_in_ras_space_is_converted_to_lps(tmp_path: Path) -> None:
    volume = phantom(DIRECTIONS["rotated"])
    g = volume.geometry
    flip = np.array([-1.0, -1.0, 1.0])
    header = {"space": "right-anterior-superior", "kinds": ["domain"] * 3,
              "space directions": (g.direction_matrix * g.spacing_mm).T * flip,
              "space origin": np.asarray(g.origin_mm) * flip}
    path = tmp_path / "ras.nrrd"
    nrrd.write(str(path), volume.hu, header, index_order="C")
    back = read_volume(path)
    assert_same(volume, back)
    assert marker_centre_lps(back)[0] > 3


def test_volumes_without_orientation_are_refused(tmp_path: Path) -> None:
    volume = phantom(DIRECTIONS["axial"])
    nrrd.write(str(tmp_path / "plain.nrrd"), volume.hu, {"spacings": [0.8, 0.7, 1.5]}, index_order="C")
    with pytest.raises(ValidationError, match="no space field.*left and right could be swapped"):
        read_volume(tmp_path / "plain.nrrd")
    image = nib.Nifti1Image(volume.hu.transpose(2, 1, 0), np.eye(4))
    image.set_sform(None, code=0)
    image.set_qform(None, code=0)
    nib.save(image, str(tmp_path / "plain.nii"))
    with pytest.raises(ValidationError, match="neither sform nor qform"):
        read_volume(tmp_path / "plain.nii")


def test_sheared_and_four_dimensional_niftis_are_refused(tmp_path: Path) -> None:
    sheared = np.eye(4)
    sheared[0, 1] = 0.5
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4), np.int16), sheared), str(tmp_path / "s.nii"))
    with pytest.raises(ValidationError, match="sheared"):
        read_volume(tmp_path / "s.nii")
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4, 2), np.int16), np.eye(4)), str(tmp_path / "t.nii"))
    with pytest.raises(ValidationError, match="4 dimensions"):
        read_volume(tmp_path / "t.nii")


def test_nifti_bytes_are_deterministic_and_scaled_data_become_float(tmp_path: Path) -> None:
    volume = phantom(DIRECTIONS["axial"])
    assert nifti_bytes(volume) == nifti_bytes(volume)
    assert_same(volume, read_nifti_bytes(nifti_bytes(volume)))
    image = nib.Nifti1Image(np.ones((3, 3, 3), np.int16), np.eye(4))
    image.header.set_slope_inter(2.0, -1024.0)
    back = read_nifti_bytes(gzip.compress(image.to_bytes()))
    assert back.hu.dtype == np.float32 and float(back.hu[0, 0, 0]) == -1022.0


def test_format_detection_and_metadata() -> None:
    assert format_of("a.NII.GZ") is VolumeFormat.NIFTI and format_of("x.dcm") is None
    with pytest.raises(ValidationError, match="not a NIfTI"):
        read_volume(Path("x.dcm"))
    volume = phantom(DIRECTIONS["flipped"])
    meta = volume_metadata(volume, VolumeFormat.NRRD)
    assert meta["dimensions_ijk"] == [24, 20, 12] and meta["spacing_mm"] == [0.8, 0.7, 1.5]
    assert meta["direction_lps"][0] == -1 and meta["notes"] == []
    positive = CTVolume(np.ones((2, 2, 2), np.uint16), ImageGeometry((2, 2, 2)))
    assert "stored values" in volume_metadata(positive, VolumeFormat.NIFTI)["notes"][0]
