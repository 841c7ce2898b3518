"""Choosing the reader or writer by file name, and the metadata of an imported research volume."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any

import numpy as np

from rhinoapp.core.errors import ValidationError
from rhinoapp.core.limits import InputLimits
from rhinoapp.core.volume import CT_METADATA_FORMAT, CTVolume, ct_metadata_grid
from rhinoapp.core.files import atomic_write
from rhinoapp.volumes.nifti import nifti_bytes, read_nifti
from rhinoapp.volumes.nrrd import read_nrrd, write_nrrd

__all__ = ["VolumeFormat", "format_of", "read_volume", "volume_metadata", "write_volume"]

#: Version of the ``volume/ct.json`` layout (the same layout the DICOM import writes).
METADATA_FORMAT = CT_METADATA_FORMAT


class VolumeFormat(enum.Enum):
    """Volume file formats rhinoapp reads and writes."""

    NIFTI = "nifti"
    NRRD = "nrrd"


def format_of(path: Path | str) -> VolumeFormat | None:
    """The format a file name announces, or ``None`` (e.g. for DICOM).

    Examples
    --------
    >>> format_of("ct.nii.gz"), format_of("CT.NHDR"), format_of("IM0001.dcm")
    (<VolumeFormat.NIFTI: 'nifti'>, <VolumeFormat.NRRD: 'nrrd'>, None)
    """
    name = Path(path).name.lower()
    if name.endswith((".nii", ".nii.gz")):
        return VolumeFormat.NIFTI
    if name.endswith((".nrrd", ".nhdr")):
        return VolumeFormat.NRRD
    return None


def read_volume(path: Path, *, limits: InputLimits | None = None) -> CTVolume:
    """Read a NIfTI or NRRD file into a CT volume (LPS, ``[k, j, i]``).

    Files to import are read with ``limits`` (``Settings.input_limits``): dimensions and sizes
    are checked from the header before anything is expanded. Files rhinoapp wrote itself are
    read without.

    Examples
    --------
    >>> import tempfile
    >>> from rhinoapp.core.volume import ImageGeometry
    >>> volume = CTVolume(np.zeros((2, 3, 4), np.int16), ImageGeometry((2, 3, 4), (0.5, 0.5, 1.0)))
    >>> path = write_volume(volume, Path(tempfile.mkdtemp()) / "ct.nrrd")
    >>> read_volume(path).geometry.spacing_mm
    (0.5, 0.5, 1.0)
    """
    kind = format_of(path)
    if kind is None:
        raise ValidationError(f"{Path(path).name} is not a NIfTI (.nii, .nii.gz) or NRRD (.nrrd, .nhdr) file.")
    if not Path(path).is_file():
        raise ValidationError(f"{path} does not exist or is not a file.")
    reader = read_nifti if kind is VolumeFormat.NIFTI else read_nrrd
    return reader(Path(path), limits=limits)


def write_volume(volume: CTVolume, path: Path) -> Path:
    """Write ``volume`` as NIfTI or NRRD, chosen by the file name; atomically (temporary file, rename).

    Examples
    --------
    >>> import tempfile
    >>> from rhinoapp.core.volume import ImageGeometry
    >>> volume = CTVolume(np.zeros((2, 3, 4), np.int16), ImageGeometry((2, 3, 4)))
    >>> write_volume(volume, Path(tempfile.mkdtemp()) / "ct.nii.gz").name
    'ct.nii.gz'
    """
    kind = format_of(path)
    if kind is VolumeFormat.NRRD:
        return write_nrrd(volume, Path(path))
    if kind is not VolumeFormat.NIFTI:
        raise ValidationError(f"{Path(path).name}: choose a .nii, .nii.gz, .nrrd or .nhdr file name.")
    atomic_write(Path(path), nifti_bytes(volume, compress=str(path).lower().endswith(".gz")))
    return Path(path)


def volume_metadata(volume: CTVolume, kind: VolumeFormat, *, description: str = "") -> dict[str, Any]:
    """The ``volume/ct.json`` content for a volume imported from a NIfTI or NRRD file (no PHI).

    Research files carry no DICOM header: modality is recorded as unknown, and values that do not
    look like Hounsfield units (nothing below 0) get a note.

    Examples
    --------
    >>> from rhinoapp.core.volume import ImageGeometry
    >>> hu = np.full((3, 4, 5), -1000, dtype=np.int16)
    >>> meta = volume_metadata(CTVolume(hu, ImageGeometry(hu.shape)), VolumeFormat.NIFTI)
    >>> meta["source"], meta["dimensions_ijk"], meta["notes"]
    ('nifti', [5, 4, 3], [])
    """
    geometry = volume.geometry
    notes = []
    if volume.hu.size and float(np.min(volume.hu)) >= 0:
        notes.append("no value below 0: these may be stored values rather than Hounsfield units")
    return {
        "format": METADATA_FORMAT,
        "source": kind.value,
        "modality": "unknown (research volume)",
        "series_description": description,
        **ct_metadata_grid(geometry),
        "values": "as stored in the file (expected: Hounsfield units)",
        "dtype": str(volume.hu.dtype),
        "slice_count": geometry.shape[0],
        "notes": notes,
        "deidentification": {
            "method": ["not applicable: research volume without DICOM header; only voxels and geometry are kept"],
            "table_edition": None,
        },
    }
