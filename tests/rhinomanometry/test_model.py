"""Validation rules of the 4PR values: sides, sign conventions, metadata, recordings, measurements."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from rhinoapp.core.errors import RhinoappError, ValidationError
from rhinoapp.rhinomanometry.model import (
    Measurement,
    Metadata,
    Phase,
    Recording,
    Side,
    SignConvention,
    merge_measurements,
)


def rec(side: Side = Side.LEFT, n: int = 5, step: float = 0.01) -> Recording:
    t = np.arange(n) * step
    return Recording(side, t, 10 * np.sin(t), 30 * np.sin(t))


@pytest.mark.parametrize(("text", "side"), [
    ("L", Side.LEFT), ("l", Side.LEFT), ("left", Side.LEFT), ("Links", Side.LEFT), ("li.", Side.LEFT),
    ("R", Side.RIGHT), ("right", Side.RIGHT), ("RECHTS", Side.RIGHT), ("re", Side.RIGHT), (Side.RIGHT, Side.RIGHT),
])
def test_side_words(text: str, side: Side) -> None:
    assert Side.parse(text) is side


def test_unknown_side_says_what_to_write() -> None:
    with pytest.raises(ValidationError, match=r"Unknown side 'middle'; write L or R"):
        Side.parse("middle")


@pytest.mark.parametrize(("text", "sign"), [
    ("positive", SignConvention.INSPIRATION_POSITIVE), ("+", SignConvention.INSPIRATION_POSITIVE),
    ("Negative", SignConvention.INSPIRATION_NEGATIVE), ("neg", SignConvention.INSPIRATION_NEGATIVE),
])
def test_sign_convention_words(text: str, sign: SignConvention) -> None:
    assert SignConvention.parse(text) is sign


def test_unknown_sign_convention() -> None:
    with pytest.raises(ValidationError, match="write 'positive' when inspiration has positive"):
        SignConvention.parse("up")


def test_phases_in_breathing_order() -> None:
    assert [p.is_inspiration for p in Phase] == [True, True, False, False]
    assert [p.is_accelerating for p in Phase] == [True, False, True, False]


def test_errors_are_rhinoapp_and_value_errors() -> None:
    with pytest.raises(ValidationError) as caught:
        Side.parse("?")
    assert isinstance(caught.value, RhinoappError) and isinstance(caught.value, ValueError)


def test_recording_copies_and_freezes_arrays() -> None:
    t = [0.0, 0.01, 0.02]
    dp = np.array([0.0, 1.0, 2.0])
    r = Recording("left", t, dp, [0.0, 2.0, 4.0])
    dp[0] = 99.0
    assert r.side is Side.LEFT and r.dp_pa[0] == 0.0 and len(r) == 3
    with pytest.raises(ValueError):
        r.flow_ml_s[0] = 1.0


def test_recording_equality_treats_nan_as_equal() -> None:
    a = Recording(Side.LEFT, [0, 1], [np.nan, 1], [0, 1])
    assert a == Recording(Side.LEFT, [0, 1], [np.nan, 1], [0, 1])
    assert a != Recording(Side.RIGHT, [0, 1], [np.nan, 1], [0, 1])


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(t_s=[0, 1, 2], dp_pa=[0, 1], flow_ml_s=[0, 1, 2]), "must have equal lengths, not 3, 2 and 3"),
    (dict(t_s=[0], dp_pa=[0], flow_ml_s=[0]), "at least two samples, not 1"),
    (dict(t_s=[[0, 1]], dp_pa=[[0, 1]], flow_ml_s=[[0, 1]]), "must be one-dimensional"),
    (dict(t_s=[0, 2, 1], dp_pa=[0, 1, 2], flow_ml_s=[0, 1, 2]), "time must increase strictly, but sample 2"),
    (dict(t_s=[0, np.nan], dp_pa=[0, 1], flow_ml_s=[0, 1]), "time of sample 1 is nan"),
    (dict(t_s=[0, 1], dp_pa=[0, np.inf], flow_ml_s=[0, 1]), "dp_pa holds infinite values; use NaN"),
    (dict(t_s=[0, 1], dp_pa=["a", 1], flow_ml_s=[0, 1]), "dp_pa must be numbers"),
    (dict(t_s=[0, 1], dp_pa=[0, 12000], flow_ml_s=[0, 1]), "dp_pa reaches 12000 Pa, beyond the plausible 5000 Pa"),
    (dict(t_s=[0, 1], dp_pa=[0, 1], flow_ml_s=[0, 24000]), "check the unit of the source data and convert it to ml/s"),
    (dict(t_s=[0, 20000], dp_pa=[0, 1], flow_ml_s=[0, 1]), "more than an hour; is the time in ms"),
])
def test_recording_rules(kwargs: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(")):
        Recording(Side.LEFT, **kwargs)


def test_metadata_defaults_and_coercion() -> None:
    meta = Metadata(device=" X ", date=dt.datetime(2026, 2, 1, 10, 0), inspiration_sign="negative",
                    sample_rate_hz=100, extra=[("operator", "A")])
    assert meta.device == "X" and meta.date == dt.date(2026, 2, 1)
    assert meta.inspiration_sign is SignConvention.INSPIRATION_NEGATIVE and meta.sample_rate_hz == 100.0
    assert meta.extra == (("operator", "A"),)
    assert (Metadata.TIME_UNIT, Metadata.PRESSURE_UNIT, Metadata.FLOW_UNIT) == ("s", "Pa", "ml/s")


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(sample_rate_hz=0), "sample_rate_hz must be a positive number"),
    (dict(sample_rate_hz=float("inf")), "sample_rate_hz must be a positive number"),
    (dict(device="a\nb"), "device must be one line"),
    (dict(date="2026-01-01"), "date must be a datetime.date or None, not str"),
    (dict(decongested="yes"), "decongested must be True, False or None"),
    (dict(extra=[("Bad Key", "x")]), "keys are lower-case letters"),
    (dict(extra=[("device", "x")]), "no field name"),
    (dict(inspiration_sign="sideways"), "Unknown inspiration sign"),
])
def test_metadata_rules(kwargs: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Metadata(**kwargs)


def test_measurement_orders_sides_left_first() -> None:
    m = Measurement(Metadata(), (rec(Side.RIGHT), rec(Side.LEFT)))
    assert m.sides == (Side.LEFT, Side.RIGHT)
    assert m.recording(Side.RIGHT) == rec(Side.RIGHT)
    assert Measurement(Metadata(), (rec(),)).recording(Side.RIGHT) is None


@pytest.mark.parametrize(("recordings", "message"), [
    ((), "needs one or two Recording values"),
    ((rec(), rec()), "Each side may be recorded once"),
    (("left",), "needs one or two Recording values"),
])
def test_measurement_rules(recordings: tuple, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Measurement(Metadata(), recordings)


def test_sample_rate_must_match_time_steps() -> None:
    Measurement(Metadata(sample_rate_hz=100), (rec(step=0.01),))
    with pytest.raises(ValidationError, match=r"left side: the metadata state 100 Hz but the median time step is 0.005 s"):
        Measurement(Metadata(sample_rate_hz=100), (rec(step=0.005),))


def test_normalised_flips_both_signals_once() -> None:
    m = Measurement(Metadata(inspiration_sign="negative"), (rec(),))
    n = m.normalised()
    assert n.metadata.inspiration_sign is SignConvention.INSPIRATION_POSITIVE
    np.testing.assert_array_equal(n.recordings[0].dp_pa, -m.recordings[0].dp_pa)
    np.testing.assert_array_equal(n.recordings[0].flow_ml_s, -m.recordings[0].flow_ml_s)
    assert n.normalised() is n


def test_merge_fills_empty_fields_and_joins_extras() -> None:
    left = Measurement(Metadata(device="D", extra=(("a", "1"),)), (rec(Side.LEFT),))
    right = Measurement(Metadata(date=dt.date(2026, 1, 2), decongested=True, extra=(("b", "2"),)), (rec(Side.RIGHT),))
    both = merge_measurements([left, right])
    assert both.sides == (Side.LEFT, Side.RIGHT)
    assert (both.metadata.device, both.metadata.date, both.metadata.decongested) == ("D", dt.date(2026, 1, 2), True)
    assert both.metadata.extra == (("a", "1"), ("b", "2"))


def test_merge_refuses_disagreeing_metadata() -> None:
    left = Measurement(Metadata(device="A"), (rec(Side.LEFT),))
    right = Measurement(Metadata(device="B"), (rec(Side.RIGHT),))
    with pytest.raises(ValidationError, match=r"disagree on device \(A and B\)"):
        merge_measurements([left, right])
    with pytest.raises(ValidationError, match="Nothing to merge"):
        merge_measurements([])


def test_merge_of_mixed_sign_conventions_normalises() -> None:
    left = Measurement(Metadata(inspiration_sign="negative"), (rec(Side.LEFT),))
    right = Measurement(Metadata(), (rec(Side.RIGHT),))
    both = merge_measurements([left, right])
    assert both.metadata.inspiration_sign is SignConvention.INSPIRATION_POSITIVE
    np.testing.assert_array_equal(both.recording(Side.LEFT).flow_ml_s, -rec(Side.LEFT).flow_ml_s)
    np.testing.assert_array_equal(both.recording(Side.RIGHT).flow_ml_s, rec(Side.RIGHT).flow_ml_s)


def test_merge_refuses_the_same_side_twice() -> None:
    a = Measurement(Metadata(), (rec(Side.LEFT),))
    with pytest.raises(ValidationError, match="Each side may be recorded once"):
        merge_measurements([a, a])
