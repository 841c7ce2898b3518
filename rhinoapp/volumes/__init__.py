"""NIfTI and NRRD volumes: readers, writers and orientation handling (LPS inside, RAS in NIfTI files)."""

from rhinoapp.volumes.io import VolumeFormat, format_of, read_volume, volume_metadata, write_volume
from rhinoapp.volumes.nifti import nifti_bytes, read_nifti, read_nifti_bytes
from rhinoapp.volumes.nrrd import nrrd_bytes, read_nrrd, read_nrrd_bytes, write_nrrd

__all__ = [
    "VolumeFormat",
    "format_of",
    "nifti_bytes",
    "nrrd_bytes",
    "read_nifti",
    "read_nifti_bytes",
    "read_nrrd",
    "read_nrrd_bytes",
    "read_volume",
    "volume_metadata",
    "write_nrrd",
    "write_volume",
]
