"""Phantom parameters: validation and the named variants."""

from __future__ import annotations

import pytest

from rhinoapp.core.errors import ValidationError
from rhinoapp.phantom import PhantomParams, PhantomVariant, variant_params


def test_every_variant_has_parameters() -> None:
    for variant in PhantomVariant:
        assert isinstance(variant_params(variant), PhantomParams)
    assert variant_params("swollen", seed=3).seed == 3


@pytest.mark.parametrize(("field", "value", "words"), [
    ("septal_deviation", 1.5, "between 0 and 1"),
    ("turbinate_swelling", -0.1, "between 0 and 1"),
    ("spacing_mm", 0.0, "spacing_mm"),
    ("spacing_mm", (0.5, 0.5), "spacing_mm"),
    ("rotation_deg", (0, 0, 45), "at most 20 degrees"),
    ("valve_radii_mm", (5.0, 5.0), "valve_radii_mm"),
    ("field_of_view_mm", ((0, 5), (0, 50), (0, 50)), "at least 10 mm"),
])
def test_bad_parameters_say_what_is_wrong(field: str, value: object, words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        PhantomParams(**{field: value})


def test_unknown_variant() -> None:
    with pytest.raises(ValueError):
        variant_params("upside-down")
