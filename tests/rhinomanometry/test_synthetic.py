"""The synthetic generator: exact formulas, reproducible noise, and every option."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rhinoapp.core.errors import ValidationError
from rhinoapp.rhinomanometry.model import Phase, Side, SignConvention
from rhinoapp.rhinomanometry.synthetic import DEFAULT_LEFT, DEFAULT_RIGHT, SyntheticSide, generate


def test_pressure_is_rohrer_plus_inertia_on_every_sample() -> None:
    synth = generate(period_s=3.5, start_phase_rad=0.4, expiration_scale=0.8)
    for side, p in ((Side.LEFT, DEFAULT_LEFT), (Side.RIGHT, DEFAULT_RIGHT)):
        r = synth.measurement.recording(side)
        angle = 2 * math.pi * r.t_s / 3.5 + 0.4
        amplitude = p.peak_flow_ml_s * np.where(np.sin(angle) >= 0, 1.0, 0.8)
        v = amplitude * np.sin(angle)
        dv = amplitude * 2 * math.pi / 3.5 * np.cos(angle)
        np.testing.assert_allclose(r.flow_ml_s, v, rtol=0, atol=1e-9)
        np.testing.assert_allclose(r.dp_pa, p.k1 * v + p.k2 * v * np.abs(v) + p.inertance * dv, rtol=0, atol=1e-9)


def test_sides_differ_and_time_base() -> None:
    m = generate(duration_s=10.0, sample_rate_hz=200.0).measurement
    left, right = m.recording(Side.LEFT), m.recording(Side.RIGHT)
    assert len(left) == 2001 and left.t_s[-1] == pytest.approx(10.0) and m.metadata.sample_rate_hz == 200.0
    assert np.max(left.flow_ml_s) == pytest.approx(DEFAULT_LEFT.peak_flow_ml_s, rel=1e-3)
    assert np.max(right.flow_ml_s) == pytest.approx(DEFAULT_RIGHT.peak_flow_ml_s, rel=1e-3)
    assert DEFAULT_LEFT != DEFAULT_RIGHT


def test_noise_is_reproducible_and_has_the_requested_size() -> None:
    a = generate(noise_pa=2.0, noise_ml_s=5.0, seed=7, duration_s=60.0)
    b = generate(noise_pa=2.0, noise_ml_s=5.0, seed=7, duration_s=60.0)
    c = generate(noise_pa=2.0, noise_ml_s=5.0, seed=8, duration_s=60.0)
    clean = generate(duration_s=60.0).measurement.recording(Side.LEFT)
    assert a.measurement == b.measurement and a.measurement != c.measurement
    noisy = a.measurement.recording(Side.LEFT)
    assert np.std(noisy.flow_ml_s - clean.flow_ml_s) == pytest.approx(5.0, rel=0.05)
    assert np.std(noisy.dp_pa - clean.dp_pa) == pytest.approx(2.0, rel=0.05)


def test_one_side_only() -> None:
    synth = generate(left=None)
    assert synth.measurement.sides == (Side.RIGHT,)
    with pytest.raises(KeyError):
        synth.truth.side(Side.LEFT)


def test_start_mid_breath() -> None:
    r = generate(start_phase_rad=math.pi / 3).measurement.recording(Side.LEFT)
    assert r.flow_ml_s[0] == pytest.approx(DEFAULT_LEFT.peak_flow_ml_s * math.sin(math.pi / 3))


def test_phase_starts_follow_the_angle() -> None:
    starts = generate(duration_s=8.0, start_phase_rad=math.pi / 3).truth.phase_starts()
    times = [t for t, _ in starts]
    np.testing.assert_allclose(times, np.arange(1, 9) * 1.0 - 2.0 / 3.0)
    assert starts[0][1] is Phase.DECELERATING_INSPIRATION and starts[1][1] is Phase.ACCELERATING_EXPIRATION


def test_dropouts_are_nan_in_both_signals_and_recorded() -> None:
    synth = generate(dropouts=3, dropout_s=0.05, seed=5)
    assert len(synth.truth.dropouts) == 6
    for side, start, stop in synth.truth.dropouts:
        r = synth.measurement.recording(side)
        assert stop - start == 5
        assert np.isnan(r.dp_pa[start:stop]).all() and np.isnan(r.flow_ml_s[start:stop]).all()


def test_inverted_sign_convention() -> None:
    positive = generate().measurement
    negative = generate(inspiration_sign=SignConvention.INSPIRATION_NEGATIVE).measurement
    assert negative.metadata.inspiration_sign is SignConvention.INSPIRATION_NEGATIVE
    assert negative.normalised().recordings == positive.recordings


def test_analytic_resistance_from_the_quadratic() -> None:
    p = SyntheticSide(k1=0.3, k2=0.0005)
    v = (-0.3 + math.sqrt(0.09 + 4 * 0.0005 * 150)) / (2 * 0.0005)
    assert p.flow_at(150.0) == pytest.approx(v, rel=1e-12)
    assert p.resistance_at(150.0) == pytest.approx(150.0 / v, rel=1e-12)
    assert SyntheticSide(k1=0.2, k2=0.001, peak_flow_ml_s=300.0).peak_pressure_pa == pytest.approx(150.0)


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(left=None, right=None), "Generate at least one side"),
    (dict(period_s=0.0), "period_s must be a positive number"),
    (dict(sample_rate_hz=-1.0), "sample_rate_hz must be a positive number"),
    (dict(noise_pa=-1.0), "must be >= 0"),
])
def test_generator_refusals(kwargs: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        generate(**kwargs)


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(k1=-0.1), "K1 must be a finite number >= 0"),
    (dict(k1=0.0, k2=0.0), "both zero"),
    (dict(inertance=math.nan), "inertance L must be a finite number"),
    (dict(peak_flow_ml_s=0.0), "peak_flow_ml_s must be a positive flow"),
])
def test_side_refusals(kwargs: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SyntheticSide(**kwargs)
