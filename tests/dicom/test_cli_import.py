"""``rhinoapp import`` and ``rhinoapp deidentify`` end to end: PHI scan, bad input, volumes, secret."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pytest

from rhinoapp.cli import main
from rhinoapp.config import Settings
from rhinoapp.core.errors import StoreError
from rhinoapp.core.workflow import Step, StepStatus
from rhinoapp.dicom.testing import PhiCollection, encode, make_ct_series
from rhinoapp.store import ProjectRepository, open_store
from rhinoapp.store.secrets import installation_secret
from rhinoapp.volumes import read_nifti_bytes, write_volume
from tests.dicom.helpers import phi_leaks


def write_files(folder: Path, files: tuple[tuple[str, bytes], ...] | list[tuple[str, bytes]]) -> Path:
    for name, data in files:
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return folder


def run(*args: str, data: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "RHINOAPP_LOG_LEVEL": "DEBUG"}
    return subprocess.run([sys.executable, "-m", "rhinoapp", *args, "--data-dir", str(data)], capture_output=True,
                          input=stdin, timeout=120, env=env)


def project(data: Path, name: str = "Case 1") -> str:
    assert main(["projects", "create", name, "--data-dir", str(data)]) == 0
    return ask(data, lambda repo: repo.list_projects()[0].id)


def ask(data: Path, question: Callable[[ProjectRepository], Any]) -> Any:
    store = open_store(Settings(data_dir=data))
    try:
        return question(ProjectRepository(store, owner="local"))
    finally:
        store.close()


def dicom_status(data: Path, project_id: str) -> StepStatus:
    return ask(data, lambda repo: repo.statuses([project_id])[project_id][Step.DICOM].status)


def every_file_text(folder: Path) -> bytes:
    """Every file under ``folder`` (gzip members decompressed), concatenated."""
    chunks = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        content = path.read_bytes()
        chunks.append(gzip.decompress(content) if content[:2] == b"\x1f\x8b" else content)
        chunks.append(path.name.encode())
    return b"\n".join(chunks)


@pytest.mark.slow
def test_import_of_the_fake_phi_series_leaves_no_phi_in_the_data_directory(
        tmp_path: Path, collection: PhiCollection) -> None:
    upload = write_files(tmp_path / "upload", collection.files)
    data = tmp_path / "data"
    project_id = project(data)
    original_uid = collection.ct_series_uids[0]  # patient A, study 1; chosen by its original UID
    result = run("import", str(upload), "--project", "Case 1", "--series", original_uid, data=data)
    log = data / "logs" / "import.log"
    log.parent.mkdir()
    log.write_bytes(result.stdout + result.stderr)
    assert result.returncode == 0, result.stderr.decode()
    assert b"imported dicom volume 16x16x4 voxels" in result.stdout and b"2 patients" in result.stdout
    assert dicom_status(data, project_id) is StepStatus.DONE
    stored = every_file_text(data)
    assert (data / "rhinoapp.sqlite").exists() and b"RHINO-" not in stored  # the pseudonym lives in DICOM only
    assert phi_leaks(collection.phi_values, stored) == []
    assert b"PHI" not in stored and b"ZORBAQ" not in stored and b"Xylia" not in stored
    metadata = json.loads((data / "projects" / project_id / "volume" / "ct.json").read_text())
    assert metadata["series_description"] == "Sinus 0.75 H30s" and metadata["deidentification"]["table_edition"]


def test_imported_volume_keeps_left_anterior_at_left_anterior(tmp_path: Path) -> None:
    upload = write_files(tmp_path / "upload", [(f"{k}.dcm", encode(ds)) for k, ds in
                                               enumerate(make_ct_series(slices=6, shape=(48, 48), phi=False))])
    data = tmp_path / "data"
    project_id = project(data)
    assert main(["import", str(upload), "--project", "Case 1", "--data-dir", str(data)]) == 0
    image = nib.load(str(data / "projects" / project_id / "volume" / "ct.nii.gz"))
    i, j, k = np.nonzero(np.asanyarray(image.dataobj) == 2000)
    ras = nib.affines.apply_affine(image.affine, np.stack([i, j, k], axis=-1)).mean(axis=0)
    assert ras[0] < -5 and ras[1] > 5  # RAS: the patient's left is -x, anterior is +y


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _series_files(**kwargs: object) -> dict[str, bytes]:
    return {f"s/{k}.dcm": encode(ds) for k, ds in enumerate(make_ct_series(shape=(8, 8), phi=False, **kwargs))}


def _mr_files() -> dict[str, bytes]:
    out = {}
    for k, ds in enumerate(make_ct_series(slices=3, shape=(8, 8), phi=False)):
        ds.Modality = "MR"
        out[f"mr/{k}.dcm"] = encode(ds)
    return out


def _gap_files() -> dict[str, bytes]:
    series = make_ct_series(slices=5, shape=(8, 8), phi=False)
    del series[2]
    return {f"g/{k}.dcm": encode(ds) for k, ds in enumerate(series)}


BAD_INPUTS = {
    "non-DICOM files": ({"a.txt": b"hello " * 50, "b.pdf": b"%PDF-1.4" * 40}, "not DICOM"),
    "truncated files": ({f"t{k}.dcm": b[:300] for k, b in enumerate(_series_files(slices=3).values())}, "truncated"),
    "zip with ../ paths": ({"up.zip": _zip({"../../evil.dcm": b"x", "ok.dcm": b"y"})}, "leaves its folder"),
    "zip bomb": ({"bomb.zip": _zip({"big.dcm": bytes(40 * 1024 * 1024)})}, "zip bomb"),
    "empty upload": ({}, "upload is empty"),
    "non-CT modality": (_mr_files(), "modality MR, not CT"),
    "fewer than 3 slices": (_series_files(slices=2), "at least 3 slices"),
    "missing slices": (_gap_files(), "missing slices: a gap of 2.0 mm"),
    "two series, none chosen": ({**_series_files(series=1), **{f"b{k}": v for k, v in _series_files(series=2,
                                description="Bone").items()}}, "choose one with --series N"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_refused_clearly_and_nothing_is_stored(
        tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]) -> None:
    files, message = BAD_INPUTS[case]
    upload = tmp_path / "upload"
    upload.mkdir()
    write_files(upload, list(files.items()))
    data = tmp_path / "data"
    project_id = project(data)
    before = dicom_status(data, project_id)
    assert main(["import", str(upload), "--project", "Case 1", "--data-dir", str(data)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("rhinoapp: error: ") and message in error
    assert dicom_status(data, project_id) is before is StepStatus.POSSIBLE
    assert ask(data, lambda repo: repo.artifacts(project_id)) == []
    assert not [p for p in (data / "projects").rglob("*") if p.is_file()]
    assert sorted(p.name for p in upload.iterdir()) == sorted({Path(n).parts[0] for n in files})  # input untouched


@pytest.mark.parametrize("suffix", [".nii.gz", ".nrrd"])
def test_research_volumes_are_imported(tmp_path: Path, suffix: str) -> None:
    from rhinoapp.dicom.series import group_series
    from rhinoapp.dicom.volume import assemble_volume

    volume = assemble_volume(group_series(make_ct_series(slices=4, shape=(16, 16), phi=False))[0]).volume
    path = write_volume(volume, tmp_path / f"research{suffix}")
    data = tmp_path / "data"
    project_id = project(data)
    assert main(["import", str(path), "--project", "Case 1", "--data-dir", str(data)]) == 0
    folder = data / "projects" / project_id / "volume"
    stored = read_nifti_bytes((folder / "ct.nii.gz").read_bytes())
    assert np.array_equal(stored.hu, volume.hu)
    assert np.allclose(stored.geometry.affine_lps, volume.geometry.affine_lps)
    assert json.loads((folder / "ct.json").read_text())["source"] == suffix.split(".")[1].replace("nii", "nifti")
    assert dicom_status(data, project_id) is StepStatus.DONE


@pytest.mark.slow
def test_list_and_tilt_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    upload = write_files(tmp_path / "upload", list(_series_files(slices=4, tilt_deg=12.0).items()))
    data = tmp_path / "data"
    project_id = project(data)
    base = ["import", str(upload), "--project", "Case 1", "--data-dir", str(data)]
    assert main([*base, "--list"]) == 0
    assert "4 slices" in capsys.readouterr().out and ask(data, lambda repo: repo.artifacts(project_id)) == []
    assert main(base) == 2 and "gantry tilt of 12.0 degrees" in capsys.readouterr().err
    assert main([*base, "--tilt", "resample"]) == 0
    assert "resampled onto an orthogonal grid" in capsys.readouterr().out
    uneven = write_files(tmp_path / "uneven", list(_series_files(positions_mm=(0.0, 2.0, 4.0, 4.5, 8.0, 11.5)).items()))
    base = ["import", str(uneven), "--project", "Case 1", "--replace", "--data-dir", str(data)]  # over the first
    assert main(base) == 2
    err = capsys.readouterr().err
    assert "uneven slice spacing: 2.00 mm (2 steps), then 0.50 mm, then 3.50 mm (2 steps)" in err
    assert "missing slices" not in err and "--tilt resample" in err
    assert main([*base, "--tilt", "resample"]) == 0
    assert "  warning: resampled onto a regular orthogonal grid of 2.00 mm slices" in capsys.readouterr().out


@pytest.mark.slow
def test_deidentify_batch_and_stream(tmp_path: Path, collection: PhiCollection) -> None:
    source = write_files(tmp_path / "in", collection.files)
    data, target = tmp_path / "data", tmp_path / "out"
    result = run("deidentify", str(source), str(target), data=data)
    assert result.returncode == 1  # the burned-in screenshot is skipped and reported
    assert b"skipped ZORBAQ_Xylia/S1/DOSE.dcm: an image says BurnedInAnnotation YES" in result.stderr
    written = sorted(p for p in target.rglob("*.dcm"))
    assert len(written) == len(collection.files) - 1
    assert all(p.name.startswith("2.25.") for p in written)
    output = every_file_text(target)
    assert phi_leaks(collection.phi_values, output) == []
    one = collection.files[0][1]
    streamed = run("deidentify", "-", "-", "--pseudonym", "STUDY-007", data=data, stdin=one)
    assert streamed.returncode == 0 and streamed.stdout[128:132] == b"DICM"
    assert b"STUDY-007" in streamed.stdout and b"ZORBAQ" not in streamed.stdout
    assert streamed.stdout[:2000] != one[:2000]


def test_installation_secret_is_private_and_stable(tmp_path: Path) -> None:
    first = installation_secret(tmp_path)
    path = tmp_path / "secret.key"
    assert oct(path.stat().st_mode & 0o777) == "0o600" and installation_secret(tmp_path) == first
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]
    path.chmod(0o644)
    with pytest.raises(StoreError, match="chmod 600"):
        installation_secret(tmp_path)
    path.chmod(0o600)
    path.write_text("not hex")
    with pytest.raises(StoreError, match="valid secret"):
        installation_secret(tmp_path)
