"""``rhinoapp phantom``: files, orientation and errors."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from rhinoapp.cli import main
from rhinoapp.cli.phantom import VARIANTS
from rhinoapp.phantom import PhantomVariant
from rhinoapp.volumes import read_volume


def test_writes_ct_labels_and_description(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "phantom"
    assert main(["phantom", "--out", str(out), "--spacing-mm", "1.5", "--septal-deviation", "0.5",
                 "--turbinate-swelling", "1", "--seed", "4", "--data-dir", str(tmp_path / "data")]) == 0
    assert "ct.nii.gz" in capsys.readouterr().out
    ct, labels = read_volume(out / "ct.nii.gz"), read_volume(out / "labels.nii.gz")
    assert ct.hu.dtype == np.int16 and ct.geometry.spacing_mm == (1.5, 1.5, 1.5)
    assert nib.aff2axcodes(nib.load(out / "labels.nii.gz").affine) == ("L", "P", "S")
    left = np.nonzero(labels.hu == 1)
    assert labels.geometry.index_to_physical(np.stack(left[::-1], axis=1))[:, 0].mean() > 0  # patient's left
    description = json.loads((out / "phantom.json").read_text())
    assert description["params"]["septal_deviation"] == 0.5 and description["params"]["seed"] == 4
    assert description["truth_volume_ml"]["left_cavity"] > 5


def test_dicom_output_writes_a_series(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["phantom", "--out", str(tmp_path), "--format", "dicom", "--spacing-mm", "2",
                 "--data-dir", str(tmp_path / "d")]) == 0
    assert "DICOM files" in capsys.readouterr().out and len(list((tmp_path / "ct").glob("*.dcm"))) > 10


def test_bad_values_are_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["phantom", "--out", str(tmp_path), "--septal-deviation", "2", "--data-dir", str(tmp_path / "d")]) == 2
    assert "between 0 and 1" in capsys.readouterr().err


def test_variant_names_match_the_enum() -> None:
    assert VARIANTS == tuple(v.value for v in PhantomVariant)
