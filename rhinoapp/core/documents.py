"""JSON artifact documents: the bytes of a document and a document from bytes, with clear errors.

The typed documents of the domain packages (``CTMetadata``, ``GeometryReport``,
``SimulationResults``, ``RhinomanometryParameters``, ``Comparison``) convert to and from plain
dictionaries; these two functions are the only JSON encoding of them, so every artifact document
is written the same way.

Examples
--------
>>> document_bytes({"b": 1, "a": [1.5]})
b'{\\n  "b": 1,\\n  "a": [\\n    1.5\\n  ]\\n}\\n'
>>> parse_document(document_bytes({"a": 1}), what="x.json")
{'a': 1}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rhinoapp.core.errors import ValidationError
from rhinoapp.core.jsonable import json_bytes

__all__ = ["document_bytes", "parse_document", "require"]


def document_bytes(document: Mapping[str, Any]) -> bytes:
    """The UTF-8 JSON of ``document`` (indented, ending with a newline; NaN and infinities as null)."""
    return json_bytes(document)


def parse_document(data: bytes | str, *, what: str) -> dict[str, Any]:
    """The JSON object in ``data``; ValidationError naming ``what`` when it is not one.

    Examples
    --------
    >>> parse_document(b"[1]", what="results.json")
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ValidationError: results.json is not a JSON object: produce it again with rhinoapp.
    """
    try:
        document = json.loads(data)
    except ValueError as error:
        raise ValidationError(f"{what} is not valid JSON ({error}): produce it again with rhinoapp.") from error
    if not isinstance(document, dict):
        raise ValidationError(f"{what} is not a JSON object: produce it again with rhinoapp.")
    return document


def require(document: Mapping[str, Any], keys: tuple[str, ...], *, what: str, expected_format: str = "") -> None:
    """Check that ``document`` has ``keys`` (and, when given, the ``format`` tag ``expected_format``).

    Examples
    --------
    >>> require({"format": "a/2"}, (), what="ct.json", expected_format="a/1")
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ValidationError: ct.json has format 'a/2', expected 'a/1': produce it again with this version of rhinoapp.
    """
    found = document.get("format", expected_format)
    if expected_format and found != expected_format:
        raise ValidationError(f"{what} has format {found!r}, expected {expected_format!r}: "
                              "produce it again with this version of rhinoapp.")
    missing = [key for key in keys if key not in document]
    if missing:
        raise ValidationError(f"{what} lacks {', '.join(missing)}: produce it again with rhinoapp.")
