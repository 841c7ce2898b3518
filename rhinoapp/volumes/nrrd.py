"""NRRD (.nrrd attached, .nhdr detached) volumes <-> :class:`~rhinoapp.core.volume.CTVolume`.

NRRD names its patient space explicitly (``space: left-posterior-superior`` and so on) and
lists one direction vector per axis, fastest axis first. rhinoapp reads LPS, RAS and LAS spaces
(flipping axes into LPS) and writes LPS. A file without a ``space`` field has no known
orientation and is refused, as are non-spatial axes (vectors, time).

Files to import are read within :class:`~rhinoapp.core.limits.InputLimits`: the header's
``sizes`` and ``type`` are checked first, and gzip or bzip2 data are decompressed only up to the
bytes the header declares (pynrrd's own reader would expand the whole stream first).
"""

from __future__ import annotations

import functools
import io
import re
import shutil
import tempfile
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import nrrd
import numpy as np

from rhinoapp.core.errors import ValidationError
from rhinoapp.core.limits import DEFAULT_LIMITS, Compression, InputLimits, bounded_decompress, check_voxels
from rhinoapp.core.files import atomic_write
from rhinoapp.core.volume import LPS_RAS_SIGNS, CTVolume, ImageGeometry

__all__ = ["from_nrrd", "nrrd_bytes", "nrrd_data_and_header", "read_nrrd", "read_nrrd_bytes", "write_nrrd"]

# Sign of (x, y, z) that turns a space's coordinates into LPS.
_SPACES = {
    "left-posterior-superior": (1.0, 1.0, 1.0),
    "lps": (1.0, 1.0, 1.0),
    "right-anterior-superior": LPS_RAS_SIGNS,
    "ras": LPS_RAS_SIGNS,
    "left-anterior-superior": (1.0, -1.0, 1.0),
    "las": (1.0, -1.0, 1.0),
}
_COMPRESSED = {"gzip": Compression.GZIP, "gz": Compression.GZIP, "bzip2": Compression.BZIP2, "bz2": Compression.BZIP2}
_SKIPS = ("line skip", "lineskip", "byte skip", "byteskip", "data file", "datafile")
_TYPES = {np.dtype(np.int16): "short", np.dtype(np.float32): "float", np.dtype(np.int32): "int",
          np.dtype(np.uint16): "unsigned short", np.dtype(np.float64): "double", np.dtype(np.uint8): "unsigned char",
          np.dtype(np.int8): "signed char"}


def _header(volume: CTVolume, encoding: str) -> dict[str, Any]:
    g = volume.geometry
    directions = (g.direction_matrix * np.asarray(g.spacing_mm)).T  # one row per axis i, j, k
    dtype = np.dtype(volume.hu.dtype).newbyteorder("=")
    if dtype not in _TYPES:
        raise ValidationError(f"NRRD writing supports {sorted(map(str, _TYPES))} voxels, not {volume.hu.dtype}.")
    return {"type": _TYPES[dtype], "dimension": 3, "space": "left-posterior-superior",
            "space directions": directions, "space origin": np.asarray(g.origin_mm), "kinds": ["domain"] * 3,
            "endian": "little", "encoding": encoding, "space units": ["mm", "mm", "mm"]}


def nrrd_bytes(volume: CTVolume, *, encoding: str = "gzip", header: Mapping[str, str] | None = None) -> bytes:
    """An attached-header ``.nrrd`` of ``volume`` in LPS, with the ``header``'s key-value pairs (``key:=value``).

    Examples
    --------
    >>> hu = np.zeros((2, 3, 4), dtype=np.int16)
    >>> nrrd_bytes(CTVolume(hu, ImageGeometry(hu.shape)))[:8]
    b'NRRD0005'
    """
    buffer = io.BytesIO()
    data = np.ascontiguousarray(volume.hu).astype(np.dtype(volume.hu.dtype).newbyteorder("<"), copy=False)
    nrrd.write(buffer, data, {**_header(volume, encoding), **(header or {})}, index_order="C")
    return buffer.getvalue()


def write_nrrd(volume: CTVolume, path: Path, *, encoding: str = "gzip") -> Path:
    """Write ``volume`` to ``path`` (``.nrrd`` attached, ``.nhdr`` + ``.raw.gz`` detached), atomically.

    Examples
    --------
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = write_nrrd(CTVolume(np.zeros((2, 3, 4), np.int16), ImageGeometry((2, 3, 4))), folder / "ct.nhdr")
    >>> sorted(p.name for p in folder.iterdir())
    ['ct.nhdr', 'ct.raw.gz']
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() != ".nhdr":
        atomic_write(path, nrrd_bytes(volume, encoding=encoding))
        return path
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".nrrd-") as staging:  # pynrrd names the data file
        staged = Path(staging, path.name)
        data = np.ascontiguousarray(volume.hu).astype(np.dtype(volume.hu.dtype).newbyteorder("<"), copy=False)
        nrrd.write(str(staged), data, _header(volume, encoding), detached_header=True, index_order="C")
        for produced in sorted(Path(staging).iterdir(), key=lambda p: p.suffix == ".nhdr"):
            with produced.open("rb") as source:  # data file first, then the header
                atomic_write(path.parent / produced.name, functools.partial(shutil.copyfileobj, source))
    return path


def _itemsize(kind: str) -> int:
    """Bytes per value of an NRRD ``type`` (any of the spellings the format allows)."""
    kind = " ".join(kind.lower().split())
    bits = re.search(r"(8|16|32|64)", kind)
    if bits:
        return int(bits.group(1)) // 8
    for words, size in (("char", 1), ("short", 2), ("long", 8), ("float", 4), ("double", 8), ("int", 4)):
        if words in kind:
            return size
    raise ValidationError(f"the NRRD type {kind!r} is not a number type rhinoapp reads; save the volume as short, "
                          "int or float.")


def _bounded_data(header: dict[str, Any], payload: bytes, limits: InputLimits) -> np.ndarray:
    """The voxels of ``header`` from the bytes after it (or its data file), expanded no further than declared."""
    try:
        sizes = [int(s) for s in np.atleast_1d(header["sizes"])]
    except (KeyError, TypeError, ValueError):
        raise ValidationError("the NRRD header has no valid 'sizes' field; the header is damaged.") from None
    needed = check_voxels(sizes, limits.max_voxels, "the NRRD header") * _itemsize(str(header.get("type", "")))
    limits.check_bytes(needed, "the NRRD volume")
    encoding = str(header.get("encoding", "raw")).lower()
    plain = {k: v for k, v in header.items() if k not in _SKIPS}
    if encoding not in _COMPRESSED:
        kept = {k: v for k, v in header.items() if k not in ("data file", "datafile")}
        return np.asarray(nrrd.read_data(kept, io.BytesIO(payload), index_order="C"))
    line_skip = int(header.get("line skip", header.get("lineskip", 0)))
    byte_skip = int(header.get("byte skip", header.get("byteskip", 0)))
    if line_skip > 0:
        payload = b"".join(payload.split(b"\n", line_skip)[line_skip:])
    what = "the compressed NRRD data"
    kind = _COMPRESSED[encoding]
    if byte_skip < 0:  # the data are the last bytes of the stream: all of it is needed, within the size limit
        raw = bounded_decompress(payload, max_bytes=limits.max_bytes, what=what, kind=kind)[-needed:]
    else:
        raw = bounded_decompress(payload, max_bytes=byte_skip + needed, what=what, kind=kind,
                                 stop_at_limit=True)[byte_skip:]
    return np.asarray(nrrd.read_data({**plain, "encoding": "raw"}, io.BytesIO(raw), index_order="C"))


def from_nrrd(data: np.ndarray, header: dict[str, Any]) -> CTVolume:
    """The CT volume of NRRD ``data`` read with ``index_order="C"`` (so ``[k, j, i]``) and its header.

    Examples
    --------
    >>> header = {"space": "right-anterior-superior", "space directions": np.diag([0.5, 0.5, 2.0]),
    ...           "space origin": np.array([10.0, 20.0, 30.0])}
    >>> from_nrrd(np.zeros((2, 3, 4), np.int16), header).geometry.origin_mm  # RAS -> LPS
    (-10.0, -20.0, 30.0)
    """
    if data.ndim != 3:
        raise ValidationError(f"the NRRD volume has {data.ndim} dimensions; a CT volume has 3 (no vector or time axes).")
    space = str(header.get("space", "")).strip().lower()
    if space not in _SPACES:
        raise ValidationError(
            f"the NRRD header has {'space: ' + space if space else 'no space field'}, so its patient orientation is "
            "unknown (left and right could be swapped). Save it with space left-posterior-superior (or RAS) and "
            "space directions, e.g. from 3D Slicer, and import it again.")
    directions = header.get("space directions")
    if directions is None or np.asarray(directions, dtype=object).shape != (3, 3) or any(
            d is None for d in np.asarray(directions, dtype=object).ravel()):
        raise ValidationError("the NRRD header lacks 'space directions' for three spatial axes; save it with them.")
    signs = np.asarray(_SPACES[space])
    axes = np.asarray(directions, dtype=float) * signs  # row a = LPS vector of axis a (i, j, k)
    origin = np.asarray(header.get("space origin", np.zeros(3)), dtype=float) * signs
    spacing = np.linalg.norm(axes, axis=1)
    if np.any(spacing <= 0) or not np.all(np.isfinite(axes)):
        raise ValidationError("the NRRD 'space directions' hold a zero or invalid axis; the header is damaged.")
    direction = (axes / spacing[:, None]).T  # columns = axes
    if not np.allclose(direction.T @ direction, np.eye(3), atol=1e-4):
        raise ValidationError("the NRRD axes are not perpendicular (a sheared grid); resample the volume and import "
                              "it again.")
    values = np.ascontiguousarray(data)
    if values.dtype.byteorder not in ("=", "|"):
        values = values.astype(values.dtype.newbyteorder("="))
    return CTVolume(values, ImageGeometry(values.shape, tuple(spacing), tuple(origin), tuple(direction.ravel())))


def read_nrrd_bytes(data: bytes, *, limits: InputLimits = DEFAULT_LIMITS) -> CTVolume:
    """Read an attached-header NRRD from memory (e.g. a browser upload; ``.nhdr`` needs its data file).

    The header is checked against ``limits`` before the data are expanded.

    Examples
    --------
    >>> hu = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    >>> bool((read_nrrd_bytes(nrrd_bytes(CTVolume(hu, ImageGeometry(hu.shape)))).hu == hu).all())
    True
    """
    values, header = nrrd_data_and_header(data, limits=limits)
    return from_nrrd(values, header)


def nrrd_data_and_header(data: bytes, *, limits: InputLimits = DEFAULT_LIMITS) -> tuple[np.ndarray, dict[str, Any]]:
    """The voxels (``[..., k, j, i]``) and header of attached-header NRRD bytes, read within ``limits``."""
    try:
        handle = io.BytesIO(data)
        header = nrrd.read_header(handle)
        if "data file" in header or "datafile" in header:
            raise ValidationError("a detached NRRD header (.nhdr) needs its data file; upload a single .nrrd file.")
        return _bounded_data(header, handle.read(), limits), header
    except ValidationError:
        raise
    except Exception as error:
        raise ValidationError(f"the upload cannot be read as NRRD ({type(error).__name__}).") from None


def read_nrrd(path: Path, *, limits: InputLimits | None = None) -> CTVolume:
    """Read a ``.nrrd`` or ``.nhdr`` (with its data file beside it) in any of the LPS/RAS/LAS spaces.

    With ``limits`` (files to import) the header is checked before the data are expanded;
    without (files rhinoapp wrote itself) pynrrd reads it as it is.

    Examples
    --------
    >>> import tempfile
    >>> hu = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    >>> path = write_nrrd(CTVolume(hu, ImageGeometry(hu.shape, (0.5, 0.5, 2.0))), Path(tempfile.mkdtemp()) / "ct.nhdr")
    >>> volume = read_nrrd(path)
    >>> bool((volume.hu == hu).all()), volume.geometry.spacing_mm
    (True, (0.5, 0.5, 2.0))
    """
    try:
        data, header = nrrd.read(str(path), index_order="C") if limits is None else _read_bounded(Path(path), limits)
    except ValidationError:
        raise
    except Exception as error:
        raise ValidationError(f"{Path(path).name} cannot be read as NRRD ({type(error).__name__}); check the file "
                              "(and, for .nhdr, that its data file is beside it).") from None
    return from_nrrd(data, header)


def _read_bounded(path: Path, limits: InputLimits) -> tuple[np.ndarray, dict[str, Any]]:
    limits.check_bytes(path.stat().st_size, "the NRRD file")
    with path.open("rb") as handle:
        header = nrrd.read_header(handle)
        data_file = header.get("data file", header.get("datafile"))
        if data_file is None:
            return _bounded_data(header, handle.read(), limits), header
    if str(data_file).upper().startswith("LIST") or "%" in str(data_file):
        raise ValidationError("the NRRD header lists several data files; save the volume with one data file (or as a "
                              "single .nrrd file).")
    location = Path(data_file) if Path(data_file).is_absolute() else path.parent / str(data_file)
    limits.check_bytes(location.stat().st_size, "the NRRD data file")
    return _bounded_data(header, location.read_bytes(), limits), header
