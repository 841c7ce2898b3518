"""The recursive walk that applies Table E.1-1 actions to one object (used by :mod:`.deidentify`).

Elements the table does not name are not even decoded, except sequences (walked) and UIDs: a
UID outside the table that is neither a class UID nor a UID registered in the standard is
replaced like a "U" attribute, so instance UIDs of newer or vendor attributes cannot leak.
Overlay groups (60xx) are removed whole: Overlay Data (60xx,3000) is "X" and an overlay without
its data is invalid.
"""

from __future__ import annotations

import re
from typing import Any

from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.uid import UID

from rhinoapp.dicom.clean import Scrubber, identifier_tokens
from rhinoapp.dicom.dates import shift_date, shift_date_time, shift_datetime, shift_time
from rhinoapp.dicom.identity import date_shift, mapped_uid
from rhinoapp.dicom.options import DateHandling, DeidentOptions
from rhinoapp.dicom.profile import Action, SafePrivateTable, TagPattern

__all__ = ["Walk"]

_TEXT_VRS = frozenset({"LO", "SH", "LT", "ST", "UT", "UC", "PN", "AE"})
_GATHERED_VRS = _TEXT_VRS | {"DA", "DT"}
_BINARY_VRS = frozenset({"OB", "OW", "OD", "OF", "OL", "OV", "UN"})
_NUMBER_DUMMIES = {"DS": "0", "IS": "0", "FL": 0.0, "FD": 0.0, "SL": 0, "SS": 0, "UL": 0, "US": 0, "SV": 0, "UV": 0}
_TEXT_DUMMIES = {"DA": "19000101", "TM": "000000", "DT": "19000101000000", "AS": "000D", "UR": "urn:x-removed"}
_IDENTITY_KEYWORD = re.compile(r"Name|ID$|IDs$|Address|Institution|Telephone|Station|Physician|Operator|Accession")


def _vr(dataset: Dataset, tag: int) -> str:
    vr = dataset.get_item(tag).VR
    if vr:
        return str(vr)
    try:
        return dictionary_VR(tag)
    except KeyError:
        return "UN"


def _values(element: DataElement) -> list[Any]:
    value = element.value
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, MultiValue | list | tuple) else [value]


def _set(element: DataElement, values: list[Any]) -> None:
    element.value = values[0] if len(values) == 1 else values


def _is_class_uid(tag: int) -> bool:
    keyword = keyword_for_tag(tag)
    return keyword.endswith("ClassUID") or keyword in ("TransferSyntaxUID", "CodingSchemeUID")


def _registered(value: str) -> bool:
    uid = UID(value)
    return uid.name != value


def _partner(tag: int, suffix_from: str, suffix_to: str) -> int | None:
    keyword = keyword_for_tag(tag)
    if keyword.endswith(suffix_from):
        other = keyword[: -len(suffix_from)] + suffix_to
    elif keyword.startswith(suffix_from):
        other = suffix_to + keyword[len(suffix_from):]
    else:
        return None
    return tag_for_keyword(other)


class Walk:
    """One de-identification pass over one object (mutable state of a single call)."""

    def __init__(
        self,
        secret: bytes,
        options: DeidentOptions,
        actions: dict[int, Action],
        patterns: tuple[tuple[TagPattern, Action], ...],
        safe: SafePrivateTable | None,
        patient: str,
    ) -> None:
        self._secret, self._options, self._actions, self._safe = secret, options, actions, safe
        self._patterns = tuple((p, a) for p, a in patterns if not p.matches(0x00010000))
        self._shift = date_shift(secret, patient) if options.dates is DateHandling.MODIFIED else None
        self._scrub = Scrubber(None)

    def dataset(self, dataset: Dataset) -> None:
        """Apply the profile to ``dataset`` and all nested items, in place."""
        self._scrub = Scrubber.of(self._collect_identifiers(dataset))
        self._walk(dataset)

    # -- the walk ----------------------------------------------------------------------------

    def _walk(self, dataset: Dataset) -> None:
        handled: set[int] = set()
        private: list[int] = []
        for tag in list(dataset.keys()):
            group, element = tag >> 16, tag & 0xFFFF
            if group & 1:
                private.append(tag)
                continue
            if tag in handled:
                continue
            if element == 0 or (group & 0xFF00) == 0x6000:
                del dataset[tag]  # group lengths go stale; overlays may show text
                continue
            action = self._actions.get(tag)
            if action is None:
                action = next((a for p, a in self._patterns if p.matches(tag)), None)
            if action is None:
                self._unlisted(dataset, tag)
            else:
                self._apply(dataset, tag, action, handled)
        if private:
            self._private(dataset, private)

    def _unlisted(self, dataset: Dataset, tag: int) -> None:
        vr = _vr(dataset, tag)
        if vr == "SQ":
            for item in dataset[tag].value or ():
                self._walk(item)
        elif vr == "UI" and not _is_class_uid(tag):
            element = dataset[tag]
            values = [str(v) for v in _values(element)]
            if values and not all(_registered(v) for v in values):
                _set(element, [v if _registered(v) else mapped_uid(self._secret, v) for v in values])

    def _apply(self, dataset: Dataset, tag: int, action: Action, handled: set[int]) -> None:
        if action is Action.REMOVE:
            del dataset[tag]
            return
        element = dataset[tag]
        vr = element.VR
        if vr == "SQ":
            if action is Action.ZERO:
                element.value = Sequence()
            else:  # K, C, D, U*: keep the sequence, de-identify its items
                for item in element.value or ():
                    self._walk(item)
            return
        if action is Action.ZERO:
            element.value = None
        elif action is Action.UID or (action is Action.DUMMY and vr == "UI"):
            _set(element, [mapped_uid(self._secret, str(v)) for v in _values(element)])
        elif action is Action.DUMMY:
            self._dummy(element)
        elif action is Action.CLEAN:
            self._clean(dataset, tag, element, handled)

    def _dummy(self, element: DataElement) -> None:
        vr, count = element.VR, max(1, len(_values(element)))
        if vr in _BINARY_VRS:
            element.value = b"\x00\x00"
            return
        dummy: object = _NUMBER_DUMMIES.get(vr, _TEXT_DUMMIES.get(vr, "REMOVED"))
        if vr == "AT":
            dummy = 0
        _set(element, [dummy] * count)

    def _clean(self, dataset: Dataset, tag: int, element: DataElement, handled: set[int]) -> None:
        vr = element.VR
        if vr in ("DA", "TM", "DT"):
            if self._shift is not None:
                self._shift_element(dataset, tag, element, handled)
            elif self._options.dates is not DateHandling.FULL:
                del dataset[tag]
        elif vr in _TEXT_VRS:
            _set(element, [self._scrub(str(v)) for v in _values(element)] or [""])
        elif vr in _BINARY_VRS:
            del dataset[tag]
        elif vr == "CS":  # coded values cannot be cleaned word by word
            self._dummy(element)

    # -- dates -------------------------------------------------------------------------------

    def _shift_element(self, dataset: Dataset, tag: int, element: DataElement, handled: set[int]) -> None:
        assert self._shift is not None
        shift, vr, values = self._shift, element.VR, [str(v) for v in _values(element)]
        if not values:
            return
        if vr == "TM":
            date_tag = _partner(tag, "Time", "Date")
            if date_tag is not None and date_tag in dataset and self._actions.get(date_tag) is Action.CLEAN:
                return  # shifted together with its date
            self._store(dataset, tag, [shift_time(v, shift) for v in values])
            return
        if vr == "DT":
            self._store(dataset, tag, [shift_datetime(v, shift) for v in values])
            return
        time_tag = _partner(tag, "Date", "Time")
        times = []
        if time_tag is not None and time_tag in dataset and self._actions.get(time_tag) is Action.CLEAN:
            times = [str(v) for v in _values(dataset[time_tag])]
        if times and len(times) == len(values):
            pairs = [shift_date_time(d, t, shift) for d, t in zip(values, times, strict=True)]
            handled.add(time_tag)  # type: ignore[arg-type]
            self._store(dataset, time_tag, [t for _, t in pairs])  # type: ignore[arg-type]
            self._store(dataset, tag, [d for d, _ in pairs])
            return
        self._store(dataset, tag, [shift_date(v, shift) for v in values])

    @staticmethod
    def _store(dataset: Dataset, tag: int, values: list[str | None]) -> None:
        if any(v is None for v in values):
            del dataset[tag]  # unreadable: never keep an unshifted date
        else:
            _set(dataset[tag], values)

    # -- private elements ---------------------------------------------------------------------

    def _private(self, dataset: Dataset, tags: list[int]) -> None:
        keep: set[int] = set()
        if self._safe is not None:
            creators = {}
            for tag in tags:
                if 0x10 <= tag & 0xFFFF <= 0xFF:
                    creators[(tag >> 16, tag & 0xFF)] = str(dataset[tag].value or "").strip()
            for tag in tags:
                group, element = tag >> 16, tag & 0xFFFF
                creator = creators.get((group, element >> 8)) if element >= 0x1000 else None
                if creator and self._safe.is_safe(group, creator, element & 0xFF):
                    keep.update((tag, (group << 16) | (element >> 8)))
        for tag in tags:
            if tag not in keep:
                del dataset[tag]

    # -- identifiers for cleaning --------------------------------------------------------------

    def _collect_identifiers(self, dataset: Dataset) -> frozenset[str]:
        if not any(a is Action.CLEAN for a in self._actions.values()):
            return frozenset()
        names: list[str] = []
        values: list[str] = []
        charset = str(dataset.get("SpecificCharacterSet", "") or "")
        encoding = "utf-8" if "192" in charset else "latin-1" if "2022" not in charset else None
        self._visit(dataset, names, values, encoding)
        return identifier_tokens(values, person_names=names)

    def _visit(self, dataset: Dataset, names: list[str], values: list[str], encoding: str | None) -> None:
        removed = (Action.REMOVE, Action.ZERO, Action.DUMMY)
        for tag in dataset.keys():
            if (tag >> 16) & 1:
                continue
            action = self._actions.get(tag)
            vr = _vr(dataset, tag)
            if vr == "SQ":
                for item in dataset[tag].value or ():
                    self._visit(item, names, values, encoding)
            elif action in removed and vr in _GATHERED_VRS:
                self._gather(dataset, tag, vr, names, values, encoding)

    @staticmethod
    def _gather(dataset: Dataset, tag: int, vr: str, names: list[str], values: list[str],
                encoding: str | None) -> None:
        raw = dataset.get_item(tag)
        if isinstance(raw, RawDataElement) and encoding is not None:  # decode without pydicom's conversion
            texts = (raw.value or b"").decode(encoding, "replace").strip(" \x00").split("\\")
        else:
            texts = [str(v) for v in _values(dataset[tag])]
        target = names if vr == "PN" or _IDENTITY_KEYWORD.search(keyword_for_tag(tag)) else values
        for text in (t.strip() for t in texts):
            if not text:
                continue
            target.append(text)
            if vr in ("DA", "DT") and len(text) >= 8:
                values.extend([f"{text[:4]}-{text[4:6]}-{text[6:8]}", f"{text[6:8]}.{text[4:6]}.{text[:4]}"])
