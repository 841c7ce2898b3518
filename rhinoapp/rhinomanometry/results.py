"""Result values of the 4PR analysis and their conversion to JSON-ready data.

Resistances are in Pa·s/ml, flows in ml/s, pressures in Pa, hysteresis (loop area) in
Pa·ml/s, LVR and LReff are log10 of resistances in Pa·s/ml. A parameter that cannot be
computed is a :class:`Value` with ``value=None`` and a ``reason`` for people, never an
extrapolated number. Sample indices refer to the side's arrays; ``stop`` is exclusive.

Examples
--------
>>> Value(None, "150 Pa not reached").available
False
>>> to_jsonable(Statistic(mean=0.5, std=None, n=1))
{'mean': 0.5, 'std': None, 'n': 1, 'reason': ''}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from rhinoapp.core.jsonable import to_jsonable
from rhinoapp.rhinomanometry.classification import ObstructionClass, ObstructionClasses
from rhinoapp.rhinomanometry.model import Metadata, Phase, Side
from rhinoapp.rhinomanometry.rohrer import RohrerFit

__all__ = [
    "BREATH_PARAMETERS",
    "AnalysisResult",
    "BreathResult",
    "PhaseResult",
    "SideResult",
    "Statistic",
    "TotalResult",
    "Value",
]


@dataclasses.dataclass(frozen=True)
class Value:
    """A number, or None with the reason it is missing."""

    value: float | None
    reason: str = ""

    @property
    def available(self) -> bool:
        """True when there is a number."""
        return self.value is not None


@dataclasses.dataclass(frozen=True)
class Statistic:
    """Mean and sample standard deviation (ddof=1; None below two values) over ``n`` breaths."""

    mean: float | None
    std: float | None
    n: int
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class PhaseResult:
    """Parameters of one phase.

    ``vr`` is the vertex resistance ``max|dP| / max|V|`` over the phase's samples, ``reff``
    the effective resistance ``RMS(dP) / RMS(V)``. ``flow_at_75`` and ``flow_at_150`` are
    ``|V|`` interpolated where ``|dP|`` crosses the level on the phase's branch between zero
    flow and the flow peak; ``r75``/``r150`` are the level divided by that flow.
    """

    phase: Phase
    start: int
    stop: int
    t_start_s: float
    dp_max_pa: float
    flow_max_ml_s: float
    vr: float
    reff: float
    flow_at_75: Value
    flow_at_150: Value
    r75: Value
    r150: Value


@dataclasses.dataclass(frozen=True)
class BreathResult:
    """Parameters of one complete breath (see :mod:`rhinoapp.rhinomanometry.analysis`)."""

    index: int
    start: int
    stop: int
    t_start_s: float
    t_stop_s: float
    phases: tuple[PhaseResult, ...]
    r75: Value
    r150: Value
    r75_expiration: Value
    r150_expiration: Value
    flow_at_75: Value
    flow_at_150: Value
    vr: float
    vr_expiration: float
    reff: float
    lvr: float
    lreff: float
    hysteresis: float
    hysteresis_inspiration: float
    hysteresis_expiration: float

    def phase(self, phase: Phase) -> PhaseResult:
        """The result of ``phase`` in this breath."""
        return next(p for p in self.phases if p.phase is phase)


#: The per-breath numbers summarised by mean and standard deviation in :class:`SideResult`.
BREATH_PARAMETERS = (
    "r75", "r150", "r75_expiration", "r150_expiration", "flow_at_75", "flow_at_150",
    "vr", "vr_expiration", "reff", "lvr", "lreff", "hysteresis",
)


@dataclasses.dataclass(frozen=True)
class SideResult:
    """Everything computed for one side: breaths, their summary, the Rohrer fit, the class."""

    side: Side
    breaths: tuple[BreathResult, ...]
    summary: Mapping[str, Statistic]
    rohrer: RohrerFit | None
    rohrer_reason: str
    obstruction: ObstructionClass | None
    obstruction_reason: str
    notes: tuple[str, ...]

    def mean(self, name: str) -> Value:
        """The mean of parameter ``name`` as a :class:`Value` (None with the reason when missing).

        Examples
        --------
        >>> s = SideResult(Side.LEFT, (), {"r150": Statistic(None, None, 0, "not reached")},
        ...                None, "", None, "", ())
        >>> s.mean("r150")
        Value(value=None, reason='not reached')
        """
        stat = self.summary[name]
        return Value(stat.mean, stat.reason)


@dataclasses.dataclass(frozen=True)
class TotalResult:
    """Both sides together: resistances in parallel ``R_L*R_R/(R_L+R_R)`` of the side means,
    and the fraction of the total flow through the left side at 75 and 150 Pa."""

    r75: Value
    r150: Value
    vr: Value
    reff: Value
    flow_partition_left_75: Value
    flow_partition_left_150: Value


@dataclasses.dataclass(frozen=True)
class AnalysisResult:
    """The analysis of a measurement: per side, in total, and the class limits used."""

    metadata: Metadata
    sides: tuple[SideResult, ...]
    total: TotalResult
    classes: ObstructionClasses

    def side(self, side: Side) -> SideResult | None:
        """The result of ``side``, or None when it was not measured."""
        return next((s for s in self.sides if s.side is side), None)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready nested dict (enums as values, NaN as None, dates as ISO text)."""
        result: dict[str, Any] = to_jsonable(self)
        return result
