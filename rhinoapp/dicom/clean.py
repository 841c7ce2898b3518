"""Cleaning free text (the "C" action on descriptors): drop identifiers found elsewhere in the object.

PS3.15 leaves "clean" to the implementation. rhinoapp removes from a descriptor every value
(and every name component and longer word of it) that the profile removes or replaces elsewhere in
the same object (names, IDs, addresses, institutions, dates...), plus anything shaped like a date,
a long number, an e-mail address or a telephone number. What is left is the clinical description
("CT SINUS 0.75 H30s").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Scrubber", "identifier_tokens", "scrub_text"]

_PATTERNS = re.compile(
    r"[\w.+-]+@[\w-]+(\.[\w-]+)+"  # e-mail
    r"|\+?\d[\d ()/-]{6,}\d"  # telephone-like runs
    r"|\b\d{4}[-./]\d{1,2}[-./]\d{1,2}\b|\b\d{1,2}[-./]\d{1,2}[-./]\d{2,4}\b"  # dates with separators
    r"|\d{5,}"  # compact dates, IDs, accession numbers
)
_SPACES = re.compile(r"\s+")
_ORPHANS = re.compile(r"(?<=\s)[\s,;:/^.()-]+(?=\s)")
_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*")


def identifier_tokens(values: Iterable[str], *, person_names: Iterable[str] = ()) -> frozenset[str]:
    """Strings to remove from descriptors: whole values, name components, words of 4+ characters.

    Examples
    --------
    >>> sorted(identifier_tokens(["St Mary Hospital"], person_names=["Doe^Jo"]))
    ['Doe', 'Doe Jo', 'Hospital', 'Jo', 'Mary', 'St Mary Hospital']
    """
    tokens: set[str] = set()
    for name in person_names:
        for group in str(name).split("="):
            parts = [p.strip() for p in group.split("^") if p.strip()]
            tokens.update(p for p in parts if len(p) >= 2)
            if parts:
                tokens.add(" ".join(parts))
            for part in parts:
                tokens.update(w for w in _WORD.findall(part) if len(w) >= 2)
    for value in values:
        text = _SPACES.sub(" ", str(value)).strip()
        if len(text) >= 2:
            tokens.add(text)
        tokens.update(w for w in _WORD.findall(text) if len(w) >= 4)
    return frozenset(tokens)


@dataclass(frozen=True)
class Scrubber:
    """Removes a fixed set of identifier tokens (compiled once) and identifier-shaped patterns.

    Examples
    --------
    >>> Scrubber.of(frozenset({"Doe", "John"}))("CT Sinus DOE, John 20240131 acc 12345678")
    'CT Sinus acc'
    """

    pattern: re.Pattern[str] | None

    @classmethod
    def of(cls, tokens: frozenset[str]) -> Scrubber:
        """A scrubber for ``tokens`` (longest first, whole words, any case)."""
        if not tokens:
            return cls(None)
        alternation = "|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True))
        return cls(re.compile(rf"(?<![^\W_])(?:{alternation})(?![^\W_])", flags=re.IGNORECASE))

    def __call__(self, text: str) -> str:
        result = self.pattern.sub(" ", str(text)) if self.pattern is not None else str(text)
        result = _PATTERNS.sub(" ", result)
        result = _ORPHANS.sub(" ", f" {result} ")
        return _SPACES.sub(" ", result).strip(" ,;:/^-")


def scrub_text(text: str, tokens: frozenset[str]) -> str:
    """``text`` without the identifier ``tokens`` and identifier-shaped patterns.

    Examples
    --------
    >>> scrub_text("Sinus CT for Dr. Quimble, born 04.12.1961", frozenset({"Quimble"}))
    'Sinus CT for Dr. born'
    """
    return Scrubber.of(tokens)(text)
