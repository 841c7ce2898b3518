"""Cross-sections and metrics: the analytic narrowing, healthy ranges, the geometry report."""

from __future__ import annotations

import json
import logging

import pytest

from rhinoapp.core.volume import AirwayLabel
from rhinoapp.geometry import build_geometry, side_metrics
from tests.phantom.cases import MAIN_VARIANTS, phantom, segmentation

_LOG = logging.getLogger(__name__)


@pytest.mark.slow
def test_minimal_area_of_the_known_narrowing() -> None:
    p, result = phantom("narrowing"), segmentation("narrowing")
    analytic = p.landmarks.valve_area_mm2
    for metrics in side_metrics(result.labels, (result.inlet_left, result.inlet_right)):
        error = metrics.mcsa_cm2 * 100 / analytic - 1
        _LOG.warning("narrowing %s: mCSA %.2f mm2, analytic %.2f mm2 (%+.2f %%) at %.2f mm", metrics.side,
                     metrics.mcsa_cm2 * 100, analytic, 100 * error, metrics.mcsa_distance_mm)
        assert abs(error) < 0.10
        low, high = p.landmarks.valve_distance_mm
        assert low - 1.0 <= metrics.mcsa_distance_mm <= high + 1.0


@pytest.mark.slow
@pytest.mark.parametrize("variant", MAIN_VARIANTS)
def test_metrics_in_healthy_ranges(variant: str) -> None:
    result = segmentation(variant)
    left, right = side_metrics(result.labels, (result.inlet_left, result.inlet_right))
    for metrics, label in ((left, AirwayLabel.LEFT_CAVITY), (right, AirwayLabel.RIGHT_CAVITY)):
        assert 0.24 <= metrics.mcsa_cm2 <= 1.21  # healthy range of the domain notes
        assert metrics.volume_ml == pytest.approx(result.volume_ml(label))
        assert metrics.profile.distance_mm[0] < 0 < metrics.profile.search_from_mm < metrics.mcsa_distance_mm
        assert 50 < metrics.profile.distance_mm[-1] < 80  # the choanae, about 70 mm behind the nostril


@pytest.mark.slow
def test_geometry_report() -> None:
    geometry = build_geometry(segmentation("swollen"))
    report = json.loads(json.dumps(geometry.as_dict()))
    for side in ("left", "right"):
        assert {"volume_ml", "surface_cm2", "mcsa_cm2", "mcsa_distance_mm", "profile"} <= set(report[side])
        assert report[side]["surface_cm2"] > 20
    assert report["threshold_hu"] == -550.0 and report["options"]["segmentation"]["sinus_mode"] == "exclude"
    assert report["surface"]["watertight"] and report["surface"]["manifold"]
    assert set(report["inlets"]) == {"left", "right"} and report["outlet"]["normal_lps"] == [0.0, 0.0, -1.0]
    assert report["surface"]["enclosed_volume_ml"] == pytest.approx(report["label_map"]["volume_ml"], rel=0.05)
    assert report["surface"]["area_cm2"] == pytest.approx(report["label_map"]["area_cm2"], rel=0.05)
    assert report["left"]["mcsa_cm2"] < report["left"]["volume_ml"]  # units are not swapped
