"""Project values: validated names and the project record seen by the upper layers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata

from rhinoapp.core.errors import ValidationError

__all__ = ["MAX_DESCRIPTION_LENGTH", "MAX_NAME_LENGTH", "Project", "validate_description", "validate_name"]

MAX_NAME_LENGTH = 80
MAX_DESCRIPTION_LENGTH = 2000
_ALLOWED_NAME = re.compile(r"^[\w][\w .,()+\-]*$")


def validate_name(name: str) -> str:
    """Return the normalised project name or raise :class:`ValidationError`.

    Rules: 1 to 80 characters after trimming; letters, digits, spaces and ``_ - . , ( ) +``;
    it starts with a letter or digit. Names are NFC-normalised and inner runs of spaces
    collapse to one, so ``"Case  7"`` and ``"Case 7"`` are the same name.

    Examples
    --------
    >>> validate_name("  Patient 042 (pre-op) ")
    'Patient 042 (pre-op)'
    >>> validate_name("")
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ValidationError: The project name is empty: type a name such as "Case 12 pre-op".
    """
    if not isinstance(name, str):
        raise ValidationError(f"The project name must be text, not {type(name).__name__}.")
    cleaned = " ".join(unicodedata.normalize("NFC", name).split())
    if not cleaned:
        raise ValidationError('The project name is empty: type a name such as "Case 12 pre-op".')
    if len(cleaned) > MAX_NAME_LENGTH:
        raise ValidationError(
            f"The project name has {len(cleaned)} characters; use at most {MAX_NAME_LENGTH}."
        )
    if not _ALLOWED_NAME.match(cleaned):
        bad = sorted({c for c in cleaned if not (c.isalnum() or c in " _-.,()+")})
        shown = " ".join(repr(c) for c in bad) or "its first character"
        raise ValidationError(
            f"The project name may not contain {shown}: use letters, digits, spaces and _ - . , ( ) +,"
            " starting with a letter or digit."
        )
    return cleaned


def validate_description(description: str) -> str:
    """Return the trimmed description or raise :class:`ValidationError` when it is too long.

    Examples
    --------
    >>> validate_description("  septal deviation, left ")
    'septal deviation, left'
    """
    cleaned = (description or "").strip()
    if len(cleaned) > MAX_DESCRIPTION_LENGTH:
        raise ValidationError(
            f"The description has {len(cleaned)} characters; shorten it to at most {MAX_DESCRIPTION_LENGTH}."
        )
    return cleaned


@dataclasses.dataclass(frozen=True)
class Project:
    """A patient case as the application sees it (no PHI: the name is a pseudonym).

    Examples
    --------
    >>> import datetime as dt
    >>> t = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    >>> Project(id="a1", name="Case 1", description="", owner="local", created=t, updated=t).name
    'Case 1'
    """

    id: str
    name: str
    description: str
    owner: str
    created: dt.datetime
    updated: dt.datetime
