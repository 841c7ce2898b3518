"""The simulated airway beside the measured one: resistance per side and flow partition.

The simulation gives, at its flow ``Q`` (ml/s), the pressure drop ``dp`` (Pa) and the flow through
each side, hence a resistance ``dp / Q_side`` per side (the two sides in parallel share ``dp``).
The 4PR measurement gives per side the Rohrer law ``dp = K1 Q + K2 Q^2``, hence the measured
resistance at the same side flow, ``R(Q) = K1 + K2 Q``, which makes the two comparable at equal
flow; R150 (at 150 Pa) is listed for reference. Pure functions: dictionaries in (the contents of
``results.json`` and ``parameters.json``), rows out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from rhinoapp.core.jsonable import finite_or_none

__all__ = ["ComparisonRow", "compare_with_rhinomanometry"]


@dataclasses.dataclass(frozen=True)
class ComparisonRow:
    """One quantity, simulated and measured, with the ratio simulated / measured."""

    quantity: str
    unit: str
    simulated: float | None
    measured: float | None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """Simulated over measured, when both exist and the measurement is not zero."""
        if self.simulated is None or self.measured in (None, 0):
            return None
        return self.simulated / self.measured


def _number(value: Any) -> float | None:
    if isinstance(value, Mapping):
        value = value.get("value", value.get("mean"))
    return finite_or_none(value)


def _side(parameters: Mapping[str, Any], side: str) -> Mapping[str, Any]:
    return next((s for s in parameters.get("sides", []) if s.get("side") == side), {})


def compare_with_rhinomanometry(results: Mapping[str, Any], parameters: Mapping[str, Any]) -> list[ComparisonRow]:
    """Rows comparing a simulation's ``results.json`` with a 4PR ``parameters.json``.

    Examples
    --------
    >>> results = {"pressure_drop_pa": 20.0, "flow_ml_s": {"total": 250.0, "left": 125.0, "right": 125.0},
    ...            "flow_partition_left_pct": 50.0}
    >>> side = {"rohrer": {"k1": 0.1, "k2": 0.0004}, "summary": {"r150": {"mean": 0.3}}}
    >>> parameters = {"sides": [dict(side, side="left"), dict(side, side="right")],
    ...               "total": {"flow_partition_left_150": {"value": 0.5}}}
    >>> rows = compare_with_rhinomanometry(results, parameters)
    >>> [(r.quantity, round(r.simulated, 3), round(r.measured, 3)) for r in rows[:2]]
    [('Resistance left', 0.16, 0.15), ('Resistance right', 0.16, 0.15)]
    >>> rows[-1].simulated, rows[-1].measured
    (50.0, 50.0)
    """
    dp = _number(results.get("pressure_drop_pa"))
    flows = results.get("flow_ml_s", {})
    rows = []
    for side in ("left", "right"):
        q = _number(flows.get(side))
        simulated = dp / q if dp is not None and q else None
        rohrer = _side(parameters, side).get("rohrer") or {}
        k1, k2 = _number(rohrer.get("k1")), _number(rohrer.get("k2"))
        measured = k1 + k2 * q if k1 is not None and k2 is not None and q is not None else None
        note = f"at {q:.0f} ml/s through this side" if q else "no flow through this side"
        if measured is None:
            note = "no Rohrer fit in the 4PR measurement for this side"
        rows.append(ComparisonRow(f"Resistance {side}", "Pa*s/ml", simulated, measured, note))
    for side in ("left", "right"):
        r150 = _number(_side(parameters, side).get("summary", {}).get("r150"))
        rows.append(ComparisonRow(f"R150 {side} (4PR)", "Pa*s/ml", None, r150, "measured at 150 Pa"))
    partition = _number(results.get("flow_partition_left_pct"))
    fraction = _number(parameters.get("total", {}).get("flow_partition_left_150"))  # 0..1 in the 4PR result
    measured_partition = None if fraction is None else 100.0 * fraction
    rows.append(ComparisonRow("Flow through the left side", "%", partition, measured_partition,
                              "4PR at 150 Pa"))
    return rows
