"""The phantom written as a DICOM series reads back as the same volume, and segments like the original."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel
import numpy as np
import pydicom
import pytest

from rhinoapp.cli import main
from rhinoapp.dicom.testing import FakePatient


@pytest.mark.slow
def test_phantom_dicom_series_round_trips_through_segmentation(tmp_path: Path) -> None:
    assert main(["phantom", "--out", str(tmp_path / "ph"), "--format", "dicom", "--spacing-mm", "1.0"]) == 0
    files = sorted((tmp_path / "ph" / "ct").glob("*.dcm"))
    first = pydicom.dcmread(files[0])
    assert first.Modality == "CT" and first.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2"
    assert first.file_meta.MediaStorageSOPInstanceUID == first.SOPInstanceUID
    description = json.loads((tmp_path / "ph" / "phantom.json").read_text())
    assert len(files) == description["volume"]["shape_kji"][0]
    assert main(["segment", str(tmp_path / "ph" / "ct"), "--out", str(tmp_path / "seg"),
                 "--target-triangles", "20000"]) == 0
    labels = np.asanyarray(nibabel.load(str(tmp_path / "seg" / "labels.nii.gz")).dataobj)
    truth = np.asanyarray(nibabel.load(str(tmp_path / "ph" / "labels.nii.gz")).dataobj)
    assert labels.shape == truth.shape
    airway, expected = np.isin(labels, (1, 2, 3)), np.isin(truth, (1, 2, 3))
    dice = 2 * np.count_nonzero(airway & expected) / (np.count_nonzero(airway) + np.count_nonzero(expected))
    assert dice > 0.9
    for side in (1, 2):  # left stays left through the DICOM orientation
        a, b = labels == side, truth == side
        assert 2 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b)) > 0.85


@pytest.mark.slow
def test_fake_phi_variant_carries_identifiers(tmp_path: Path) -> None:
    assert main(["phantom", "--out", str(tmp_path), "--format", "dicom", "--spacing-mm", "2.0", "--fake-phi"]) == 0
    dataset = pydicom.dcmread(next((tmp_path / "ct").glob("*.dcm")))
    assert str(dataset.PatientName) == "PHANTOM^Synthetic" and "InstitutionAddress" in dataset
    assert FakePatient().institution not in str(dataset.InstitutionName)
