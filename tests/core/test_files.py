"""The one atomic writer and file hasher: a failure never leaves a partial file or damages the previous one."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from rhinoapp.core.files import atomic_path, atomic_write, file_sha256, stage, write_once


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_atomic_write_records_digest_and_size(tmp_path: Path) -> None:
    written = atomic_write(tmp_path / "sub" / "a.bin", b"x" * 1000)
    assert written.path == tmp_path / "sub" / "a.bin" and written.path.read_bytes() == b"x" * 1000
    assert written.sha256 == hashlib.sha256(b"x" * 1000).hexdigest() == file_sha256(written.path)
    assert written.size_bytes == 1000
    assert stat.S_IMODE(written.path.stat().st_mode) == 0o644  # an ordinary file, not mkstemp's private one


def test_streaming_writer(tmp_path: Path) -> None:
    def produce(handle) -> None:
        for i in range(5):
            handle.write(bytes([i]) * 10)

    written = atomic_write(tmp_path / "s.bin", produce)
    assert written.size_bytes == 50 and written.sha256 == file_sha256(written.path)
    assert written.path.read_bytes() == b"".join(bytes([i]) * 10 for i in range(5))


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


def test_stage_leaves_the_target_to_the_caller(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    atomic_write(target, b"old")
    temporary, written = stage(target, b"new")
    assert target.read_bytes() == b"old" and temporary.read_bytes() == b"new"
    assert (written.path, written.sha256, written.size_bytes) == (target, hashlib.sha256(b"new").hexdigest(), 3)
    os.replace(temporary, target)
    assert target.read_bytes() == b"new" and leftovers(tmp_path) == []
    with pytest.raises(ValueError):
        stage(target, lambda handle: (_ for _ in ()).throw(ValueError("bad content")))
    assert leftovers(tmp_path) == [] and target.read_bytes() == b"new"


def test_atomic_path_for_writers_that_open_the_file_by_name(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "image.vti"
    with atomic_path(target) as temporary:
        assert temporary.parent == target.parent and not target.exists()
        temporary.write_bytes(b"first")
    assert target.read_bytes() == b"first" and stat.S_IMODE(target.stat().st_mode) == 0o644
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_path(target) as temporary:
            temporary.write_bytes(b"half")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"first" and [p.name for p in target.parent.iterdir()] == ["image.vti"]


def test_file_sha256_reads_large_files_in_chunks(tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 17)  # more than one chunk, not a multiple of it
    path = atomic_write(tmp_path / "big.bin", data).path
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    assert file_sha256(str(path)) == file_sha256(path)


def _write_once_in_a_process(path: str, content: bytes) -> bytes:
    return write_once(path, content, mode=0o600)


def test_write_once_keeps_the_first_file_when_processes_race(tmp_path: Path) -> None:
    """Processes that create the same secret at once all end up with one file, private from the start."""
    from concurrent.futures import ProcessPoolExecutor

    target = tmp_path / "secret"
    with ProcessPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(_write_once_in_a_process, [str(target)] * 8, [f"value-{i}".encode() for i in range(8)]))
    assert len(set(results)) == 1 and results[0] == target.read_bytes()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert leftovers(tmp_path) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["secret"]
    assert write_once(target, b"later") == results[0]  # an existing file is never replaced
