"""``rhinoapp simulate`` on a geometry folder built here (labels.nii.gz and geometry.json)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rhinoapp.cfd.inputs import write_label_nifti
from rhinoapp.cfd.shapes import two_channel_labels
from rhinoapp.cli import main


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The data directory keeps the measured solver speed of the estimates: a fresh one per test."""
    folder = tmp_path / "data"
    monkeypatch.setenv("RHINOAPP_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def geometry_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "geometry"
    folder.mkdir()
    write_label_nifti(folder / "labels.nii.gz", two_channel_labels(2.0))
    (folder / "geometry.json").write_text(json.dumps(
        {"outlet": {"point_lps_mm": [0.0, 78.0, -29.0], "normal_lps": [0.0, 0.0, -1.0]}}))
    return folder


def test_simulate_writes_results_and_reports_progress(geometry_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    code = main(["simulate", str(geometry_dir), "--out", str(out), "--flow-ml-s", "100", "--resolution-mm", "1.5",
                 "--backend", "numba", "--max-steps", "400", "--checkpoint-every", "200"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "estimate:" in captured.out and "pressure drop" in captured.out and "Pa·s/ml" in captured.out
    assert "pressure drop measured between the ambient air in front of the nostril openings" in captured.out
    # the geometry.json gives the outlet plane only: the nostrils open where the cavity labels end
    assert "openings: inlet left where its label ends (no plane given); " in captured.out
    assert "outlet at the plane given for it" in captured.out
    # each line: the fraction, the step, the speed, the pressure drop and flow, and the time left
    assert re.search(r"\d+\.\d % step \d+ of 400, [\d.]+ MLUPS, pressure drop -?[\d.]+ Pa, flow -?[\d.]+ ml/s, "
                     r"about \d+ (s|min \d+ s) left", captured.err), captured.err
    for name in ("fields.vti", "surface.vtp", "results.json", "convergence.csv"):
        assert (out / name).is_file()
    assert sorted(p.name for p in (out / "checkpoints").iterdir())[-1] == "checkpoint-0000000400.npz"
    results = json.loads((out / "results.json").read_text())
    assert results["steps"] == 400 and results["lattice"]["dx_mm"] == 1.5
    assert {"choana_left", "choana_right", "outlet"} <= set(results["plane_pressure_pa"])
    assert results["openings_placed"]["outlet"] == "at the plane given for it"
    # a spacing given by hand is measured against the rule: 1.5 mm puts 1.3 cells across this coarse shape's 2 mm
    # bottleneck, and the run says so (printed before it, in results.json, flagged on the flow split)
    resolution = results["resolution"]
    assert (resolution["resolution_mm"], resolution["rule"], resolution["rule_met"]) == (1.5, "given by the user", False)
    assert resolution["cells_across"] == pytest.approx(resolution["width_mm"] / 1.5, abs=0.01)
    assert f"resolution 1.5 mm (given): {resolution['message']}" in captured.out and "quick look" in captured.out
    flag = next(flag for flag in results["plausibility"] if flag["kind"] == "resolution")
    assert flag["value"] == resolution["cells_across"] and "at least 6" in flag["expected"]


def test_estimate_only_and_errors(geometry_dir: Path, tmp_path: Path, data_dir: Path, capsys) -> None:
    assert main(["simulate", str(geometry_dir), "--out", str(tmp_path / "x"), "--estimate"]) == 0
    printed = capsys.readouterr().out
    assert "GB" in printed and not (tmp_path / "x").exists()
    # without --resolution-mm the rule chooses the spacing, and says so; the time is at the measured speed
    assert re.search(r"resolution [\d.]+ mm \(automatic: [\d.]+ cells across the narrowest passage", printed), printed
    assert "(measured speed)" in printed and (data_dir / "throughput.json").is_file()
    # and the shortest it can take: a flow steady as soon as it is ramped up stops after two windows of checks
    assert re.search(r"about [^(]+ \(at least [^,]+, [\d,]+ steps, if the flow settles at once\)", printed), printed
    assert main(["simulate", str(geometry_dir), "--out", str(tmp_path / "x"), "--flow-ml-s", "-5"]) == 2
    assert "flow must be positive" in capsys.readouterr().err
    assert main(["simulate", str(tmp_path / "none"), "--out", str(tmp_path / "x")]) == 2
    assert "no labels.nii.gz" in capsys.readouterr().err
    assert main(["simulate", str(geometry_dir), "--out", str(tmp_path / "x"), "--resolution-mm", "0.01"]) == 2
    assert "resolution_mm must lie between 0.25 and 4 mm" in capsys.readouterr().err  # the page's bounds too


def test_doubted_figures_are_warnings_on_stderr_and_in_results_json(geometry_dir: Path, tmp_path: Path,
                                                                   capsys) -> None:
    out = tmp_path / "run"
    code = main(["simulate", str(geometry_dir), "--out", str(out), "--flow-ml-s", "100", "--resolution-mm", "1.5",
                 "--backend", "numba", "--max-steps", "300", "--flow-model", "standard"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "standard flow model" in captured.out
    results = json.loads((out / "results.json").read_text())
    flags = results["plausibility"]
    assert "steady_state" in {flag["kind"] for flag in flags}  # stopped at the step limit
    warnings = [line for line in captured.err.splitlines() if line.startswith("rhinoapp: warning: ")]
    assert len(warnings) == len(flags) and all(flag["message"] in captured.err for flag in flags)
    assert "run again without a step limit" in captured.err
    assert "[doubtful: see the warnings]" in captured.out or "[implausible: see the warnings]" in captured.out
    assert results["diagnostics"]["peak_velocity"]["point_lps_mm"]
    # how far the pressure drop can be trusted: the validation point of these settings, in results.json and printed
    accuracy = results["accuracy"]
    assert accuracy["model"] == "standard" and accuracy["validated_at_mm"] == 1.0 and min(accuracy["pressure_drop_bias_pct"]) > 0
    assert f"accuracy: {accuracy['text']}" in captured.out and "upper bounds" in accuracy["text"]


def test_the_smooth_walls_flow_model_is_the_default_and_its_accuracy_note_says_so(geometry_dir: Path, tmp_path: Path,
                                                                                   capsys) -> None:
    out = tmp_path / "smooth"
    code = main(["simulate", str(geometry_dir), "--out", str(out), "--flow-ml-s", "100", "--resolution-mm", "1.5",
                 "--backend", "numba", "--max-steps", "300"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "smooth_walls flow model" in captured.out
    results = json.loads((out / "results.json").read_text())
    assert results["lattice"]["wall_boundary"] == "interpolated_conserving" and results["lattice"]["bulk_omega"] == 1.0
    assert results["lattice"]["interpolated_wall_links"] > 0
    assert results["accuracy"]["model"] == "smooth walls" and "1.3-1.7 times the reference's" in captured.out
    with pytest.raises(SystemExit) as refused:
        main(["simulate", str(geometry_dir), "--out", str(out), "--flow-model", "fast"])
    assert refused.value.code == 2 and "invalid choice: 'fast'" in capsys.readouterr().err


def test_a_nostril_cut_short_in_geometry_json_is_a_warning_and_marks_the_figures(geometry_dir: Path, tmp_path: Path,
                                                                                  capsys) -> None:
    """geometry.json says what the left nostril's opening leaves out (as an import writes it for labels cut by a
    coronal plane inside the vestibule): results.json carries it, the CLI warns and marks the resistance. The right
    nostril, without a plane, opens where its label ends, at this shape's front face, looking forward: the same."""
    report = json.loads((geometry_dir / "geometry.json").read_text())
    report["inlets"] = {"left": {"point_lps_mm": [4.0, -2.0, 0.0], "normal_lps": [0.0, -1.0, 0.0],
                                 "short_of_nostril": "the labels are cut by a coronal plane inside the vestibule"}}
    (geometry_dir / "geometry.json").write_text(json.dumps(report))
    out = tmp_path / "run"
    code = main(["simulate", str(geometry_dir), "--out", str(out), "--flow-ml-s", "100", "--resolution-mm", "1.5",
                 "--backend", "numba", "--max-steps", "300"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    results = json.loads((out / "results.json").read_text())
    short = results["openings_short_of_nostril"]
    assert short["inlet_left"] == "the labels are cut by a coronal plane inside the vestibule"
    assert short["inlet_right"].startswith("the labels end in a coronal face inside the vestibule, looking forward")
    flag = next(flag for flag in results["plausibility"] if flag["kind"] == "openings")
    assert "both nostrils" in flag["message"] and f"rhinoapp: warning: {flag['message']}" in captured.err
    resistance_line = next(line for line in captured.out.splitlines() if line.startswith("resistance"))
    assert "see the warnings]" in resistance_line
