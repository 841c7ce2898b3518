"""A CT volume as a DICOM CT series: realistic headers, optional fake PHI (for tests and demos).

The slices follow the volume's ``k`` axis; ImageOrientationPatient is the ``i`` and ``j`` columns
of the volume's direction, ImagePositionPatient the LPS position of each slice's first voxel,
PixelSpacing ``(row spacing, column spacing) = (s_j, s_i)``. Pixel values are stored as unsigned
16-bit with RescaleIntercept -1024, so HU from -1024 to 64511 survive unchanged.
"""

from __future__ import annotations

import copy
import datetime as dt

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage

from rhinoapp.core.errors import ValidationError
from rhinoapp.core.volume import CTVolume
from rhinoapp.dicom.fakephi import fill_phi
from rhinoapp.dicom.testing import FakePatient, _meta, _template, fake_uid

__all__ = ["series_from_volume"]

_MIN_HU = -1024


def series_from_volume(volume: CTVolume, *, patient: FakePatient | None = None, description: str = "Synthetic CT",
                       fake_phi: bool = False, when: dt.datetime = dt.datetime(2024, 3, 4, 10, 0, 0)) -> list[Dataset]:
    """One DICOM dataset (with file meta) per slice of ``volume``.

    Without ``fake_phi`` the identifying attributes hold obviously synthetic values; with it, every
    PS3.15 Table E.1-1 attribute is filled with fake PHI (the variant the de-identification tests use).

    Examples
    --------
    >>> from rhinoapp.core.volume import ImageGeometry
    >>> hu = np.full((3, 4, 5), -1000, dtype=np.int16)
    >>> series = series_from_volume(CTVolume(hu, ImageGeometry(hu.shape, spacing_mm=(0.5, 0.6, 2.0))))
    >>> len(series), float(series[1].ImagePositionPatient[2]), series[0].PixelSpacing, (series[0].Rows, series[0].Columns)
    (3, 2.0, [0.6, 0.5], (4, 5))
    """
    patient = patient or FakePatient(name="PHANTOM^Synthetic", patient_id="PHANTOM-0001", birth_date="19700101",
                                     sex="O", accession="SYN-0001", physician="NONE^Synthetic",
                                     institution="rhinoapp phantom")
    hu = np.asarray(volume.hu)
    if hu.min() < _MIN_HU:
        hu = np.maximum(hu, _MIN_HU)
    if hu.max() > 64511:
        raise ValidationError("HU values above 64511 cannot be stored with this writer's 16-bit encoding.")
    geometry = volume.geometry
    nk, nj, ni = geometry.shape
    si, sj, sk = geometry.spacing_mm
    direction = geometry.direction_matrix
    study_uid = fake_uid(patient.patient_id, "study", description)
    series_uid = fake_uid(study_uid, "series")
    frame_uid = fake_uid(study_uid, "frame")
    sop_uids = [fake_uid(series_uid, "slice", k) for k in range(nk)]
    template = _template(patient, 1, 1, study_uid, series_uid, frame_uid, when - dt.timedelta(minutes=5), when,
                         description, None)
    template.SeriesDescription = description
    if fake_phi:
        fill_phi(template, patient=patient, study=1, target_uid=sop_uids[0], when=when)
    orientation = [round(float(v), 8) for v in (*direction[:, 0], *direction[:, 1])]
    out = []
    for k in range(nk):
        ds = copy.deepcopy(template)
        ds.file_meta = _meta(CTImageStorage, sop_uids[k])
        ds.SOPInstanceUID, ds.InstanceNumber = sop_uids[k], k + 1
        ds.ImageOrientationPatient = orientation
        ds.ImagePositionPatient = [round(float(v), 6) for v in geometry.index_to_physical((0, 0, k))]
        ds.SliceLocation = round(float(geometry.index_to_physical((0, 0, k))[2]), 6)
        ds.Rows, ds.Columns = nj, ni
        ds.PixelSpacing = [round(sj, 6), round(si, 6)]
        ds.SliceThickness = round(sk, 6)
        acquired = when + dt.timedelta(seconds=k)
        ds.AcquisitionDate, ds.AcquisitionTime = acquired.strftime("%Y%m%d"), acquired.strftime("%H%M%S")
        ds.ContentDate, ds.ContentTime = ds.AcquisitionDate, ds.AcquisitionTime
        ds.PixelData = (hu[k].astype(np.int32) - _MIN_HU).astype(np.uint16).tobytes()
        ref = Dataset()
        ref.ReferencedSOPClassUID = CTImageStorage
        ref.ReferencedSOPInstanceUID = sop_uids[k - 1] if k else sop_uids[0]
        ds.ReferencedImageSequence = Sequence([ref])
        out.append(ds)
    return out
