"""The typed simulation results (``results.json``): the clinical figures of one run.

Examples
--------
>>> results = SimulationResults.from_document({"pressure_drop_pa": 20.0, "flow_partition_left_pct": 50.0,
...     "flow_ml_s": {"total": 250.0, "left": 125.0, "right": 125.0}, "converged": True})
>>> results.pressure_drop_pa, results.flow_left_ml_s, results.converged
(20.0, 125.0, True)
>>> SimulationResults.from_json(results.to_json()) == results
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import Any

from rhinoapp.core.jsonable import finite_or_none
from rhinoapp.core.documents import document_bytes, parse_document, require
from rhinoapp.core.layout import SimulationFolder

__all__ = ["SimulationResults"]

_WHAT: str = SimulationFolder(PurePosixPath()).results.name  # the document's file name, for messages




@dataclasses.dataclass(frozen=True)
class SimulationResults:
    """Pressure drop, flows and their partition, convergence and speed of one simulation run.

    A figure the run could not compute is None. ``document`` keeps every entry (resistances,
    wall shear stress, lattice, ...) for the results table.
    """

    pressure_drop_pa: float | None
    flow_total_ml_s: float | None
    flow_left_ml_s: float | None
    flow_right_ml_s: float | None
    flow_partition_left_pct: float | None
    converged: bool | None
    mlups: float | None
    document: Mapping[str, Any] = dataclasses.field(compare=False, repr=False)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> SimulationResults:
        """The results in a decoded ``results.json``; ValidationError without a pressure drop or flows."""
        require(document, ("pressure_drop_pa", "flow_ml_s"), what=_WHAT)
        flows = document.get("flow_ml_s") or {}
        converged = document.get("converged")
        return cls(finite_or_none(document["pressure_drop_pa"]), finite_or_none(flows.get("total")), finite_or_none(flows.get("left")),
                   finite_or_none(flows.get("right")), finite_or_none(document.get("flow_partition_left_pct")),
                   None if converged is None else bool(converged), finite_or_none(document.get("mlups")),
                   MappingProxyType(dict(document)))

    def to_document(self) -> dict[str, Any]:
        """The JSON-ready ``results.json`` content."""
        flows = {"total": self.flow_total_ml_s, "left": self.flow_left_ml_s, "right": self.flow_right_ml_s}
        return {**self.document, "pressure_drop_pa": self.pressure_drop_pa, "flow_ml_s": flows,
                "flow_partition_left_pct": self.flow_partition_left_pct}

    @classmethod
    def from_json(cls, data: bytes | str) -> SimulationResults:
        """Read ``results.json`` bytes."""
        return cls.from_document(parse_document(data, what=_WHAT))

    def to_json(self) -> bytes:
        """The ``results.json`` bytes."""
        return document_bytes(self.to_document())

    def flow_ml_s(self, side: str) -> float | None:
        """The flow through ``"left"``, ``"right"`` or ``"total"``."""
        return {"left": self.flow_left_ml_s, "right": self.flow_right_ml_s, "total": self.flow_total_ml_s}[side]
