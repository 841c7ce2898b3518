"""The hard-phantom segmentation benchmark in its quick mode: a table, a large case and both files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_mode_writes_the_table_and_the_large_case(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "segmentation_hard.py"), "--quick", "--out",
                          str(tmp_path)], capture_output=True, text=True, timeout=600, cwd=ROOT, check=False)
    report = json.loads((tmp_path / "segmentation_hard-quick.json").read_text())
    assert [row["variant"] for row in report["variants"]] == ["thick-noisy", "clinical"]
    assert all(row["pass"] for row in report["variants"]), report["variants"]
    large = report["large"]
    assert large["shape_kji"] == [150, 256, 256] and large["dice_whole"] >= 0.95
    assert large["seconds"] > 0 and large["peak_gb"] > 0 and large["ratio_to_numpy_pass"] > 1
    text = (tmp_path / "segmentation_hard-quick.txt").read_text()
    assert "clinical" in text and "reference in the same run" in text
    assert run.returncode == (0 if large["pass"] else 1), run.stdout + run.stderr
