"""The one JSON sanitiser: every result becomes strict JSON, missing numbers as null."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import math

import numpy as np
import pytest

from rhinoapp.core.jsonable import finite_or_none, json_bytes, to_jsonable


class Side(enum.Enum):
    LEFT = "left"
    RIGHT = "right"


@dataclasses.dataclass(frozen=True)
class Reading:
    side: Side
    value: float
    when: dt.datetime
    samples: np.ndarray


def test_nested_results_become_plain_json() -> None:
    reading = Reading(Side.LEFT, float("nan"), dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.timezone.utc),
                      np.array([[1.0, np.inf], [np.float32(0.5), -np.inf]]))
    data = to_jsonable({"reading": reading, Side.RIGHT: (np.int64(3), np.bool_(False), None, "text")})
    assert data == {"reading": {"side": "left", "value": None, "when": "2026-01-02T03:04:00+00:00",
                                "samples": [[1.0, None], [0.5, None]]},
                    "right": [3, False, None, "text"]}
    assert type(data["right"][0]) is int and type(data["right"][1]) is bool
    assert json.loads(json.dumps(data, allow_nan=False)) == data


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), np.float64("nan"), np.float32("inf")])
def test_every_non_finite_float_is_null(value: float) -> None:
    assert to_jsonable(value) is None
    assert json_bytes({"x": value}, indent=None) == b'{"x": null}\n'


def test_json_bytes_is_strict_and_refuses_what_json_cannot_hold() -> None:
    assert json.loads(json_bytes({"a": np.arange(3), "b": 1e-300})) == {"a": [0, 1, 2], "b": 1e-300}
    assert json_bytes({"a": 1}).endswith(b"}\n") and b"\n  " in json_bytes({"a": 1})
    with pytest.raises(TypeError):
        json_bytes({"a": object()})


def test_finite_or_none_reads_numbers_back() -> None:
    assert finite_or_none(2) == 2.0 and finite_or_none("1e3") == 1000.0 and finite_or_none(np.float32(0.5)) == 0.5
    for missing in (None, "", "n/a", float("nan"), "inf", [1.0], {"value": 1.0}):
        assert finite_or_none(missing) is None
    assert not math.isnan(finite_or_none(-0.0))
