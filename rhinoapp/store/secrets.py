"""The per-installation secret: keys the UIDs, pseudonyms and date shifts of de-identification.

It lives in ``<data_dir>/secret.key`` (64 hex digits, mode 0600). Keep it with backups of the
data directory: with another secret, the same patient gets other UIDs and another date shift.
Anyone holding it can test whether a guessed original UID maps to a stored one, so it must not
leave the installation.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from rhinoapp.core.errors import StoreError

__all__ = ["SECRET_FILE", "installation_secret", "read_secret"]

logger = logging.getLogger(__name__)

#: File name of the secret inside the data directory.
SECRET_FILE = "secret.key"
_BYTES = 32


def read_secret(path: Path) -> bytes:
    """Read a secret file (for example one shared by the sites of a study); it must be mode 0600.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> created = installation_secret(folder)
    >>> read_secret(folder / SECRET_FILE) == created
    True
    """
    if not Path(path).is_file():
        raise StoreError(f"the secret file {path} does not exist; give the path of a secret.key.")
    return _read(Path(path))


def _read(path: Path) -> bytes:
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):
        raise StoreError(f"{path} is not a regular file; remove it so that rhinoapp can create the secret.")
    if mode & 0o077:
        raise StoreError(f"{path} can be read by other users (mode {stat.S_IMODE(mode):o}); run `chmod 600 {path}`.")
    try:
        secret = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (UnicodeDecodeError, ValueError):
        secret = b""
    if len(secret) < 16:
        raise StoreError(f"{path} does not hold a valid secret (at least 32 hex digits); restore it from a backup, "
                         "or delete it to start a new one (de-identified UIDs and date shifts will change).")
    return secret


def installation_secret(data_dir: Path) -> bytes:
    """Read the installation's secret, creating it (atomically, mode 0600) on first use.

    Two processes starting together agree on one secret: the file is written under a temporary
    name and linked into place, which fails if the other process was first.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> first = installation_secret(folder)
    >>> len(first), first == installation_secret(folder), oct((folder / "secret.key").stat().st_mode & 0o777)
    (32, True, '0o600')
    """
    path = Path(data_dir) / SECRET_FILE
    if path.exists():
        return _read(path)
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    temporary = Path(data_dir) / f".{SECRET_FILE}.{secrets.token_hex(8)}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(_BYTES) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
            logger.info("created a new installation secret in the data directory")
        except FileExistsError:
            pass  # another process created it first: use theirs
    finally:
        temporary.unlink(missing_ok=True)
    return _read(path)
