"""Reading and writing DICOM objects in memory (bytes in, bytes out); nothing touches the disk.

pydicom's warnings quote element values (which may be identifying), so reading, writing and
de-identifying run with Python warnings silenced; applications should also keep the ``pydicom``
logger above WARNING (the CLI does).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator

from pydicom import dcmread
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.filewriter import dcmwrite
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from rhinoapp.core.errors import ValidationError
from rhinoapp.core.limits import DEFAULT_MAX_VOXELS, LimitError, check_voxels

__all__ = ["NotDicomError", "UnreadableDicomError", "quiet", "read_dataset", "write_dataset"]

_MIN_FORCED_ELEMENTS = 3


class NotDicomError(ValidationError):
    """The bytes are not a DICOM object."""


class UnreadableDicomError(ValidationError):
    """The bytes start like DICOM but cannot be read or rewritten (truncated or damaged)."""


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence Python warnings (pydicom's quote element values) inside the block."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def read_dataset(data: bytes, *, what: str = "the file", max_voxels: int = DEFAULT_MAX_VOXELS) -> Dataset:
    """Parse one DICOM object from ``data``.

    Files without the 128-byte preamble and ``DICM`` prefix (old ACR-NEMA style) are accepted
    when they parse into an object with a SOP Class UID. ``what`` names the file in messages
    (never a file name that may carry PHI). Elements are decoded lazily, when first used, so
    damage deeper in the file surfaces later (as :class:`UnreadableDicomError` from the
    de-identification or assembly). An image of more than ``max_voxels`` pixels (rows x columns
    x frames, from its header) is refused with :class:`~rhinoapp.core.limits.LimitError` before
    any pixel is decoded.

    Examples
    --------
    >>> read_dataset(b"hello")
    Traceback (most recent call last):
    ...
    rhinoapp.dicom.io.NotDicomError: the file is not a DICOM file (no DICM prefix and no readable DICOM elements); remove it from the upload.
    """
    if not data:
        raise NotDicomError(f"{what} is empty (0 bytes); remove it from the upload.")
    with quiet():
        try:
            dataset: Dataset = dcmread(io.BytesIO(data))
        except InvalidDicomError:
            dataset = _read_forced(data, what)
        except Exception as error:  # pydicom raises many types for damaged input
            raise UnreadableDicomError(
                f"{what} is a damaged or truncated DICOM file ({type(error).__name__}); export it again."
            ) from None
        _check_complete(dataset, what, max_voxels)
    return dataset


def _check_complete(dataset: Dataset, what: str, max_voxels: int) -> None:
    try:
        if "PixelData" in dataset:
            check_voxels((int(dataset.get("NumberOfFrames", 1) or 1), int(dataset.Rows), int(dataset.Columns)),
                         max_voxels, f"{what} (an image of frames x rows x columns)")
        for tag in dataset.keys():  # pydicom stops quietly at the end of the bytes: compare declared lengths
            raw = dataset.get_item(tag)
            if isinstance(raw, RawDataElement) and raw.length != 0xFFFFFFFF and raw.value is not None \
                    and len(raw.value) < raw.length:
                raise UnreadableDicomError(f"{what} is truncated (an element is shorter than declared); export it "
                                           "again.")
        if "SOPClassUID" not in dataset:
            raise UnreadableDicomError(f"{what} has no SOP Class UID: it is truncated or not a DICOM object; export "
                                       "it again.")
        syntax = getattr(getattr(dataset, "file_meta", None), "TransferSyntaxUID", None)
        if "PixelData" in dataset and syntax is not None and not syntax.is_compressed:
            expected = (int(dataset.Rows) * int(dataset.Columns) * int(dataset.get("SamplesPerPixel", 1) or 1)
                        * int(dataset.get("NumberOfFrames", 1) or 1) * int(dataset.BitsAllocated)) // 8
            if len(dataset.PixelData) < expected:
                raise UnreadableDicomError(f"{what} is truncated: its pixel data is shorter than its image size; "
                                           "export it again.")
    except (UnreadableDicomError, LimitError):
        raise
    except Exception as error:
        raise UnreadableDicomError(
            f"{what} is a damaged or truncated DICOM file ({type(error).__name__}); export it again.") from None


def _read_forced(data: bytes, what: str) -> Dataset:
    failure = NotDicomError(
        f"{what} is not a DICOM file (no DICM prefix and no readable DICOM elements); remove it from the upload."
    )
    try:
        dataset = dcmread(io.BytesIO(data), force=True)
        if "SOPClassUID" not in dataset or len(dataset) < _MIN_FORCED_ELEMENTS:
            raise failure
        for _ in dataset.iterall():
            pass
    except NotDicomError:
        raise
    except Exception:
        raise failure from None
    meta = getattr(dataset, "file_meta", None) or FileMetaDataset()
    if "TransferSyntaxUID" not in meta:
        meta.TransferSyntaxUID = ImplicitVRLittleEndian if dataset.is_implicit_VR else ExplicitVRLittleEndian
        dataset.file_meta = meta
    return dataset


def write_dataset(dataset: Dataset) -> bytes:
    """Encode ``dataset`` as a DICOM file (preamble, file meta) in its transfer syntax.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> data = open(get_testdata_file("CT_small.dcm"), "rb").read()
    >>> write_dataset(read_dataset(data))[128:132]
    b'DICM'
    """
    meta = getattr(dataset, "file_meta", None)
    if meta is not None:
        if "SOPClassUID" in dataset:
            meta.MediaStorageSOPClassUID = dataset.SOPClassUID
        if "SOPInstanceUID" in dataset:
            meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    buffer = io.BytesIO()
    with quiet():
        try:
            dcmwrite(buffer, dataset, enforce_file_format=True)
        except Exception as error:
            raise UnreadableDicomError(
                f"the de-identified object cannot be encoded ({type(error).__name__}); the input is damaged."
            ) from None
    return buffer.getvalue()
