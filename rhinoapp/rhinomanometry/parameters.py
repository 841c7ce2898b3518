"""The typed 4PR parameters document (``parameters.json``): what the analysis of a measurement found.

The document is :meth:`~rhinoapp.rhinomanometry.results.AnalysisResult.as_dict`; this class reads
back the figures the comparison with a simulation needs.

Examples
--------
>>> side = {"rohrer": {"k1": 0.1, "k2": 0.0004}, "summary": {"r150": {"mean": 0.3}}}
>>> parameters = RhinomanometryParameters.from_document({"sides": [dict(side, side="left")],
...     "total": {"flow_partition_left_150": {"value": 0.5, "reason": ""}}})
>>> parameters.rohrer("left"), parameters.rohrer("right"), parameters.r150("left")
((0.1, 0.0004), None, 0.3)
>>> parameters.flow_partition_left_150
0.5
>>> RhinomanometryParameters.from_json(parameters.to_json()) == parameters
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
from rhinoapp.core.layout import MeasurementFolder
from rhinoapp.core.errors import ValidationError
from rhinoapp.rhinomanometry.results import AnalysisResult

__all__ = ["RhinomanometryParameters"]

_WHAT: str = MeasurementFolder(PurePosixPath()).parameters.name  # the document's file name, for messages


def _number(value: Any) -> float | None:
    if isinstance(value, Mapping):
        value = value.get("value", value.get("mean"))
    return finite_or_none(value)


@dataclasses.dataclass(frozen=True)
class RhinomanometryParameters:
    """Per side the Rohrer coefficients and R150; in total the left flow fraction at 150 Pa.

    ``document`` keeps the whole analysis (breaths, classes, notes) for display.
    """

    rohrer_k: Mapping[str, tuple[float, float]]
    r150_pa_s_per_ml: Mapping[str, float]
    flow_partition_left_150: float | None
    document: Mapping[str, Any] = dataclasses.field(compare=False, repr=False)

    @classmethod
    def from_analysis(cls, result: AnalysisResult) -> RhinomanometryParameters:
        """The parameters of a fresh analysis."""
        return cls.from_document(result.as_dict())

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> RhinomanometryParameters:
        """The parameters in a decoded ``parameters.json``; ValidationError without sides."""
        require(document, ("sides",), what=_WHAT)
        if not isinstance(document["sides"], list):
            raise ValidationError("parameters.json: 'sides' must be a list: import the measurement again.")
        rohrer: dict[str, tuple[float, float]] = {}
        r150: dict[str, float] = {}
        for side in document["sides"]:
            name = str(side.get("side", ""))
            fit = side.get("rohrer") or {}
            k1, k2 = _number(fit.get("k1")), _number(fit.get("k2"))
            if k1 is not None and k2 is not None:
                rohrer[name] = (k1, k2)
            value = _number((side.get("summary") or {}).get("r150"))
            if value is not None:
                r150[name] = value
        partition = _number((document.get("total") or {}).get("flow_partition_left_150"))
        return cls(MappingProxyType(rohrer), MappingProxyType(r150), partition, MappingProxyType(dict(document)))

    def to_document(self) -> dict[str, Any]:
        """The JSON-ready ``parameters.json`` content (the analysis it was read from)."""
        return dict(self.document)

    @classmethod
    def from_json(cls, data: bytes | str) -> RhinomanometryParameters:
        """Read ``parameters.json`` bytes."""
        return cls.from_document(parse_document(data, what=_WHAT))

    def to_json(self) -> bytes:
        """The ``parameters.json`` bytes."""
        return document_bytes(self.to_document())

    def rohrer(self, side: str) -> tuple[float, float] | None:
        """``(k1, k2)`` of the Rohrer law of ``"left"`` or ``"right"``, None when it was not fitted."""
        return self.rohrer_k.get(side)

    def r150(self, side: str) -> float | None:
        """Mean resistance at 150 Pa of one side (Pa·s/ml), None when not reached."""
        return self.r150_pa_s_per_ml.get(side)
