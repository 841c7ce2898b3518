"""Obstruction classes: limits from configuration, boundaries, refusals."""

from __future__ import annotations

import pytest

from rhinoapp.core.errors import ConfigurationError
from rhinoapp.rhinomanometry.classification import (
    DEFAULT_OBSTRUCTION_CLASSES,
    ClassParameter,
    ObstructionClasses,
    classify,
)


def test_default_limits_are_marked_unverified() -> None:
    assert DEFAULT_OBSTRUCTION_CLASSES.source.startswith("UNVERIFIED")
    assert len(DEFAULT_OBSTRUCTION_CLASSES.labels) == 5


@pytest.mark.parametrize(("value", "index"), [(-1.0, 0), (-0.30, 1), (-0.2, 1), (0.0, 2), (0.1, 3), (0.39, 3), (0.4, 4)])
def test_lower_limit_is_inclusive(value: float, index: int) -> None:
    assert classify(value, DEFAULT_OBSTRUCTION_CLASSES).index == index


def test_from_mapping() -> None:
    classes = ObstructionClasses.from_mapping({"parameter": "lreff", "limits": [0, 1], "labels": ["a", "b", "c"],
                                               "source": "test"})
    assert classes.parameter is ClassParameter.LREFF and classes.limits == (0.0, 1.0)
    result = classify(0.5, classes)
    assert (result.label, result.parameter, result.source) == ("b", ClassParameter.LREFF, "test")


@pytest.mark.parametrize(("values", "message"), [
    (dict(parameter="lvr", limits=[0], labels=["a"], source="s"), "1 limits need 2 non-empty labels, not 1"),
    (dict(parameter="lvr", limits=[1, 0], labels=["a", "b", "c"], source="s"), "strictly ascending"),
    (dict(parameter="lvr", limits=[float("nan")], labels=["a", "b"], source="s"), "must be finite"),
    (dict(parameter="r150", limits=[0], labels=["a", "b"], source="s"), "parameter 'r150' is unknown"),
    (dict(parameter="lvr", limits=[0], labels=["a", "b"], source=" "), "say where the limits come from"),
    (dict(parameter="lvr", limits=[0]), "lacks labels, source"),
])
def test_refusals(values: dict, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ObstructionClasses.from_mapping(values)
