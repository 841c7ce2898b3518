"""Atomic file writes and file hashing for every layer.

A write goes to a temporary file in the target's folder, is flushed to disk, then renamed into
place: readers see the old file or the whole new one, never a part, and a failure leaves the old
file as it was and no temporary file behind. Every writer of the package uses these functions;
the store's :func:`~rhinoapp.store.artifacts.atomic_publish_many` stages its files with
:func:`stage` and adds database records on top.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["Content", "WrittenFile", "atomic_path", "atomic_write", "file_sha256", "stage", "write_once"]

#: What a writer accepts: the bytes, or a function that writes them to the binary file it is given.
Content = bytes | Callable[[BinaryIO], None]

_CHUNK = 1 << 20
_MODE = 0o644  # mkstemp makes files private; outputs are ordinary files


@dataclasses.dataclass(frozen=True)
class WrittenFile:
    """A file that has been written: its final path, sha256 (hex) and size in bytes."""

    path: Path
    sha256: str
    size_bytes: int


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


def _temporary_beside(target: Path, mode: int = _MODE) -> tuple[int, Path]:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.fchmod(handle, mode)
    return handle, Path(name)


def stage(target: Path | str, content: Content, *, mode: int = _MODE) -> tuple[Path, WrittenFile]:
    """Write ``content`` to a temporary file beside ``target``, on disk; the caller renames it.

    Returns the temporary path and what ``target`` will be once it is renamed there
    (``os.replace(temporary, target)``). A failure while writing removes the temporary file.
    ``mode`` is the file's permission bits (``0o600`` for a secret), set before anything is written.
    Use :func:`atomic_write` unless several files must be published together.

    Examples
    --------
    >>> folder = Path(tempfile.mkdtemp())
    >>> temporary, written = stage(folder / "a.txt", b"abc")
    >>> temporary.parent == folder, temporary.read_bytes(), written.path.exists(), written.size_bytes
    (True, b'abc', False, 3)
    """
    target = Path(target)
    handle, temporary = _temporary_beside(target, mode)
    try:
        with os.fdopen(handle, "wb") as stream:
            writer = _HashingWriter(stream)
            if callable(content):
                content(writer)  # type: ignore[arg-type]
            else:
                writer.write(content)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary, WrittenFile(target, writer.digest.hexdigest(), writer.size)


def atomic_write(target: Path | str, content: Content) -> WrittenFile:
    """Write ``content`` to ``target`` atomically (its folder is created); return path, digest and size.

    Parameters
    ----------
    target
        The final path.
    content
        The bytes, or a function that writes them to the binary file object it is given.

    Examples
    --------
    >>> folder = Path(tempfile.mkdtemp())
    >>> written = atomic_write(folder / "sub" / "a.txt", b"abc")
    >>> written.path.read_bytes(), written.sha256[:12], sorted(p.name for p in written.path.parent.iterdir())
    (b'abc', 'ba7816bf8f01', ['a.txt'])
    >>> atomic_write(folder / "b.txt", lambda handle: handle.write(b"streamed")).size_bytes
    8
    """
    temporary, written = stage(target, content)
    try:
        os.replace(temporary, written.path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return written


def write_once(target: Path | str, content: Content, *, mode: int = _MODE) -> bytes:
    """Create ``target`` with ``content`` unless it exists; return the bytes the file holds.

    The file appears whole or not at all, with ``mode`` from the start. When several processes
    race, the first one's file wins and every caller gets its bytes (a hard link publishes the
    staged file only where no file is). For a value made once and kept, such as a secret.

    Examples
    --------
    >>> path = Path(tempfile.mkdtemp()) / "secret"
    >>> write_once(path, b"first", mode=0o600), write_once(path, b"second", mode=0o600)
    (b'first', b'first')
    >>> oct(path.stat().st_mode & 0o777), sorted(p.name for p in path.parent.iterdir())
    ('0o600', ['secret'])
    """
    target = Path(target)
    if not target.exists():
        temporary, _written = stage(target, content, mode=mode)
        try:
            os.link(temporary, target)
        except FileExistsError:  # another process published it first: keep theirs
            pass
        finally:
            temporary.unlink(missing_ok=True)
    return target.read_bytes()


@contextlib.contextmanager
def atomic_path(target: Path | str) -> Iterator[Path]:
    """A temporary path beside ``target`` for writers that open the file by name (VTK, say).

    The block writes the temporary file; when it ends normally the file is flushed to disk and
    renamed to ``target``; when it raises, the temporary file is removed and ``target`` is untouched.

    Examples
    --------
    >>> folder = Path(tempfile.mkdtemp())
    >>> with atomic_path(folder / "a.txt") as temporary:
    ...     _ = temporary.write_text("by name")
    >>> (folder / "a.txt").read_text(), sorted(p.name for p in folder.iterdir())
    ('by name', ['a.txt'])
    """
    target = Path(target)
    handle, temporary = _temporary_beside(target)
    os.close(handle)
    try:
        yield temporary
        with open(temporary, "rb+") as stream:
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def file_sha256(path: Path | str) -> str:
    """The sha256 (hex) of a file, read in chunks.

    Examples
    --------
    >>> path = Path(tempfile.mkdtemp()) / "a.txt"
    >>> file_sha256(atomic_write(path, b"abc").path) == atomic_write(path, b"abc").sha256
    True
    """
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
