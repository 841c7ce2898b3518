"""Fixtures for the DICOM tests: one fake-PHI collection, de-identified once per session."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset

from rhinoapp.dicom.deidentify import Deidentifier
from rhinoapp.dicom.options import DeidentOptions
from rhinoapp.dicom.testing import PhiCollection, make_phi_collection
from tests.dicom.helpers import SECRET, deidentify_all


@pytest.fixture(scope="session")
def collection() -> PhiCollection:
    return make_phi_collection(slices=4, shape=(16, 16))


@pytest.fixture(scope="session")
def pairs(collection: PhiCollection) -> dict[str, tuple[Dataset, Dataset]]:
    return deidentify_all(collection, Deidentifier(SECRET, DeidentOptions()))
