"""The profile tables as data, UIDs, pseudonyms and date shifting."""

from __future__ import annotations

import datetime as dt

import pytest

from rhinoapp.core.errors import ValidationError
from rhinoapp.dicom.dates import shift_date, shift_date_time, shift_datetime, shift_time
from rhinoapp.dicom.identity import date_shift, is_valid_uid, mapped_uid, patient_key, pseudonym_for
from rhinoapp.dicom.options import DeidentOptions
from rhinoapp.dicom.profile import Action, OptionColumn, load_profile, load_safe_private, resolve

SECRET = b"0123456789abcdef"


def test_both_editions_load_and_agree_except_patient_id() -> None:
    old, new = load_profile("2023b"), load_profile("2024b")
    assert (len(old.rows), len(new.rows)) == (611, 621)
    old_actions, new_actions = old.actions(frozenset()), new.actions(frozenset())
    assert set(old_actions) <= set(new_actions)
    differing = {hex(t) for t, a in old_actions.items() if new_actions[t] is not a}
    assert differing == {"0x100020"}  # Patient ID: Z in 2023b, Z/D in 2024b


def test_table_file_is_the_source_of_actions() -> None:
    actions = load_profile().actions(frozenset())
    assert actions[0x00100010] is Action.ZERO  # Patient's Name
    assert actions[0x00080080] is Action.REMOVE  # Institution Name (X/Z/D, Type 3)
    assert actions[0x00181000] is Action.DUMMY  # Device Serial Number (X/Z/D, Type 1 in Enhanced CT)
    assert actions[0x00081140] is Action.KEEP_REPLACE_UIDS  # Referenced Image Sequence (X/Z/U*)
    assert actions[0x0020000D] is Action.UID and actions[0x00200052] is Action.UID
    assert sum(a is Action.UID for a in actions.values()) >= 54


def test_options_select_columns() -> None:
    columns = DeidentOptions().columns
    actions = load_profile().actions(columns)
    assert actions[0x00080020] is Action.CLEAN  # Study Date shifted under modified dates
    assert actions[0x00101010] is Action.KEEP  # Patient's Age kept (patient characteristics)
    assert actions[0x0008103E] is Action.CLEAN  # Series Description cleaned
    assert OptionColumn.RETAIN_SAFE_PRIVATE not in columns


@pytest.mark.parametrize(("code", "action"), [("X/Z", Action.REMOVE), ("Z/D", Action.DUMMY), ("X/D", Action.REMOVE),
                                              ("X/Z/U*", Action.KEEP_REPLACE_UIDS), ("K", Action.KEEP)])
def test_combined_codes(code: str, action: Action) -> None:
    assert resolve(code, 0x00991234) is action


def test_unknown_codes_are_refused() -> None:
    with pytest.raises(ValidationError, match="unknown action code"):
        resolve("Q", None)


def test_safe_private_table() -> None:
    table = load_safe_private()
    assert len(table.entries) > 400
    assert table.is_safe(0x7053, "Philips PET Private Group", 0x00)


def test_mapped_uids_are_valid_deterministic_and_keyed() -> None:
    uids = [mapped_uid(SECRET, f"1.2.840.10008.{n}") for n in range(2000)]
    assert all(is_valid_uid(u) and u.startswith("2.25.") and len(u) <= 64 for u in uids)
    assert len(set(uids)) == len(uids)
    assert mapped_uid(SECRET, "1.2.3") == mapped_uid(SECRET, "1.2.3 ")  # trailing padding
    assert mapped_uid(SECRET, "1.2.3") != mapped_uid(b"fedcba9876543210", "1.2.3")
    assert not is_valid_uid("1.2.03") and not is_valid_uid("1." + "1" * 63) and not is_valid_uid("")


def test_patient_name_variants_share_key_pseudonym_and_shift() -> None:
    a, b = patient_key("ID1", "Doe^John"), patient_key("ID1", "DOE^John^^")
    assert a == b and pseudonym_for(SECRET, a) == pseudonym_for(SECRET, b)
    assert date_shift(SECRET, a) == date_shift(SECRET, b)
    assert patient_key("ID1", "Doe^Jane") != a


def test_short_secrets_are_refused() -> None:
    from rhinoapp.dicom.deidentify import Deidentifier

    with pytest.raises(ValidationError, match="at least 16 bytes"):
        Deidentifier(b"short")


def test_date_time_shifting() -> None:
    shift = dt.timedelta(days=-400, hours=2, minutes=30)
    assert shift_date_time("20240131", "223000", shift) == ("20221228", "010000")  # across midnight
    assert shift_date_time("20240131", "2230", shift) == ("20221228", "0100")  # precision kept
    assert shift_time("223000.123", shift) == "010000.123"
    assert shift_date("20240131", shift) == "20221227"  # noon + shift
    assert shift_datetime("20240131223000+0100", shift) == "20221228010000+0100"
    assert shift_datetime("2024", shift) == "2022"
    for bad in ("2024-13-01", "abc", "20240230"):
        assert shift_date(bad, shift) is None
    assert shift_time("25", shift) is None and shift_datetime("x", shift) is None
    assert shift_date("2024.01.31", shift) == "20221227"  # ACR-NEMA style
