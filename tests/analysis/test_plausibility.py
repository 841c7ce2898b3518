"""The plausibility checks on results documents: which figures are doubted, how much, where and what to do."""

from __future__ import annotations

import json
import math
from typing import Any

from rhinoapp.analysis.plausibility import (
    FlagKind,
    PlausibilityFlag,
    PlausibilityLimits,
    Severity,
    annotate_rows,
    check_results,
    flags_document,
    plausibility_flags,
)
from rhinoapp.analysis.ranges import result_rows
from rhinoapp.core.jsonable import json_bytes


def healthy(**changes: Any) -> dict[str, Any]:
    """A healthy run at 250 ml/s with its diagnostics."""
    results: dict[str, Any] = {
        "pressure_drop_pa": 15.0, "flow_ml_s": {"total": 250.0, "left": 125.0, "right": 125.0},
        "flow_partition_left_pct": 50.0, "resistance_pa_s_per_ml": {"total": 0.06, "left": 0.12, "right": 0.12},
        "max_velocity_m_s": 5.5, "mass_conservation_error": 0.002, "converged": True,
        "lattice": {"tau": 0.5009, "dx_mm": 1.0},
        "diagnostics": {
            "peak_velocity": {"m_s": 5.5, "lattice": 0.11, "point_lps_mm": [8.0, 20.0, -4.0], "side": "left",
                              "distance_from_nostril_mm": 18.0},
            "openings": {"inlet_left": {"area_mm2": 60.0, "mean_velocity_m_s": 2.1},
                         "inlet_right": {"area_mm2": 60.0, "mean_velocity_m_s": 2.1},
                         "outlet": {"area_mm2": 200.0, "mean_velocity_m_s": 1.25}},
            "stability": {"tau": 0.5009, "max_velocity_lattice": 0.11, "design_velocity_lattice": 0.1,
                          "grid_reynolds": 367.0},
            "steady_state": {"pressure_drop_drift": 0.002, "flow_drift": 0.001, "window_samples": 20}},
    }
    results.update(changes)
    return results


def kinds(flags: list[PlausibilityFlag]) -> list[tuple[str, str, str | None]]:
    return [(flag.kind.value, flag.severity.value, flag.side) for flag in flags]


def test_a_healthy_run_raises_no_flag() -> None:
    assert check_results(healthy()) == []
    # the healthy ranges scale with the flow: 60 Pa at 500 ml/s is no flag, at 250 ml/s it is one
    assert check_results(healthy(pressure_drop_pa=60.0, flow_ml_s={"total": 500.0, "left": 250.0, "right": 250.0},
                                 resistance_pa_s_per_ml={"total": 0.12, "left": 0.24, "right": 0.24})) == []
    assert kinds(check_results(healthy(pressure_drop_pa=61.0))) == [("pressure_drop", "warning", None)]


def test_the_reported_real_nose_is_implausible_and_says_where_and_what_to_do() -> None:
    diagnostics = healthy()["diagnostics"]
    diagnostics = {**diagnostics,
                   "peak_velocity": {"m_s": 38.0, "lattice": 0.14, "point_lps_mm": [12.5, -80.0, 3.0], "side": "right",
                                     "distance_from_nostril_mm": 4.0},
                   "openings": {**diagnostics["openings"], "inlet_right": {"area_mm2": 9.0, "mean_velocity_m_s": 23.3}},
                   "stability": {"tau": 0.5002, "max_velocity_lattice": 0.14, "grid_reynolds": 1267.0}}
    results = healthy(pressure_drop_pa=749.0, flow_ml_s={"total": 300.0, "left": 90.0, "right": 210.0},
                      resistance_pa_s_per_ml={"total": 2.5, "left": 8.32, "right": 3.57}, max_velocity_m_s=38.0,
                      diagnostics=diagnostics)
    flags = check_results(results)
    assert kinds(flags) == [("peak_velocity", "implausible", "right"), ("opening_velocity", "implausible", "right"),
                            ("pressure_drop", "implausible", None), ("resistance", "implausible", "left"),
                            ("resistance", "implausible", "right"), ("stability", "warning", None)]
    peak = flags[0]
    assert peak.value == 38.0 and peak.place_lps_mm == (12.5, -80.0, 3.0)
    assert "(12.5, -80.0, 3.0) mm LPS on the right side, 4 mm behind the nostril" in peak.advice
    assert "refine the resolution" in peak.advice
    assert "extend the segmentation to the nostrils" in flags[1].advice and "9 mm²" in flags[1].expected
    assert "relaxation time 0.5002" in flags[-1].expected and flags[-1].value == 1267.0
    assert "right side" in flags[4].advice and "mm LPS" in flags[4].advice  # the peak lies on that side
    assert "mm LPS" not in flags[3].advice
    assert flags[2].message.startswith("pressure drop 749 Pa is far outside (implausible) the expected ")


def test_numerical_checks() -> None:
    stability = {"tau": 0.5003, "max_velocity_lattice": 0.27, "grid_reynolds": 900.0}
    flags = check_results(healthy(diagnostics={**healthy()["diagnostics"], "stability": stability}))
    assert kinds(flags) == [("stability", "implausible", None)]
    assert "divergence near 0.3" in flags[0].expected
    assert kinds(check_results(healthy(mass_conservation_error=0.02))) == [("mass_conservation", "warning", None)]
    assert kinds(check_results(healthy(mass_conservation_error=0.2))) == [("mass_conservation", "implausible", None)]
    drifting = {**healthy()["diagnostics"], "steady_state": {"pressure_drop_drift": 0.08}}
    flags = check_results(healthy(converged=False, diagnostics=drifting))
    assert kinds(flags) == [("steady_state", "implausible", None)] and flags[0].value == 8.0
    assert "without a step limit" in flags[0].advice
    # limits are configurable
    assert check_results(healthy(mass_conservation_error=0.02), limits=PlausibilityLimits(mass_error_warning=0.05)) == []


def test_documents_without_diagnostics_are_still_checked() -> None:
    old = healthy(max_velocity_m_s=30.0, pressure_drop_pa=math.nan)
    del old["diagnostics"]
    assert kinds(check_results(old)) == [("peak_velocity", "implausible", None)]
    assert "where the velocity peaks" in check_results(old)[0].advice


def test_flags_round_trip_through_results_json_and_annotate_the_table() -> None:
    results = healthy(pressure_drop_pa=300.0, resistance_pa_s_per_ml={"total": 1.2, "left": 2.4, "right": 2.4})
    flags = check_results(results)
    document = json.loads(json_bytes({**results, "plausibility": flags_document(flags)}))
    assert document["plausibility"][0]["kind"] == "pressure_drop" and document["plausibility"][0]["message"]
    assert plausibility_flags(document) == flags
    assert plausibility_flags({**results, "plausibility": []}) == []  # stored: not checked again
    assert plausibility_flags(results) == flags  # older documents: checked now
    nan = PlausibilityFlag(FlagKind.STEADY_STATE, Severity.WARNING, "drift", math.nan, "%", "steady", "run longer")
    assert nan.to_document()["value"] is None and nan.message.startswith("drift — % is outside")
    rows = {row.key: row.flag for row in annotate_rows(result_rows(results), flags)}
    assert rows["pressure_drop_pa"] == "implausible" and rows["resistance_left"] == "implausible"
    assert rows["flow_total"] == "" and rows["max_velocity_m_s"] == ""


def test_a_result_from_the_second_try_with_the_recursive_collision_is_flagged_where_it_diverged() -> None:
    healthy = {"pressure_drop_pa": 15.0, "flow_ml_s": {"total": 250.0, "left": 125.0, "right": 125.0},
               "resistance_pa_s_per_ml": {"total": 0.06, "left": 0.12, "right": 0.12}, "converged": True,
               "max_velocity_m_s": 5.0, "mass_conservation_error": 0.002}
    assert check_results(healthy) == []
    note = {"regularization": "recursive", "diverged_at_step": 20962, "diverged_at_lps_mm": [2.5, 36.0, 23.5],
            "why": "the simulation diverged at step 20962 (...)"}
    flags = check_results({**healthy, "steadier_collision": note})
    assert [(flag.kind, flag.severity) for flag in flags] == [(FlagKind.STABILITY, Severity.WARNING)]
    assert flags[0].place_lps_mm == (2.5, 36.0, 23.5)
    assert "20,962" in flags[0].message and "(2.5, 36.0, 23.5) mm LPS" in flags[0].message
    assert "recursive collision" in flags[0].message and "smaller --resolution-mm" in flags[0].message
    assert PlausibilityFlag.from_document(flags[0].to_document()) == flags[0]

