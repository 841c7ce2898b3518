"""Artifacts published with their records: a failure never leaves a partial file or damages the previous one.

The atomic writer itself is tested in tests/core/test_files.py.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from rhinoapp.core.errors import ValidationError
from rhinoapp.core.files import atomic_write, file_sha256
from rhinoapp.core.workflow import Step
from rhinoapp.store.artifacts import check_artifact_name


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_repository_failure_before_rename_keeps_file_and_record(repo, monkeypatch: pytest.MonkeyPatch) -> None:
    project = repo.create("Case A")
    first = repo.write_artifact(project.id, Step.DICOM, "volume/ct.json", b'{"v": 1}')
    monkeypatch.setattr(os, "replace", lambda *_: (_ for _ in ()).throw(OSError("crash")))
    with pytest.raises(OSError):
        repo.write_artifact(project.id, Step.DICOM, "volume/ct.json", b'{"v": 2}')
    monkeypatch.undo()
    [record] = repo.artifacts(project.id)
    assert record.sha256 == first.sha256 == file_sha256(record.path)
    assert record.path.read_bytes() == b'{"v": 1}'
    assert leftovers(record.path.parent) == []


def test_repository_database_failure_rolls_back_the_file(repo, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the record cannot be written, the new file must not be left in place."""
    project = repo.create("Case B")
    repo.write_artifact(project.id, Step.DICOM, "volume/ct.json", b"one")
    with repo._store.engine.begin() as connection:  # make the UPDATE fail inside the transaction
        connection.exec_driver_sql(
            "CREATE TRIGGER no_updates BEFORE UPDATE ON artifacts BEGIN SELECT RAISE(ABORT, 'locked'); END"
        )
    with pytest.raises(Exception, match="locked"):
        repo.write_artifact(project.id, Step.DICOM, "volume/ct.json", b"two")
    [record] = repo.artifacts(project.id)
    assert record.path.read_bytes() == b"one" and record.sha256 == file_sha256(record.path)


@pytest.mark.parametrize("name", ["", "/etc/passwd", "../x", "a/../../b", ".hidden", "a\\b"])
def test_artifact_names_stay_inside_the_project(name: str) -> None:
    with pytest.raises(ValidationError):
        check_artifact_name(name)


def test_failed_confirmation_after_rename_restores_the_previous_file(tmp_path: Path) -> None:
    from rhinoapp.store.artifacts import atomic_publish

    target = tmp_path / "results.json"
    atomic_write(target, b"old")
    seen = []

    def refuse() -> None:
        assert target.read_bytes() == b"new"  # the rename had happened
        raise RuntimeError("commit failed")

    with pytest.raises(RuntimeError, match="commit failed"):
        atomic_publish(target, b"new", record=seen.append, confirm=refuse)
    assert target.read_bytes() == b"old" and seen[0].sha256 == hashlib.sha256(b"new").hexdigest()
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]
    with pytest.raises(RuntimeError):
        atomic_publish(tmp_path / "fresh.json", b"new", record=seen.append,
                       confirm=lambda: (_ for _ in ()).throw(RuntimeError("commit failed")))
    assert not (tmp_path / "fresh.json").exists()
