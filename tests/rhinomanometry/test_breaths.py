"""Dropout filling, smoothing, breath detection and the four-phase split."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rhinoapp.core.errors import ValidationError
from rhinoapp.rhinomanometry.breaths import (
    derivative,
    detect_breaths,
    fill_short_gaps,
    moving_average,
    valid_segments,
)
from rhinoapp.rhinomanometry.model import Phase, Side
from rhinoapp.rhinomanometry.synthetic import generate


def test_fill_short_gaps_interpolates_in_time_and_leaves_long_and_end_gaps() -> None:
    t = np.arange(12) * 0.01
    x = t * 100
    x[[0, 3, 4, 7, 8, 9, 11]] = np.nan
    filled, done, left = fill_short_gaps(t, x, max_gap_s=0.02)
    np.testing.assert_allclose(filled[[3, 4]], [3.0, 4.0])
    assert np.isnan(filled[[0, 7, 8, 9, 11]]).all() and (done, left) == (1, 3)
    assert fill_short_gaps(t, t, max_gap_s=0.1)[1:] == (0, 0)


def test_valid_segments_and_moving_average() -> None:
    assert valid_segments(np.array([False, True, True, False, True])) == [(1, 3), (4, 5)]
    assert valid_segments(np.array([], dtype=bool)) == []
    x = np.arange(10.0)
    np.testing.assert_allclose(moving_average(x, 4)[2:-2], x[2:-2])  # a window of 4 becomes 5
    np.testing.assert_allclose(moving_average(x, 1), x)


def test_derivative_of_a_sine() -> None:
    t = np.arange(0, 4, 0.01)
    slope = derivative(t, np.sin(t), smooth_s=0.05)
    np.testing.assert_allclose(slope[5:-5], np.cos(t[5:-5]), atol=2e-3)


def _check_phases(synth, *, tolerance_samples: float = 1.0) -> int:
    """Every detected phase starts at the first sample at or after the true event (within one step)."""
    truth = synth.truth.phase_starts()
    checked = 0
    for side in synth.measurement.sides:
        rec = synth.measurement.recording(side)
        step = 1.0 / synth.truth.sample_rate_hz
        found = detect_breaths(rec.t_s, rec.flow_ml_s)
        for breath in found.breaths:
            assert [p.phase for p in breath.phases] == list(Phase)
            for phase, following in zip(breath.phases, breath.phases[1:], strict=False):
                assert phase.stop == following.start
            for span in breath.phases:
                t_true = min((t for t, ph in truth if ph is span.phase), key=lambda t: abs(t - span.t_event_s))
                assert abs(rec.t_s[span.start] - t_true) <= tolerance_samples * step + 1e-12
                assert abs(span.t_event_s - t_true) <= 0.05 * step
                checked += 1
    return checked


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(start_phase_rad=0.3, period_s=3.3),
    dict(start_phase_rad=2.0, sample_rate_hz=50.0, period_s=4.7),
    dict(start_phase_rad=1.1, sample_rate_hz=250.0, duration_s=12.0),
])
def test_phases_split_at_the_zero_crossings_of_flow_and_its_derivative(kwargs: dict) -> None:
    assert _check_phases(generate(**kwargs)) >= 16


def test_asymmetric_breaths_still_split_within_one_sample() -> None:
    synth = generate(start_phase_rad=0.7, expiration_scale=0.7)
    truth = synth.truth.phase_starts()
    rec = synth.measurement.recording(Side.LEFT)
    for breath in detect_breaths(rec.t_s, rec.flow_ml_s).breaths:
        for span in breath.phases:
            t_true = min((t for t, ph in truth if ph is span.phase), key=lambda t: abs(t - span.t_event_s))
            assert abs(rec.t_s[span.start] - t_true) <= 0.01 + 1e-12


def test_breaths_are_contiguous_and_partial_ones_are_dropped() -> None:
    rec = generate(start_phase_rad=math.pi / 3, duration_s=20.5).measurement.recording(Side.LEFT)
    found = detect_breaths(rec.t_s, rec.flow_ml_s)
    assert len(found.breaths) == 4
    assert all(a.stop == b.start for a, b in zip(found.breaths, found.breaths[1:], strict=False))
    assert rec.t_s[found.breaths[0].start] == pytest.approx(4.0 - 2.0 / 3.0, abs=0.01)
    assert any("partial breaths" in note for note in found.notes)


def test_noise_near_zero_flow_makes_no_extra_breaths() -> None:
    clean = generate(duration_s=40.5).measurement.recording(Side.RIGHT)
    noisy = generate(duration_s=40.5, noise_ml_s=15.0, seed=3).measurement.recording(Side.RIGHT)
    n_clean = len(detect_breaths(clean.t_s, clean.flow_ml_s).breaths)
    found = detect_breaths(noisy.t_s, noisy.flow_ml_s)
    assert n_clean == 9 and len(found.breaths) == n_clean
    starts = [noisy.t_s[b.start] for b in found.breaths]
    np.testing.assert_allclose(starts, 4.0 * np.arange(1, 10), atol=0.05)


def test_a_long_gap_splits_the_recording() -> None:
    rec = generate(duration_s=30.5).measurement.recording(Side.LEFT)
    flow = rec.flow_ml_s.copy()
    flow[1450:1550] = np.nan  # 14.5-15.5 s
    found = detect_breaths(rec.t_s, flow)
    assert all(not np.isnan(flow[b.start:b.stop]).any() for b in found.breaths)
    assert [round(float(rec.t_s[b.start])) for b in found.breaths] == [4, 8, 16, 20, 24]  # 12-16 s holds the gap
    assert any("2 segments" in note for note in found.notes)


def test_no_breath_and_bad_input() -> None:
    t = np.arange(0, 3, 0.01)
    assert detect_breaths(t, np.full_like(t, np.nan)).notes == ("The flow holds no valid samples.",)
    assert detect_breaths(t, 100 * np.sin(2 * np.pi * t / 4)).breaths == ()
    with pytest.raises(ValidationError, match="threshold_fraction must lie between 0 and 1"):
        detect_breaths(t, t, threshold_fraction=1.5)
    with pytest.raises(ValidationError, match="equal length"):
        detect_breaths(t, t[:-1])
