"""De-identification: one test per behaviour of the acceptance list of issue 4."""

from __future__ import annotations

import datetime as dt

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import CTImageStorage

from rhinoapp.dicom.deidentify import BurnedInAnnotationError, Deidentifier
from rhinoapp.dicom.identity import is_valid_uid
from rhinoapp.dicom.options import BurnedInPolicy, DateHandling, DeidentOptions
from rhinoapp.dicom.testing import PhiCollection, encode, make_ct_series
from tests.dicom.helpers import SECRET, parse, phi_leaks

Pairs = dict[str, tuple[Dataset, Dataset]]


def _series(pairs: Pairs, prefix: str) -> list[tuple[Dataset, Dataset]]:
    return [pair for path, pair in sorted(pairs.items()) if path.startswith(prefix) and "/IM" in path]


def _moment(date: str, time: str) -> dt.datetime:
    return dt.datetime.strptime(date + time[:6], "%Y%m%d%H%M%S")


@pytest.mark.slow
def test_class_uids_are_unchanged(pairs: Pairs) -> None:
    for original, clean in pairs.values():
        assert clean.SOPClassUID == original.SOPClassUID
        assert clean.file_meta.MediaStorageSOPClassUID == original.SOPClassUID
        if "ReferencedImageSequence" in clean:
            assert clean.ReferencedImageSequence[0].ReferencedSOPClassUID == CTImageStorage


def test_instance_series_study_and_frame_uids_are_replaced_valid_and_consistent(pairs: Pairs) -> None:
    a1, a2, b1 = (_series(pairs, p) for p in ("ZORBAQ_Xylia/S1/", "ZORBAQ_Xylia/S2/", "KRELLWITZ_Odo/S1/"))
    keys = ("SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID", "FrameOfReferenceUID")
    for original, clean in a1 + a2 + b1:
        for key in keys:
            new = str(clean[key].value)
            assert new != str(original[key].value) and new.startswith("2.25.") and is_valid_uid(new)
    for series in (a1, a2, b1):  # consistent within a series (and so within its study)
        for key in keys[1:]:
            assert len({str(clean[key].value) for _, clean in series}) == 1
        assert len({str(clean.SOPInstanceUID) for _, clean in series}) == len(series)
    studies = {str(s[0][1].StudyInstanceUID) for s in (a1, a2, b1)}
    frames = {str(s[0][1].FrameOfReferenceUID) for s in (a1, a2, b1)}
    assert len(studies) == 3 and len(frames) == 3  # different studies, different patients


def test_file_meta_sop_instance_uid_equals_the_datasets(pairs: Pairs) -> None:
    for _, clean in pairs.values():
        assert clean.file_meta.MediaStorageSOPInstanceUID == clean.SOPInstanceUID
        assert "SourceApplicationEntityTitle" not in clean.file_meta


def test_referenced_uids_inside_sequences_follow_their_targets(pairs: Pairs) -> None:
    series = _series(pairs, "ZORBAQ_Xylia/S1/")
    new_by_old = {str(o.SOPInstanceUID): str(c.SOPInstanceUID) for o, c in pairs.values() if "SOPInstanceUID" in o}
    for (original, clean) in series[1:]:
        old_target = str(original.ReferencedImageSequence[0].ReferencedSOPInstanceUID)
        assert str(clean.ReferencedImageSequence[0].ReferencedSOPInstanceUID) == new_by_old[old_target]
    localizer_ref = series[0][1].ReferencedImageSequence[0].ReferencedSOPInstanceUID
    assert localizer_ref == pairs["ZORBAQ_Xylia/S1/LOCALIZER.dcm"][1].SOPInstanceUID
    # items of kept sequences (Source Image, Request Attributes...) point at slice 1 of the series
    old_first, new_first = str(series[0][0].SOPInstanceUID), str(series[0][1].SOPInstanceUID)
    original, clean = series[2]
    before = [str(e.value) for e in original.iterall() if e.keyword == "ReferencedSOPInstanceUID"]
    after = [str(e.value) for e in clean.iterall() if e.keyword == "ReferencedSOPInstanceUID"]
    assert before.count(old_first) > 3 and old_first not in after
    assert after.count(new_first) >= 3 and all(is_valid_uid(v) for v in after)


@pytest.mark.slow
def test_multi_valued_elements_keep_their_count(pairs: Pairs) -> None:
    checked = 0
    for original, clean in pairs.values():
        for element in original.iterall():
            if element.VM > 1 and element.tag in clean and clean[element.tag].VM and not element.tag.is_private:
                assert clean[element.tag].VM == element.VM, element.keyword
                checked += 1
    original, clean = _series(pairs, "ZORBAQ_Xylia/S1/")[0]
    assert len(clean.DateOfLastCalibration) == len(clean.TimeOfLastCalibration) == 2
    assert list(clean.DateOfLastCalibration) != list(original.DateOfLastCalibration)
    assert checked > 10  # (Z empties values: zero length is what PS3.15 asks for)


def test_one_patient_written_two_ways_gets_one_pseudonym_and_one_shift(pairs: Pairs) -> None:
    (o1, c1), (o2, c2) = _series(pairs, "ZORBAQ_Xylia/S1/")[0], _series(pairs, "ZORBAQ_Xylia/S2/")[0]
    assert str(o1.PatientName) == "ZORBAQ^Xylia" and str(o2.PatientName) == "ZORBAQ^Xylia^^"
    assert c1.PatientName == c2.PatientName == c1.PatientID == c2.PatientID
    shift1 = _moment(c1.StudyDate, c1.StudyTime) - _moment(o1.StudyDate, o1.StudyTime)
    shift2 = _moment(c2.StudyDate, c2.StudyTime) - _moment(o2.StudyDate, o2.StudyTime)
    assert shift1 == shift2 and shift1 < -dt.timedelta(days=364)
    (_, other), = _series(pairs, "KRELLWITZ_Odo/S1/")[:1]
    assert other.PatientID != c1.PatientID


def test_dates_and_times_shift_together_and_keep_intervals(pairs: Pairs) -> None:
    series = _series(pairs, "ZORBAQ_Xylia/S1/")
    before = [_moment(o.AcquisitionDate, o.AcquisitionTime) for o, _ in series]
    after = [_moment(c.AcquisitionDate, c.AcquisitionTime) for _, c in series]
    assert before[0].date() != before[-1].date()  # the original series crosses midnight
    assert [b - before[0] for b in before] == [a - after[0] for a in after]
    o, c = series[0]
    assert (_moment(o.StudyDate, o.StudyTime) - before[0]) == (_moment(c.StudyDate, c.StudyTime) - after[0])
    (o2, c2) = _series(pairs, "ZORBAQ_Xylia/S2/")[0]  # interval between the two studies kept
    assert _moment(o2.StudyDate, o2.StudyTime) - _moment(o.StudyDate, o.StudyTime) == \
        _moment(c2.StudyDate, c2.StudyTime) - _moment(c.StudyDate, c.StudyTime)
    assert c.LongitudinalTemporalInformationModified == "MODIFIED"


def test_output_is_deterministic_for_a_given_secret(collection: PhiCollection) -> None:
    data = collection.files[0][1]
    first, again = (Deidentifier(SECRET).bytes(data) for _ in range(2))
    other = parse(Deidentifier(b"another-secret-0123456789").bytes(data))
    assert first == again
    assert other.SOPInstanceUID != parse(first).SOPInstanceUID


def test_private_elements_are_removed_also_in_sequences_and_ob(pairs: Pairs, collection: PhiCollection) -> None:
    original = parse(collection.files[0][1])
    assert {0x00091002, 0x00291001, 0x00111001, 0x00191001} <= set(original.keys())  # OB, UN, orphan, SQ
    for _, clean in pairs.values():
        assert not [e.tag for e in clean.iterall() if e.tag.is_private]


def test_retain_safe_private_keeps_exactly_the_listed_elements(collection: PhiCollection) -> None:
    deidentifier = Deidentifier(SECRET, DeidentOptions(retain_safe_private=True))
    clean = parse(deidentifier.bytes(collection.files[0][1]))
    private = {int(e.tag) for e in clean.iterall() if e.tag.is_private}
    assert private == {0x00E10010, 0x00E11021}
    assert clean[0x00E10010].value == "ELSCINT1" and float(clean[0x00E11021].value) == 12.5
    assert "113111" in [item.CodeValue for item in clean.DeidentificationMethodCodeSequence]


def test_pixel_data_is_unchanged_byte_for_byte(pairs: Pairs) -> None:
    for original, clean in pairs.values():
        if "PixelData" in original:
            assert clean.PixelData == original.PixelData


def test_deidentification_attributes_are_set(pairs: Pairs) -> None:
    for _, clean in pairs.values():
        assert clean.PatientIdentityRemoved == "YES"
        assert "DICOM PS3.15 2024b Table E.1-1" in list(clean.DeidentificationMethod)
        codes = [(i.CodeValue, i.CodingSchemeDesignator) for i in clean.DeidentificationMethodCodeSequence]
        assert codes == [("113100", "DCM"), ("113107", "DCM"), ("113108", "DCM"), ("113105", "DCM")]


def test_burned_in_annotation_policy(collection: PhiCollection) -> None:
    screenshot = dict(collection.files)["ZORBAQ_Xylia/S1/DOSE.dcm"]
    with pytest.raises(BurnedInAnnotationError, match="BurnedInAnnotation YES"):
        Deidentifier(SECRET).bytes(screenshot)
    unknown = parse(screenshot)
    del unknown.BurnedInAnnotation
    with pytest.raises(BurnedInAnnotationError, match="Secondary Capture .*missing.*Leave it out"):
        Deidentifier(SECRET).bytes(encode(unknown))
    unknown.BurnedInAnnotation = "NO"
    assert parse(Deidentifier(SECRET).bytes(encode(unknown))).BurnedInAnnotation == "NO"
    allowed = Deidentifier(SECRET, DeidentOptions(burned_in=BurnedInPolicy.ALLOW)).bytes(screenshot)
    assert parse(allowed).PatientIdentityRemoved == "YES"


@pytest.mark.slow
def test_no_fake_phi_value_survives(collection: PhiCollection) -> None:
    deidentifier = Deidentifier(SECRET, DeidentOptions(burned_in=BurnedInPolicy.ALLOW))
    output = b"".join(deidentifier.bytes(data) for _, data in collection.files)
    assert len(collection.phi_values) > 500
    assert phi_leaks(collection.phi_values, output) == []
    assert b"PHI" not in output


def test_the_leak_finder_finds_a_date_that_starts_its_digits_and_no_date_across_day_and_hour() -> None:
    phi = {"20231226", "ZORBAQ"}
    assert phi_leaks(phi, b"DA\x08\x0020231226@") == ["20231226"]  # a study date left alone
    assert phi_leaks(phi, b"DT\x0e\x0020231226101500@") == ["20231226"]  # at the head of a date-time
    assert phi_leaks(phi, b"DT\x0e\x0020220920231226@") == []  # 20 September 2022, 23:12:26
    assert phi_leaks(phi, b"2.25.120231226") == []  # a new UID's digits
    assert phi_leaks(phi, b"PN\x06\x00ZORBAQ") == ["ZORBAQ"]


def test_descriptors_are_cleaned_not_dropped(pairs: Pairs) -> None:
    original, clean = _series(pairs, "ZORBAQ_Xylia/S1/")[0]
    assert "PID-884213" in original.SeriesDescription
    assert clean.SeriesDescription == "Sinus 0.75 H30s"
    assert clean.StudyDescription == "CT NNH"  # the family name was removed
    assert clean.PatientSex == "F" and clean.PatientAge == "062Y"  # retained characteristics


@pytest.mark.parametrize(("dates", "expected"), [(DateHandling.FULL, "keep"), (DateHandling.REMOVE, "drop")])
def test_date_options(dates: DateHandling, expected: str) -> None:
    [ds] = make_ct_series(slices=1, shape=(4, 4))
    study_date, acquisition = ds.StudyDate, ds.AcquisitionDate
    clean = parse(Deidentifier(SECRET, DeidentOptions(dates=dates)).bytes(encode(ds)))
    if expected == "keep":
        assert (clean.StudyDate, clean.AcquisitionDate) == (study_date, acquisition)
        assert clean.LongitudinalTemporalInformationModified == "UNMODIFIED"
    else:
        assert clean.StudyDate == "" and "AcquisitionDate" not in clean
        assert clean.LongitudinalTemporalInformationModified == "REMOVED"


def test_deidentifying_twice_keeps_the_pseudonym_given(collection: PhiCollection) -> None:
    deidentifier = Deidentifier(SECRET, pseudonym="RHINO-1A2B3C4D")
    clean = parse(deidentifier.bytes(collection.files[0][1]))
    assert clean.PatientName == clean.PatientID == "RHINO-1A2B3C4D"


def test_every_table_attribute_is_in_the_generated_series(collection: PhiCollection) -> None:
    from rhinoapp.dicom.fakephi import profile_tags

    original = parse(collection.files[0][1])
    present = {int(e.tag) for e in original.iterall()} | {int(t) for t in original.file_meta.keys()}
    missing = [hex(t) for t in profile_tags() if t not in present and t >> 16 != 0x0000]
    assert missing == []
