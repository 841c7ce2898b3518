"""Options of the de-identification (PS3.15 E.3) and their CID 7050 codes."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from rhinoapp.core.errors import ValidationError
from rhinoapp.dicom.profile import DEFAULT_EDITION, EDITIONS, OptionColumn

__all__ = ["BurnedInPolicy", "DateHandling", "DeidentOptions", "METHOD_CODES"]

#: CID 7050 "De-identification Method" codes (scheme DCM) used in DeidentificationMethodCodeSequence.
METHOD_CODES: Mapping[str, str] = MappingProxyType({
    "113100": "Basic Application Confidentiality Profile",
    "113105": "Clean Descriptors Option",
    "113106": "Retain Longitudinal Temporal Information Full Dates Option",
    "113107": "Retain Longitudinal Temporal Information Modified Dates Option",
    "113108": "Retain Patient Characteristics Option",
    "113111": "Retain Safe Private Option",
})


class DateHandling(enum.Enum):
    """What happens to dates and times."""

    REMOVE = "remove"  #: the Basic Profile: removed, emptied or dummied
    MODIFIED = "modified"  #: Retain Longitudinal Temporal Information with Modified Dates
    FULL = "full"  #: Retain Longitudinal Temporal Information Full Dates (keeps real dates)


class BurnedInPolicy(enum.Enum):
    """What to do with images that may show identifying text in their pixels."""

    REFUSE = "refuse"  #: raise :class:`~rhinoapp.dicom.deidentify.BurnedInAnnotationError`
    ALLOW = "allow"  #: the caller has checked (or cleaned) the pixels itself


@dataclass(frozen=True)
class DeidentOptions:
    """The choices of a de-identification run.

    Parameters
    ----------
    dates
        :class:`DateHandling`; ``MODIFIED`` shifts all dates and times of a patient by one
        offset (days and seconds), so intervals between studies survive.
    retain_patient_characteristics
        Keep sex, age, size, weight (needed for normal ranges).
    clean_descriptors
        Keep descriptions (series description, protocol...) after removing identifiers from them.
    retain_safe_private
        Keep the private elements of Table E.3.10-1 (with their creators); all others are removed.
    burned_in
        :class:`BurnedInPolicy` for images with (possible) burned-in annotation.
    edition
        Edition of Table E.1-1 to apply (a key of :data:`~rhinoapp.dicom.profile.EDITIONS`).

    Examples
    --------
    >>> options = DeidentOptions(retain_safe_private=True)
    >>> [code for code, _ in options.method_codes()]
    ['113100', '113107', '113108', '113105', '113111']
    """

    dates: DateHandling = DateHandling.MODIFIED
    retain_patient_characteristics: bool = True
    clean_descriptors: bool = True
    retain_safe_private: bool = False
    burned_in: BurnedInPolicy = BurnedInPolicy.REFUSE
    edition: str = DEFAULT_EDITION

    def __post_init__(self) -> None:
        if not isinstance(self.dates, DateHandling):
            raise ValidationError(f"dates must be one of {[d.value for d in DateHandling]}, got {self.dates!r}")
        if not isinstance(self.burned_in, BurnedInPolicy):
            raise ValidationError(f"burned_in must be a BurnedInPolicy, got {self.burned_in!r}")
        if self.edition not in EDITIONS:
            raise ValidationError(f"unknown Table E.1-1 edition {self.edition!r}; choose one of {', '.join(EDITIONS)}")

    @property
    def columns(self) -> frozenset[OptionColumn]:
        """The option columns of Table E.1-1 these options select."""
        columns = set()
        if self.retain_safe_private:
            columns.add(OptionColumn.RETAIN_SAFE_PRIVATE)
        if self.retain_patient_characteristics:
            columns.add(OptionColumn.RETAIN_PATIENT_CHARACTERISTICS)
        if self.clean_descriptors:
            columns.add(OptionColumn.CLEAN_DESCRIPTORS)
        if self.dates is DateHandling.MODIFIED:
            columns.add(OptionColumn.RETAIN_MODIFIED_DATES)
        elif self.dates is DateHandling.FULL:
            columns.add(OptionColumn.RETAIN_FULL_DATES)
        return frozenset(columns)

    def method_codes(self) -> list[tuple[str, str]]:
        """CID 7050 (code value, meaning) pairs describing these options, Basic Profile first."""
        codes = ["113100"]
        if self.dates is DateHandling.FULL:
            codes.append("113106")
        elif self.dates is DateHandling.MODIFIED:
            codes.append("113107")
        if self.retain_patient_characteristics:
            codes.append("113108")
        if self.clean_descriptors:
            codes.append("113105")
        if self.retain_safe_private:
            codes.append("113111")
        return [(code, METHOD_CODES[code]) for code in codes]
