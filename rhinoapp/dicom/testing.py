"""Synthetic CT series with fake PHI, for tests, benchmarks and demos (never real patient data).

:func:`make_ct_series` builds a CT series of a simple head phantom (soft tissue, skull, air
cavities, and a dense marker at the patient's left-anterior) with realistic headers.
With ``phi=True`` (the default) it also puts fake identifying values into every attribute that
Table E.1-1 names (including sequences nested two deep, multi-valued elements, private
elements with and without creators and OB private elements); :func:`make_phi_collection`
makes two studies of one patient (the name written two ways, times across midnight), a second
patient, a localizer, a dose screenshot with burned-in text and a pixel-less report.
Every value a de-identifier must remove is listed in :attr:`PhiCollection.phi_values`.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import io
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import dcmwrite
from pydicom.sequence import Sequence
from pydicom.uid import UID, CTImageStorage, ExplicitVRLittleEndian, SecondaryCaptureImageStorage

from rhinoapp.dicom.fakephi import fill_phi

__all__ = ["FakePatient", "PhiCollection", "encode", "fake_uid", "make_ct_series", "make_phi_collection"]

_ROOT = "1.2.826.0.1.3680043.10.1042"
_BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"


@dataclass(frozen=True)
class FakePatient:
    """A made-up patient; every value is unusual enough to be searched for in outputs."""

    name: str = "ZORBAQ^Xylia"
    patient_id: str = "PID-884213"
    birth_date: str = "19610412"
    sex: str = "F"
    accession: str = "ACC-77810"
    physician: str = "QUIMBLEDORF^Ansgar"
    institution: str = "Vexmoor Klinikum"

    @property
    def identifiers(self) -> frozenset[str]:
        """Values that must not survive de-identification."""
        family, given = self.name.split("^")[:2]
        return frozenset({family, given, self.patient_id, self.birth_date, self.accession,
                          self.physician.split("^")[0], self.institution})


def fake_uid(*parts: object) -> str:
    """A deterministic fake UID under a made-up root (looks like a scanner's, not like ``2.25.``)."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()
    return f"{_ROOT}.{int(digest[:16], 16)}"


def encode(dataset: Dataset) -> bytes:
    """The dataset as DICOM file bytes (Explicit VR Little Endian unless its meta says otherwise)."""
    buffer = io.BytesIO()
    dcmwrite(buffer, dataset, enforce_file_format=True)
    return buffer.getvalue()


def phantom_slice(shape: tuple[int, int], spacing: tuple[float, float], z_mm: float, *, marker: bool = True) -> np.ndarray:
    """HU of one axial slice of the head phantom centred at x = y = 0 (rows: +y posterior, columns: +x left)."""
    rows, cols = shape
    y = (np.arange(rows) - (rows - 1) / 2) * spacing[0]
    x = (np.arange(cols) - (cols - 1) / 2) * spacing[1]
    yy, xx = np.meshgrid(y, x, indexing="ij")
    a, b = 0.42 * cols * spacing[1], 0.45 * rows * spacing[0]
    r = (xx / a) ** 2 + (yy / b) ** 2
    hu = np.full(shape, -1000.0)
    hu[r <= 1.0] = 1000.0
    hu[r <= 0.8] = 40.0
    for side in (-1, 1):  # two nasal cavities either side of the midline
        hu[((xx - side * 0.18 * a) / (0.1 * a)) ** 2 + ((yy + 0.35 * b) / (0.25 * b)) ** 2 <= 1.0] = -1000.0
    if marker:  # patient's left (+x), anterior (-y)
        hu[(xx > 0.45 * a) & (xx < 0.6 * a) & (yy < -0.45 * b) & (yy > -0.6 * b)] = 2000.0
    return hu.astype(np.int16)


def make_ct_series(
    *,
    patient: FakePatient | None = None,
    slices: int = 8,
    shape: tuple[int, int] = (64, 64),
    pixel_spacing: tuple[float, float] = (0.5, 0.5),
    slice_spacing: float = 1.0,
    study: int = 1,
    series: int = 1,
    start: dt.datetime = dt.datetime(2024, 1, 31, 23, 59, 50),
    phi: bool = True,
    name_variant: str | None = None,
    description: str = "Sinus 0.75 H30s",
    tilt_deg: float = 0.0,
    positions_mm: tuple[float, ...] | None = None,
) -> list[Dataset]:
    """A CT series, one :class:`~pydicom.dataset.Dataset` per slice (with file meta).

    Slices go from inferior to superior (InstanceNumber rising); acquisition times advance
    five seconds per slice from ``start`` (so the default series crosses midnight).
    ``tilt_deg`` tilts the slice plane about the x axis while positions advance along z (gantry tilt).
    ``positions_mm`` gives each slice's z (the table position) instead of ``k * slice_spacing``, for
    unevenly spaced stacks (``slices`` is then its length).

    Examples
    --------
    >>> series = make_ct_series(slices=3, shape=(8, 8), phi=False)
    >>> [float(ds.ImagePositionPatient[2]) for ds in series], series[0].Modality
    ([0.0, 1.0, 2.0], 'CT')
    """
    patient = patient or FakePatient()
    heights = tuple(k * slice_spacing for k in range(slices)) if positions_mm is None else tuple(positions_mm)
    slices = len(heights)
    study_uid = fake_uid(patient.patient_id, "study", study)
    series_uid = fake_uid(patient.patient_id, "study", study, "series", series)
    frame_uid = fake_uid(patient.patient_id, "study", study, "frame")
    localizer_uid = fake_uid(patient.patient_id, "study", study, "localizer")
    sop_uids = [fake_uid(series_uid, "slice", k) for k in range(slices)]
    angle = np.deg2rad(tilt_deg)
    row_dir, col_dir = np.array([1.0, 0.0, 0.0]), np.array([0.0, np.cos(angle), -np.sin(angle)])
    orientation = [round(float(v), 8) for v in (*row_dir, *col_dir)]
    study_start = start - dt.timedelta(minutes=5)
    template = _template(patient, study, series, study_uid, series_uid, frame_uid, study_start, start, description,
                         name_variant)
    if phi:
        fill_phi(template, patient=patient, study=study, target_uid=sop_uids[0], when=start)
    if tilt_deg:
        template.GantryDetectorTilt = tilt_deg
    out = []
    for k in range(slices):
        ds = copy.deepcopy(template)
        ds.file_meta = _meta(CTImageStorage, sop_uids[k])
        ds.SOPInstanceUID = sop_uids[k]
        ds.InstanceNumber = k + 1
        ds.ImageOrientationPatient = orientation
        corner = (np.array([0.0, 0.0, heights[k]]) - (shape[1] - 1) / 2 * pixel_spacing[1] * row_dir
                  - (shape[0] - 1) / 2 * pixel_spacing[0] * col_dir)
        ds.ImagePositionPatient = [round(float(v), 6) for v in corner]
        ds.SliceLocation = heights[k]
        acquired = start + dt.timedelta(seconds=5 * k)
        ds.AcquisitionDate, ds.AcquisitionTime = acquired.strftime("%Y%m%d"), acquired.strftime("%H%M%S")
        ds.ContentDate, ds.ContentTime = ds.AcquisitionDate, ds.AcquisitionTime
        ds.Rows, ds.Columns = shape
        ds.PixelSpacing = list(pixel_spacing)
        ds.SliceThickness = slice_spacing
        hu = phantom_slice(shape, pixel_spacing, heights[k])
        ds.PixelData = (hu.astype(np.int32) + 1024).astype(np.uint16).tobytes()
        ref = Dataset()
        ref.ReferencedSOPClassUID = CTImageStorage
        ref.ReferencedSOPInstanceUID = sop_uids[k - 1] if k else localizer_uid
        ds.ReferencedImageSequence = Sequence([ref])
        out.append(ds)
    return out


def _meta(sop_class: str, sop_uid: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.SourceApplicationEntityTitle = "PHI-AE-META"
    return meta


def _template(patient: FakePatient, study: int, series: int, study_uid: str, series_uid: str, frame_uid: str,
              study_start: dt.datetime, start: dt.datetime, description: str, name_variant: str | None) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CTImageStorage
    ds.StudyDate, ds.StudyTime = study_start.strftime("%Y%m%d"), study_start.strftime("%H%M%S")
    ds.SeriesDate, ds.SeriesTime = start.strftime("%Y%m%d"), start.strftime("%H%M%S")
    ds.AccessionNumber = f"{patient.accession}-{study}"
    ds.Modality = "CT"
    ds.Manufacturer = "Synthetic"
    ds.InstitutionName = patient.institution
    ds.ReferringPhysicianName = patient.physician
    ds.StudyDescription = f"CT NNH {patient.name.split('^')[0]}"
    ds.SeriesDescription = f"{description} {patient.patient_id}" if description else ""
    ds.PatientName = name_variant or patient.name
    ds.PatientID = patient.patient_id
    ds.PatientBirthDate = patient.birth_date
    ds.PatientSex = patient.sex
    ds.PatientAge = "062Y"
    ds.PatientWeight = 71.5
    ds.PatientSize = 1.68
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study_uid, series_uid, frame_uid
    ds.StudyID = f"S{study}"
    ds.SeriesNumber = series
    ds.KVP = 120
    ds.BurnedInAnnotation = "NO"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -1024, 1, "HU"
    return ds


@dataclass(frozen=True)
class PhiCollection:
    """Files of :func:`make_phi_collection`: (path inside the upload, bytes), and what must vanish."""

    files: tuple[tuple[str, bytes], ...]
    phi_values: frozenset[str]
    ct_series_uids: tuple[str, ...]


def make_phi_collection(*, slices: int = 5, shape: tuple[int, int] = (32, 32)) -> PhiCollection:
    """Two patients; patient A has two studies (``A^B`` and ``A^B^^``), one crossing midnight.

    Besides the CT series: a localizer in its own series, a Secondary Capture dose screenshot
    saying BurnedInAnnotation YES, and a pixel-less report. Paths carry the patient's name, as
    real exports often do.

    Examples
    --------
    >>> collection = make_phi_collection(slices=3, shape=(8, 8))
    >>> len(collection.files), len(collection.ct_series_uids), "ZORBAQ" in collection.phi_values
    (12, 3, True)
    """
    a, b = FakePatient(), FakePatient("KRELLWITZ^Odo", "PID-190007", "19480203", "M", "ACC-55302",
                                     "PLONDERBY^Ruth", "Ostwick Hospital")
    groups = [
        (a, make_ct_series(patient=a, slices=slices, shape=shape, study=1, series=2)),
        (a, make_ct_series(patient=a, slices=slices, shape=shape, study=2, series=3, name_variant=a.name + "^^",
                           start=dt.datetime(2024, 3, 2, 8, 15, 0), description="Sinus bone")),
        (b, make_ct_series(patient=b, slices=slices, shape=shape, study=1, series=2,
                           start=dt.datetime(2024, 2, 14, 13, 0, 0), description="Head")),
    ]
    files: list[tuple[str, bytes]] = []
    values: set[str] = set()
    for patient, series in groups:
        folder = patient.name.replace("^", "_")
        for ds in series:
            files.append((f"{folder}/{ds.StudyID}/{ds.SeriesNumber}/IM{int(ds.InstanceNumber):04d}.dcm", encode(ds)))
            values |= _phi_values(ds)
        values |= patient.identifiers
    first = groups[0][1][0]
    for name, extra in (("LOCALIZER", _localizer(first)), ("DOSE", _screenshot(first)), ("REPORT", _report(first))):
        files.append((f"{a.name.replace('^', '_')}/S1/{name}.dcm", encode(extra)))
        values |= _phi_values(extra)
    return PhiCollection(tuple(files), frozenset(v for v in values if len(v) >= 5),
                         tuple(str(s[0].SeriesInstanceUID) for _, s in groups))


def _phi_values(ds: Dataset) -> set[str]:
    """Strings in ``ds`` that must not survive: markers, names, IDs, dates, instance UIDs."""
    found: set[str] = set()
    for element in ds.iterall():
        if element.VR in ("SQ", "OW") or element.tag == 0x7FE00010:
            continue
        values = element.value if isinstance(element.value, list | tuple) or element.VM > 1 else [element.value]
        for value in values:
            text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            if "PHI" in text or (element.VR == "DA" and text != "") or (
                    element.VR == "UI" and text.startswith(_ROOT)):
                found.add(text.strip("\x00 "))
    return found


def _localizer(like: Dataset) -> Dataset:
    ds = copy.deepcopy(like)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    ds.SeriesInstanceUID = fake_uid(like.SeriesInstanceUID, "localizer-series")
    ds.SOPInstanceUID = fake_uid(like.PatientID, "study", 1, "localizer")
    ds.SeriesNumber, ds.SeriesDescription = 1, "Topogram"
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 0.0, -1.0]
    ds.file_meta = _meta(CTImageStorage, ds.SOPInstanceUID)
    return ds


def _screenshot(like: Dataset) -> Dataset:
    ds = copy.deepcopy(like)
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = fake_uid(like.SeriesInstanceUID, "dose")
    ds.SeriesInstanceUID = fake_uid(like.SeriesInstanceUID, "dose-series")
    ds.Modality, ds.SeriesNumber, ds.BurnedInAnnotation = "OT", 99, "YES"
    ds.ImageType = ["DERIVED", "SECONDARY", "OTHER"]
    ds.file_meta = _meta(SecondaryCaptureImageStorage, ds.SOPInstanceUID)
    return ds


def _report(like: Dataset) -> Dataset:
    ds = Dataset()
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "StudyInstanceUID", "StudyDate", "StudyTime",
                    "AccessionNumber", "ReferringPhysicianName"):
        setattr(ds, keyword, like.get(keyword))
    ds.SOPClassUID = _BASIC_TEXT_SR
    ds.SOPInstanceUID = fake_uid(like.SeriesInstanceUID, "report")
    ds.SeriesInstanceUID = fake_uid(like.SeriesInstanceUID, "report-series")
    ds.Modality, ds.SeriesNumber = "SR", 100
    ds.file_meta = _meta(_BASIC_TEXT_SR, ds.SOPInstanceUID)
    return ds
