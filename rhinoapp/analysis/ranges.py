"""Healthy ranges of the clinical outputs, and the result tables that put each value beside its range.

Values in, values out: the geometry metrics (:class:`MetricRow`) and a simulation's
``results.json`` content (:func:`result_rows`) with the ranges gathered in the domain notes.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from rhinoapp.core.jsonable import finite_or_none as _number

__all__ = ["HEALTHY_RANGES", "NO_RANGE_NOTE", "REFERENCE_RANGES", "HealthyRange", "MetricRow", "ReferenceRange",
           "ResultRow", "ranges_at_flow", "result_rows", "results_summary"]


@dataclasses.dataclass(frozen=True)
class ReferenceRange:
    """A healthy range of one metric and where it comes from.

    Examples
    --------
    >>> mcsa = REFERENCE_RANGES["mcsa_cm2"]
    >>> mcsa.text, mcsa.verdict(0.52), mcsa.verdict(0.1)
    ('0.24-1.21', 'within', 'below')
    """

    low: float
    high: float
    source: str

    @property
    def text(self) -> str:
        """The range as people write it."""
        return f"{self.low:g}-{self.high:g}"

    def verdict(self, value: float) -> str:
        """``below``, ``within`` or ``above`` the range (``unknown`` for a missing value)."""
        if value is None or not math.isfinite(value):
            return "unknown"
        return "below" if value < self.low else "above" if value > self.high else "within"


#: Healthy ranges from the literature, as gathered in the project's domain notes.
#: Volume and wall surface have none there: they depend on the field of view and the outlet plane.
REFERENCE_RANGES: Mapping[str, ReferenceRange] = MappingProxyType({
    "mcsa_cm2": ReferenceRange(0.24, 1.21, "minimal cross-sectional area per side, healthy adults (literature)"),
})


@dataclasses.dataclass(frozen=True)
class MetricRow:
    """One line of the metrics table: a quantity of the left and right side, and its healthy range."""

    key: str
    label: str
    unit: str
    left: float
    right: float
    reference: ReferenceRange | None = None



@dataclasses.dataclass(frozen=True)
class HealthyRange:
    """A healthy (or acceptable) range of one result, where it comes from, and the flow it applies at.

    Examples
    --------
    >>> dp = HEALTHY_RANGES["pressure_drop_pa"]
    >>> dp.text, dp.verdict(15.0, flow_ml_s=250.0), dp.verdict(35.0, flow_ml_s=240.0), dp.verdict(35.0, flow_ml_s=500.0)
    ('10-20', 'within', 'above', 'other flow')
    """

    low: float
    high: float
    source: str
    at_flow_ml_s: float | None = None

    @property
    def text(self) -> str:
        """The range as people write it."""
        return f"{self.low:g}-{self.high:g}"

    def applies(self, flow_ml_s: float | None) -> bool:
        """Whether the range applies at ``flow_ml_s`` (within 10 % of the flow it was measured at)."""
        if self.at_flow_ml_s is None:
            return True
        return flow_ml_s is not None and abs(flow_ml_s - self.at_flow_ml_s) <= 0.1 * self.at_flow_ml_s

    def verdict(self, value: float | None, *, flow_ml_s: float | None = None) -> str:
        """``below``, ``within``, ``above``, ``other flow`` (range not applicable) or ``unknown``."""
        if value is None or not math.isfinite(value):
            return "unknown"
        if not self.applies(flow_ml_s):
            return "other flow"
        return "below" if value < self.low else "above" if value > self.high else "within"


_AT_REST = "typical CFD of healthy noses at rest, 250 ml/s (domain notes)"
_DERIVED_TOTAL = "derived: the pressure-drop range over the flow (R = dp/Q), so the two never disagree"
_DERIVED_SIDE = "derived: twice the total resistance range (two equal sides in parallel)"
#: What the results table says beside a figure the literature gives no healthy range for.
NO_RANGE_NOTE = "no published healthy range"


def _scaled_pressure_drop(reference: HealthyRange, flow_ml_s: float) -> HealthyRange:
    """The pressure-drop range at ``flow_ml_s``: the reference widened between linear (laminar) and
    quadratic (inertial) growth of the pressure drop with the flow.

    Examples
    --------
    >>> scaled = _scaled_pressure_drop(HealthyRange(10.0, 20.0, "", 250.0), 500.0)
    >>> scaled.low, scaled.high, scaled.at_flow_ml_s
    (20.0, 80.0, 500.0)
    >>> scaled = _scaled_pressure_drop(HealthyRange(10.0, 20.0, "", 250.0), 125.0); scaled.low, scaled.high
    (2.5, 10.0)
    """
    if not reference.at_flow_ml_s or flow_ml_s == reference.at_flow_ml_s:
        return reference
    ratio = flow_ml_s / reference.at_flow_ml_s
    laminar, inertial = ratio, ratio**2
    source = (f"{reference.source}; scaled from {reference.at_flow_ml_s:g} to {flow_ml_s:g} ml/s (lower bound as "
              "laminar flow, upper bound as inertial flow)")
    return HealthyRange(reference.low * min(laminar, inertial), reference.high * max(laminar, inertial), source,
                        flow_ml_s)


def _resistances(pressure_drop: HealthyRange) -> dict[str, HealthyRange]:
    """The resistance ranges that follow from a pressure-drop range at its flow: total dp/Q, each side twice that."""
    flow = pressure_drop.at_flow_ml_s
    if not flow:
        return {}
    total = HealthyRange(pressure_drop.low / flow, pressure_drop.high / flow, _DERIVED_TOTAL, flow)
    side = HealthyRange(2.0 * total.low, 2.0 * total.high, _DERIVED_SIDE, flow)
    return {"resistance_total": total, "resistance_left": side, "resistance_right": side}


def ranges_at_flow(flow_ml_s: float | None, references: Mapping[str, HealthyRange] | None = None
                   ) -> dict[str, HealthyRange]:
    """The healthy ranges at a run's own flow, from one definition: the pressure-drop range (scaled to the
    flow) and the resistances that follow from it (R = dp/Q; each side twice the total).

    Without a flow the ranges are returned as given (they apply at their own flow). ``references``
    without a pressure-drop range keep their own resistance ranges, scaled linearly in the flow.

    Examples
    --------
    >>> at_500 = ranges_at_flow(500.0)
    >>> at_500["pressure_drop_pa"].text, at_500["resistance_total"].text, at_500["resistance_left"].text
    ('20-80', '0.04-0.16', '0.08-0.32')
    >>> at_250 = ranges_at_flow(250.0)
    >>> at_250["pressure_drop_pa"].verdict(20.0, flow_ml_s=250.0), at_250["resistance_total"].verdict(0.08, flow_ml_s=250.0)
    ('within', 'within')
    """
    references = HEALTHY_RANGES if references is None else references
    if flow_ml_s is None or not math.isfinite(flow_ml_s) or flow_ml_s <= 0:
        return dict(references)
    ranges = dict(references)
    dp = references.get("pressure_drop_pa")
    if dp is not None and dp.at_flow_ml_s:
        ranges["pressure_drop_pa"] = _scaled_pressure_drop(dp, flow_ml_s)
        ranges.update(_resistances(ranges["pressure_drop_pa"]))
        return ranges
    for key in ("resistance_total", "resistance_left", "resistance_right"):
        given = references.get(key)
        if given is not None and given.at_flow_ml_s:  # R = dp/Q grows between 1 and Q/Q0
            ratio = flow_ml_s / given.at_flow_ml_s
            ranges[key] = HealthyRange(given.low * min(1.0, ratio), given.high * max(1.0, ratio), given.source, flow_ml_s)
    return ranges


_PRESSURE_DROP = HealthyRange(10.0, 20.0, _AT_REST, 250.0)
#: Healthy ranges from the domain notes ("Airflow simulation practice"), at 250 ml/s; :func:`ranges_at_flow`
#: gives them at a run's own flow. Only the pressure drop is a literature range: the resistances are derived
#: from it (total dp/Q, each side twice the total), so a pressure drop within its range always gives a total
#: resistance within its range. The mass conservation bound is the solver's acceptance criterion, not a
#: clinical range. Velocities and wall shear stress have none (:data:`NO_RANGE_NOTE`). Pass other ranges as
#: ``SimulationsState(references=...)``.
HEALTHY_RANGES: Mapping[str, HealthyRange] = MappingProxyType({
    "pressure_drop_pa": _PRESSURE_DROP,
    **_resistances(_PRESSURE_DROP),
    "flow_partition_left_pct": HealthyRange(24.0, 76.0, "healthy left-right flow partition (domain notes)"),
    "mass_conservation_error_pct": HealthyRange(0.0, 0.5, "solver acceptance: inflow against outflow at steady state"),
})


@dataclasses.dataclass(frozen=True)
class ResultRow:
    """One line of the results table: a clinical output, its value as text, and its healthy range."""

    key: str
    label: str
    unit: str
    value: float | None
    text: str
    reference: HealthyRange | None = None
    verdict: str = ""
    flag: str = ""  #: ``warning`` or ``implausible`` when a plausibility check doubts the value (see plausibility)
    note: str = ""  #: said instead of a range where the literature gives none (:data:`NO_RANGE_NOTE`)


_NO_RANGE = frozenset({"max_velocity_m_s", "wss_mean_pa", "wss_max_pa"})  # figures the literature gives no range for


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def result_rows(results: Mapping[str, Any], references: Mapping[str, HealthyRange] | None = None) -> list[ResultRow]:
    """The results table of a run's ``results.json``, each value beside its healthy range at the run's flow
    (see :func:`ranges_at_flow`).

    Examples
    --------
    >>> results = {"pressure_drop_pa": 14.2, "flow_ml_s": {"total": 250.0, "left": 124.0, "right": 126.0},
    ...            "resistance_pa_s_per_ml": {"total": 0.0568, "left": 0.115, "right": 0.113},
    ...            "flow_partition_left_pct": 49.6, "mass_conservation_error": 0.0004, "converged": True}
    >>> [(row.label, row.text, row.verdict) for row in result_rows(results)][:2]
    [('Pressure drop, nostrils to nasopharynx', '14.2', 'within'), ('Resistance, both sides', '0.0568', 'within')]
    >>> next(row for row in result_rows(results) if row.key == "mass_conservation_error_pct").text
    '0.04'
    >>> at_500 = {**results, "pressure_drop_pa": 50.0, "flow_ml_s": {"total": 500.0},
    ...           "resistance_pa_s_per_ml": {"total": 0.1}}
    >>> [(row.reference.text, row.verdict) for row in result_rows(at_500)[:2]]
    [('20-80', 'within'), ('0.04-0.16', 'within')]
    """
    flows = results.get("flow_ml_s") or {}
    resistance = results.get("resistance_pa_s_per_ml") or {}
    total = _number(flows.get("total"))
    references = ranges_at_flow(total, references)
    mass = _number(results.get("mass_conservation_error"))
    converged = results.get("converged")
    specs: list[tuple[str, str, str, float | None, str]] = [
        ("pressure_drop_pa", "Pressure drop, nostrils to nasopharynx", "Pa", _number(results.get("pressure_drop_pa")), ".3g"),
        ("resistance_total", "Resistance, both sides", "Pa·s/ml", _number(resistance.get("total")), ".3g"),
        ("resistance_left", "Resistance, left side", "Pa·s/ml", _number(resistance.get("left")), ".3g"),
        ("resistance_right", "Resistance, right side", "Pa·s/ml", _number(resistance.get("right")), ".3g"),
        ("flow_total", "Flow, total", "ml/s", total, ".1f"),
        ("flow_partition_left_pct", "Flow partition, left side", "%", _number(results.get("flow_partition_left_pct")), ".1f"),
        ("max_velocity_m_s", "Maximum velocity", "m/s", _number(results.get("max_velocity_m_s")), ".2f"),
        ("wss_mean_pa", "Wall shear stress, area-weighted mean", "Pa", _number(results.get("wss_mean_pa")), ".3g"),
        ("wss_max_pa", "Wall shear stress, maximum", "Pa", _number(results.get("wss_max_pa")), ".3g"),
        ("mass_conservation_error_pct", "Mass conservation error", "%", None if mass is None else 100.0 * mass, ".2g"),
    ]
    rows = []
    for key, label, unit, value, spec in specs:
        text = _fmt(value, spec)
        if key == "flow_total" and value is not None:
            text += f" (left {_fmt(_number(flows.get('left')), '.1f')}, right {_fmt(_number(flows.get('right')), '.1f')})"
        reference = references.get(key)
        verdict = reference.verdict(value, flow_ml_s=total) if reference is not None else ""
        note = NO_RANGE_NOTE if reference is None and key in _NO_RANGE else ""
        rows.append(ResultRow(key, label, unit, value, text, reference, verdict, note=note))
    steps, mlups = _number(results.get("steps")), _number(results.get("mlups"))
    rows += [
        ResultRow("converged", "Steady state reached", "", None,
                  "yes" if converged else "no: stopped at the step limit" if converged is not None else "—"),
        ResultRow("steps", "Time steps", "", steps, "—" if steps is None else f"{int(steps):,}"),
        ResultRow("backend", "Backend", "", None, str(results.get("backend") or "—")),
        ResultRow("mlups", "Speed", "MLUPS", mlups, _fmt(mlups, ".1f")),
    ]
    return rows



def results_summary(results: Mapping[str, Any]) -> str:
    """The main outputs of a run's ``results.json`` in one clause.

    Examples
    --------
    >>> results_summary({"pressure_drop_pa": 14.2, "resistance_pa_s_per_ml": {"total": 0.0568},
    ...                  "flow_partition_left_pct": 49.6, "converged": True})
    'pressure drop 14.2 Pa, resistance 0.0568 Pa·s/ml, 50 % of the flow through the left side; steady state reached'
    """
    dp = _number(results.get("pressure_drop_pa"))
    resistance = _number((results.get("resistance_pa_s_per_ml") or {}).get("total"))
    partition = _number(results.get("flow_partition_left_pct"))
    steady = "steady state reached" if results.get("converged") else "not steady yet (step limit)"
    return (f"pressure drop {_fmt(dp, '.3g')} Pa, resistance {_fmt(resistance, '.3g')} Pa·s/ml, "
            f"{_fmt(partition, '.0f')} % of the flow through the left side; {steady}")
