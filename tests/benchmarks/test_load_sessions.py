"""The load benchmark (benchmarks/load_sessions.py) in its quick mode: it runs and reports, with no errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_run_loads_pages_over_http_and_websocket_and_reports(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "load_sessions.py"), "--quick", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300, env=env, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads((tmp_path / "load_sessions.json").read_text())
    assert result["errors"] == 0 and result["server_alive_at_end"]
    assert result["options"]["clients"] == 2
    for phase in ("single", "concurrent"):
        report = result[phase]
        assert report["errors"] == 0 and report["page_loads"] > 0
        # Every completed load got the page and then the whole document over the websocket.
        assert report["page"]["n"] == report["websocket"]["n"] == report["page_load"]["n"] == report["page_loads"]
        assert report["document_kib"] > 1 and report["server_cpu_ms_per_load"] > 0
    held = result["memory"]["held_sessions"]
    assert held["sessions"] == 2 and held["errors"] == 0
    assert result["memory"]["rss_at_start_mib"] > 0 and result["memory"]["rss_after_load_mib"] > 0
    text = (tmp_path / "load_sessions.txt").read_text()
    assert "p95" in text and "memory per session" in text and text in run.stdout
