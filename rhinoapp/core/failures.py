"""What rhinoapp tells a person about a failure: one sentence that names the problem and what to do.

:func:`explain` turns any exception into that sentence: the CLI prints it as its one
``rhinoapp: error:`` line, the pages show it in their message area. The project's own errors
already say what to do; system errors (a full or read-only disk, a missing permission, an existing
path), damaged inputs (bad zip or gzip checksums, truncated files, wrong text encodings) and
memory exhaustion get a sentence here. Anything else is unexpected: the sentence says so and adds
the caller's ``details`` (where the traceback can be found). No traceback reaches a person.
"""

from __future__ import annotations

import errno
import gzip
import sqlite3
import zipfile
import zlib

from rhinoapp.core.errors import RhinoappError

__all__ = ["explain", "is_unexpected"]

_DAMAGED = (zipfile.BadZipFile, gzip.BadGzipFile, zlib.error, EOFError, zipfile.LargeZipFile)


def _where(error: OSError) -> str:
    names = [str(name) for name in (error.filename, error.filename2) if name]
    return f" ({' -> '.join(names)})" if names else ""


def _os_error(error: OSError) -> str:
    where = _where(error)
    code = error.errno
    if code is None:  # raised by a reader (not the system): the file is not what it claims
        detail = f": {error}" if str(error) else ""
        return (f"the input cannot be read ({type(error).__name__}{detail}){where}, e.g. a damaged or truncated "
                "file; check it or export it again.")
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return (f"the disk is full or the file grew past the size allowed{where}; free space (or raise the quota), "
                "or write somewhere else, then try again.")
    if code == errno.EROFS:
        return (f"the file system is read-only{where}; make it writable or write somewhere else, then try "
                "again.")
    if code in (errno.EACCES, errno.EPERM):
        return f"permission denied{where}; give this user access to the path, or choose another one."
    if code == errno.EEXIST:
        return f"the path already exists{where}; remove it or choose another one."
    if code == errno.ENOENT:
        return f"no such file or folder{where}; check the path."
    if code == errno.ENOTDIR:
        return f"a part of the path is a file, not a folder{where}; check the path."
    if code == errno.EISDIR:
        return f"the path is a folder, not a file{where}; give a file."
    if code == errno.ENOMEM:
        return _memory()
    return f"the operating system refused the operation: {error.strerror or type(error).__name__}{where}; check the path."


def _memory() -> str:
    return ("not enough memory: the input declares more data than this machine can hold (a damaged header, or a "
            "volume far larger than a CT); check the file, or use a machine with more memory.")


def _sqlite(error: sqlite3.Error) -> str:
    text = str(error).lower()
    if "readonly" in text or "read-only" in text:
        return "the database cannot be written (a read-only disk or file); make the data directory writable."
    if "full" in text or "disk i/o" in text:
        return "the database could not be written (the disk is full or failing); free space and try again."
    if "locked" in text or "busy" in text:
        return "the database is busy (another rhinoapp is writing); try again in a moment."
    return f"the database could not be used ({type(error).__name__}); check the data directory."


def _cause(error: BaseException) -> BaseException:
    # The database layer wraps the driver's error (``orig``): explain the driver's.
    original = getattr(error, "orig", None)
    return original if isinstance(original, sqlite3.Error) else error


def is_unexpected(error: BaseException) -> bool:
    """True when ``error`` is none of the failures :func:`explain` has a specific sentence for."""
    error = _cause(error)
    return not isinstance(error, (RhinoappError, OSError, MemoryError, sqlite3.Error, UnicodeError, *_DAMAGED))


def explain(error: BaseException, *, details: str = "the details are in the log") -> str:
    """The one sentence for ``error``: what went wrong and what to do.

    Examples
    --------
    >>> explain(OSError(errno.ENOSPC, "No space left on device", "/data/x.nii.gz"))
    'the disk is full or the file grew past the size allowed (/data/x.nii.gz); free space (or raise the quota), or write somewhere else, then try again.'
    >>> explain(zipfile.BadZipFile("Bad CRC-32 for file 'a.dcm'"))
    "the input is damaged (BadZipFile: Bad CRC-32 for file 'a.dcm'), e.g. a truncated copy or a bad checksum; copy or export it again."
    >>> explain(KeyError("x"), details="run again with --debug for the details")
    'unexpected failure (KeyError); run again with --debug for the details, and report it if the input is valid.'
    """
    error = _cause(error)
    if isinstance(error, RhinoappError):
        return str(error)
    if isinstance(error, MemoryError):
        return _memory()
    if isinstance(error, _DAMAGED):
        detail = f": {error}" if str(error) else ""
        return (f"the input is damaged ({type(error).__name__}{detail}), e.g. a truncated copy or a bad checksum; "
                "copy or export it again.")
    if isinstance(error, OSError):
        return _os_error(error)
    if isinstance(error, sqlite3.Error):
        return _sqlite(error)
    if isinstance(error, UnicodeError):
        return ("the input is not text in a known encoding (UTF-8, UTF-16 or Latin-1); export it again as "
                "UTF-8 text.")
    return f"unexpected failure ({type(error).__name__}); {details}, and report it if the input is valid."
