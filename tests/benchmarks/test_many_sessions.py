"""The signed-in sessions benchmark (benchmarks/many_sessions.py) in its quick mode: logins, page loads, memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_run_signs_users_in_loads_their_pages_and_reports(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "many_sessions.py"), "--quick", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300, env=env, check=False)
    assert run.returncode == 0, run.stdout + run.stderr  # every user signed in (else it stops with the reason)
    result = json.loads((tmp_path / "many_sessions.json").read_text())
    assert result["errors"] == 0 and result["server_alive_at_end"] and result["options"]["users"] == 2
    for phase in ("single", "concurrent"):
        report = result[phase]
        assert report["page_loads"] > 0 and report["page"]["n"] == report["websocket"]["n"] == report["page_loads"]
        assert report["document_kib"] > 1
    assert result["memory"]["held_sessions"]["sessions"] == 2
    text = (tmp_path / "many_sessions.txt").read_text()
    assert "p95" in text and "memory per session" in text and text in run.stdout
