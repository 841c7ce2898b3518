"""The brush-latency benchmark in its quick mode: every figure is reported (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_reports_stroke_percentiles_and_the_reference(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "brush_latency.py"), "--quick", "--strokes", "12",
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=600, check=False,
                         cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads((tmp_path / "brush_latency-quick.json").read_text())
    assert result["shape_kji"] == [150, 256, 256] and result["stroke_with_overlays"]["n"] == 12
    for key in ("stroke_with_overlays", "edit_only", "reference_full_copy"):
        figures = result[key]
        assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["max_ms"], (key, figures)
    # a stroke keeps only its sub-block for undo: far less than the volume
    assert 0 < result["undo_bytes_median"] < result["volume_bytes"] / 100
    assert result["voxels_changed_median"] > 0
    text = (tmp_path / "brush_latency-quick.txt").read_text()
    assert "p50" in text and "p95" in text and "reference" in text and text == run.stdout
