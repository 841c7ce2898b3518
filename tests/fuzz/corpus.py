"""A corpus of malformed inputs, made in code: CT uploads and 4PR recordings that must be refused.

Each :class:`Case` is a set of files (relative name -> bytes) and the words the refusal must
contain (lower case, any one of them). The CLI test imports every case with ``rhinoapp import`` or
``rhinoapp rhinomanometry``, the page test through the CT and 4PR pages' upload handlers; both
require a clear message and an unchanged store. Bombs are bounded by the readers' limits (branch
h-bounds); until that is merged they are expected to fail and are not run (they cost minutes of
CPU and gigabytes without the limits).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import gzip
import io
import struct
import zipfile
from collections.abc import Callable

import nibabel as nib
import numpy as np

from rhinoapp.core.volume import CTVolume, ImageGeometry
from rhinoapp.dicom.testing import encode, make_ct_series
from rhinoapp.rhinomanometry.io import write_csv
from rhinoapp.rhinomanometry.synthetic import generate
from rhinoapp.volumes import nifti_bytes, nrrd_bytes

__all__ = ["CASES", "Case", "Kind"]

#: Reason of the cases that need the readers' limits of branch h-bounds.


class Kind(enum.Enum):
    """Which import a case goes through."""

    CT = "ct"
    FOUR_PR = "4pr"


@dataclasses.dataclass(frozen=True)
class Case:
    """Files of one malformed input and the words one of which the refusal must hold."""

    name: str
    kind: Kind
    make: Callable[[], dict[str, bytes]] = dataclasses.field(repr=False)
    words: tuple[str, ...]
    bomb: bool = False

    @functools.cached_property
    def files(self) -> dict[str, bytes]:
        return self.make()


# -- CT volumes --------------------------------------------------------------------------------
def _ct(hu: np.ndarray) -> CTVolume:
    return CTVolume(hu, ImageGeometry(hu.shape, spacing_mm=(0.5, 0.5, 1.0)))


def _air(shape: tuple[int, int, int] = (6, 24, 24), dtype: type = np.int16) -> np.ndarray:
    hu = np.random.default_rng(11).integers(-1000, 200, shape).astype(dtype)  # noise: a file of some size
    hu[:, 8:16, 8:16] = 40
    return hu


def _good_nifti(compress: bool = True) -> bytes:
    return nifti_bytes(_ct(_air()), compress=compress)


def _with_values(value: float) -> dict[str, bytes]:
    hu = _air(dtype=np.float32)
    hu[3, 10, 10:14] = value
    return {"ct.nii.gz": nifti_bytes(_ct(hu))}


def _lying_nifti(dims: tuple[int, ...], *, compress: bool) -> dict[str, bytes]:
    raw = bytearray(_good_nifti(compress=False))
    struct.pack_into("<8h", raw, 40, *dims, *([1] * (8 - len(dims))))  # dim[0] (the count), dim[1..7]
    data = bytes(raw)
    return {"ct.nii.gz" if compress else "ct.nii": gzip.compress(data, mtime=0) if compress else data}


def _bad_crc(data: bytes) -> bytes:
    broken = bytearray(data)
    broken[-8] ^= 0xFF  # the gzip trailer's CRC-32
    return bytes(broken)


def _nifti_bomb() -> dict[str, bytes]:
    # 1 GiB of voxels declared and present, about 1 MB compressed
    header = nib.Nifti1Image(np.zeros((1, 1, 1), np.uint8), np.eye(4))
    header.set_sform(np.eye(4), code=1)
    header.header.set_data_shape((1024, 1024, 1024))
    raw = header.header.binaryblock + b"\0" * 4  # vox_offset 352
    stream = io.BytesIO()
    with gzip.GzipFile(fileobj=stream, mode="wb", compresslevel=9, mtime=0) as zipped:
        zipped.write(raw)
        block = bytes(1 << 24)
        for _ in range(64):
            zipped.write(block)
    return {"bomb.nii.gz": stream.getvalue()}


def _nrrd_lying() -> dict[str, bytes]:
    data = nrrd_bytes(_ct(_air()), encoding="raw")
    head, _, body = data.partition(b"\n\n")
    head = b"\n".join(b"sizes: 4000 4000 4000" if line.startswith(b"sizes:") else line for line in head.split(b"\n"))
    return {"ct.nrrd": head + b"\n\n" + body}


def _nrrd_truncated() -> dict[str, bytes]:
    data = nrrd_bytes(_ct(_air()), encoding="gzip")
    return {"ct.nrrd": data[: len(data) - 40]}


# -- DICOM ----------------------------------------------------------------------------------
def _series(**kwargs: object) -> list:
    return make_ct_series(slices=4, shape=(16, 16), phi=False, **kwargs)  # type: ignore[arg-type]


def _dicom_files(datasets: list) -> dict[str, bytes]:
    return {f"IM{k:04d}.dcm": encode(ds) for k, ds in enumerate(datasets)}


def _zip(files: dict[str, bytes]) -> bytes:
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return stream.getvalue()


def _zip_bad_crc() -> dict[str, bytes]:
    files = _dicom_files(_series())
    data = bytearray(_zip(files))
    offset = data.find(b"PK\x03\x04")
    crc_at = offset + 14
    data[crc_at] ^= 0xFF  # the first member's CRC-32 in its local header ...
    central = data.find(b"PK\x01\x02")
    data[central + 16] ^= 0xFF  # ... and in the central directory: the data no longer match it
    return {"export.zip": bytes(data)}


def _zip_truncated() -> dict[str, bytes]:
    data = _zip(_dicom_files(_series()))
    return {"export.zip": data[: len(data) // 2]}


def _zip_many_members() -> dict[str, bytes]:
    stream = io.BytesIO()
    member = bytes(1 << 20)  # 1 MiB of zeros each, about 1 kB compressed
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for k in range(1100):
            archive.writestr(f"s/IM{k:05d}.dcm", member)
    return {"many.zip": stream.getvalue()}


def _dicom_truncated_pixels() -> dict[str, bytes]:
    files = _dicom_files(_series())
    return {name: data[: len(data) - 300] for name, data in files.items()}


def _dicom_huge_rows() -> dict[str, bytes]:
    datasets = _series()
    for ds in datasets:
        ds.Rows, ds.Columns = 65535, 65535
    return _dicom_files(datasets)


def _dicom_absurd_slope() -> dict[str, bytes]:
    datasets = _series()
    for ds in datasets:
        ds.RescaleSlope = "1e30"
    return _dicom_files(datasets)


def _dicom_tiny() -> dict[str, bytes]:
    return _dicom_files(make_ct_series(slices=3, shape=(2, 2), phi=False))


# -- 4PR recordings ---------------------------------------------------------------------------
@functools.cache
def _recording() -> str:
    return write_csv(generate(seed=3).measurement)


def _replace_values(value: str) -> dict[str, bytes]:
    lines = _recording().splitlines()
    body = [i for i, line in enumerate(lines) if line and line[0].isdigit()]
    for i in body[10:400]:
        cells = lines[i].split(",")
        cells[-1] = value
        lines[i] = ",".join(cells)
    return {"case.csv": "\n".join(lines).encode()}


def _oversized() -> dict[str, bytes]:
    text = _recording().encode()
    return {"big.csv": text * (17_700_000 // len(text) + 1)}


def _junk(size: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


def _xlsx_bomb() -> dict[str, bytes]:
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>0</v></c></row>' for r in range(1, 2_000_001))
    sheet = f'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>'
    return {"bomb.xlsx": _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>",
                               "xl/worksheets/sheet1.xml": sheet.encode()})}


_DAMAGED = ("damaged", "cannot be read", "not a", "could not", "corrupt", "truncated", "no dicom", "not dicom")
_LIMIT = ("limit", "too large", "larger than", "more than", "memory", "allowed")
_CT_WORDS = _DAMAGED + _LIMIT + ("dimensions", "no series", "no files", "slice")

CASES: tuple[Case, ...] = (
    # NIfTI
    Case("nifti-truncated-gz", Kind.CT, lambda: {"ct.nii.gz": _good_nifti()[:-200]}, _DAMAGED),
    Case("nifti-bad-gzip-crc", Kind.CT, lambda: {"ct.nii.gz": _bad_crc(_good_nifti())}, _DAMAGED),
    Case("nifti-empty-file", Kind.CT, lambda: {"ct.nii.gz": b""}, _DAMAGED + ("empty",)),
    Case("nifti-junk", Kind.CT, lambda: {"ct.nii.gz": _junk(5000, 1)}, _DAMAGED),
    Case("nifti-header-only", Kind.CT, lambda: {"ct.nii": _good_nifti(compress=False)[:348]}, _DAMAGED + _LIMIT),
    Case("nifti-lying-dims", Kind.CT, lambda: _lying_nifti((3, 512, 512, 30000), compress=False), _DAMAGED + _LIMIT),
    Case("nifti-absurd-dims-gz", Kind.CT, lambda: _lying_nifti((3, 32767, 32767, 32767), compress=True),
         _DAMAGED + _LIMIT),
    Case("nifti-negative-dims", Kind.CT, lambda: _lying_nifti((3, -5, 24, 6), compress=True), _DAMAGED + _LIMIT),
    Case("nifti-7d", Kind.CT, lambda: _lying_nifti((7, 24, 24, 2, 2, 2, 2, 2), compress=True),
         _DAMAGED + _LIMIT + ("dimensions",)),
    Case("nifti-nan", Kind.CT, lambda: _with_values(float("nan")), ("not numbers",)),
    Case("nifti-inf", Kind.CT, lambda: _with_values(float("inf")), ("not numbers",)),
    Case("nifti-minus-inf", Kind.CT, lambda: _with_values(float("-inf")), ("not numbers",)),
    Case("nifti-absurd-hu", Kind.CT, lambda: _with_values(3e33), ("hounsfield range",)),
    Case("nifti-below-padding-hu", Kind.CT, lambda: _with_values(-30000.0), ("hounsfield range",)),
    Case("nifti-1x1x1", Kind.CT, lambda: {"ct.nii.gz": nifti_bytes(_ct(np.zeros((1, 1, 1), np.int16)))}, ("slice",)),
    Case("nifti-2-slices", Kind.CT, lambda: {"ct.nii.gz": nifti_bytes(_ct(_air((2, 24, 24))))}, ("slice",)),
    Case("nifti-tiny-slices", Kind.CT, lambda: {"ct.nii.gz": nifti_bytes(_ct(_air((6, 4, 4))))}, ("voxels, fewer",)),
    Case("nifti-gzip-bomb", Kind.CT, _nifti_bomb, _LIMIT, bomb=True),
    # NRRD
    Case("nrrd-lying-sizes", Kind.CT, _nrrd_lying, _DAMAGED + _LIMIT),
    Case("nrrd-truncated-gz", Kind.CT, _nrrd_truncated, _DAMAGED),
    Case("nrrd-junk", Kind.CT, lambda: {"ct.nrrd": b"NRRD0004\n" + _junk(3000, 2)}, _DAMAGED),
    # zip and DICOM
    Case("zip-bad-crc", Kind.CT, _zip_bad_crc, _DAMAGED + ("crc", "checksum")),
    Case("zip-truncated", Kind.CT, _zip_truncated, _DAMAGED + ("zip",)),
    Case("zip-junk", Kind.CT, lambda: {"export.zip": b"PK\x03\x04" + _junk(4000, 3)}, _DAMAGED + ("zip",)),
    Case("zip-many-members", Kind.CT, _zip_many_members, _LIMIT + ("members",), bomb=True),
    Case("dicom-junk", Kind.CT, lambda: {"IM0001.dcm": _junk(4000, 4), "IM0002.dcm": _junk(4000, 5)}, _CT_WORDS),
    Case("dicom-truncated-pixels", Kind.CT, _dicom_truncated_pixels, _CT_WORDS),
    Case("dicom-huge-rows", Kind.CT, _dicom_huge_rows, _CT_WORDS),
    Case("dicom-absurd-rescale", Kind.CT, _dicom_absurd_slope, ("hounsfield range",)),
    Case("dicom-tiny-slices", Kind.CT, _dicom_tiny, ("voxels, fewer", "2 x 2")),
    # 4PR recordings
    Case("4pr-empty", Kind.FOUR_PR, lambda: {"empty.csv": b""}, ("empty",)),
    Case("4pr-oversized-17.7mb", Kind.FOUR_PR, _oversized, ("mb", "more than")),
    Case("4pr-utf16-garbage", Kind.FOUR_PR, lambda: {"case.csv": ("Zeit;Seite\n\udcff" + "é" * 50).encode(
        "utf-16", "surrogatepass")}, ("column", "not", "no ", "cannot", "encoding")),
    Case("4pr-latin1-garbage", Kind.FOUR_PR, lambda: {"case.csv": "Zeit;Seite;Druck\nä;ö;ü\n".encode("latin-1")
                                                      + _junk(500, 6)}, ("column", "not", "no ", "cannot", "encoding")),
    Case("4pr-binary-csv", Kind.FOUR_PR, lambda: {"case.csv": _junk(20000, 7)}, ("column", "not", "no ", "cannot",
                                                                                 "encoding")),
    Case("4pr-binary-xlsx", Kind.FOUR_PR, lambda: {"case.xlsx": _junk(20000, 8)}, ("workbook", "not", "cannot",
                                                                                   "damaged")),
    Case("4pr-zip-not-xlsx", Kind.FOUR_PR, lambda: {"case.xlsx": _zip({"a.txt": b"hello"})}, ("workbook", "not",
                                                                                              "cannot", "damaged")),
    Case("4pr-truncated-xlsx", Kind.FOUR_PR, lambda: {"case.xlsx": _zip({"xl/workbook.xml": b"<w/>" * 500})[:300]},
         ("workbook", "not", "cannot", "damaged")),
    Case("4pr-header-only", Kind.FOUR_PR, lambda: {"case.csv": _recording().split("\n0")[0].encode()},
         ("no ", "breath", "row", "not", "empty")),
    Case("4pr-inf-values", Kind.FOUR_PR, lambda: _replace_values("inf"), ("inf", "number", "finite", "breath",
                                                                          "value")),
    Case("4pr-absurd-values", Kind.FOUR_PR, lambda: _replace_values("3e33"), ("range", "implausible", "breath",
                                                                              "value", "limit")),
    Case("4pr-wrong-kind", Kind.FOUR_PR, lambda: {"scan.pdf": b"%PDF-1.4\n" + _junk(100, 9)}, ("not a 4pr",)),
    Case("4pr-xlsx-bomb", Kind.FOUR_PR, _xlsx_bomb, _LIMIT + _DAMAGED, bomb=True),  # 80 MB of sheet XML: under the unpack limit, refused as no workbook
)
