"""``rhinoapp segment``: NIfTI, NRRD and DICOM input; the four output files; clear errors."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from rhinoapp.cli import main
from rhinoapp.core.volume import AirwayLabel
from rhinoapp.phantom import generate_phantom, variant_params
from rhinoapp.volumes import read_volume, write_volume


@pytest.fixture(scope="module")
def ct_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("phantom") / "ct.nrrd"
    write_volume(generate_phantom(variant_params("straight", spacing_mm=0.8)).ct, path)
    return path


@pytest.mark.slow
def test_segment_writes_labels_surface_and_report(ct_file: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "geometry"
    assert main(["segment", str(ct_file), "--out", str(out), "--sinuses", "keep", "--target-triangles", "20000",
                 "--data-dir", str(tmp_path / "data")]) == 0
    captured = capsys.readouterr()
    printed = captured.out
    assert "mCSA" in printed and "watertight True" in printed
    assert "% thresholding air" in captured.err and "100.0 % geometry written" in captured.err  # progress
    assert sorted(p.name for p in out.iterdir()) == ["airway.stl", "airway.vtp", "geometry.json", "labels.nii.gz"]
    labels = read_volume(out / "labels.nii.gz")
    assert set(np.unique(labels.hu)) == {0, 1, 2, 3, 4}
    stl = (out / "airway.stl").read_bytes()
    count = struct.unpack("<I", stl[80:84])[0]
    assert len(stl) == 84 + 50 * count and count <= 20_500
    report = json.loads((out / "geometry.json").read_text())
    for side in ("left", "right"):
        assert {"volume_ml", "surface_cm2", "mcsa_cm2", "mcsa_distance_mm"} <= set(report[side])
    assert report["threshold_hu"] == -550.0 and report["options"]["segmentation"]["sinus_mode"] == "keep"
    assert report["sinuses"]["volume_ml"] > 5 and set(report["inlets"]) == {"left", "right"}
    assert report["left"]["volume_ml"] == pytest.approx(
        np.count_nonzero(labels.hu == AirwayLabel.LEFT_CAVITY) * labels.geometry.voxel_volume_mm3 / 1000, rel=1e-3)


@pytest.mark.slow
def test_manual_seeds_and_outlet(ct_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "manual"
    assert main(["segment", str(ct_file), "--out", str(out), "--seed-left", "6.5", "-8.5", "-2",
                 "--seed-right", "-6.5", "-8.5", "-2", "--outlet-z", "-6", "--data-dir", str(tmp_path / "d")]) == 0
    report = json.loads((out / "geometry.json").read_text())
    assert report["outlet"]["point_lps_mm"][2] == -6.0
    assert report["seeds_lps_mm"][0][0] > 0 > report["seeds_lps_mm"][1][0]


@pytest.mark.slow
def test_the_segmentations_warnings_are_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ct = tmp_path / "cut.nrrd"
    write_volume(generate_phantom(variant_params("ethmoid-cut", spacing_mm=1.0)).ct, ct)
    out = tmp_path / "geometry"
    assert main(["segment", str(ct), "--out", str(out), "--target-triangles", "20000",
                 "--data-dir", str(tmp_path / "data")]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("rhinoapp: warning: ")]
    assert len(warnings) == 1 and "superior edge" in warnings[0] and "left out of the airway" in warnings[0]
    assert json.loads((out / "geometry.json").read_text())["warnings"] == [warnings[0][len("rhinoapp: warning: "):]]


def test_errors_are_one_clear_line(ct_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path / "d")]
    assert main(["segment", str(ct_file), "--out", str(tmp_path), "--seed-left", "0", "0", "0", *data]) == 2
    assert "both nostril seeds" in capsys.readouterr().err
    cropped = tmp_path / "cropped.nii.gz"
    write_volume(generate_phantom(variant_params("nostrils-cropped", spacing_mm=1.0)).ct, cropped)
    assert main(["segment", str(cropped), "--out", str(tmp_path / "x"), *data]) == 2
    assert "nostrils are cropped out" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    assert main(["segment", str(tmp_path / "missing.nii"), "--out", str(tmp_path / "y"), *data]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.slow
def test_dicom_folder_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rhinoapp.dicom.testing import encode, make_ct_series

    folder = tmp_path / "dicom"
    folder.mkdir()
    for n, dataset in enumerate(make_ct_series(slices=6, shape=(48, 48))):
        (folder / f"IM{n:04d}").write_bytes(encode(dataset))
    # A test head without a nose: the series is read and assembled, and the segmentation says what is missing.
    assert main(["segment", str(folder), "--out", str(tmp_path / "out"), "--data-dir", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert "nostrils" in err and "ZORBAQ" not in err
