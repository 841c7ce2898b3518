"""Rohrer's law fitted to a flow sweep, and the sweep beside the 4PR measurement at matched pressure.

A sweep (:mod:`rhinoapp.cfd.sweep`) gives, per run, the pressure drop and the flow through each
side. Per side (and for both sides together) :func:`fit_sweep` fits ``dp = K1*Q + K2*Q*|Q|`` by
least squares (:func:`~rhinoapp.rhinomanometry.rohrer.fit_rohrer`, the fit of the 4PR analysis)
and gives the resistance at 75 and 150 Pa from the fitted curve, ``R = dp / Q(dp)``: the 4PR
convention (ISCOANA), so that simulation and measurement compare at the same pressure. A
reference pressure beyond the largest simulated pressure drop is marked as extrapolated.
:class:`SweepResults` is the stored document (``simulations/<sweep>/sweep.json``). Each run keeps the
plausibility flags a single run would carry; :func:`sweep_doubts` gathers them, one per kind of doubt with the
runs it concerns, for the pages, the command line and notebooks to show beside the fits.

Examples
--------
>>> from rhinoapp.cfd.config import Direction
>>> from rhinoapp.cfd.sweep_request import SweepPoint
>>> points = [SweepPoint(q, Direction.INSPIRATION, 0.1 * q + 0.001 * q * q, q / 2, q / 2, 100, True, 1.0, False)
...           for q in (75.0, 150.0, 250.0, 400.0)]
>>> fit = fit_sweep(points)["total"]
>>> round(fit.k1, 6), round(fit.k2, 8), round(fit.r150, 4), fit.r150_extrapolated
(0.1, 0.001, 0.4405, False)
>>> left = fit_sweep(points)["left"]
>>> round(left.k1, 6), round(left.k2, 8)
(0.2, 0.004)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from rhinoapp.analysis.flag_types import PlausibilityFlag, Severity
from rhinoapp.cfd.sweep_request import SweepPoint
from rhinoapp.core.documents import document_bytes, parse_document, require
from rhinoapp.core.errors import ValidationError
from rhinoapp.rhinomanometry.rohrer import RohrerFit, fit_rohrer, rohrer_pressure

__all__ = ["REFERENCE_PRESSURES_PA", "SIDES", "MatchedRow", "SideFit", "SweepDoubt", "SweepResults", "fit_sweep",
           "matched_pressure_rows", "run_label", "sweep_doubts"]

#: The reference pressures of the 4PR convention (Pa).
REFERENCE_PRESSURES_PA = (75.0, 150.0)
#: The sides of a fit: each nasal side, and both together.
SIDES = ("left", "right", "total")
_WHAT = "sweep.json"


def _flow(point: SweepPoint, side: str) -> float:
    return {"left": point.flow_left_ml_s, "right": point.flow_right_ml_s}.get(side, point.flow_total_ml_s)


@dataclasses.dataclass(frozen=True)
class SideFit:
    """Rohrer's law of one side fitted to a sweep: K1 [Pa·s/ml], K2 [Pa·s²/ml²], R75 and R150 [Pa·s/ml]."""

    side: str
    k1: float
    k2: float
    r_squared: float
    rms_residual_pa: float
    r75: float | None
    r150: float | None
    r75_extrapolated: bool
    r150_extrapolated: bool
    n_points: int

    def pressure(self, flow_ml_s: Any) -> Any:
        """The fitted pressure drop [Pa] at ``flow_ml_s`` (signed)."""
        return rohrer_pressure(flow_ml_s, k1=self.k1, k2=self.k2)

    def resistance_at(self, dp_pa: float) -> float | None:
        """R at ``dp_pa`` from the fitted curve (None where the fit gives no resistance)."""
        return _resistance(self.k1, self.k2, dp_pa)


def _resistance(k1: float, k2: float, dp_pa: float) -> float | None:
    if not (math.isfinite(k1) and math.isfinite(k2)) or (k1 <= 0 and k2 <= 0):
        return None
    value = RohrerFit(k1, k2, None, 0.0, 1.0, 0).resistance_at(dp_pa)
    return value if math.isfinite(value) and value > 0 else None


def fit_sweep(points: Sequence[SweepPoint]) -> dict[str, SideFit]:
    """Rohrer fits per side and in total; a side with no flow in any run (a one-sided geometry) is left out.

    Raises
    ------
    ValidationError
        With fewer than four runs (two coefficients need twice as many points to be checked).
    """
    if len(points) < 4:
        raise ValidationError(f"a Rohrer fit of a sweep needs at least 4 runs, got {len(points)}: sweep at least "
                              "4 flows, or 2 flows with expiration.")
    fits: dict[str, SideFit] = {}
    dp = [p.pressure_drop_pa for p in points]
    top = max(abs(v) for v in dp)
    total = max(abs(p.flow_total_ml_s) for p in points)
    for side in SIDES:
        flows = [_flow(p, side) for p in points]
        if max(abs(q) for q in flows) <= 1e-6 * total:
            continue
        fit = fit_rohrer(dp, flows, non_negative=True)  # a curve steeper than Q|Q|: K1 = 0, never below
        r = {ref: _resistance(fit.k1, fit.k2, ref) for ref in REFERENCE_PRESSURES_PA}
        fits[side] = SideFit(side, fit.k1, fit.k2, fit.r_squared, fit.rms_residual_pa, r[75.0], r[150.0],
                             75.0 > top, 150.0 > top, fit.n_samples)
    return fits


@dataclasses.dataclass(frozen=True)
class SweepResults:
    """A finished sweep: its runs and their fits (the ``sweep.json`` document).

    Examples
    --------
    >>> from rhinoapp.cfd.config import Direction
    >>> points = tuple(SweepPoint(q, Direction.INSPIRATION, 0.2 * q, q, 0.0, 10, True, 0.5, q > 75)
    ...                for q in (75.0, 150.0, 250.0, 400.0))
    >>> results = SweepResults.from_points("sweep-1", points, resolution_mm=1.0, flow_model="smooth_walls")
    >>> sorted(results.fits), round(results.fits["left"].k1, 6), results.to_document()["flow_model"]
    (['left', 'total'], 0.2, 'smooth_walls')
    >>> SweepResults.from_json(results.to_json()) == results
    True
    """

    FORMAT: ClassVar[str] = "rhinoapp-sweep/1"

    sweep_id: str
    points: tuple[SweepPoint, ...]
    fits: Mapping[str, SideFit]
    resolution_mm: float | None = None
    planes: str = "nostrils (ambient) to the outlet; both sides share the pressure drop"
    flow_model: str | None = None  #: the runs' flow model (``FlowModel`` value); None: not recorded (older sweeps)
    #: what the validation says about the runs' pressure drops (:func:`rhinoapp.analysis.accuracy.accuracy_note`'s
    #: text for the sweep's settings and spacing); empty: not recorded (older sweeps)
    accuracy: str = ""

    @classmethod
    def from_points(cls, sweep_id: str, points: Sequence[SweepPoint], *, resolution_mm: float | None,
                    flow_model: str | None = None, accuracy: str = "") -> SweepResults:
        """The results of a sweep's runs, fitted."""
        return cls(sweep_id, tuple(points), fit_sweep(points), resolution_mm, flow_model=flow_model, accuracy=accuracy)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SweepResults) and self.to_document() == other.to_document()

    def __hash__(self) -> int:
        return hash(self.sweep_id)

    def to_document(self) -> dict[str, Any]:
        """The JSON-ready document."""
        return {"format": self.FORMAT, "sweep_id": self.sweep_id, "resolution_mm": self.resolution_mm,
                "flow_model": self.flow_model, "accuracy": self.accuracy, "planes": self.planes,
                "points": [p.to_dict() for p in self.points],
                "fits": {side: dataclasses.asdict(fit) for side, fit in self.fits.items()}}

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> SweepResults:
        """The results in a decoded ``sweep.json``."""
        require(document, ("sweep_id", "points", "fits"), what=_WHAT, expected_format=cls.FORMAT)
        try:
            points = tuple(SweepPoint.from_dict(p) for p in document["points"])
            fits = {side: SideFit(**fit) for side, fit in document["fits"].items()}
        except (TypeError, KeyError, ValueError) as error:
            raise ValidationError(f"{_WHAT} is malformed ({error}): run the sweep again.") from error
        model = document.get("flow_model")
        return cls(str(document["sweep_id"]), points, fits, document.get("resolution_mm"),
                   str(document.get("planes", "")), None if model is None else str(model),
                   str(document.get("accuracy") or ""))

    @classmethod
    def from_json(cls, data: bytes | str) -> SweepResults:
        """Read ``sweep.json`` bytes."""
        return cls.from_document(parse_document(data, what=_WHAT))

    def to_json(self) -> bytes:
        """The ``sweep.json`` bytes."""
        return document_bytes(self.to_document())


@dataclasses.dataclass(frozen=True)
class MatchedRow:
    """R at one reference pressure on one side: from the sweep's fit and from the 4PR measurement."""

    side: str
    pressure_pa: float
    simulated: float | None
    measured: float | None
    extrapolated: bool

    @property
    def ratio(self) -> float | None:
        """Simulated over measured, when both exist."""
        if self.simulated is None or not self.measured:
            return None
        return self.simulated / self.measured


def matched_pressure_rows(results: SweepResults,
                          measured: Mapping[tuple[str, float], float | None]) -> list[MatchedRow]:
    """R75 and R150 per side from the sweep beside the measured ones (``measured[(side, pressure)]``).

    Examples
    --------
    >>> from rhinoapp.cfd.config import Direction
    >>> points = [SweepPoint(q, Direction.INSPIRATION, 0.2 * q, q / 2, q / 2, 10, True, 0.5, False)
    ...           for q in (75.0, 150.0, 250.0, 400.0)]
    >>> rows = matched_pressure_rows(SweepResults.from_points("s", points, resolution_mm=None),
    ...                              {("left", 150.0): 0.8})
    >>> [(r.side, r.pressure_pa, round(r.simulated, 3), r.measured) for r in rows][1]
    ('left', 150.0, 0.4, 0.8)
    """
    rows = []
    for side in ("left", "right"):
        fit = results.fits.get(side)
        for pressure in REFERENCE_PRESSURES_PA:
            simulated = None if fit is None else (fit.r75 if pressure == 75.0 else fit.r150)
            extrapolated = fit is not None and (fit.r75_extrapolated if pressure == 75.0 else fit.r150_extrapolated)
            rows.append(MatchedRow(side, pressure, simulated, measured.get((side, pressure)), extrapolated))
    return rows


def run_label(point: SweepPoint) -> str:
    """A run in words: ``150 ml/s inspiration``.

    Examples
    --------
    >>> from rhinoapp.cfd.config import Direction
    >>> run_label(SweepPoint(-75.0, Direction.EXPIRATION, -3.0, -37.0, -38.0, 10, True, 0.5, False))
    '75 ml/s expiration'
    """
    return f"{abs(point.flow_ml_s):g} ml/s {point.direction.value}"


@dataclasses.dataclass(frozen=True)
class SweepDoubt:
    """One kind of doubt over a sweep's runs: the worst flag of that kind (its message says what to do) and the runs
    (:func:`run_label`) that carry one."""

    flag: PlausibilityFlag
    runs: tuple[str, ...]

    @property
    def text(self) -> str:
        """The doubt in words, the runs first: ``400 ml/s inspiration: peak velocity ... is outside ...``."""
        return f"{', '.join(self.runs)}: {self.flag.message}"


def sweep_doubts(results: SweepResults) -> list[SweepDoubt]:
    """The runs' plausibility flags gathered by kind, quantity and side (the worst first within each, implausible
    before warnings overall), each with the runs that carry it.

    Examples
    --------
    >>> from rhinoapp.analysis.flag_types import FlagKind
    >>> from rhinoapp.cfd.config import Direction
    >>> steady = PlausibilityFlag(FlagKind.STEADY_STATE, Severity.WARNING, "steps run", 400.0, "", "a steady state",
    ...                           "raise the step limit.").to_document()
    >>> points = [SweepPoint(q, Direction.INSPIRATION, 0.2 * q, q / 2, q / 2, 10, q < 200, 0.5, False,
    ...                      () if q < 200 else (steady,)) for q in (75.0, 150.0, 250.0, 400.0)]
    >>> [(d.flag.kind.value, d.runs) for d in sweep_doubts(SweepResults.from_points("s", points, resolution_mm=1.0))]
    [('steady_state', ('250 ml/s inspiration', '400 ml/s inspiration'))]
    """
    gathered: dict[tuple[str, str, str | None], tuple[PlausibilityFlag, list[str]]] = {}
    for point in results.points:
        label = run_label(point)
        for document in point.flags:
            flag = PlausibilityFlag.from_document(document)
            key = (flag.kind.value, flag.quantity, flag.side)
            worst, runs = gathered.get(key, (flag, []))
            if flag.severity is Severity.IMPLAUSIBLE and worst.severity is not Severity.IMPLAUSIBLE:
                worst = flag
            gathered[key] = (worst, runs if label in runs else [*runs, label])
    doubts = [SweepDoubt(flag, tuple(runs)) for flag, runs in gathered.values()]
    return sorted(doubts, key=lambda d: d.flag.severity is not Severity.IMPLAUSIBLE)
