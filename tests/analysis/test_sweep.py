"""Rohrer's law fitted to a flow sweep: coefficients, R at 75 and 150 Pa, the document, matched pressure."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from rhinoapp.analysis.flag_types import FlagKind, PlausibilityFlag, Severity
from rhinoapp.analysis.sweep import SweepResults, fit_sweep, matched_pressure_rows, run_label, sweep_doubts
from rhinoapp.cfd.config import Direction
from rhinoapp.cfd.sweep_request import SweepPoint
from rhinoapp.core.errors import ValidationError

K1_LEFT, K2_LEFT, K1_RIGHT, K2_RIGHT = 0.12, 0.0015, 0.3, 0.004


def side_flow(dp: float, k1: float, k2: float) -> float:
    """The flow of one side at the pressure drop ``dp`` (Rohrer's law inverted, signed)."""
    magnitude = 2 * abs(dp) / (k1 + math.sqrt(k1 * k1 + 4 * k2 * abs(dp)))
    return math.copysign(magnitude, dp)


def two_sided_points(pressures: list[float], *, noise: float = 0.0, seed: int = 0) -> list[SweepPoint]:
    """Runs of a nose whose sides follow known laws in parallel (both share the pressure drop)."""
    rng = np.random.default_rng(seed)
    points = []
    for dp in pressures:
        left, right = side_flow(dp, K1_LEFT, K2_LEFT), side_flow(dp, K1_RIGHT, K2_RIGHT)
        direction = Direction.INSPIRATION if dp > 0 else Direction.EXPIRATION
        measured = dp * (1 + noise * rng.standard_normal())
        points.append(SweepPoint(left + right, direction, measured, left, right, 100, True, 1.0, False))
    return points


def test_the_fit_recovers_known_coefficients_per_side_within_5_percent() -> None:
    points = two_sided_points([20.0, 60.0, 120.0, 200.0, -20.0, -60.0, -120.0, -200.0], noise=0.01, seed=3)
    fits = fit_sweep(points)
    assert fits["left"].k1 == pytest.approx(K1_LEFT, rel=0.05)
    assert fits["left"].k2 == pytest.approx(K2_LEFT, rel=0.05)
    assert fits["right"].k1 == pytest.approx(K1_RIGHT, rel=0.05)
    assert fits["right"].k2 == pytest.approx(K2_RIGHT, rel=0.05)
    assert fits["total"].r_squared > 0.99


def test_resistance_at_reference_pressure_follows_the_fitted_curve() -> None:
    fits = fit_sweep(two_sided_points([20.0, 60.0, 120.0, 200.0]))
    for pressure, r in ((75.0, fits["left"].r75), (150.0, fits["left"].r150)):
        assert r == pytest.approx(pressure / side_flow(pressure, K1_LEFT, K2_LEFT), rel=1e-6)
    assert not fits["left"].r150_extrapolated
    low = fit_sweep(two_sided_points([10.0, 30.0, 50.0, 70.0]))
    assert low["left"].r150_extrapolated and low["left"].r75_extrapolated  # both above the largest drop, 70 Pa
    assert low["left"].r150 == pytest.approx(150.0 / side_flow(150.0, K1_LEFT, K2_LEFT), rel=1e-6)


def test_a_curve_steeper_than_rohrers_law_gets_no_negative_coefficient() -> None:
    """A simulated nose whose drop grows faster than Q|Q| towards its highest flows (the one-sided swelling at 1 mm
    grows by 2.62 times from 250 to 400 ml/s): least squares would give a negative K1, which no airway has; the fit
    keeps K1 at zero, refits K2, and R at 75 and 150 Pa follow that curve."""
    flows = [75.0, 150.0, 250.0, 400.0, -75.0, -150.0, -250.0, -400.0]
    points = [SweepPoint(q, Direction.INSPIRATION if q > 0 else Direction.EXPIRATION,
                         math.copysign(2.5e-4 * abs(q) ** 2.2, q), q / 2, q / 2, 100, True, 1.0, False) for q in flows]
    fits = fit_sweep(points)
    for side in ("left", "right", "total"):
        fit = fits[side]
        assert fit.k1 == 0.0 and fit.k2 > 0 and fit.r_squared > 0.99
        assert fit.r150 == pytest.approx(150.0 / side_flow(150.0, 0.0, fit.k2), rel=1e-9)


def test_a_one_sided_geometry_fits_one_side_and_too_few_runs_are_refused() -> None:
    points = [SweepPoint(q, Direction.INSPIRATION, 0.05 * q, q, 0.0, 1, True, 0.1, False) for q in (50.0, 100.0, 200.0)]
    with pytest.raises(ValidationError, match="at least 4 runs"):
        fit_sweep(points)
    points.append(SweepPoint(300.0, Direction.INSPIRATION, 15.0, 300.0, 0.0, 1, True, 0.1, True))
    assert sorted(fit_sweep(points)) == ["left", "total"]


def test_document_round_trip_and_matched_pressure_rows() -> None:
    results = SweepResults.from_points("sweep-1", two_sided_points([20.0, 60.0, 120.0, 200.0]), resolution_mm=0.5)
    again = SweepResults.from_json(results.to_json())
    assert again == results and again.fits["right"].k2 == pytest.approx(K2_RIGHT, rel=1e-6)
    assert again.flow_model is None  # not given: not recorded
    modelled = SweepResults.from_points("sweep-2", results.points, resolution_mm=0.5, flow_model="smooth_walls")
    assert SweepResults.from_json(modelled.to_json()).flow_model == "smooth_walls"
    older = {k: v for k, v in modelled.to_document().items() if k != "flow_model"}  # a sweep.json from before the field
    assert SweepResults.from_document(older).flow_model is None
    rows = matched_pressure_rows(results, {("left", 75.0): 0.5, ("right", 150.0): None})
    assert [(r.side, r.pressure_pa) for r in rows] == [("left", 75.0), ("left", 150.0), ("right", 75.0),
                                                        ("right", 150.0)]
    assert rows[0].ratio == pytest.approx(rows[0].simulated / 0.5) and rows[3].ratio is None
    with pytest.raises(ValidationError, match="sweep.json"):
        SweepResults.from_json(b'{"format": "rhinoapp-sweep/1", "sweep_id": "s", "points": [{}], "fits": {}}')


def _flag(kind: FlagKind, severity: Severity, value: float, side: str | None = None) -> dict:
    return PlausibilityFlag(kind, severity, f"{kind.value} figure", value, "", "a range", "do something.",
                            side=side).to_document()


def test_the_runs_flags_are_gathered_by_kind_with_their_runs_the_implausible_first_and_kept_in_the_document() -> None:
    points = two_sided_points([20.0, 60.0, 120.0, 200.0])
    steady, fast = _flag(FlagKind.STEADY_STATE, Severity.WARNING, 1.0), _flag(FlagKind.PEAK_VELOCITY, Severity.WARNING, 9)
    worse = _flag(FlagKind.PEAK_VELOCITY, Severity.IMPLAUSIBLE, 30.0)
    left = _flag(FlagKind.RESISTANCE, Severity.WARNING, 0.9, side="left")
    right = _flag(FlagKind.RESISTANCE, Severity.WARNING, 0.8, side="right")
    flags = [(), (steady,), (fast, steady, left, right), (worse,)]
    flagged = [dataclasses.replace(p, flags=f) for p, f in zip(points, flags)]
    results = SweepResults.from_points("s", flagged, resolution_mm=1.0)
    doubts = sweep_doubts(results)
    labels = [run_label(p) for p in flagged]
    assert [(d.flag.kind, d.flag.severity, d.runs) for d in doubts] == [
        (FlagKind.PEAK_VELOCITY, Severity.IMPLAUSIBLE, (labels[2], labels[3])),  # the worst of the two runs' flags
        (FlagKind.STEADY_STATE, Severity.WARNING, (labels[1], labels[2])),
        (FlagKind.RESISTANCE, Severity.WARNING, (labels[2],)),  # each side on its own
        (FlagKind.RESISTANCE, Severity.WARNING, (labels[2],))]
    assert [d.flag.side for d in doubts[2:]] == ["left", "right"]
    assert doubts[0].text.startswith(f"{labels[2]}, {labels[3]}: peak_velocity figure 30 is far outside")
    again = SweepResults.from_json(results.to_json())
    assert again == results and again.points[3].flags == (worse,)
    # a sweep.json of an older version has no flags: nothing is doubted, and it still reads
    document = json.loads(results.to_json())
    for point in document["points"]:
        del point["flags"]
    old = SweepResults.from_document(document)
    assert sweep_doubts(old) == [] and all(p.flags == () for p in old.points)
