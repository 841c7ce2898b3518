"""Bounds on what an input may expand to, and decompression that stops at the bound.

Every reader of uploaded or imported data (zip archives, gzip streams, NIfTI, NRRD, DICOM,
XLSX, CSV) checks what a file *declares* (member sizes, image dimensions) against
:class:`InputLimits` before it expands anything, and decompresses with
:func:`bounded_decompress`, which never produces more than it is allowed to. A refusal is a
:class:`LimitError` whose message gives the limit and the setting that raises it; it never
quotes a file name (exports often name files after the patient).

Examples
--------
>>> import gzip
>>> bomb = gzip.compress(bytes(10_000_000))
>>> bounded_decompress(bomb, max_bytes=1_000_000, what="the volume")
Traceback (most recent call last):
...
rhinoapp.core.limits.LimitError: the volume unpacks to more than 1,000,000 bytes (0.954 MB), the limit; raise max_upload_mb in the settings (RHINOAPP_MAX_UPLOAD_MB) if the file is genuine.
"""

from __future__ import annotations

import bz2
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from rhinoapp.core.errors import ValidationError

__all__ = ["DEFAULT_LIMITS", "DEFAULT_MAX_FILES", "DEFAULT_MAX_UPLOAD_MB", "DEFAULT_MAX_VOXELS", "Compression", "InputLimits",
           "LimitError", "bounded_decompress", "check_voxels", "setting_hint"]

#: Default of ``Settings.max_upload_mb``: the largest upload, in MiB after unpacking.
DEFAULT_MAX_UPLOAD_MB = 2048
#: Default of ``Settings.max_voxels``: 512 x 512 x 1024 voxels (a long thin-slice head CT is about 512 x 512 x 600).
DEFAULT_MAX_VOXELS = 512 * 512 * 1024
#: Default of ``Settings.max_upload_files``: files (or zip members) in one upload.
DEFAULT_MAX_FILES = 20_000

_MIB = 1024 * 1024
_CHUNK = 1 << 20  # bytes of compressed input fed to the decompressor at a time


class LimitError(ValidationError):
    """An input would expand beyond a limit (size, voxels, files, rows); the message names the setting that raises it."""


class Compression(Enum):
    """Compressed streams :func:`bounded_decompress` expands."""

    GZIP = "gzip"
    ZLIB = "zlib"
    BZIP2 = "bzip2"


def setting_hint(setting: str) -> str:
    """The words that tell how to raise the limit ``setting`` (TOML key and environment variable).

    Examples
    --------
    >>> setting_hint("max_voxels")
    'raise max_voxels in the settings (RHINOAPP_MAX_VOXELS) if the file is genuine'
    """
    return f"raise {setting} in the settings (RHINOAPP_{setting.upper()}) if the file is genuine"


@dataclass(frozen=True)
class InputLimits:
    """The limits one import works under (``Settings.input_limits`` gives the configured ones).

    Parameters
    ----------
    max_bytes
        Most bytes an upload may hold after unpacking (``max_upload_mb``).
    max_voxels
        Most voxels in one volume, image or series (``max_voxels``).
    max_files
        Most files or zip members in one upload (``max_upload_files``).

    Examples
    --------
    >>> InputLimits().max_voxels == 512 * 512 * 1024
    True
    >>> InputLimits.from_settings_values(max_upload_mb=1, max_voxels=8, max_upload_files=2).max_bytes
    1048576
    """

    max_bytes: int = DEFAULT_MAX_UPLOAD_MB * _MIB
    max_voxels: int = DEFAULT_MAX_VOXELS
    max_files: int = DEFAULT_MAX_FILES

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_voxels", "max_files"):
            if int(getattr(self, name)) < 1:
                raise ValidationError(f"{name} must be at least 1, not {getattr(self, name)!r}.")

    @classmethod
    def from_settings_values(cls, *, max_upload_mb: int, max_voxels: int, max_upload_files: int) -> InputLimits:
        """The limits of the settings' values (megabytes are MiB)."""
        return cls(int(max_upload_mb) * _MIB, int(max_voxels), int(max_upload_files))

    def check_bytes(self, size: int, what: str) -> None:
        """Refuse ``size`` bytes of ``what`` above ``max_bytes``.

        Examples
        --------
        >>> InputLimits(max_bytes=_MIB).check_bytes(2 * _MIB, "the volume")
        Traceback (most recent call last):
        ...
        rhinoapp.core.limits.LimitError: the volume needs 2,097,152 bytes (2 MB), more than the limit of 1,048,576 bytes (1 MB); raise max_upload_mb in the settings (RHINOAPP_MAX_UPLOAD_MB) if the file is genuine.
        """
        if size > self.max_bytes:
            raise LimitError(f"{what} needs {size:,} bytes ({size / _MIB:.3g} MB), more than the limit of "
                             f"{self.max_bytes:,} bytes ({self.max_bytes / _MIB:.3g} MB); {setting_hint('max_upload_mb')}.")


#: The limits at the default settings.
DEFAULT_LIMITS = InputLimits()


def check_voxels(shape: Sequence[int], max_voxels: int, what: str) -> int:
    """The voxel count of ``shape``, refused above ``max_voxels`` (and for negative sizes).

    Examples
    --------
    >>> check_voxels((512, 512, 300), DEFAULT_MAX_VOXELS, "the volume")
    78643200
    >>> check_voxels((2048, 512, 512), DEFAULT_MAX_VOXELS, "the NIfTI header")
    Traceback (most recent call last):
    ...
    rhinoapp.core.limits.LimitError: the NIfTI header declares 536,870,912 voxels (2048 x 512 x 512), more than the limit of 268,435,456; raise max_voxels in the settings (RHINOAPP_MAX_VOXELS) if the file is genuine.
    """
    sizes = [int(s) for s in shape]
    if any(s < 0 for s in sizes):
        raise ValidationError(f"{what} declares a negative dimension ({' x '.join(map(str, sizes))}); the file is "
                              "damaged: export it again.")
    count = math.prod(sizes)
    if count > max_voxels:
        raise LimitError(f"{what} declares {count:,} voxels ({' x '.join(map(str, sizes))}), more than the limit of "
                         f"{max_voxels:,}; {setting_hint('max_voxels')}.")
    return count


def _decompressor(kind: Compression) -> zlib._Decompress | bz2.BZ2Decompressor:
    if kind is Compression.BZIP2:
        return bz2.BZ2Decompressor()
    return zlib.decompressobj(zlib.MAX_WBITS | 16 if kind is Compression.GZIP else zlib.MAX_WBITS)


def bounded_decompress(data: bytes, *, max_bytes: int, what: str, kind: Compression = Compression.GZIP,
                       stop_at_limit: bool = False, setting: str = "max_upload_mb") -> bytes:
    """Decompress ``data`` (gzip members one after another, zlib or bzip2), never beyond ``max_bytes``.

    The work is bounded by ``max_bytes``, not by what the stream would expand to: output is
    produced in steps and the loop stops as soon as the bound is passed. With
    ``stop_at_limit`` the first ``max_bytes`` bytes are returned (a reader that needs only
    a known prefix, e.g. a header and its declared voxels); otherwise more output is refused
    with :class:`LimitError` naming ``setting``. A damaged or truncated stream is a
    :class:`~rhinoapp.core.errors.ValidationError`.

    Examples
    --------
    >>> import gzip
    >>> bounded_decompress(gzip.compress(b"abc") + gzip.compress(b"def"), max_bytes=10, what="the file")
    b'abcdef'
    >>> bounded_decompress(gzip.compress(bytes(100)), max_bytes=4, what="the file", stop_at_limit=True)
    b'\\x00\\x00\\x00\\x00'
    """
    output = bytearray()
    decompressor = _decompressor(kind)
    pending = memoryview(data)
    try:
        while True:
            room = max_bytes + 1 - len(output)  # one byte more than allowed tells "too much"
            tail = getattr(decompressor, "unconsumed_tail", b"")
            if tail:
                source = bytes(tail)
            elif getattr(decompressor, "needs_input", True):
                source, pending = bytes(pending[:_CHUNK]), pending[_CHUNK:]
            else:  # a bzip2 decompressor holding output from earlier input
                source = b""
            chunk = decompressor.decompress(source, room)
            output += chunk
            if len(output) > max_bytes:
                if stop_at_limit:
                    return bytes(output[:max_bytes])
                raise LimitError(f"{what} unpacks to more than {max_bytes:,} bytes ({max_bytes / _MIB:.3g} MB), the "
                                 f"limit; {setting_hint(setting)}.")
            if decompressor.eof:
                rest = bytes(decompressor.unused_data) + bytes(pending)
                if kind is Compression.GZIP and rest.strip(b"\x00"):
                    decompressor, pending = _decompressor(kind), memoryview(rest)  # the next gzip member
                    continue
                return bytes(output)
            if not source and not chunk:
                if stop_at_limit and output:
                    return bytes(output)
                raise ValidationError(f"{what} is truncated (its compressed data ends early); export it again.")
    except (zlib.error, OSError, EOFError) as error:
        raise ValidationError(f"{what} holds damaged compressed data ({type(error).__name__}); export it again.") \
            from None
