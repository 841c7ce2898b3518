"""Keyed, deterministic replacements: UIDs, patient keys, pseudonyms and date shifts.

Everything here is an HMAC-SHA256 under a per-installation secret, so the same input always
gives the same output on one installation and nothing can be reversed without the secret.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import unicodedata

from rhinoapp.core.errors import ValidationError

__all__ = [
    "MIN_SECRET_BYTES",
    "check_secret",
    "date_shift",
    "is_valid_uid",
    "mapped_uid",
    "normalise_patient_name",
    "patient_key",
    "project_pseudonym",
    "pseudonym_for",
]

#: Shortest accepted secret (128 bits).
MIN_SECRET_BYTES = 16
_UID_RE = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")
# Modified dates move back between one and ten years, plus a time of day (seconds).
_MIN_SHIFT_DAYS = 365
_SHIFT_SPAN_DAYS = 3285


def check_secret(secret: bytes) -> bytes:
    """Return ``secret`` if it is bytes of at least :data:`MIN_SECRET_BYTES`.

    Examples
    --------
    >>> len(check_secret(b"k" * 32))
    32
    """
    if not isinstance(secret, bytes | bytearray) or len(secret) < MIN_SECRET_BYTES:
        raise ValidationError(
            f"the de-identification secret must be at least {MIN_SECRET_BYTES} bytes; use the installation's "
            "secret.key (rhinoapp.store.secrets.installation_secret) rather than a hand-made value"
        )
    return bytes(secret)


def _digest(secret: bytes, purpose: str, text: str) -> bytes:
    return hmac.new(secret, f"{purpose}\x00{text}".encode("utf-8", "surrogateescape"), hashlib.sha256).digest()


def is_valid_uid(uid: str) -> bool:
    """Whether ``uid`` follows PS3.5 9.1: digits and dots, at most 64 characters, no leading zeros.

    Examples
    --------
    >>> is_valid_uid("2.25.1234"), is_valid_uid("1.02.3"), is_valid_uid("1." + "9" * 63)
    (True, False, False)
    """
    return 0 < len(uid) <= 64 and bool(_UID_RE.match(uid))


def mapped_uid(secret: bytes, uid: str) -> str:
    """The replacement of ``uid``: ``2.25.`` and a 128-bit integer from its HMAC.

    Examples
    --------
    >>> new = mapped_uid(b"s" * 16, "1.2.840.113619.2.55.3.1")
    >>> new.startswith("2.25."), is_valid_uid(new), new == mapped_uid(b"s" * 16, "1.2.840.113619.2.55.3.1")
    (True, True, True)
    """
    number = int.from_bytes(_digest(secret, "uid", uid.strip().rstrip("\x00"))[:16], "big") or 1
    return f"2.25.{number}"


def normalise_patient_name(name: str) -> str:
    """A canonical form of a DICOM person name for matching one patient written several ways.

    Only the alphabetic group is used; components are trimmed and case-folded, and empty
    trailing components dropped, so ``Doe^John``, ``DOE^JOHN^^`` and ``Doe ^ John`` agree.

    Examples
    --------
    >>> normalise_patient_name("Doe^John^^") == normalise_patient_name("DOE^John")
    True
    """
    alphabetic = unicodedata.normalize("NFKC", str(name)).split("=")[0]
    parts = [" ".join(part.split()).casefold() for part in alphabetic.split("^")]
    while parts and not parts[-1]:
        parts.pop()
    return "^".join(parts)


def patient_key(patient_id: str, patient_name: str) -> str:
    """The text that identifies one patient across files (never stored or logged).

    Examples
    --------
    >>> patient_key(" 123 ", "A^B") == patient_key("123", "a^b^^")
    True
    """
    return f"{' '.join(str(patient_id).split())}|{normalise_patient_name(patient_name)}"


def pseudonym_for(secret: bytes, key: str, *, prefix: str = "ANON-") -> str:
    """A stable pseudonym for a patient key, used when the caller does not give one.

    Examples
    --------
    >>> p = pseudonym_for(b"s" * 16, patient_key("123", "A^B"))
    >>> p.startswith("ANON-"), len(p)
    (True, 15)
    """
    return prefix + _digest(secret, "pseudonym", key).hex()[:10].upper()


def project_pseudonym(project_id: str) -> str:
    """PatientName and PatientID of a project's de-identified objects: ``RHINO-`` and 8 hex digits of its id.

    Examples
    --------
    >>> project_pseudonym("1a2b3c4d5e6f")
    'RHINO-1A2B3C4D'
    """
    return "RHINO-" + project_id[:8].upper()


def date_shift(secret: bytes, key: str) -> dt.timedelta:
    """The patient's date shift: back by 1 to 10 years, plus a time of day.

    The same key always gets the same shift, so intervals between all of a patient's studies
    (and dates and times together) are kept.

    Examples
    --------
    >>> shift = date_shift(b"s" * 16, patient_key("123", "A^B"))
    >>> -3650 <= shift.days <= -364
    True
    """
    number = int.from_bytes(_digest(secret, "date-shift", key)[:8], "big")
    days = _MIN_SHIFT_DAYS + number % _SHIFT_SPAN_DAYS
    seconds = (number >> 32) % 86400
    return dt.timedelta(days=-days, seconds=seconds)
