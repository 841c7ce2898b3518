"""The GPU device command (benchmarks/gpu_check.sh) in its CPU dry run: every solver section at a tiny size."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = "environment,bandwidth,speed,agreement,restart,time_to_solution,profile,rendering"


def test_dry_run_reports_every_section_and_skips_the_gpu_ones(tmp_path: Path) -> None:
    env = os.environ | {"OUT": str(tmp_path), "PYTHON": sys.executable}
    run = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--dry-run", "--sections", SECTIONS],
                         capture_output=True, text=True, timeout=300, env=env, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    [report_path] = tmp_path.glob("gpu-*.json")
    report = json.loads(report_path.read_text())
    sections = report["sections"]
    assert report["dry_run"] and report["backend"] == "numpy" and list(sections) == SECTIONS.split(",")
    assert sections["environment"]["solver_imports"] == {"heavy_modules_loaded": [], "clean": True}

    speed = sections["speed"]
    assert speed["status"] == "ok" and len(speed["grids"]) == 2
    for grid in speed["grids"]:
        trt, production = grid["kernels"].values()
        assert trt["bytes_per_update"]["nominal"] == 224  # 19 + 19 FP32 populations and 18 int32 indices
        assert production["bytes_per_update"]["nominal"] == 228  # and the cell's FP32 relaxation time
        assert 0 < trt["fraction_of_bound"] and trt["finite"] and production["finite"]

    cases = sections["agreement"]["cases"]
    assert len(cases) == 2 and all(row["populations"]["passed"] and row["velocity"]["passed"] for row in cases.values())
    assert sections["restart"]["bit_identical"] and sections["restart"]["same_history_steps"]
    tts = sections["time_to_solution"]["2 mm"]
    assert tts["fluid_cells"] > 1000 and tts["steps"] == 60 and tts["cpu_2_cores"]["mlups"] > 0

    text = (tmp_path / report_path.name.replace(".json", ".txt")).read_text()
    assert "DRY RUN" in text and (tmp_path / "gpu_check.log").read_text().strip()
    if importlib.util.find_spec("cupy") is None:
        assert (sections["profile"]["status"], sections["profile"]["reason"]) == ("skipped", "no GPU/CuPy")
        assert "no GPU/CuPy: skipped" in text
    assert not list((ROOT / "benchmarks" / "results").glob(report_path.name))  # a dry run saves nothing there
