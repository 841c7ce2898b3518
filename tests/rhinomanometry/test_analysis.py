"""4PR parameters on synthetic signals with known K1, K2 and inertance, and every edge case."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from rhinoapp.core.errors import ValidationError
from rhinoapp.rhinomanometry.analysis import analyse, loop_area, parallel_resistance
from rhinoapp.rhinomanometry.classification import ClassParameter, ObstructionClasses
from rhinoapp.rhinomanometry.model import Measurement, Phase, Recording, Side, SignConvention
from rhinoapp.rhinomanometry.results import Value
from rhinoapp.rhinomanometry.synthetic import SyntheticSide, generate

BOTH = (Side.LEFT, Side.RIGHT)
ACCURACY_CASES = {
    "noise-free": dict(),
    "noise-free, other start and period": dict(start_phase_rad=0.9, period_s=3.3, duration_s=30.0),
    "noisy": dict(noise_pa=2.0, noise_ml_s=3.0, seed=1, duration_s=40.5),
    "low rate, unequal halves": dict(sample_rate_hz=50.0, expiration_scale=0.8, start_phase_rad=0.2),
}


def analytic_resistance(p: SyntheticSide, dp: float) -> float:
    """R = dP / V with V the positive root of K2*V^2 + K1*V - dP = 0."""
    v = (-p.k1 + math.sqrt(p.k1**2 + 4 * p.k2 * dp)) / (2 * p.k2)
    return dp / v


@pytest.mark.parametrize("case", ACCURACY_CASES)
def test_r150_and_r75_within_2_percent_of_the_analytic_values(case: str) -> None:
    synth = generate(**ACCURACY_CASES[case])
    result = analyse(synth.measurement)
    for side in BOTH:
        truth, found = synth.truth.side(side), result.side(side)
        assert len(found.breaths) >= 4
        for level, name in ((150.0, "r150"), (75.0, "r75")):
            expected = analytic_resistance(truth, level)
            per_breath = [getattr(b, name).value for b in found.breaths]
            assert per_breath == pytest.approx([expected] * len(per_breath), rel=0.02)
            assert found.mean(name).value == pytest.approx(expected, rel=0.02)
            assert found.mean(f"flow_at_{level:g}").value == pytest.approx(level / expected, rel=0.02)


def test_each_branch_shows_the_inertia_and_the_midline_removes_it() -> None:
    synth = generate()
    breath = analyse(synth.measurement).side(Side.LEFT).breaths[0]
    exact = analytic_resistance(synth.truth.side(Side.LEFT), 150.0)
    accelerating = breath.phase(Phase.ACCELERATING_INSPIRATION).r150.value
    decelerating = breath.phase(Phase.DECELERATING_INSPIRATION).r150.value
    assert accelerating > exact * 1.02 and decelerating < exact * 0.98
    assert breath.r150.value == pytest.approx(exact, rel=0.002)
    assert breath.r150_expiration.value == pytest.approx(exact, rel=0.002)


def test_vr_and_reff_equal_the_formulas_on_the_same_samples() -> None:
    synth = generate(start_phase_rad=0.5, expiration_scale=0.8, noise_pa=1.0, noise_ml_s=2.0, seed=4)
    result = analyse(synth.measurement)
    for side in BOTH:
        rec = synth.measurement.recording(side)
        dp, v = rec.dp_pa, rec.flow_ml_s
        for breath in result.side(side).breaths:
            for ph in breath.phases:
                s = slice(ph.start, ph.stop)
                assert ph.vr == pytest.approx(np.max(np.abs(dp[s])) / np.max(np.abs(v[s])), rel=1e-12)
                assert ph.reff == pytest.approx(math.sqrt(np.mean(dp[s] ** 2) / np.mean(v[s] ** 2)), rel=1e-12)
            inspiration = slice(breath.phases[0].start, breath.phases[1].stop)
            expiration = slice(breath.phases[2].start, breath.phases[3].stop)
            whole = slice(breath.start, breath.stop)
            vr = np.max(np.abs(dp[inspiration])) / np.max(np.abs(v[inspiration]))
            reff = math.sqrt(np.mean(dp[whole] ** 2)) / math.sqrt(np.mean(v[whole] ** 2))
            assert breath.vr == pytest.approx(vr, rel=1e-12)
            assert breath.vr_expiration == pytest.approx(
                np.max(np.abs(dp[expiration])) / np.max(np.abs(v[expiration])), rel=1e-12)
            assert breath.reff == pytest.approx(reff, rel=1e-12)
            assert (breath.lvr, breath.lreff) == pytest.approx((math.log10(vr), math.log10(reff)), rel=1e-12)
        lvr = [b.lvr for b in result.side(side).breaths]
        stat = result.side(side).summary["lvr"]
        assert (stat.mean, stat.std, stat.n) == pytest.approx((np.mean(lvr), np.std(lvr, ddof=1), len(lvr)))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rohrer_k1_k2_recovered_within_5_percent_with_noise(seed: int) -> None:
    synth = generate(noise_pa=3.0, noise_ml_s=5.0, seed=seed, duration_s=40.5)
    result = analyse(synth.measurement)
    for side in BOTH:
        truth, fit = synth.truth.side(side), result.side(side).rohrer
        assert fit.k1 == pytest.approx(truth.k1, rel=0.05)
        assert fit.k2 == pytest.approx(truth.k2, rel=0.05)
        assert fit.inertance == pytest.approx(truth.inertance, rel=0.25)


def test_rohrer_fit_without_inertance() -> None:
    synth = generate()
    fit = analyse(synth.measurement, estimate_inertance=False).side(Side.LEFT).rohrer
    truth = synth.truth.side(Side.LEFT)
    assert fit.inertance is None
    assert (fit.k1, fit.k2) == pytest.approx((truth.k1, truth.k2), rel=0.05)
    exact = analyse(synth.measurement).side(Side.LEFT).rohrer
    assert (exact.k1, exact.k2, exact.inertance) == pytest.approx((truth.k1, truth.k2, truth.inertance), rel=0.01)


def test_phases_split_within_one_sample_period() -> None:
    synth = generate(start_phase_rad=1.3, period_s=3.7, duration_s=25.0)
    truth = synth.truth.phase_starts()
    result = analyse(synth.measurement)
    for side in BOTH:
        t = synth.measurement.recording(side).t_s
        for breath in result.side(side).breaths:
            for ph in breath.phases:
                nearest = min((tt for tt, p in truth if p is ph.phase), key=lambda tt: abs(tt - t[ph.start]))
                assert 0.0 <= t[ph.start] - nearest + 1e-12 <= 0.01 + 2e-12


def test_hysteresis_is_the_loop_area() -> None:
    synth = generate()
    result = analyse(synth.measurement)
    omega = 2 * math.pi / synth.truth.period_s
    for side in BOTH:
        p = synth.truth.side(side)
        expected = math.pi * p.inertance * omega * p.peak_flow_ml_s**2
        found = result.side(side)
        assert found.mean("hysteresis").value == pytest.approx(expected, rel=0.002)
        assert found.breaths[0].hysteresis_inspiration == pytest.approx(expected / 2, rel=0.002)
        assert found.breaths[0].hysteresis_expiration == pytest.approx(expected / 2, rel=0.002)
    assert loop_area(np.array([0.0, 1.0, 1.0, 0.0]), np.array([0.0, 0.0, 3.0, 3.0])) == 3.0


def test_total_resistance_in_parallel_and_flow_partition() -> None:
    result = analyse(generate().measurement)
    left, right = result.side(Side.LEFT), result.side(Side.RIGHT)
    for name in ("r75", "r150", "vr", "reff"):
        rl, rr = left.mean(name).value, right.mean(name).value
        assert getattr(result.total, name).value == pytest.approx(rl * rr / (rl + rr), rel=1e-12)
    vl, vr = left.mean("flow_at_150").value, right.mean("flow_at_150").value
    assert result.total.flow_partition_left_150.value == pytest.approx(vl / (vl + vr), rel=1e-12)
    assert 0.5 < result.total.flow_partition_left_150.value < 0.6  # the left side is the more open one
    assert parallel_resistance(Value(None, "x"), Value(1.0)).reason == "left side: x"


def test_only_one_side_measured() -> None:
    result = analyse(generate(left=None).measurement)
    assert result.side(Side.LEFT) is None and result.side(Side.RIGHT).mean("r150").available
    for value in dataclasses.astuple(result.total, tuple_factory=list):
        assert value[0] is None and value[1] == "only the right side was measured; the total needs both sides"


def test_pressure_never_reaching_150_pa() -> None:
    weak = SyntheticSide(k1=0.25, k2=0.0006, inertance=0.01, peak_flow_ml_s=250.0)
    synth = generate(left=weak)
    result = analyse(synth.measurement)
    left = result.side(Side.LEFT)
    for breath in left.breaths:
        assert breath.r150.value is None and breath.flow_at_150.value is None
        assert breath.r150.reason.startswith("not reached: |dP| peaks at") and "(< 150 Pa); not extrapolated" in breath.r150.reason
        assert breath.r75.value == pytest.approx(analytic_resistance(weak, 75.0), rel=0.02)
        for ph in breath.phases:
            assert ph.r150.value is None and "not reached" in ph.r150.reason
    assert left.mean("r150").value is None and "not reached" in left.mean("r150").reason
    assert left.summary["r150"].n == 0
    assert result.total.r150.value is None and result.total.r150.reason.startswith("left side: not reached")
    assert result.total.flow_partition_left_150.value is None
    assert result.total.flow_partition_left_75.available and result.total.r75.available
    assert left.obstruction is not None


def test_150_pa_reached_on_the_accelerating_branch_only() -> None:
    synth = generate(left=SyntheticSide(k1=0.25, k2=0.0006, inertance=0.15, peak_flow_ml_s=320.0), right=None)
    breath = analyse(synth.measurement).side(Side.LEFT).breaths[0]
    assert breath.phase(Phase.ACCELERATING_INSPIRATION).r150.available
    assert breath.r150.value is None
    assert breath.r150.reason.startswith("150 Pa is reached only in the accelerating inspiration and the loop midline"
                                         " needs both branches (not reached: |dP| peaks at 140.2 Pa in the decelerating")


def test_inverted_sign_convention_gives_the_same_result() -> None:
    positive = analyse(generate(noise_pa=1.0, seed=2).measurement)
    negative_measurement = generate(noise_pa=1.0, seed=2, inspiration_sign=SignConvention.INSPIRATION_NEGATIVE).measurement
    assert negative_measurement.recording(Side.LEFT).flow_ml_s[50] < 0
    negative = analyse(negative_measurement)
    assert negative.metadata.inspiration_sign is SignConvention.INSPIRATION_POSITIVE
    assert negative.as_dict() == positive.as_dict()


def test_one_channel_inverted_is_refused() -> None:
    rec = generate(right=None).measurement.recording(Side.LEFT)
    bad = Measurement(generate().measurement.metadata, (Recording(Side.LEFT, rec.t_s, rec.dp_pa, -rec.flow_ml_s),))
    with pytest.raises(ValidationError, match="left side: pressure and flow have opposite signs, so one channel is inverted"):
        analyse(bad)


def test_recording_that_starts_mid_breath() -> None:
    synth = generate(start_phase_rad=math.pi / 3)
    result = analyse(synth.measurement)
    left = result.side(Side.LEFT)
    t = synth.measurement.recording(Side.LEFT).t_s
    assert t[left.breaths[0].start] == pytest.approx(4.0 - 2.0 / 3.0, abs=0.01)
    assert [b.phases[0].phase for b in left.breaths] == [Phase.ACCELERATING_INSPIRATION] * len(left.breaths)
    assert any("partial breaths" in note for note in left.notes)
    assert left.mean("r150").value == pytest.approx(analytic_resistance(synth.truth.side(Side.LEFT), 150.0), rel=0.02)


def test_short_nan_dropouts_are_interpolated() -> None:
    clean = analyse(generate(noise_pa=1.0, seed=9).measurement)
    synth = generate(noise_pa=1.0, seed=9, dropouts=4, dropout_s=0.05)
    assert np.isnan(synth.measurement.recording(Side.LEFT).dp_pa).sum() == 20
    gappy = analyse(synth.measurement)
    for side in BOTH:
        assert len(gappy.side(side).breaths) == len(clean.side(side).breaths)
        assert any("Interpolated" in note for note in gappy.side(side).notes)
        for name in ("r150", "r75", "reff", "vr", "lvr"):
            assert gappy.side(side).mean(name).value == pytest.approx(clean.side(side).mean(name).value, rel=0.01)
        fit = gappy.side(side).rohrer
        assert fit.k1 == pytest.approx(synth.truth.side(side).k1, rel=0.05)


def test_long_nan_dropouts_drop_the_breaths_they_touch() -> None:
    synth = generate(dropouts=1, dropout_s=0.5, seed=6, duration_s=30.5)
    result = analyse(synth.measurement)
    for side, start, stop in synth.truth.dropouts:
        found = result.side(side)
        assert any("longer than 0.1 s" in note for note in found.notes)
        assert all(b.stop <= start or b.start >= stop for b in found.breaths)
        assert all(math.isfinite(b.reff) and b.r150.available for b in found.breaths)
        assert math.isfinite(found.rohrer.k1)


def test_no_complete_breath() -> None:
    result = analyse(generate(duration_s=3.0).measurement)
    left = result.side(Side.LEFT)
    assert left.breaths == () and left.mean("r150") == Value(None, "no complete breath")
    assert left.rohrer is None and "needs at least 6 valid samples" in left.rohrer_reason
    assert left.obstruction is None and left.obstruction_reason == "no LVR: no complete breath"
    assert left.notes[0].startswith("No complete breath")
    assert result.total.r150.reason == "left side: no complete breath"


def test_obstruction_class_uses_the_limits_passed_in() -> None:
    synth = generate()
    default = analyse(synth.measurement).side(Side.LEFT).obstruction
    assert default.parameter is ClassParameter.LVR and default.source.startswith("UNVERIFIED")
    assert default.value == pytest.approx(analyse(synth.measurement).side(Side.LEFT).mean("lvr").value)
    classes = ObstructionClasses(ClassParameter.LREFF, (-1.0, 0.0), ("open", "mid", "closed"), "test limits")
    mine = analyse(synth.measurement, classes=classes)
    left = mine.side(Side.LEFT)
    assert left.obstruction.label == "mid" and left.obstruction.value == left.mean("lreff").value
    assert mine.classes is classes


def test_result_as_json() -> None:
    result = analyse(generate(left=None).measurement)
    data = json.loads(json.dumps(result.as_dict()))
    assert data["metadata"]["inspiration_sign"] == "positive"
    assert data["sides"][0]["side"] == "right"
    assert data["sides"][0]["breaths"][0]["phases"][0]["phase"] == "accelerating inspiration"
    assert data["total"]["r150"] == {"value": None, "reason": "only the right side was measured; the total needs both sides"}
    assert data["sides"][0]["summary"]["r150"]["mean"] == pytest.approx(result.side(Side.RIGHT).mean("r150").value)
