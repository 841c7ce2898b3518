"""Fake identifying values in every attribute of Table E.1-1 (both editions), for :mod:`.testing`.

Values that the default options must remove carry a ``PHI`` marker (text), a date near the
study (dates), a UID under the fake root (UIDs) or the marker as bytes (binary). Attributes the
default options keep (patient characteristics) get plausible, unmarked values; descriptors that
Clean Descriptors keeps embed the patient's own identifiers, which cleaning must remove.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING

from pydicom.datadict import dictionary_VM, dictionary_VR
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage

from rhinoapp.dicom.options import DeidentOptions
from rhinoapp.dicom.profile import EDITIONS, load_profile

if TYPE_CHECKING:
    from rhinoapp.dicom.testing import FakePatient

__all__ = ["fill_phi", "profile_tags"]

_ROOT = "1.2.826.0.1.3680043.10.1042"
_KEPT = {"AS": "062Y", "CS": "NO", "US": 4, "SH": "Nordic", "LO": "none", "DS": "1.0", "IS": "1"}
_SHORT = {"SH": 16, "AE": 16, "CS": 16, "LO": 64, "PN": 64}


def profile_tags() -> dict[int, str]:
    """Every single tag of every shipped edition of Table E.1-1, with its default-options code."""
    columns = DeidentOptions().columns
    tags: dict[int, str] = {}
    for edition in EDITIONS:
        for row in load_profile(edition).rows:
            if row.tag.single is not None:
                tags.setdefault(row.tag.single, row.code(columns))
    return tags


def _uid(*parts: object) -> str:
    return f"{_ROOT}.{int(hashlib.sha256('|'.join(map(str, parts)).encode()).hexdigest()[:16], 16)}"


def _count(tag: int) -> int:
    vm = dictionary_VM(tag)
    return 2 if "n" in vm or vm in ("1-2", "1-3", "2", "1-8", "1-32", "1-99") else 1


def _value(vr: str, code: str, index: int, patient: FakePatient, when: dt.datetime, tag: int) -> object:
    marker = f"PHI-{index:03d}-{patient.patient_id[-3:]}"
    family = patient.name.split("^")[0]
    moment = when - dt.timedelta(days=index % 150, minutes=index)
    if code == "K":
        return _KEPT.get(vr, "1")
    if vr == "DA":
        return moment.strftime("%Y%m%d")
    if vr == "TM":
        return moment.strftime("%H%M%S")
    if vr == "DT":
        return moment.strftime("%Y%m%d%H%M%S")
    if vr == "UI":
        return _uid(patient.patient_id, "phi", index)
    if vr in ("OB", "UN"):
        return marker.encode().ljust(len(marker) + len(marker) % 2, b" ")
    if vr in ("DS", "IS"):
        return "7"
    if vr in ("US", "SS", "UL", "SL"):
        return 3
    if vr == "AS":
        return "062Y"
    if vr == "UR":
        return f"https://example.invalid/{marker}"
    if vr == "CS":
        return marker.replace("-", "_")
    if vr == "PN":
        return f"{marker}^{family}"
    if code == "C":  # a descriptor that cleaning keeps: identifiers only inside it
        text = f"note {family} {patient.patient_id} {patient.birth_date[6:]}.{patient.birth_date[4:6]}." \
               f"{patient.birth_date[:4]}"
        return text[: _SHORT.get(vr, 1024)] if vr != "SH" else family
    return marker


def _item(index: int, patient: FakePatient, target_uid: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = CTImageStorage
    item.ReferencedSOPInstanceUID = target_uid
    item.PersonName = f"PHI-{index:03d}-NESTED^{patient.name.split('^')[1]}"
    inner = Dataset()
    inner.PatientID = f"PHI-{index:03d}-DEEP"
    inner.InstitutionName = patient.institution
    inner.add_new(0x00190010, "LO", "ACME DEEP")
    inner.add_new(0x00191001, "LO", f"PHI-{index:03d}-PRIVDEEP")
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "T-21000", "SRT", "Nose"
    item.ConceptNameCodeSequence = Sequence([code])
    item.add_new(0x0040A168, "SQ", Sequence([inner]))  # a sequence the table does not name
    return item


def fill_phi(ds: Dataset, *, patient: FakePatient, study: int, target_uid: str, when: dt.datetime) -> None:
    """Add a fake value for every Table E.1-1 attribute not yet in ``ds``, and private elements."""
    for index, (tag, code) in enumerate(sorted(profile_tags().items())):
        if tag in ds or tag >> 16 in (0x0000, 0x0002):
            continue
        try:
            vr = dictionary_VR(tag).split(" or ")[0]
        except KeyError:
            continue
        if vr == "SQ":
            ds.add_new(tag, vr, Sequence([_item(index, patient, target_uid)]))
            continue
        value = _value(vr, code, index + study * 1000, patient, when, tag)
        if _count(tag) == 2 and vr not in ("OB", "UN", "UR", "LT", "ST", "UT", "AS"):
            second = _value(vr, code, index + study * 1000 + 1, patient, when, tag)
            ds.add_new(tag, vr, [value, second])
        else:
            ds.add_new(tag, vr, value)
    _private(ds, patient)


def _private(ds: Dataset, patient: FakePatient) -> None:
    marker = f"PHI-PRIV-{patient.patient_id[-3:]}"
    ds.add_new(0x00090010, "LO", "ACME 1.1")
    ds.add_new(0x00091001, "LO", f"{marker}-LO")
    ds.add_new(0x00091002, "OB", f"{marker}-OB".encode().ljust(16, b"\0"))
    ds.add_new(0x00091003, "PN", f"{marker}^{patient.name}")
    ds.add_new(0x00111001, "LO", f"{marker}-ORPHAN")  # no creator
    ds.add_new(0x00E10010, "LO", "ELSCINT1")
    ds.add_new(0x00E11021, "DS", "12.5")  # DLP: safe (Table E.3.10-1)
    ds.add_new(0x00E11022, "LO", f"{marker}-UNSAFE")  # same creator, not listed
    ds.add_new(0x00290010, "LO", "UNKNOWN VENDOR")
    ds.add_new(0x00291001, "UN", f"{marker}-UN".encode().ljust(16, b"\0"))
    nested = Dataset()
    nested.add_new(0x00190010, "LO", "ACME SEQ")
    nested.add_new(0x00191001, "PN", f"{marker}-SEQ^{patient.name}")
    ds.add_new(0x00190010, "LO", "ACME SQ")
    ds.add_new(0x00191001, "SQ", Sequence([nested]))
