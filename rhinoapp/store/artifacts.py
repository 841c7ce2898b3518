"""Atomic artifact files: write to a temporary file in the same folder, then rename into place."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from rhinoapp.core.errors import ValidationError

__all__ = ["WrittenFile", "atomic_publish", "atomic_publish_many", "atomic_write", "check_artifact_name", "file_sha256", "staged_file"]

_CHUNK = 1 << 20


@dataclasses.dataclass(frozen=True)
class WrittenFile:
    """A file that has been published: its path, digest and size."""

    path: Path
    sha256: str
    size_bytes: int


def check_artifact_name(name: str) -> PurePosixPath:
    """Validate a project-relative artifact name such as ``volume/ct.nii.gz``.

    Examples
    --------
    >>> str(check_artifact_name("geometry/default/airway.stl"))
    'geometry/default/airway.stl'
    >>> check_artifact_name("../etc/passwd")
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ValidationError: Artifact name '../etc/passwd' must be a relative path inside the project folder, without '..' or a leading '/'.
    """
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or "\\" in name or name.startswith("."):
        raise ValidationError(
            f"Artifact name {name!r} must be a relative path inside the project folder,"
            " without '..' or a leading '/'."
        )
    return path


class _HashingWriter:
    """A binary file object that hashes and counts what is written through it."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self._handle.write(data)


@contextlib.contextmanager
def staged_file(target: Path) -> Iterator[tuple[Path, _HashingWriter]]:
    """Yield a temporary path beside ``target`` and a hashing writer for it.

    The caller publishes it with ``os.replace``; on any exception the temporary file is removed
    and ``target`` is untouched.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            writer = _HashingWriter(handle)
            yield tmp, writer
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(target: Path, content: bytes | Callable[[BinaryIO], None]) -> WrittenFile:
    """Write ``content`` to ``target`` atomically and return its digest.

    Parameters
    ----------
    target
        Final path; its folder is created when missing.
    content
        The bytes, or a function that writes them to the binary file object it is given.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write(folder / "a.txt", b"abc").sha256[:12]
    'ba7816bf8f01'
    """
    with staged_file(target) as (tmp, writer):
        if callable(content):
            content(writer)  # type: ignore[arg-type]
        else:
            writer.write(content)
    try:
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return WrittenFile(target, writer.digest.hexdigest(), writer.size)


def atomic_publish(
    target: Path,
    content: bytes | Callable[[BinaryIO], None],
    *,
    record: Callable[[WrittenFile], None],
    confirm: Callable[[], None],
) -> WrittenFile:
    """Publish a file together with its database record, all or nothing.

    The sequence is: write a temporary file; ``record(info)`` (e.g. add and flush the database
    row); rename into place; ``confirm()`` (e.g. commit). A failure before the rename removes the
    temporary file; a failure of ``confirm`` puts the previous file back (or removes the new one).
    """
    return atomic_publish_many([(target, content)], record=lambda written: record(written[0]), confirm=confirm)[0]


def atomic_publish_many(
    files: Sequence[tuple[Path, bytes | Callable[[BinaryIO], None]]],
    *,
    record: Callable[[list[WrittenFile]], None],
    confirm: Callable[[], None],
) -> list[WrittenFile]:
    """Publish several files and their records together: all of them or none.

    Every file is first written to a temporary path; then ``record(infos)`` runs; then all are
    renamed into place (previous versions kept as hard-link backups); then ``confirm()``. A failure
    at any point removes the temporary files and puts every previous file back.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> def fail():
    ...     raise RuntimeError("commit failed")
    >>> try:
    ...     atomic_publish_many([(folder / "a", b"1"), (folder / "b", b"2")], record=lambda w: None, confirm=fail)
    ... except RuntimeError:
    ...     sorted(p.name for p in folder.iterdir())
    []
    """
    staged: list[tuple[Path, Path, WrittenFile]] = []
    try:
        for target, content in files:
            with staged_file(target) as (tmp, writer):
                if callable(content):
                    content(writer)  # type: ignore[arg-type]
                else:
                    writer.write(content)
            staged.append((target, tmp, WrittenFile(target, writer.digest.hexdigest(), writer.size)))
        record([written for _, _, written in staged])
    except BaseException:
        for _, tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    replaced: list[tuple[Path, Path | None]] = []  # (target, backup or None when it was new)
    try:
        for target, tmp, _ in staged:
            backup = None
            if target.exists():
                backup = tmp.with_name(tmp.name + ".previous")
                os.link(target, backup)
            os.replace(tmp, target)
            replaced.append((target, backup))
        confirm()
    except BaseException:
        for _, tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        for target, backup in reversed(replaced):
            if backup is not None:
                os.replace(backup, target)
            else:
                target.unlink(missing_ok=True)
        raise
    finally:
        for _, backup in replaced:
            if backup is not None:
                backup.unlink(missing_ok=True)
    return [written for _, _, written in staged]


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
