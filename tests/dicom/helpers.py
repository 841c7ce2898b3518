"""Helpers shared by the DICOM tests."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from rhinoapp.dicom.deidentify import BurnedInAnnotationError, Deidentifier
from rhinoapp.dicom.testing import PhiCollection

SECRET = b"test-secret-of-this-installation"
PYDICOM_TESTS = Path(pydicom.__file__).parent / "data" / "test_files"


#: A UID the de-identifier makes: ``2.25.`` and a 128-bit number in up to 39 decimal digits.
_NEW_UID = re.compile(rb"2\.25\.\d+")


def phi_leaks(phi_values: Iterable[str], output: bytes) -> list[str]:
    """The fake PHI values found in ``output`` once the de-identifier's own UIDs are blanked out.

    A new UID's 39 pseudo-random digits can hold a date, time or ID of the collection by chance when the secret is
    random per run, as the CLI tests' installation secret is (seen once: ``2.25.2189412024020880...`` holds the
    study date 20240208); that is no leak. The collection's own UIDs do not start with ``2.25.``
    (:func:`rhinoapp.dicom.testing.fake_uid`), so they are still searched.

    A date of the collection counts only where a run of digits starts with it: a shifted date and time
    (``DT`` 20220920 231226) holds the date 20231226 across its day and hour by chance (seen about once
    in a hundred random secrets), while a date that leaks, alone or at the head of a ``DT``, starts its run.
    """
    scrubbed = _NEW_UID.sub(b"2.25.", output)
    return sorted(value for value in phi_values if re.search(_leading(value), scrubbed))


def _leading(value: str) -> bytes:
    """A pattern for ``value``; a value of digits alone must not follow a digit."""
    escaped = re.escape(value.encode())
    return rb"(?<!\d)" + escaped if value.isdigit() else escaped


def parse(data: bytes) -> Dataset:
    return pydicom.dcmread(io.BytesIO(data))


def deidentify_all(collection: PhiCollection, deidentifier: Deidentifier) -> dict[str, tuple[Dataset, Dataset]]:
    """Path -> (original, de-identified) for every file the deidentifier accepts."""
    result = {}
    for path, data in collection.files:
        try:
            result[path] = (parse(data), parse(deidentifier.bytes(data)))
        except BurnedInAnnotationError:
            continue
    return result


def pydicom_file(name: str) -> bytes:
    """A pydicom test file; files of the pydicom-data package are skipped when it is not installed."""
    path = get_testdata_file(name)
    if path is None:
        pytest.skip(f"{name} needs the pydicom-data package (pip install pydicom-data)")
    return Path(path).read_bytes()


def series_folder(*parts: str) -> list[bytes]:
    folder = PYDICOM_TESTS.joinpath("dicomdirtests", *parts)
    return [p.read_bytes() for p in sorted(folder.iterdir())]
