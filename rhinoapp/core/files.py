"""Atomic file writes for every layer: a temporary file in the same folder, flushed, then renamed.

Readers see the old file or the whole new one, never a part. (The store's
:func:`~rhinoapp.store.artifacts.atomic_publish` adds hashing and database records on top.)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write_bytes"]


def atomic_write_bytes(path: Path | str, content: bytes) -> Path:
    """Write ``content`` to ``path`` atomically (its folder is created) and return the path.

    Examples
    --------
    >>> folder = Path(tempfile.mkdtemp())
    >>> atomic_write_bytes(folder / "a.bin", b"abc").read_bytes(), sorted(p.name for p in folder.iterdir())
    (b'abc', ['a.bin'])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(handle, 0o644)  # mkstemp makes it private; outputs are ordinary files
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return path
