"""The bomb benchmark (benchmarks/input_bombs.py) in its quick mode: every bomb refused on every path, with a message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_refuses_every_bomb_with_a_limit_message() -> None:
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    env = {k: v for k, v in env.items() if not k.startswith("RHINOAPP_")}
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "input_bombs.py"), "--quick"], capture_output=True,
                         text=True, timeout=240, env=env, check=False, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = [line for line in run.stdout.splitlines() if " s  " in line]
    assert len(lines) == 7 and all(line.startswith("refused in") for line in lines), run.stdout
    assert sum("536,870,912 voxels" in line for line in lines) == 3 and sum("200:1" in line for line in lines) == 4
    assert run.stdout.rstrip().endswith("all bombs refused")
