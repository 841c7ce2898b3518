"""Fixtures of the fuzz tests: a data directory with a project whose CT and 4PR recording are stored."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from rhinoapp.cli import main
from rhinoapp.config import Settings
from rhinoapp.core.volume import CTVolume, ImageGeometry
from rhinoapp.store import ProjectRepository, open_store
from rhinoapp.store.secrets import installation_secret
from rhinoapp.volumes import nifti_bytes
from tests.fuzz.corpus import CASES, Case

PROJECT = "Case 1"


def _rows(database: Path) -> str:
    """Every row of an SQLite database, as SQL text (the log and index files come and go with connections)."""
    for uri in (f"file:{database}?mode=ro", f"file:{database}?immutable=1"):
        try:
            with contextlib.closing(sqlite3.connect(uri, uri=True)) as connection:
                return hashlib.sha256("\n".join(connection.iterdump()).encode()).hexdigest()
        except sqlite3.OperationalError:
            continue
    raise AssertionError(f"{database} cannot be read")


def fingerprint(folder: Path) -> dict[str, str]:
    """What the store holds under ``folder``: sha256 of every file, the database by its rows."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.endswith(("-wal", "-shm", "-journal")):
            continue
        key = str(path.relative_to(folder))
        found[key] = _rows(path) if path.suffix == ".sqlite" else hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def good_ct(shape: tuple[int, int, int] = (6, 24, 24), *, noise: bool = False) -> bytes:
    """A valid CT volume as .nii.gz bytes (random values compress badly: a large file)."""
    hu = np.random.default_rng(5).integers(-1000, 1500, shape, dtype=np.int16) if noise else \
        np.full(shape, -1000, dtype=np.int16)
    return nifti_bytes(CTVolume(hu, ImageGeometry(shape, spacing_mm=(0.5, 0.5, 1.0))))


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with project "Case 1", a stored CT and a stored 4PR recording."""
    from rhinoapp.rhinomanometry.io import write_csv
    from rhinoapp.rhinomanometry.synthetic import generate

    root = tmp_path_factory.mktemp("template")
    data = root / "data"
    assert main(["projects", "create", PROJECT, "--data-dir", str(data)]) == 0
    (root / "ct.nii.gz").write_bytes(good_ct())
    assert main(["import", str(root / "ct.nii.gz"), "--project", PROJECT, "--data-dir", str(data)]) == 0
    (root / "case.csv").write_text(write_csv(generate(seed=2).measurement))
    assert main(["rhinomanometry", str(root / "case.csv"), "--project", PROJECT, "--data-dir", str(data)]) == 0
    installation_secret(data)  # made by the first DICOM import: an installation has it
    store = open_store(Settings(data_dir=data))  # checkpoint the log into the database file
    store.close()
    return data


@pytest.fixture
def data_dir(template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the template data directory."""
    return Path(shutil.copytree(template, tmp_path / "data"))


def project_id(data: Path) -> str:
    store = open_store(Settings(data_dir=data))
    try:
        return ProjectRepository(store, owner="local").list_projects()[0].id
    finally:
        store.close()


def corpus_params() -> list:
    """The corpus as pytest parameters, one per case (bombs included: the readers' limits refuse them early)."""
    return [pytest.param(case, id=case.name) for case in CASES]


def matches(message: str, case: Case) -> bool:
    """True when ``message`` holds one of the case's words."""
    text = message.lower()
    return any(word in text for word in case.words)
