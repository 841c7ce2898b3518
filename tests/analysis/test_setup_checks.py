"""The checks on how a run was set up: nostrils cut short, a coarse lattice, swapped sides (through check_results)."""

from __future__ import annotations

from rhinoapp.analysis.plausibility import PlausibilityFlag, annotate_rows, check_results
from rhinoapp.analysis.ranges import result_rows
from tests.analysis.test_plausibility import healthy, kinds


def test_nostrils_whose_labels_end_in_a_coronal_cut_flag_the_pressure_drop_as_a_lower_bound() -> None:
    missing = "the labels are cut by a coronal plane inside the vestibule ..."
    one = check_results(healthy(openings_short_of_nostril={"inlet_right": missing}))
    assert kinds(one) == [("openings", "warning", "right")]
    assert "the right nostril" in one[0].message and "lower bounds" in one[0].message
    both = check_results(healthy(openings_short_of_nostril={"inlet_left": missing, "inlet_right": missing}))
    assert kinds(both) == [("openings", "warning", None)] and "both nostrils" in both[0].message
    assert PlausibilityFlag.from_document(both[0].to_document()) == both[0]
    rows = {row.key: row.flag for row in annotate_rows(result_rows(healthy()), both)}
    assert rows["pressure_drop_pa"] == "warning" and rows["flow_total"] == ""
    assert check_results(healthy(openings_short_of_nostril={})) == []


def test_fewer_cells_across_the_narrowest_passage_than_the_rule_flag_the_flow_split() -> None:
    given = {"resolution_mm": 1.0, "width_mm": 4.885, "cells_across": 4.89, "rule_met": False,
             "rule": "given by the user", "message": "...", "cells_wanted": 6}
    flags = check_results(healthy(resolution=given))
    assert kinds(flags) == [("resolution", "warning", None)]
    assert flags[0].value == 4.89 and "at least 6" in flags[0].expected and "4.88 mm wide" in flags[0].expected
    assert "the 1 mm given is coarser" in flags[0].message and "no --resolution-mm" in flags[0].message
    capped = check_results(healthy(resolution={**given, "rule": "6 lattice cells across ...", "resolution_mm": 0.6,
                                               "cells_across": 2.5, "width_mm": 1.5}))
    assert kinds(capped) == [("resolution", "warning", None)] and "budget" in capped[0].message
    rows = {row.key: row.flag for row in annotate_rows(result_rows(healthy()), flags)}
    assert rows["flow_partition_left_pct"] == "warning" and rows["pressure_drop_pa"] == ""
    # the rule met, or a document from before the given spacing was measured: nothing
    assert check_results(healthy(resolution={**given, "rule_met": True, "cells_across": 6.1})) == []
    assert check_results(healthy(resolution={"resolution_mm": 1.0, "rule_met": True, "rule": "given by the user",
                                             "message": ""})) == []


def test_a_left_nostril_on_the_patients_right_flags_the_sides_as_swapped() -> None:
    assert check_results(healthy(nostrils_lps_mm={"left": [6.5, -8.5, -4.0], "right": [-6.5, -8.5, -4.0]})) == []
    swapped = check_results(healthy(nostrils_lps_mm={"left": [-6.5, -8.5, -4.0], "right": [6.5, -8.5, -4.0]}))
    assert kinds(swapped) == [("sides", "warning", None)] and swapped[0].value == -13.0
    assert "probably swapped" in swapped[0].message and swapped[0].place_lps_mm == (-6.5, -8.5, -4.0)
    rows = {row.key: row.flag for row in annotate_rows(result_rows(healthy()), swapped)}
    assert rows["flow_partition_left_pct"] == "warning"
    # one nostril (a side closed), or two within the tolerance (a crooked nose): nothing
    assert check_results(healthy(nostrils_lps_mm={"left": [-6.5, -8.5, -4.0]})) == []
    assert check_results(healthy(nostrils_lps_mm={"left": [-0.5, -8.5, -4.0], "right": [0.2, -8.5, -4.0]})) == []
