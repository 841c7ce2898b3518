"""Units of the 4PR signals and their conversion to the canonical seconds, Pa and ml/s.

Every :class:`~rhinoapp.rhinomanometry.model.Recording` holds time in s, the transnasal
pressure difference in Pa and the volume flow in ml/s (= cm3/s). Importers name the unit they
found and :func:`conversion_factor` turns it into the factor that converts to canonical units.
Spellings are forgiving: case, spaces, ``³``/``^3``, ``ccm`` and ``s-1`` forms are accepted.

Examples
--------
>>> conversion_factor("flow", "l/s")
1000.0
>>> conversion_factor("pressure", "cm H2O")
98.0665
>>> canonical_unit("flow", "cm³/s")
'ml/s'
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from rhinoapp.core.errors import ValidationError

__all__ = ["CANONICAL", "Quantity", "canonical_unit", "conversion_factor", "known_units"]

Quantity = Literal["time", "pressure", "flow"]

#: The unit every Recording array is stored in.
CANONICAL: dict[str, str] = {"time": "s", "pressure": "Pa", "flow": "ml/s"}

# normalised spelling -> (display name, factor to the canonical unit)
_UNITS: dict[str, dict[str, tuple[str, float]]] = {
    "time": {
        "s": ("s", 1.0),
        "sec": ("s", 1.0),
        "ms": ("ms", 1e-3),
    },
    "pressure": {
        "pa": ("Pa", 1.0),
        "pascal": ("Pa", 1.0),
        "hpa": ("hPa", 100.0),
        "kpa": ("kPa", 1000.0),
        "mbar": ("mbar", 100.0),
        "cmh2o": ("cmH2O", 98.0665),
        "mmh2o": ("mmH2O", 9.80665),
    },
    "flow": {
        "ml/s": ("ml/s", 1.0),
        "cm3/s": ("ml/s", 1.0),
        "ccm/s": ("ml/s", 1.0),
        "l/s": ("l/s", 1000.0),
        "dm3/s": ("l/s", 1000.0),
        "ml/min": ("ml/min", 1.0 / 60.0),
        "cm3/min": ("ml/min", 1.0 / 60.0),
        "l/min": ("l/min", 1000.0 / 60.0),
    },
}


def _normalise(unit: str) -> str:
    text = unicodedata.normalize("NFKC", unit).lower()  # NFKC turns '³' into '3'
    text = re.sub(r"\s+", "", text).replace("^", "").replace("*", "")
    text = text.replace("ccm", "cm3").replace("cc/", "cm3/")
    text = re.sub(r"(ml|cm3|l|dm3)s-1$", r"\1/s", text)
    text = re.sub(r"(ml|cm3|l|dm3)min-1$", r"\1/min", text)
    return text


def _check_quantity(quantity: str) -> dict[str, tuple[str, float]]:
    if quantity not in _UNITS:
        raise ValidationError(f"Unknown quantity {quantity!r}; use one of {', '.join(_UNITS)}.")
    return _UNITS[quantity]


def known_units(quantity: Quantity) -> tuple[str, ...]:
    """Display names of the units accepted for ``quantity``.

    Examples
    --------
    >>> known_units("time")
    ('s', 'ms')
    """
    return tuple(dict.fromkeys(name for name, _ in _check_quantity(quantity).values()))


def _lookup(quantity: Quantity, unit: str) -> tuple[str, float]:
    table = _check_quantity(quantity)
    key = _normalise(unit)
    if key not in table:
        raise ValidationError(
            f"Unknown {quantity} unit {unit!r}; use one of {', '.join(known_units(quantity))}"
            f" (the data are converted to {CANONICAL[quantity]})."
        )
    return table[key]


def canonical_unit(quantity: Quantity, unit: str) -> str:
    """Return the display spelling of ``unit`` (``'cm3/s'`` and ``'ccm/s'`` become ``'ml/s'``).

    Examples
    --------
    >>> canonical_unit("pressure", "PA")
    'Pa'
    """
    return _lookup(quantity, unit)[0]


def conversion_factor(quantity: Quantity, unit: str) -> float:
    """Factor that converts values in ``unit`` to the canonical unit of ``quantity``.

    Raises :class:`~rhinoapp.core.errors.ValidationError` naming the accepted units when
    ``unit`` is unknown.

    Examples
    --------
    >>> conversion_factor("time", "ms")
    0.001
    >>> conversion_factor("flow", "gallons")
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ValidationError: Unknown flow unit 'gallons'; use one of ml/s, l/s, ml/min, l/min (the data are converted to ml/s).
    """
    return _lookup(quantity, unit)[1]
