"""Helpers shared by the DICOM tests."""

from __future__ import annotations

import io
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset

from rhinoapp.dicom.deidentify import BurnedInAnnotationError, Deidentifier
from rhinoapp.dicom.testing import PhiCollection

SECRET = b"test-secret-of-this-installation"
PYDICOM_TESTS = Path(pydicom.__file__).parent / "data" / "test_files"


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
