"""The least-squares grid study: known orders and limits recovered, scatter and bad orders made honest."""

from __future__ import annotations

import numpy as np
import pytest

from rhinoapp.analysis.grid_convergence import FitKind, Weighting, fit_expansion, grid_uncertainty
from rhinoapp.core.errors import RhinoappError, ValidationError

SPACINGS = [1.0, 0.8, 0.64, 0.512, 0.4096, 0.32768]


@pytest.mark.parametrize("order", [0.7, 1.0, 1.5, 2.0])
def test_a_smooth_series_gives_back_its_order_and_limit(order: float) -> None:
    values = [6.5 + 3.0 * h**order for h in SPACINGS]
    study = grid_uncertainty(values, SPACINGS)
    assert study.fit.kind is FitKind.FREE_ORDER and study.order_trusted
    assert study.observed_order == pytest.approx(order, rel=1e-4)
    assert study.extrapolated == pytest.approx(6.5, abs=1e-4)
    assert study.safety_factor == 1.25
    # the uncertainty of each grid is the safety factor times its error (the fit has no scatter)
    for h, u in zip(study.spacings, study.uncertainties):
        assert u == pytest.approx(1.25 * 3.0 * h**order, rel=1e-3, abs=1e-6)


def test_the_uncertainty_covers_the_true_error_of_a_noisy_series() -> None:
    rng = np.random.default_rng(7)
    covered = 0
    for _ in range(50):
        noise = rng.normal(0.0, 0.01, len(SPACINGS))
        values = [6.5 * (1 + 0.4 * h**2 + e) for h, e in zip(SPACINGS, noise)]
        study = grid_uncertainty(values, SPACINGS)
        covered += abs(study.finest_value - 6.5) <= study.finest_uncertainty
    assert covered >= 48   # an uncertainty meant as a 95 % band


def test_an_order_beyond_second_falls_back_to_fixed_orders_with_the_larger_safety_factor() -> None:
    values = [4.0 + 5.0 * h**3.5 for h in SPACINGS]
    study = grid_uncertainty(values, SPACINGS)
    assert study.observed_order == pytest.approx(3.5, rel=1e-3)
    assert not study.order_trusted
    assert study.fit.kind is FitKind.SECOND_ORDER
    assert study.safety_factor == 3.0
    assert study.finest_uncertainty >= abs(study.finest_value - 4.0)


def test_scatter_larger_than_the_trend_inflates_the_uncertainty() -> None:
    # a lattice series that wobbles by more than it converges (neighbouring spacings cut the walls differently)
    values = [9.0, 8.2, 9.1, 8.3, 8.9, 8.2]
    study = grid_uncertainty(values, SPACINGS)
    summary = study.as_dict()
    assert summary["scatter_exceeds_range"] is True
    assert study.safety_factor == 3.0
    assert study.finest_uncertainty > max(values) - min(values)


def test_the_finer_grids_count_more_when_they_scatter_less() -> None:
    # the coarsest grid is off the trend; weighting by 1/h fits the fine grids more closely
    values = [7.0 + 2.0 * h for h in SPACINGS]
    values[0] += 0.6
    equal = fit_expansion(values, SPACINGS, FitKind.FIRST_ORDER, weighting=Weighting.EQUAL)
    weighted = fit_expansion(values, SPACINGS, FitKind.FIRST_ORDER, weighting=Weighting.INVERSE_SPACING)
    assert abs(weighted.extrapolated - 7.0) < abs(equal.extrapolated - 7.0)
    assert grid_uncertainty(values, SPACINGS).fit.weighting is Weighting.INVERSE_SPACING


def test_the_fit_of_a_first_and_second_order_expansion() -> None:
    values = [2.0 + 0.5 * h - 0.8 * h**2 for h in SPACINGS]
    fit = fit_expansion(values, SPACINGS, FitKind.FIRST_AND_SECOND)
    assert fit.extrapolated == pytest.approx(2.0)
    assert fit.coefficients == pytest.approx((0.5, -0.8))
    assert fit.value_at(0.3) == pytest.approx(2.0 + 0.15 - 0.072)


@pytest.mark.parametrize(("values", "spacings", "needle"), [
    ([1.0, 2.0, 3.0], [1.0, 0.5, 0.25], "at least four"),
    ([1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 0.5, 0.25], "at least four"),
    ([1.0, 2.0, 3.0, 4.0], [1.0, 0.5, 0.0, 0.25], "positive"),
    ([1.0, float("nan"), 3.0, 4.0], [1.0, 0.8, 0.5, 0.25], "diverged"),
    ([1.0, 2.0, 3.0], [1.0, 0.8, 0.5, 0.25], "one value per grid"),
])
def test_bad_series_are_refused_with_what_to_do(values: list[float], spacings: list[float], needle: str) -> None:
    with pytest.raises(ValidationError, match=needle) as caught:
        grid_uncertainty(values, spacings)
    assert isinstance(caught.value, RhinoappError) and isinstance(caught.value, ValueError)
