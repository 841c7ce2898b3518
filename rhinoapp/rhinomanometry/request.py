"""The request of the 4PR import, shared by ``rhinoapp rhinomanometry`` and the 4PR page.

:class:`FourPRImportRequest` is an uploaded file (name and bytes) with the size limit; making
one checks size and kind. :func:`prepare_import` reads, normalises (inspiration positive) and
analyses it and checks that every side holds a complete breath; it returns the two documents
the 4PR step stores. Pure: bytes in, values out.

Examples
--------
>>> from rhinoapp.rhinomanometry.io import write_csv
>>> from rhinoapp.rhinomanometry.synthetic import generate
>>> content = write_csv(generate(seed=2).measurement).encode()
>>> prepared = prepare_import(FourPRImportRequest(filename="case.csv", content=content))
>>> [side.side.value for side in prepared.result.sides]
['left', 'right']
>>> FourPRImportRequest(filename="scan.pdf", content=b"%PDF")
Traceback (most recent call last):
...
rhinoapp.core.errors.ValidationError: A .pdf file is not a 4PR recording; upload the device's export as CSV or text (.csv, .txt) or as an Excel workbook (.xlsx).
"""

from __future__ import annotations

import dataclasses
from pathlib import PurePosixPath

from rhinoapp.core.errors import ValidationError
from rhinoapp.core.requests import Range
from rhinoapp.rhinomanometry.analysis import analyse
from rhinoapp.rhinomanometry.classification import DEFAULT_OBSTRUCTION_CLASSES, ObstructionClasses
from rhinoapp.rhinomanometry.io import read_bytes, write_csv
from rhinoapp.rhinomanometry.xlsx import UNPACK_FACTOR
from rhinoapp.rhinomanometry.model import Measurement
from rhinoapp.rhinomanometry.results import AnalysisResult
from rhinoapp.rhinomanometry.parameters import RhinomanometryParameters

__all__ = ["ACCEPTED_SUFFIXES", "DEFAULT_MAX_UPLOAD_MB", "MAX_UPLOAD_MB", "FourPRImportRequest", "PreparedUpload",
           "check_upload_size", "prepare_import"]

#: File name endings accepted (text exports and Excel workbooks).
ACCEPTED_SUFFIXES = (".csv", ".txt", ".tsv", ".dat", ".xlsx", ".xlsm", ".xls")
#: Bounds of the upload size limit in megabytes (a 4PR export is well below 1 MB).
MAX_UPLOAD_MB = Range(0.001, 1000.0, "MB")
#: The default size limit in megabytes.
DEFAULT_MAX_UPLOAD_MB = 10.0


def check_upload_size(size_bytes: int, max_upload_mb: float) -> None:
    """Refuse an upload of ``size_bytes`` larger than ``max_upload_mb`` (also before its bytes are sent).

    Raises
    ------
    ValidationError
        When the file is larger than the limit; the message gives both sizes.

    Examples
    --------
    >>> check_upload_size(9_000_000, 10.0)
    >>> check_upload_size(17_700_000, 10.0)
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ValidationError: The file is 17.7 MB, more than the 10 MB allowed; a 4PR recording is far smaller: check that this is the exported recording.
    """
    size_mb = size_bytes / 1e6
    if size_mb > max_upload_mb:
        raise ValidationError(f"The file is {size_mb:.1f} MB, more than the {max_upload_mb:g} MB allowed;"
                              " a 4PR recording is far smaller: check that this is the exported recording.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class FourPRImportRequest:
    """An uploaded 4PR recording: its file name, its bytes and the size limit (MB)."""

    filename: str
    content: bytes = dataclasses.field(repr=False)
    max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB

    def __post_init__(self) -> None:
        limit = MAX_UPLOAD_MB.check("max_upload_mb", self.max_upload_mb)
        object.__setattr__(self, "max_upload_mb", limit)
        if not self.content:
            raise ValidationError("The file is empty; export the recording again and upload that file.")
        check_upload_size(len(self.content), limit)
        suffix = PurePosixPath(self.filename.lower()).suffix
        if suffix and suffix not in ACCEPTED_SUFFIXES:
            raise ValidationError(f"A {suffix} file is not a 4PR recording; upload the device's export as CSV or text"
                                  " (.csv, .txt) or as an Excel workbook (.xlsx).")


@dataclasses.dataclass(frozen=True)
class PreparedUpload:
    """An upload that was read and analysed, with the bytes of both artifacts, ready to store."""

    filename: str
    measurement: Measurement
    result: AnalysisResult
    recording_csv: bytes
    parameters_json: bytes


def prepare_import(request: FourPRImportRequest, *,
                   classes: ObstructionClasses = DEFAULT_OBSTRUCTION_CLASSES) -> PreparedUpload:
    """Read, normalise and analyse the upload; ValidationError when a side holds no complete breath."""
    recorded = read_bytes(request.content, filename=request.filename,
                          max_unpacked_bytes=int(request.max_upload_mb * 1e6 * UNPACK_FACTOR))
    measurement = recorded.normalised()
    if measurement is not recorded and "recorded_inspiration_sign" not in dict(recorded.metadata.extra):
        recorded_sign = ("recorded_inspiration_sign", recorded.metadata.inspiration_sign.value)
        extra = (*measurement.metadata.extra, recorded_sign)
        measurement = Measurement(dataclasses.replace(measurement.metadata, extra=extra), measurement.recordings)
    result = analyse(measurement, classes=classes)
    for side in result.sides:
        if not side.breaths:
            raise ValidationError(
                f"The {side.side.value} side holds no complete breath (from the start of one inspiration to the"
                " next); record or export at least two full breaths per side and upload again.")
    return PreparedUpload(request.filename, measurement, result, write_csv(measurement).encode("utf-8"),
                          RhinomanometryParameters.from_analysis(result).to_json())
