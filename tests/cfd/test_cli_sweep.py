"""``rhinoapp sweep`` on a geometry folder built here: the per-flow table, the fits, sweep.json."""

from __future__ import annotations

import json
from pathlib import Path

from rhinoapp.analysis.sweep import SweepResults
from rhinoapp.cfd.inputs import write_label_nifti
from rhinoapp.cfd.shapes import two_channel_labels
from rhinoapp.cli import main


def test_sweep_prints_the_runs_and_the_fit_and_writes_the_document(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "geometry"
    folder.mkdir()
    write_label_nifti(folder / "labels.nii.gz", two_channel_labels(2.0))
    (folder / "geometry.json").write_text(json.dumps(
        {"outlet": {"point_lps_mm": [0.0, 78.0, -29.0], "normal_lps": [0.0, 0.0, -1.0]}}))
    out = tmp_path / "sweep-a"
    code = main(["sweep", str(folder), "--out", str(out), "--flows", "100,200", "--expiration", "--backend", "numba",
                 "--max-steps", "300", "--resolution-mm", "2.0"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    lines = captured.out.splitlines()
    assert "sweep of 4 runs, smooth_walls flow model" in lines  # as a single simulation's default
    rows = [line.split() for line in lines if line.split()[:1] in (["100.0"], ["200.0"])]
    assert [(r[0], r[1]) for r in rows] == [("100.0", "inspiration"), ("200.0", "inspiration"),
                                             ("100.0", "expiration"), ("200.0", "expiration")]
    assert any(line.strip().startswith("left: K1") and "R150" in line for line in lines)
    # each run's checks in its row, and what they doubt once per kind, with its runs (300 steps: none steady)
    assert lines[1].split()[-1] == "checks" and all("steady_state" in " ".join(row[8:]) for row in rows), lines
    assert any(line.startswith("accuracy: ") and "upper bounds" in line for line in lines)
    assert ("100 ml/s inspiration, 200 ml/s inspiration, 100 ml/s expiration, 200 ml/s expiration: change of the "
            "pressure drop over the last window") in captured.out
    assert "flow 4 of 4: 200 ml/s expiration" in captured.err
    results = SweepResults.from_json((out / "sweep.json").read_bytes())
    assert results.flow_model == "smooth_walls"
    assert results.sweep_id == "sweep-a" and len(results.points) == 4 and set(results.fits) == {"left", "right", "total"}
    assert results.points[2].flow_ml_s == -100.0 and results.points[2].pressure_drop_pa < 0


def test_bad_flows_end_in_one_line(tmp_path: Path, capsys) -> None:
    assert main(["sweep", str(tmp_path), "--out", str(tmp_path / "x"), "--flows", "100"]) == 2
    assert "at least 2 different flows" in capsys.readouterr().err
