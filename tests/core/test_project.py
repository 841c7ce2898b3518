"""Project name and description rules."""

import pytest

from rhinoapp.core.errors import RhinoappError, ValidationError
from rhinoapp.core.project import MAX_NAME_LENGTH, validate_description, validate_name


@pytest.mark.parametrize(("raw", "clean"), [
    ("Case 1", "Case 1"), ("  Case   1 ", "Case 1"), ("Patient_042 (pre-op)", "Patient_042 (pre-op)"),
    ("Müller-Lüdenscheidt", "Müller-Lüdenscheidt"), ("7", "7"), ("a" * MAX_NAME_LENGTH, "a" * MAX_NAME_LENGTH),
])
def test_valid_names_are_normalised(raw: str, clean: str) -> None:
    assert validate_name(raw) == clean


@pytest.mark.parametrize(("raw", "phrase"), [
    ("", "empty"), ("   ", "empty"), ("a" * (MAX_NAME_LENGTH + 1), "at most 80"), ("a/b", "'/'"),
    ("<script>", "'<'"), ("-leading", "starting with a letter or digit"), ("x;drop", "';'"),
])
def test_invalid_names_are_refused_with_the_rule(raw: str, phrase: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_name(raw)
    assert phrase in str(info.value)
    assert isinstance(info.value, RhinoappError) and isinstance(info.value, ValueError)


def test_non_text_name() -> None:
    with pytest.raises(ValidationError, match="must be text"):
        validate_name(None)  # type: ignore[arg-type]


def test_description_length() -> None:
    assert validate_description(" x ") == "x"
    with pytest.raises(ValidationError, match="at most 2000"):
        validate_description("x" * 2001)
