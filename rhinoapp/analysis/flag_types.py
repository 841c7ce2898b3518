"""The values of the plausibility checks: what a flag is about, how much it is doubted, the limits, the flag.

See :mod:`rhinoapp.analysis.plausibility` for the checks that make them.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

from rhinoapp.core.jsonable import finite_or_none as _number

__all__ = ["FlagKind", "PlausibilityFlag", "PlausibilityLimits", "Severity"]


class FlagKind(enum.Enum):
    """What a plausibility flag is about."""

    PEAK_VELOCITY = "peak_velocity"
    OPENING_VELOCITY = "opening_velocity"
    PRESSURE_DROP = "pressure_drop"
    RESISTANCE = "resistance"
    STABILITY = "stability"
    MASS_CONSERVATION = "mass_conservation"
    STEADY_STATE = "steady_state"
    OPENINGS = "openings"
    SIDES = "sides"
    RESOLUTION = "resolution"


class Severity(enum.Enum):
    """How much a flagged figure is doubted."""

    WARNING = "warning"  #: outside the expected range: check before relying on it
    IMPLAUSIBLE = "implausible"  #: far outside: the figure is most likely an artefact of the geometry or grid


@dataclasses.dataclass(frozen=True)
class PlausibilityLimits:
    """The limits of the checks (defaults: see the module notes; the factors are judgement, not literature)."""

    peak_velocity_per_flow: float = 0.04  # m/s per ml/s
    min_opening_area_mm2: float = 24.0
    range_factor: float = 3.0
    implausible_range_factor: float = 10.0
    implausible_factor: float = 2.0
    lattice_velocity_warning: float = 0.15
    lattice_velocity_implausible: float = 0.25
    grid_reynolds_warning: float = 600.0
    mass_error_warning: float = 0.005
    mass_error_implausible: float = 0.05
    drift_warning: float = 0.01
    drift_implausible: float = 0.05
    wander_warning: float = 0.03  # the phantoms swing by under 1 %, the askew head by 7 %
    share_wander_points: float = 1.5
    sides_tolerance_mm: float = 1.0


@dataclasses.dataclass(frozen=True)
class PlausibilityFlag:
    """One doubted figure: what, how bad, the measured value, what was expected, where, and what to do.

    Examples
    --------
    >>> flag = PlausibilityFlag(FlagKind.RESISTANCE, Severity.WARNING, "resistance of the left side", 0.9,
    ...                         "Pa·s/ml", "0.08-0.42 at 250 ml/s", "check the left side.", side="left")
    >>> flag.message
    'resistance of the left side 0.9 Pa·s/ml is outside the expected 0.08-0.42 at 250 ml/s: check the left side.'
    >>> PlausibilityFlag.from_document(flag.to_document()) == flag
    True
    """

    kind: FlagKind
    severity: Severity
    quantity: str
    value: float | None
    unit: str
    expected: str
    advice: str
    side: str | None = None
    place_lps_mm: tuple[float, float, float] | None = None

    @property
    def message(self) -> str:
        """The flag in plain language, the advice included."""
        number = _number(self.value)
        value = "—" if number is None else f"{number:,.0f}" if abs(number) >= 1e4 else f"{number:.3g}"
        how = "far outside (implausible)" if self.severity is Severity.IMPLAUSIBLE else "outside"
        return f"{self.quantity} {value}{' ' + self.unit if self.unit else ''} is {how} the expected {self.expected}: " \
               f"{self.advice}"

    def to_document(self) -> dict[str, Any]:
        """The JSON-ready entry of the ``plausibility`` list (NaN as null)."""
        return {"kind": self.kind.value, "severity": self.severity.value, "quantity": self.quantity,
                "value": _number(self.value), "unit": self.unit, "expected": self.expected, "advice": self.advice,
                "side": self.side, "place_lps_mm": None if self.place_lps_mm is None else list(self.place_lps_mm),
                "message": self.message}

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> PlausibilityFlag:
        """A flag from its ``plausibility`` entry."""
        place = document.get("place_lps_mm")
        return cls(FlagKind(document["kind"]), Severity(document["severity"]), str(document.get("quantity", "")),
                   _number(document.get("value")), str(document.get("unit", "")), str(document.get("expected", "")),
                   str(document.get("advice", "")), document.get("side"),
                   None if place is None else (float(place[0]), float(place[1]), float(place[2])))
