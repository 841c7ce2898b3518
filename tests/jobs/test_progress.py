"""TaskContext: progress reports leave the task as numbers (JSON), with an ETA, and parts map into the task."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rhinoapp.core.progress import ProgressReport
from rhinoapp.jobs.progress import JobCancelled, TaskContext


def _context(sent: list[dict[str, Any]], *, cancelled: bool = False) -> TaskContext:
    return TaskContext("j1", attempt=2, publish=sent.append, is_cancelled=lambda: cancelled, min_interval_s=0)


def test_reports_are_published_as_numbers_with_the_solvers_eta_kept() -> None:
    sent: list[dict[str, Any]] = []
    ctx = _context(sent)
    solver = ProgressReport(0.25, step=500, total=2000, eta_s=90.0, pressure_drop_pa=12.5, flow_ml_s=250.0, mlups=7.5)
    ctx.report(solver)
    payload = json.loads(json.dumps(sent[-1]))  # what crosses the process boundary
    assert payload["event"] == "progress" and payload["job_id"] == "j1" and payload["attempt"] == 2
    assert ProgressReport.from_dict(payload["progress"]) == solver
    assert "message" not in payload["progress"]  # the words are made where they are shown


def test_an_eta_is_estimated_when_the_report_has_none_and_parts_map_into_the_task() -> None:
    sent: list[dict[str, Any]] = []
    ctx = _context(sent)
    ctx.callback(0.5, 0.5)(ProgressReport(0.5, stage="decimating", eta_s=3.0))
    report = ProgressReport.from_dict(sent[-1]["progress"])
    assert report.fraction == 0.75 and report.stage == "decimating"
    assert report.eta_s is not None and report.eta_s >= 0 and report.eta_s != 3.0  # the part's ETA is not the task's
    ctx.stage(0.0, "reading the CT volume")
    assert sent[-1]["progress"] == {"fraction": 0.0, "stage": "reading the CT volume"}


def test_a_cancelled_job_stops_at_its_next_report() -> None:
    with pytest.raises(JobCancelled):
        _context([], cancelled=True).report(ProgressReport(0.1))
