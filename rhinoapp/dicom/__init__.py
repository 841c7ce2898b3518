"""DICOM: PS3.15 de-identification, series grouping and CT volume assembly (the only DICOM reader/writer).

Typical use (see :mod:`rhinoapp.dicom.importer`)::

    deidentifier = Deidentifier(secret, DeidentOptions(), pseudonym="RHINO-1A2B3C4D")
    loaded = load_upload(blobs, deidentifier=deidentifier)        # de-identified right after parsing
    series = select_series(loaded, None, secret=secret)           # or "2", or a SeriesInstanceUID
    assembled = assemble_volume(series, tilt=TiltPolicy.REFUSE)   # CTVolume in HU, LPS
"""

from rhinoapp.dicom.deidentify import BurnedInAnnotationError, Deidentifier, deidentify_bytes, deidentify_dataset
from rhinoapp.dicom.importer import LoadedUpload, load_upload, select_series, volume_metadata
from rhinoapp.dicom.io import NotDicomError, UnreadableDicomError, read_dataset, write_dataset
from rhinoapp.dicom.options import BurnedInPolicy, DateHandling, DeidentOptions
from rhinoapp.dicom.series import Series, SeriesError, SeriesSummary, choose_series, group_series
from rhinoapp.dicom.upload import UploadError, UploadLimits, read_upload, read_uploaded
from rhinoapp.dicom.volume import AssembledVolume, AssemblyReport, TiltPolicy, assemble_volume

__all__ = [
    "AssembledVolume",
    "AssemblyReport",
    "BurnedInAnnotationError",
    "BurnedInPolicy",
    "DateHandling",
    "DeidentOptions",
    "Deidentifier",
    "LoadedUpload",
    "NotDicomError",
    "Series",
    "SeriesError",
    "SeriesSummary",
    "TiltPolicy",
    "UnreadableDicomError",
    "UploadError",
    "UploadLimits",
    "assemble_volume",
    "choose_series",
    "deidentify_bytes",
    "deidentify_dataset",
    "group_series",
    "load_upload",
    "read_dataset",
    "read_upload",
    "read_uploaded",
    "select_series",
    "volume_metadata",
    "write_dataset",
]
