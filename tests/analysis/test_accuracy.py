"""What the validation says about a run's pressure drop: the nearest measured point, in words, for every run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rhinoapp.analysis.accuracy import VALIDATION_POINTS, ValidatedModel, accuracy_note

RECORD = Path(__file__).resolve().parents[2] / "docs" / "validation" / "like_for_like.json"

STANDARD = {"wall_boundary": "halfway", "strain_average": 0.0, "bulk_omega": 0.0, "recursive": False}
SMOOTH_WALLS = {"wall_boundary": "interpolated_conserving", "strain_average": 6e-4, "bulk_omega": 1.0,
                "recursive": False}


@pytest.mark.parametrize(("lattice", "model", "validated_at", "times"), [
    ({**STANDARD, "dx_mm": 1.1}, "standard", 1.0, "2.3-3.0 times"),
    ({**STANDARD, "dx_mm": 0.5}, "standard", 0.75, "1.9-2.5 times"),
    ({**SMOOTH_WALLS, "dx_mm": 0.95}, "smooth walls", 1.0, "1.3-1.7 times"),
    ({**SMOOTH_WALLS, "dx_mm": 0.7}, "smooth walls", 0.75, "1.2-1.6 times"),
    ({**SMOOTH_WALLS, "dx_mm": 0.5}, "smooth walls", 0.512, "1.0-1.3 times"),
])
def test_the_nearest_validated_spacing_of_the_same_settings_is_quoted(lattice: dict, model: str,
                                                                      validated_at: float, times: str) -> None:
    note = accuracy_note({"lattice": lattice})
    assert (note.model, note.validated_at_mm) == (model, validated_at)
    assert f"at {validated_at:g} mm" in note.text and times in note.text
    assert "upper bounds" in note.text and "flow partition" in note.text
    assert ("smooth-walls flow model came closer" in note.text) == (model == "standard")  # the better choice, named
    assert note.summary.startswith("upper bounds") and f"({validated_at:g} mm)" in note.summary and times in note.summary
    assert json.loads(json.dumps(note.to_document()))["text"] == note.text


@pytest.mark.parametrize("lattice", [
    {**STANDARD, "recursive": True, "dx_mm": 1.0},
    {**STANDARD, "wall_boundary": "interpolated", "dx_mm": 1.0},
    {**STANDARD, "bulk_omega": 1.0, "dx_mm": 1.0},
])
def test_settings_never_validated_say_so_and_still_give_the_advice(lattice: dict) -> None:
    note = accuracy_note({"lattice": lattice})
    assert note.model == "other" and note.pressure_drop_bias_pct is None and note.validated_at_mm is None
    assert "have not been checked" in note.text and "upper bounds" in note.text


def test_a_result_without_its_settings_is_read_as_the_defaults() -> None:
    note = accuracy_note({"pressure_drop_pa": 20.0})
    assert note.model == "standard" and note.resolution_mm is None and note.pressure_drop_bias_pct is not None


def test_the_quoted_figures_are_the_measured_record() -> None:
    """VALIDATION_POINTS are the runs of docs/validation/like_for_like.json (validation/like_for_like.py)."""
    record = json.loads(RECORD.read_text())
    measured = {(run["model"], run["resolution_mm"]): run for run in record["runs"]}
    assert len(measured) == len(VALIDATION_POINTS)
    # three meshes with a limited gradient, two of them with a plain one too, two meshes with prism layers
    # under both gradients, and two with layers carried around every edge (plain gradient)
    assert len(record["references"]) == 11
    for point in VALIDATION_POINTS:
        run = measured[(point.model.value, point.resolution_mm)]
        for quoted, measured_values in ((point.pressure_drop_bias_pct, run["pressure_drop_bias_pct"]),
                                        (point.partition_points, run["partition_points"])):
            assert list(quoted) == pytest.approx([min(measured_values), max(measured_values)], abs=0.05)
    assert {p.model for p in VALIDATION_POINTS} == {ValidatedModel.STANDARD, ValidatedModel.SMOOTH_WALLS}


def test_labels_on_thick_slices_add_what_thick_slices_did_on_the_phantom() -> None:
    smooth = {"dx_mm": 0.8, "wall_boundary": "interpolated_conserving", "strain_average": 0.001, "bulk_omega": 1.0}
    thin = accuracy_note({"lattice": smooth, "label_voxels": {"grid_mm": [0.5, 0.5, 0.5], "drawn_mm": None}})
    assert "drawn on voxels" not in thin.text and "Thick slices" not in thin.summary
    for voxels, words in (({"grid_mm": [0.5, 0.5, 0.5], "drawn_mm": [0.5, 0.5, 2.0]}, "0.5 x 0.5 x 2 mm"),  # imported
                          ({"grid_mm": [0.5, 0.5, 1.5], "drawn_mm": None}, "0.5 x 0.5 x 1.5 mm")):  # a thick CT's own
        note = accuracy_note({"lattice": smooth, "label_voxels": voxels})
        assert f"drawn on voxels of {words}: on the clinical phantom" in note.text and "4-12 %" in note.text
        assert note.summary.endswith("Thick slices: 4-12 % more on the phantom.")
        assert note.pressure_drop_bias_pct == thin.pressure_drop_bias_pct  # the validation point is the same
    unchecked = accuracy_note({"lattice": {"dx_mm": 1.0, "wall_boundary": "interpolated"},
                               "label_voxels": {"grid_mm": [1.0, 1.0, 3.0]}})
    assert "1 x 1 x 3 mm" in unchecked.text and "Thick slices" in unchecked.summary


def test_oblique_nostrils_add_what_they_did_on_the_phantom_and_level_ones_do_not() -> None:
    """Nostrils 10-20 degrees off the grid: the clinical phantom tilted back reads within 1 % of the straight head,
    rolled 10 degrees 6 % more, and tilted and turned (askew) 8-9 % more; a result with such nostrils says so, and
    the quoted figures are the recorded runs'."""
    smooth = {"dx_mm": 0.75, "wall_boundary": "interpolated_conserving", "strain_average": 0.001, "bulk_omega": 1.0}
    level = accuracy_note({"lattice": smooth, "nostril_tilt_deg": {"left": 0.0, "right": 4.0}})
    assert "oblique" not in level.text and "Oblique" not in level.summary
    tilted = accuracy_note({"lattice": smooth, "nostril_tilt_deg": {"left": 15.1, "right": 18.1}})
    assert "(left 15.1 degrees, right 18.1)" in tilted.text and "within 1 %" in tilted.text and "8-9 %" in tilted.text and "rolled 10 degrees 6 %" in tilted.text
    assert tilted.summary.endswith("Oblique nostrils: up to 9 % more on the phantom.")
    results = Path(__file__).parents[2] / "benchmarks" / "results"
    drops = {name: json.loads((results / f"label_map_variety-{name}.json").read_text())["rows"][0]["pressure_drop_pa"]
             for name in ("straight", "tilted-back", "tilted-askew", "tilted-askew-without-ct", "tilted-roll")}
    excess = {name: round(100.0 * (drop / drops["straight"] - 1.0)) for name, drop in drops.items()}
    assert excess == {"straight": 0, "tilted-back": -1, "tilted-askew": 9, "tilted-askew-without-ct": 8,
                      "tilted-roll": 6}, excess
