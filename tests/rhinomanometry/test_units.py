"""Unit spellings and conversion factors."""

from __future__ import annotations

import pytest

from rhinoapp.core.errors import ValidationError
from rhinoapp.rhinomanometry.units import canonical_unit, conversion_factor, known_units


@pytest.mark.parametrize(("quantity", "unit", "factor"), [
    ("time", "s", 1.0), ("time", "ms", 1e-3), ("time", "Sec", 1.0),
    ("pressure", "Pa", 1.0), ("pressure", "hPa", 100.0), ("pressure", "kPa", 1000.0), ("pressure", "mbar", 100.0),
    ("pressure", "cm H2O", 98.0665), ("pressure", "mmH2O", 9.80665),
    ("flow", "ml/s", 1.0), ("flow", "cm3/s", 1.0), ("flow", "cm³/s", 1.0), ("flow", "cm^3/s", 1.0),
    ("flow", "ccm/s", 1.0), ("flow", "ml s-1", 1.0), ("flow", "l/s", 1000.0), ("flow", "L/S", 1000.0),
    ("flow", "l/min", 1000.0 / 60.0), ("flow", "ml/min", 1.0 / 60.0),
])
def test_conversion_factors(quantity: str, unit: str, factor: float) -> None:
    assert conversion_factor(quantity, unit) == pytest.approx(factor, rel=1e-15)


def test_canonical_spelling() -> None:
    assert canonical_unit("flow", "ccm/s") == "ml/s"
    assert canonical_unit("pressure", "cmh2o") == "cmH2O"
    assert known_units("pressure") == ("Pa", "hPa", "kPa", "mbar", "cmH2O", "mmH2O")


def test_unknown_unit_lists_the_known_ones() -> None:
    with pytest.raises(ValidationError, match=r"Unknown pressure unit 'psi'; use one of Pa, hPa, kPa, mbar"):
        conversion_factor("pressure", "psi")
    with pytest.raises(ValidationError, match="Unknown quantity 'volume'"):
        conversion_factor("volume", "ml")  # type: ignore[arg-type]
