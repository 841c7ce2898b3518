"""DICOM PS3.15 Table E.1-1 (and E.3.10-1) as data: rows, action codes and their resolution.

The tables live in ``rhinoapp/dicom/data`` beside their ``NOTICE.md``. Nothing in this module
names a tag to de-identify by hand: the actions come from the table rows; only the choice between
the alternatives of a combined code (``X/Z``, ``X/D``, ``Z/D``, ``X/Z/D``) depends on the IOD type
of the attribute, which the table does not carry (see :data:`_TYPE_1_IN_CT_IODS`).
"""

from __future__ import annotations

import csv
import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

from rhinoapp.core.errors import ValidationError

__all__ = [
    "Action",
    "ConfidentialityProfile",
    "DEFAULT_EDITION",
    "EDITIONS",
    "OptionColumn",
    "ProfileRow",
    "SafePrivateTable",
    "load_profile",
    "load_safe_private",
    "parse_tag",
]

#: The edition used unless another is asked for: the newest copy in ``data/``.
DEFAULT_EDITION = "2024b"
#: Editions of Table E.1-1 shipped in ``rhinoapp/dicom/data`` and the file holding each.
EDITIONS: Mapping[str, str] = MappingProxyType({
    "2023b": "ps3.15_table_E.1-1_2023b.csv",
    "2024b": "confidentiality_profile_attributes_2024b.json",
})
_SAFE_PRIVATE_FILE = "ps3.15_table_E.3.10-1_safe_private_2023b.csv"

# Combined codes leave the choice to the IOD's Type of the attribute. For the objects rhinoapp
# imports (CT, Enhanced CT, Secondary Capture) these attributes are Type 1 (so: D) or Type 2
# (so: Z); every other combined code resolves to its strictest alternative that keeps objects
# valid: X when X is allowed, else D (Z/D).
_TYPE_1_IN_CT_IODS = frozenset({0x0008002A, 0x00181000})  # AcquisitionDateTime, DeviceSerialNumber
_TYPE_2_IN_CT_IODS = frozenset({0x00400555})  # AcquisitionContextSequence


class Action(enum.Enum):
    """A single PS3.15 action (Table E.1-1a), after resolving combined codes."""

    DUMMY = "D"  #: replace with a non-zero-length dummy value of the VR
    ZERO = "Z"  #: replace with a zero-length value
    REMOVE = "X"  #: remove the element
    KEEP = "K"  #: keep (sequences: keep and clean their items)
    CLEAN = "C"  #: clean: shift dates, scrub descriptors, clean sequence items
    UID = "U"  #: replace with a consistent, deterministic UID
    KEEP_REPLACE_UIDS = "U*"  #: sequence kept, the UIDs inside replaced (``X/Z/U*``)


class OptionColumn(enum.Enum):
    """The option columns of Table E.1-1 that rhinoapp implements (PS3.15 E.3)."""

    RETAIN_SAFE_PRIVATE = "rtnSafePrivOpt"
    RETAIN_PATIENT_CHARACTERISTICS = "rtnPatCharsOpt"
    RETAIN_FULL_DATES = "rtnLongFullDatesOpt"
    RETAIN_MODIFIED_DATES = "rtnLongModifDatesOpt"
    CLEAN_DESCRIPTORS = "cleanDescOpt"


_CSV_COLUMNS = {
    OptionColumn.RETAIN_SAFE_PRIVATE: "Rtn. Safe Priv. Opt.",
    OptionColumn.RETAIN_PATIENT_CHARACTERISTICS: "Rtn. Pat. Chars. Opt.",
    OptionColumn.RETAIN_FULL_DATES: "Rtn. Long. Full Dates Opt.",
    OptionColumn.RETAIN_MODIFIED_DATES: "Rtn. Long. Modif. Dates Opt.",
    OptionColumn.CLEAN_DESCRIPTORS: "Clean Desc. Opt.",
}


@dataclass(frozen=True)
class TagPattern:
    """A tag or a family of tags: ``(tag & mask) == value``."""

    mask: int
    value: int

    def matches(self, tag: int) -> bool:
        """Whether ``tag`` belongs to this pattern."""
        return (tag & self.mask) == self.value

    @property
    def single(self) -> int | None:
        """The tag, when the pattern names exactly one."""
        return self.value if self.mask == 0xFFFFFFFF else None


def parse_tag(text: str) -> TagPattern:
    """Parse a tag as the tables write it, patterns included.

    Examples
    --------
    >>> hex(parse_tag("(0010,0010)").single)
    '0x100010'
    >>> p = parse_tag("(60xx,3000)")
    >>> p.matches(0x60023000), p.matches(0x60023001), p.single is None
    (True, False, True)
    >>> parse_tag("(gggg,eeee) where gggg is odd").matches(0x00091001)
    True
    """
    cleaned = text.strip().lower()
    if "gggg is odd" in cleaned:
        return TagPattern(0x00010000, 0x00010000)
    digits = cleaned.strip("()").replace(",", "")
    if len(digits) != 8:
        raise ValidationError(f"cannot read the tag {text!r} of the profile table; expected (gggg,eeee)")
    mask = int("".join("0" if c == "x" else "f" for c in digits), 16)
    value = int("".join("0" if c == "x" else c for c in digits), 16)
    return TagPattern(mask, value)


@dataclass(frozen=True)
class ProfileRow:
    """One row of Table E.1-1: the attribute, its Basic Profile code and its option codes."""

    name: str
    tag: TagPattern
    basic: str
    options: tuple[tuple[OptionColumn, str], ...] = ()

    def code(self, columns: frozenset[OptionColumn]) -> str:
        """The code that applies with the given options: any K wins, then any C, else Basic."""
        codes = {code for column, code in self.options if column in columns and code}
        if "K" in codes:
            return "K"
        if "C" in codes:
            return "C"
        return self.basic


def resolve(code: str, tag: int | None) -> Action:
    """The single action for a (possibly combined) code of the attribute ``tag``.

    Examples
    --------
    >>> resolve("X/Z", 0x00080022), resolve("X/Z/D", 0x00181000), resolve("Z/D", 0x00080023)
    (<Action.REMOVE: 'X'>, <Action.DUMMY: 'D'>, <Action.DUMMY: 'D'>)
    >>> resolve("X/Z/U*", 0x00081140)
    <Action.KEEP_REPLACE_UIDS: 'U*'>
    """
    code = code.strip().upper()
    if code == "X/Z/U*":
        return Action.KEEP_REPLACE_UIDS
    parts = code.split("/")
    if len(parts) == 1:
        try:
            return Action(parts[0])
        except ValueError:
            raise ValidationError(f"unknown action code {code!r} in the profile table") from None
    if "D" in parts and tag in _TYPE_1_IN_CT_IODS:
        return Action.DUMMY
    if "Z" in parts and tag in _TYPE_2_IN_CT_IODS:
        return Action.ZERO
    if "X" in parts:
        return Action.REMOVE
    return Action.DUMMY if "D" in parts else Action.ZERO


@dataclass(frozen=True)
class ConfidentialityProfile:
    """Table E.1-1 of one edition.

    Examples
    --------
    >>> profile = load_profile("2023b")
    >>> len(profile.rows), profile.edition
    (611, '2023b')
    >>> actions = profile.actions(frozenset())
    >>> actions[0x00100010], actions[0x0020000D]
    (<Action.ZERO: 'Z'>, <Action.UID: 'U'>)
    """

    edition: str
    rows: tuple[ProfileRow, ...]

    @property
    def title(self) -> str:
        """How de-identified files name the table."""
        return f"DICOM PS3.15 {self.edition} Table E.1-1"

    def actions(self, columns: frozenset[OptionColumn]) -> dict[int, Action]:
        """Action per single tag with the given option columns (patterns: :meth:`pattern_actions`)."""
        result = {}
        for row in self.rows:
            tag = row.tag.single
            if tag is not None:
                result[tag] = resolve(row.code(columns), tag)
        return result

    def pattern_actions(self, columns: frozenset[OptionColumn]) -> tuple[tuple[TagPattern, Action], ...]:
        """Actions of the rows that name a family of tags (repeating groups, private tags)."""
        return tuple((row.tag, resolve(row.code(columns), None)) for row in self.rows if row.tag.single is None)


def _read_text(name: str) -> str:
    return resources.files("rhinoapp.dicom").joinpath("data", name).read_text(encoding="utf-8")


def load_profile(edition: str = DEFAULT_EDITION) -> ConfidentialityProfile:
    """Load Table E.1-1 of ``edition`` (a key of :data:`EDITIONS`) from the package data.

    Examples
    --------
    >>> load_profile().title
    'DICOM PS3.15 2024b Table E.1-1'
    """
    if edition not in EDITIONS:
        raise ValidationError(f"no copy of Table E.1-1 edition {edition!r}; choose one of {', '.join(EDITIONS)}")
    text = _read_text(EDITIONS[edition])
    rows: list[ProfileRow] = []
    if EDITIONS[edition].endswith(".json"):
        for item in json.loads(text):
            options = tuple((c, item.get(c.value, "")) for c in OptionColumn if item.get(c.value))
            rows.append(ProfileRow(item["name"], parse_tag(item["tag"]), item["basicProfile"], options))
    else:
        for item in csv.DictReader(text.splitlines()):
            options = tuple((c, item[_CSV_COLUMNS[c]]) for c in OptionColumn if item[_CSV_COLUMNS[c]])
            rows.append(ProfileRow(item["Attribute Name"], parse_tag(item["Tag"]), item["Basic Prof."], options))
    return ConfidentialityProfile(edition, tuple(rows))


@dataclass(frozen=True)
class SafePrivateTable:
    """Table E.3.10-1: private elements safe to keep, as ``(group, creator, element byte)``.

    Examples
    --------
    >>> table = load_safe_private()
    >>> table.is_safe(0x00E1, "ELSCINT1", 0x21), table.is_safe(0x00E1, "ELSCINT1", 0x99)
    (True, False)
    """

    entries: frozenset[tuple[int, str, int]]

    def is_safe(self, group: int, creator: str, element_byte: int) -> bool:
        """Whether element ``(group, xx<element_byte>)`` of ``creator``'s block is listed."""
        return (group, creator.strip(), element_byte) in self.entries


def load_safe_private() -> SafePrivateTable:
    """Load Table E.3.10-1 (edition 2023b) from the package data.

    Examples
    --------
    >>> len(load_safe_private().entries) > 400
    True
    """
    entries = set()
    for item in csv.DictReader(_read_text(_SAFE_PRIVATE_FILE).splitlines()):
        digits = item["Data Element"].strip().strip("()").replace(",", "")
        entries.add((int(digits[:4], 16), item["Private Creator"].strip(), int(digits[-2:], 16)))
    return SafePrivateTable(frozenset(entries))
