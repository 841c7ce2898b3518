"""Every malformed input of the corpus through the CLI: one clear error line, no traceback, the store unchanged.

Also the system failures a CLI meets: a full disk (a file size limit everywhere; a real full tmpfs
where mounting is allowed), a read-only data directory, and output paths that exist.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.conftest import PROJECT, corpus_params, fingerprint, good_ct, matches
from tests.fuzz.corpus import Case, Kind
from tests.fuzz.disks import filled, read_only, read_only_in_place, tmpfs

_ENV = {key: value for key, value in os.environ.items() if not key.startswith("RHINOAPP_")}


def rhinoapp(*args: str, limit_bytes: int | None = None) -> subprocess.CompletedProcess:
    def limit() -> None:
        if limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run([sys.executable, "-m", "rhinoapp", *args], capture_output=True, text=True, timeout=300,
                          env=_ENV, preexec_fn=limit)


def rhinoapp_in_process(*args: str, capsys: pytest.CaptureFixture[str],
                        monkeypatch: pytest.MonkeyPatch) -> subprocess.CompletedProcess:
    """The CLI's ``main`` in this process, as a completed process (the corpus is large: no interpreter per case).

    The same entry point as ``python -m rhinoapp`` without the interpreter's start; the system failures below
    (a file size limit, a full disk, a read-only folder) still run the real command in a process of its own.
    """
    from rhinoapp.cli import main

    for key in [k for k in os.environ if k.startswith("RHINOAPP_")]:
        monkeypatch.delenv(key)
    capsys.readouterr()
    try:
        status = main(list(args))
    except SystemExit as stop:  # argparse refuses a malformed command line this way
        status = stop.code if isinstance(stop.code, int) else 2
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(["rhinoapp", *args], status, out, err)


def assert_refused(result: subprocess.CompletedProcess) -> str:
    """The one ``rhinoapp: error:`` line of a refused command (and no traceback)."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("rhinoapp: error: ")]
    assert len(errors) == 1 and errors == lines[-1:], result.stderr
    return errors[0]


def write_case(case: Case, folder: Path) -> list[str]:
    for name, data in case.files.items():
        (folder / name).write_bytes(data)
    if case.kind is Kind.CT and len(case.files) > 1:
        return [str(folder)]
    return [str(folder / name) for name in case.files]


@pytest.mark.parametrize("case", corpus_params())
def test_the_cli_refuses_each_malformed_input_clearly(case: Case, data_dir: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    upload = tmp_path / "upload"
    upload.mkdir()
    paths = write_case(case, upload)
    before = fingerprint(data_dir)
    command = ("import", *paths) if case.kind is Kind.CT else ("rhinomanometry", *paths)
    # --replace: the template project has a CT and a measurement; the input itself must be refused
    line = assert_refused(rhinoapp_in_process(*command, "--project", PROJECT, "--replace", "--data-dir", str(data_dir),
                                              capsys=capsys, monkeypatch=monkeypatch))
    assert matches(line, case), line
    assert fingerprint(data_dir) == before


def test_a_file_size_limit_while_importing_is_a_full_disk(data_dir: Path, tmp_path: Path) -> None:
    ct = tmp_path / "ct.nii.gz"
    ct.write_bytes(good_ct((40, 128, 128), noise=True))
    largest = max(p.stat().st_size for p in data_dir.rglob("*") if p.is_file())
    before = fingerprint(data_dir)
    result = rhinoapp("import", str(ct), "--project", PROJECT, "--replace", "--data-dir", str(data_dir),
                      limit_bytes=largest + 64 * 1024)
    assert "disk is full" in assert_refused(result)
    assert fingerprint(data_dir) == before


def test_a_full_disk_while_importing(template: Path, tmp_path: Path) -> None:
    ct = tmp_path / "ct.nii.gz"
    ct.write_bytes(good_ct((40, 128, 128), noise=True))
    with tmpfs(tmp_path / "disk", size_kb=8192) as disk:
        data = Path(shutil.copytree(template, disk / "data"))
        filled(disk, leave_bytes=200_000)
        before = fingerprint(data)
        line = assert_refused(rhinoapp("import", str(ct), "--project", PROJECT, "--replace", "--data-dir", str(data)))
        assert "disk is full" in line or "database could not be written" in line, line
        assert fingerprint(data) == before


def test_a_read_only_data_directory(template: Path, tmp_path: Path) -> None:
    ct = tmp_path / "ct.nii.gz"
    ct.write_bytes(good_ct())
    with read_only(template, tmp_path / "ro") as data:
        before = fingerprint(data)
        line = assert_refused(rhinoapp("import", str(ct), "--project", PROJECT, "--replace", "--data-dir", str(data)))
        assert any(word in line for word in ("read-only", "permission", "not readable and writable")), line
        assert fingerprint(data) == before


def test_existing_output_paths(data_dir: Path, tmp_path: Path) -> None:
    from rhinoapp.rhinomanometry.io import write_csv
    from rhinoapp.rhinomanometry.synthetic import generate

    recording = tmp_path / "case.csv"
    recording.write_text(write_csv(generate(seed=2).measurement))
    folder = tmp_path / "existing-folder"
    (folder / "inside").mkdir(parents=True)
    a_file = tmp_path / "existing-file"
    a_file.write_text("keep me")
    before = fingerprint(data_dir)
    line = assert_refused(rhinoapp("rhinomanometry", str(recording), "--json", str(folder), "--data-dir", str(data_dir)))
    assert "folder" in line or "exists" in line, line
    line = assert_refused(rhinoapp("phantom", "--out", str(a_file), "--data-dir", str(data_dir)))
    assert "file" in line or "exists" in line, line
    from rhinoapp.dicom.testing import encode, make_ct_series

    dicom = tmp_path / "IM0001.dcm"
    dicom.write_bytes(encode(make_ct_series(slices=1, shape=(8, 8), phi=False)[0]))
    line = assert_refused(rhinoapp("deidentify", str(dicom), str(a_file), "--data-dir", str(data_dir)))
    assert "file" in line or "exists" in line, line
    assert a_file.read_text() == "keep me" and fingerprint(data_dir) == before


def test_a_read_only_project_folder(data_dir: Path, tmp_path: Path) -> None:
    ct = tmp_path / "ct.nii.gz"
    ct.write_bytes(good_ct())
    [project] = (data_dir / "projects").iterdir()
    with read_only_in_place(project, tmp_path):
        before = fingerprint(data_dir)
        line = assert_refused(rhinoapp("import", str(ct), "--project", PROJECT, "--replace", "--data-dir", str(data_dir)))
        assert "read-only" in line or "permission" in line, line
        assert fingerprint(data_dir) == before
