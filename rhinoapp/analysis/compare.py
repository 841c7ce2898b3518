"""The simulated airway beside the measured one: resistance per side and flow partition.

The simulation gives, at its flow ``Q`` (ml/s), the pressure drop ``dp`` (Pa) and the flow through
each side, hence a resistance ``dp / Q_side`` per side (the two sides in parallel share ``dp``).
The 4PR measurement gives per side the Rohrer law ``dp = K1 Q + K2 Q^2``, hence the measured
resistance at the same side flow, ``R(Q) = K1 + K2 Q``, which makes the two comparable at equal
flow; R150 (at 150 Pa) is listed for reference. Pure functions: typed documents in
(:class:`~rhinoapp.cfd.SimulationResults`, :class:`~rhinoapp.rhinomanometry.RhinomanometryParameters`),
rows out; :class:`Comparison` is the Analysis step's published document.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

from rhinoapp.cfd.results import SimulationResults
from rhinoapp.core.documents import document_bytes, parse_document, require
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.core.errors import ValidationError
from rhinoapp.rhinomanometry.parameters import RhinomanometryParameters

__all__ = ["Comparison", "ComparisonRow", "compare_with_rhinomanometry"]

_WHAT: str = ProjectLayout().comparison.name  # the document's file name, for messages


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


def compare_with_rhinomanometry(results: SimulationResults,
                                parameters: RhinomanometryParameters | None) -> list[ComparisonRow]:
    """Rows comparing a simulation's results with a 4PR measurement's parameters (None: not measured).

    Examples
    --------
    >>> results = SimulationResults.from_document({"pressure_drop_pa": 20.0, "flow_partition_left_pct": 50.0,
    ...     "flow_ml_s": {"total": 250.0, "left": 125.0, "right": 125.0}})
    >>> side = {"rohrer": {"k1": 0.1, "k2": 0.0004}, "summary": {"r150": {"mean": 0.3}}}
    >>> parameters = RhinomanometryParameters.from_document({"sides": [dict(side, side="left"), dict(side, side="right")],
    ...               "total": {"flow_partition_left_150": {"value": 0.5}}})
    >>> rows = compare_with_rhinomanometry(results, parameters)
    >>> [(r.quantity, round(r.simulated, 3), round(r.measured, 3)) for r in rows[:2]]
    [('Resistance left', 0.16, 0.15), ('Resistance right', 0.16, 0.15)]
    >>> rows[-1].simulated, rows[-1].measured
    (50.0, 50.0)
    """
    dp = results.pressure_drop_pa
    rows = []
    for side in ("left", "right"):
        q = results.flow_ml_s(side)
        simulated = dp / q if dp is not None and q else None
        rohrer = parameters.rohrer(side) if parameters is not None else None
        measured = rohrer[0] + rohrer[1] * q if rohrer is not None and q is not None else None
        note = f"at {q:.0f} ml/s through this side" if q else "no flow through this side"
        if measured is None:
            note = "no Rohrer fit in the 4PR measurement for this side"
        rows.append(ComparisonRow(f"Resistance {side}", "Pa·s/ml", simulated, measured, note))
    for side in ("left", "right"):
        r150 = parameters.r150(side) if parameters is not None else None
        rows.append(ComparisonRow(f"R150 {side} (4PR)", "Pa·s/ml", None, r150, "measured at 150 Pa"))
    fraction = parameters.flow_partition_left_150 if parameters is not None else None  # 0..1 in the 4PR result
    measured_partition = None if fraction is None else 100.0 * fraction
    rows.append(ComparisonRow("Flow through the left side", "%", results.flow_partition_left_pct, measured_partition,
                              "4PR at 150 Pa"))
    return rows


@dataclasses.dataclass(frozen=True)
class Comparison:
    """The Analysis step's output: one simulation run beside one 4PR measurement (or none).

    Examples
    --------
    >>> comparison = Comparison("run-1", None, (ComparisonRow("Flow", "%", 50.0, None),))
    >>> Comparison.from_json(comparison.to_json()) == comparison
    True
    """

    FORMAT: ClassVar[str] = "rhinoapp-comparison/1"

    run_id: str
    measurement_id: str | None
    rows: tuple[ComparisonRow, ...]

    def to_document(self) -> dict[str, Any]:
        """The JSON-ready ``comparison.json`` content."""
        return {"format": self.FORMAT, "run_id": self.run_id, "measurement_id": self.measurement_id,
                "rows": [dataclasses.asdict(row) for row in self.rows]}

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Comparison:
        """The comparison in a decoded ``comparison.json``."""
        require(document, ("run_id", "rows"), what=_WHAT, expected_format=cls.FORMAT)
        try:
            rows = tuple(ComparisonRow(**row) for row in document["rows"])
        except TypeError as error:
            raise ValidationError(f"comparison.json has malformed rows ({error}): open the Analysis page again.") from error
        measurement = document.get("measurement_id")
        return cls(str(document["run_id"]), None if measurement is None else str(measurement), rows)

    @classmethod
    def from_json(cls, data: bytes | str) -> Comparison:
        """Read ``comparison.json`` bytes."""
        return cls.from_document(parse_document(data, what=_WHAT))

    def to_json(self) -> bytes:
        """The ``comparison.json`` bytes."""
        return document_bytes(self.to_document())
