"""ProgressReport and format_duration: numbers stay numbers; the words are built from them."""

from __future__ import annotations

import json
import math

import pytest

from rhinoapp.core.progress import ProgressReport, format_duration


def test_json_round_trip_keeps_every_number() -> None:
    report = ProgressReport(0.5, stage="solving", step=300, total=600, eta_s=12.5, steady=True,
                            pressure_drop_pa=-1.25e-3, flow_ml_s=249.75, mlups=38.0)
    assert ProgressReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report
    assert ProgressReport.from_dict(ProgressReport(0.1).to_dict()) == ProgressReport(0.1)
    assert ProgressReport(0.1).to_dict() == {"fraction": 0.1}


def test_bad_values_become_unknown_and_the_fraction_stays_in_range() -> None:
    assert ProgressReport(1.7).fraction == 1.0 and ProgressReport(-0.2).fraction == 0.0
    assert ProgressReport(math.nan).fraction == 0.0
    odd = ProgressReport.from_dict({"fraction": None, "eta_s": "inf", "pressure_drop_pa": [1], "mlups": "nan"})
    assert odd == ProgressReport(0.0)


def test_the_message_follows_the_numbers() -> None:
    report = ProgressReport(0.2, step=200, total=1000, mlups=4.0, pressure_drop_pa=3.0, flow_ml_s=100.0)
    assert report.message == "step 200 of 1,000, 4.0 MLUPS, pressure drop 3.00 Pa, flow 100.0 ml/s"
    assert ProgressReport(0.99, step=1200, total=1000).message == "step 1,200 of 1,000, past the estimate"
    assert ProgressReport(1.0, step=800, total=1000, steady=True).message == "step 800 of 1,000, steady"
    assert ProgressReport(0.3, stage="finding the nostrils").message == "finding the nostrils"


def test_a_part_maps_its_fraction_into_the_task_and_drops_its_eta() -> None:
    part = ProgressReport(0.5, stage="decimating", eta_s=10.0).within(0.62, 0.33)
    assert part.fraction == pytest.approx(0.785) and part.eta_s is None and part.stage == "decimating"


@pytest.mark.parametrize(("seconds", "text"), [(None, ""), (math.inf, ""), (0.4, "0 s"), (59.6, "1 min 0 s"),
                                               (61, "1 min 1 s"), (3599, "59 min 59 s"), (3600, "1 h 0 min"),
                                               (90061, "25 h 1 min")])
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text
