"""Reading uploads into memory safely: files, folders and zip archives, with size limits.

Nothing is extracted to disk. Zip members are checked before they are read: paths that leave
the archive (``../``, absolute, drive letters), links, encryption, more members than the limit,
a compression ratio above the limit (of a member larger than 64 KiB, or of the whole archive:
zip bombs, including many small members) and sizes above the limit are refused, all from the
archive's directory before anything is inflated; a member that inflates beyond what its header
declared is refused too. Messages give the limit and the setting that raises it and never quote
member or file names (exports often name folders after the patient).
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from rhinoapp.core.errors import ValidationError
from rhinoapp.core.limits import DEFAULT_MAX_FILES, InputLimits, LimitError, setting_hint

__all__ = ["RATIO_FREE_BYTES", "UploadError", "UploadLimitError", "UploadLimits", "is_zip", "iter_upload", "iter_zip", "read_upload", "read_uploaded"]

_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")  # member, empty archive, spanned
#: Members up to this size are exempt from the per-member ratio check (tiny files compress oddly);
#: the whole archive's ratio still counts them.
RATIO_FREE_BYTES = 64 * 1024
_MIB = 1024 * 1024


class UploadError(ValidationError):
    """The upload is refused as a whole (empty, unsafe or damaged archive)."""


class UploadLimitError(UploadError, LimitError):
    """The upload is refused for a limit (size, files, compression ratio); the message names the setting."""


@dataclass(frozen=True)
class UploadLimits:
    """Limits on one upload.

    Parameters
    ----------
    max_bytes
        Largest total size, after unzipping (``Settings.max_upload_mb`` in bytes).
    max_ratio
        Largest compression ratio (uncompressed / compressed) of a zip member above
        :data:`RATIO_FREE_BYTES`, and of a whole archive above 1 MiB.
    max_files
        Most files (or zip members) in one upload (``Settings.max_upload_files``).

    Examples
    --------
    >>> UploadLimits.from_megabytes(2).max_bytes
    2097152
    >>> UploadLimits.of(InputLimits(max_bytes=10, max_files=3))
    UploadLimits(max_bytes=10, max_ratio=200.0, max_files=3)
    """

    max_bytes: int
    max_ratio: float = 200.0
    max_files: int = DEFAULT_MAX_FILES

    @classmethod
    def from_megabytes(cls, megabytes: int, **kwargs: float) -> UploadLimits:
        """Limits with ``max_bytes`` given in megabytes (MiB)."""
        return cls(int(megabytes) * _MIB, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def of(cls, limits: InputLimits) -> UploadLimits:
        """The upload limits of an import's :class:`~rhinoapp.core.limits.InputLimits` (``Settings.input_limits``)."""
        return cls(limits.max_bytes, max_files=limits.max_files)

    def too_large(self, after: str = "") -> UploadLimitError:
        """The refusal of an upload above ``max_bytes``."""
        return UploadLimitError(f"the upload is larger than the limit of {self.max_bytes // _MIB} MB{after}; upload one "
                                f"series at a time, or {setting_hint('max_upload_mb')}.")

    def too_many(self, count: int | None = None) -> UploadLimitError:
        """The refusal of an upload of more than ``max_files`` files."""
        held = f"{count:,} files" if count is not None else "more files"
        return UploadLimitError(f"the upload holds {held}, more than the limit of {self.max_files:,}; upload one series "
                                f"at a time, or {setting_hint('max_upload_files')}.")


def is_zip(head: bytes) -> bool:
    """Whether the bytes start like a zip archive.

    Examples
    --------
    >>> is_zip(b"PK\x03\x04..."), is_zip(b"DICM")
    (True, False)
    """
    return head[:4] in _ZIP_MAGICS


def _unsafe_name(name: str) -> bool:
    normalised = name.replace("\\", "/")
    path = PurePosixPath(normalised)
    return (normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":")
            or ".." in path.parts)


def iter_zip(source: BinaryIO | Path, limits: UploadLimits) -> Iterator[tuple[str, bytes]]:
    """Yield ``(member name, content)`` of the files in a zip archive, checked against ``limits``.

    All members are checked before the first one is read.

    Examples
    --------
    >>> import io, zipfile
    >>> buffer = io.BytesIO()
    >>> with zipfile.ZipFile(buffer, "w") as archive:
    ...     archive.writestr("../evil.dcm", b"x")
    >>> list(iter_zip(io.BytesIO(buffer.getvalue()), UploadLimits(10**6)))
    Traceback (most recent call last):
    ...
    rhinoapp.dicom.upload.UploadError: the zip archive holds a path that leaves its folder ('..' or an absolute path); refusing the whole archive. Re-create the zip from the export folder.
    """
    return _iter_zip(source, limits, [limits.max_bytes])


def _iter_zip(source: BinaryIO | Path, limits: UploadLimits, budget: list[int]) -> Iterator[tuple[str, bytes]]:
    # ``budget`` holds the bytes still allowed, shared by all archives of one upload.
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError):
        raise UploadError("the zip archive is damaged or incomplete; upload it again.") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > limits.max_files:
            raise limits.too_many(len(members))
        for member in members:
            _check_member(member, limits, budget)
        _check_archive_ratio(members, limits)
        for member in members:
            if stat.S_ISLNK(member.external_attr >> 16) or PurePosixPath(member.filename).name.startswith("."):
                continue
            with archive.open(member) as handle:
                data = handle.read(member.file_size + 1)
            if len(data) > member.file_size:
                raise UploadError("a zip member inflates beyond its declared size (a zip bomb?); refusing the archive.")
            yield member.filename, data


def _check_member(member: zipfile.ZipInfo, limits: UploadLimits, budget: list[int]) -> None:
    if _unsafe_name(member.filename):
        raise UploadError("the zip archive holds a path that leaves its folder ('..' or an absolute path); refusing "
                          "the whole archive. Re-create the zip from the export folder.")
    if member.flag_bits & 0x1:
        raise UploadError("the zip archive is encrypted; upload an unencrypted archive.")
    ratio = member.file_size / max(member.compress_size, 1)
    if member.file_size > RATIO_FREE_BYTES and ratio > limits.max_ratio:
        raise UploadLimitError(f"a zip member is compressed {ratio:.0f}:1, above the limit of {limits.max_ratio:.0f}:1 "
                               "(a fixed limit; a zip bomb?), so the archive is refused. Zip the export folder "
                               "again with ordinary compression.")
    budget[0] -= member.file_size
    if budget[0] < 0:
        raise limits.too_large(" after unzipping")


def _check_archive_ratio(members: list[zipfile.ZipInfo], limits: UploadLimits) -> None:
    # Many small members, each below the per-member check, can still inflate a small archive to
    # gigabytes and cost minutes of parsing: the archive as a whole has the same ratio limit.
    inflated = sum(m.file_size for m in members)
    ratio = inflated / max(sum(m.compress_size for m in members), 1)
    if inflated > _MIB and ratio > limits.max_ratio:
        raise UploadLimitError(f"the zip archive is compressed {ratio:.0f}:1 as a whole ({len(members):,} members), above"
                               f" the limit of {limits.max_ratio:.0f}:1 (a fixed limit; a zip bomb?), so the archive is "
                               "refused. Zip the export folder again with ordinary compression.")


def _files_under(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(root, name)
            if not name.startswith(".") and path.is_file() and not path.is_symlink():
                yield path


def iter_upload(paths: Iterable[Path], limits: UploadLimits) -> Iterator[tuple[str, bytes]]:
    """Yield ``(label, content)`` for files, folders (recursively) and zip archives, one at a time.

    Labels are paths relative to the folder given (``archive.zip:member`` inside zips), for
    reports to the person running a batch; they are never logged. Limits are checked as it goes.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.dcm").write_bytes(b"abc")
    >>> list(iter_upload([folder], UploadLimits(100)))
    [('a.dcm', b'abc')]
    """
    budget, count = [limits.max_bytes], 0
    for path in paths:
        if not path.exists():
            raise UploadError(f"{path} does not exist; check the path.")
        for file in _files_under(path) if path.is_dir() else [path]:
            label = str(file.relative_to(path)) if path.is_dir() else file.name
            with file.open("rb") as handle:
                if is_zip(handle.read(4)):
                    handle.seek(0)
                    for name, data in _iter_zip(handle, limits, budget):
                        count += 1
                        if count > limits.max_files:
                            raise limits.too_many()
                        yield f"{label}:{name}", data
                    continue
            budget[0] -= file.stat().st_size
            if budget[0] < 0:
                raise limits.too_large()
            count += 1
            if count > limits.max_files:
                raise limits.too_many()
            yield label, file.read_bytes()


def read_upload(paths: Iterable[Path], limits: UploadLimits) -> list[bytes]:
    """Read files, folders (recursively) and zip archives into memory, within ``limits``.

    Raises :class:`UploadError` for an empty upload, one above the limits or an unsafe zip.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> read_upload([folder], UploadLimits(1000))
    Traceback (most recent call last):
    ...
    rhinoapp.dicom.upload.UploadError: the upload is empty (no files, or only empty files); choose the folder, zip or files of a CT series.
    """
    return _not_empty([content for _, content in iter_upload(paths, limits)])


def read_uploaded(contents: Iterable[bytes], limits: UploadLimits) -> list[bytes]:
    """Like :func:`read_upload` for contents already in memory (browser uploads); zips are opened.

    Examples
    --------
    >>> len(read_uploaded([b"a", b"b"], UploadLimits(10)))
    2
    """
    budget = [limits.max_bytes]
    blobs: list[bytes] = []
    for content in contents:
        if is_zip(content):
            blobs.extend(data for _, data in _iter_zip(io.BytesIO(content), limits, budget))
        else:
            budget[0] -= len(content)
            if budget[0] < 0:
                raise limits.too_large()
            blobs.append(content)
        if len(blobs) > limits.max_files:
            raise limits.too_many()
    return _not_empty(blobs)


def _not_empty(blobs: list[bytes]) -> list[bytes]:
    if not any(blobs):
        raise UploadError("the upload is empty (no files, or only empty files); choose the folder, zip or files of "
                          "a CT series.")
    return [blob for blob in blobs if blob]
