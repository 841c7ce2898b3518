"""Rohrer's law, its inverse and the least-squares fit."""

from __future__ import annotations

import numpy as np
import pytest

from rhinoapp.core.errors import ValidationError
from rhinoapp.rhinomanometry.rohrer import RohrerFit, fit_rohrer, rohrer_flow, rohrer_pressure


@pytest.mark.parametrize(("k1", "k2"), [(0.25, 0.0006), (0.5, 0.0), (0.0, 0.001)])
def test_inverse_is_exact_and_sign_symmetric(k1: float, k2: float) -> None:
    v = np.linspace(-600, 600, 121)
    np.testing.assert_allclose(rohrer_flow(rohrer_pressure(v, k1=k1, k2=k2), k1=k1, k2=k2), v, rtol=1e-12, atol=1e-9)


def test_fit_recovers_all_three_coefficients_exactly() -> None:
    t = np.linspace(0, 8, 801)
    v = 400 * np.sin(2 * np.pi * t / 4)
    dv = 400 * np.pi / 2 * np.cos(2 * np.pi * t / 4)
    dp = 0.3 * v + 0.0007 * v * np.abs(v) + 0.02 * dv
    fit = fit_rohrer(dp, v, dv)
    assert (fit.k1, fit.k2, fit.inertance) == pytest.approx((0.3, 0.0007, 0.02), rel=1e-9)
    assert fit.rms_residual_pa < 1e-9 and fit.r_squared == pytest.approx(1.0) and fit.n_samples == 801


def test_fit_skips_nan_samples() -> None:
    v = np.linspace(-300, 300, 50)
    dp = 0.2 * v + 0.001 * v * np.abs(v)
    dp[3] = np.nan
    fit = fit_rohrer(dp, v)
    assert fit.n_samples == 49 and fit.k1 == pytest.approx(0.2)


def test_fit_refusals() -> None:
    with pytest.raises(ValidationError, match="needs at least 4 valid samples, not 2"):
        fit_rohrer([1.0, 2.0], [1.0, 2.0])
    with pytest.raises(ValidationError, match="undetermined"):
        fit_rohrer(np.ones(10), np.zeros(10))
    with pytest.raises(ValidationError, match="equal length"):
        fit_rohrer([1.0, 2.0], [1.0, 2.0, 3.0])


def test_resistance_of_a_fit() -> None:
    assert RohrerFit(0.2, 0.001, 0.0, 0.0, 1.0, 10).resistance_at(150.0) == pytest.approx(0.5)
