"""Building blocks of the request types of the workflow steps: numeric ranges and names.

Each step's request type (in its domain package) declares its bounds once as :class:`Range`
values; the command line, the page states and the job tasks all take them from there.
"""

from __future__ import annotations

import math
import re
import enum
from dataclasses import dataclass
from typing import TypeVar

from rhinoapp.core.errors import ValidationError

__all__ = ["NAME_PATTERN", "Range", "check_choice", "check_name"]

_Choice = TypeVar("_Choice", bound=enum.Enum)

#: Folder names chosen by people (geometry variants, simulation run ids).
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class Range:
    """Closed interval ``[low, high]`` a number of a request must lie in.

    Examples
    --------
    >>> resolution = Range(0.25, 4.0, "mm")
    >>> resolution.bounds, resolution.check("resolution_mm", 1)
    ((0.25, 4.0), 1.0)
    >>> resolution.check("resolution_mm", 0.1)
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ValidationError: resolution_mm must lie between 0.25 and 4 mm, got 0.1; choose a value in that range.
    """

    low: float
    high: float
    unit: str = ""

    @property
    def bounds(self) -> tuple[float, float]:
        """``(low, high)``, as ``param`` bounds take them."""
        return (self.low, self.high)

    def check(self, name: str, value: object) -> float:
        """``value`` as a float, or ValidationError saying the range."""
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValidationError(f"{name} must be a number, got {value!r}; give a number between "
                                  f"{self.text}.") from None
        if not (math.isfinite(number) and self.low <= number <= self.high):
            raise ValidationError(f"{name} must lie between {self.text}, got {value!r}; choose a value in that range.")
        return number

    @property
    def text(self) -> str:
        """The range as people write it: ``0.25 and 4 mm``."""
        def number(x: float) -> str:
            return str(int(x)) if float(x).is_integer() else f"{x:g}"

        return f"{number(self.low)} and {number(self.high)}" + (f" {self.unit}" if self.unit else "")


def check_choice(what: str, value: object, kind: type[_Choice]) -> _Choice:
    """``value`` as a member of the enum ``kind`` (a member or its value), else ValidationError naming the choices.

    Examples
    --------
    >>> class Side(enum.Enum):
    ...     LEFT = "left"
    ...     RIGHT = "right"
    >>> check_choice("side", "left", Side)
    <Side.LEFT: 'left'>
    >>> check_choice("side", "up", Side)
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ValidationError: side must be one of ['left', 'right'], got 'up'.
    """
    try:
        return kind(value)
    except ValueError:
        raise ValidationError(f"{what} must be one of {[k.value for k in kind]}, got {value!r}.") from None


def check_name(what: str, value: object) -> str:
    """``value`` as a folder name (letters, digits, '-' or '_', at most 40), else ValidationError.

    Examples
    --------
    >>> check_name("variant", "default")
    'default'
    >>> check_name("variant", "../x")
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ValidationError: variant '../x': use letters, digits, '-' or '_' (at most 40).
    """
    text = str(value)
    if not NAME_PATTERN.match(text):
        raise ValidationError(f"{what} {text!r}: use letters, digits, '-' or '_' (at most 40).")
    return text
