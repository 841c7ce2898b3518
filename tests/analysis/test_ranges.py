"""Healthy ranges at the run's own flow: one definition, so pressure drop and resistance never disagree."""

from __future__ import annotations

import pytest

from rhinoapp.analysis.plausibility import check_results
from rhinoapp.analysis.ranges import HEALTHY_RANGES, NO_RANGE_NOTE, HealthyRange, ranges_at_flow, result_rows

FLOWS = (60.0, 125.0, 200.0, 250.0, 333.0, 500.0, 1000.0)


@pytest.mark.parametrize("flow", FLOWS)
def test_the_resistance_range_is_the_pressure_drop_range_over_the_flow(flow: float) -> None:
    ranges = ranges_at_flow(flow)
    dp, total = ranges["pressure_drop_pa"], ranges["resistance_total"]
    assert total.low == pytest.approx(dp.low / flow) and total.high == pytest.approx(dp.high / flow)
    for side in ("left", "right"):
        assert ranges[f"resistance_{side}"].low == pytest.approx(2 * total.low)
        assert ranges[f"resistance_{side}"].high == pytest.approx(2 * total.high)
    assert dp.at_flow_ml_s == total.at_flow_ml_s == flow


@pytest.mark.parametrize("flow", FLOWS)
@pytest.mark.parametrize("where", [0.0, 0.5, 1.0, 1.2, -0.2])
def test_a_pressure_drop_and_its_resistance_get_the_same_verdict(flow: float, where: float) -> None:
    """At the range's ends, inside and outside: the table says the same of dp and of R = dp/Q, and so do the flags."""
    dp_range = ranges_at_flow(flow)["pressure_drop_pa"]
    dp = dp_range.low + where * (dp_range.high - dp_range.low)
    results = {"pressure_drop_pa": dp, "flow_ml_s": {"total": flow}, "resistance_pa_s_per_ml": {"total": dp / flow}}
    rows = {row.key: row for row in result_rows(results)}
    assert rows["pressure_drop_pa"].verdict == rows["resistance_total"].verdict
    assert rows["pressure_drop_pa"].verdict in ("within", "below", "above")


def test_the_old_contradiction_is_gone() -> None:
    """20 Pa at 250 ml/s was "within" while the resistance 0.08 Pa·s/ml that follows from it was "above"."""
    rows = {row.key: row for row in result_rows({"pressure_drop_pa": 20.0, "flow_ml_s": {"total": 250.0},
                                                 "resistance_pa_s_per_ml": {"total": 0.08}})}
    assert rows["pressure_drop_pa"].verdict == rows["resistance_total"].verdict == "within"


def test_flags_and_table_use_the_same_ranges() -> None:
    flow = 500.0
    dp_range = ranges_at_flow(flow)["pressure_drop_pa"]
    dp = dp_range.high * 3.5  # beyond the warning factor 3 of the range
    results = {"pressure_drop_pa": dp, "flow_ml_s": {"total": flow, "left": flow / 2, "right": flow / 2},
               "resistance_pa_s_per_ml": {"total": dp / flow, "left": 2 * dp / flow, "right": 2 * dp / flow}}
    kinds = {(flag.kind.value, flag.side) for flag in check_results(results)}
    assert ("pressure_drop", None) in kinds and {("resistance", "left"), ("resistance", "right")} <= kinds
    assert f"healthy {dp_range.low:.3g}-{dp_range.high:.3g}" in check_results(results)[0].expected


def test_ranges_without_a_pressure_drop_and_without_a_flow() -> None:
    assert ranges_at_flow(None) == dict(HEALTHY_RANGES)
    own = {"resistance_total": HealthyRange(0.1, 0.2, "own", 250.0)}
    scaled = ranges_at_flow(500.0, own)["resistance_total"]
    assert (scaled.low, scaled.high) == (0.1, 0.4)


def test_figures_without_a_published_range_say_so() -> None:
    rows = {row.key: row for row in result_rows({"pressure_drop_pa": 15.0, "flow_ml_s": {"total": 250.0},
                                                 "wss_max_pa": 2.0, "max_velocity_m_s": 4.0})}
    assert rows["wss_max_pa"].reference is None and rows["wss_max_pa"].note == NO_RANGE_NOTE
    assert rows["max_velocity_m_s"].note == NO_RANGE_NOTE and rows["pressure_drop_pa"].note == ""
