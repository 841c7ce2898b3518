"""Atomic artifact files: a failure never leaves a partial file or damages the previous one."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from rhinoapp.core.errors import ValidationError
from rhinoapp.core.workflow import Step
from rhinoapp.store.artifacts import atomic_write, check_artifact_name, file_sha256


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_atomic_write_records_digest_and_size(tmp_path: Path) -> None:
    written = atomic_write(tmp_path / "sub" / "a.bin", b"x" * 1000)
    assert written.path.read_bytes() == b"x" * 1000
    assert written.sha256 == hashlib.sha256(b"x" * 1000).hexdigest() == file_sha256(written.path)
    assert written.size_bytes == 1000


def test_streaming_writer(tmp_path: Path) -> None:
    def produce(handle) -> None:
        for i in range(5):
            handle.write(bytes([i]) * 10)

    written = atomic_write(tmp_path / "s.bin", produce)
    assert written.size_bytes == 50 and written.sha256 == file_sha256(written.path)


def test_failure_while_writing_keeps_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "fields.vti"
    atomic_write(target, b"version 1")

    def fail_half_way(handle) -> None:
        handle.write(b"version 2, partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, fail_half_way)
    assert target.read_bytes() == b"version 1"
    assert leftovers(tmp_path) == []


def test_failure_between_temporary_write_and_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "airway.stl"
    atomic_write(target, b"old surface")

    def broken_replace(src, dst) -> None:
        assert Path(src).read_bytes() == b"new surface"  # the temporary file was complete
        raise OSError("power cut before rename")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="power cut"):
        atomic_write(target, b"new surface")
    monkeypatch.undo()
    assert target.read_bytes() == b"old surface"
    assert leftovers(tmp_path) == []


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
