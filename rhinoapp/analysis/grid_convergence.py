"""Grid convergence from any number of resolutions: least-squares order, estimate and uncertainty.

Three grids in a constant ratio give an observed order and a Richardson estimate, but only when
the three values fall smoothly. A lattice on a voxelised airway rarely obliges: each spacing cuts
the narrow passages differently, so neighbouring spacings scatter by a few per cent and the
differences of a three-grid study change sign. The established answer (Eça and Hoekstra, J.
Comput. Phys. 262 (2014) 104-130) fits the error expansion to *all* the grids by least squares
and turns the fit's scatter into part of the uncertainty. :func:`grid_uncertainty` follows that
procedure:

1. Fit ``f(h) = f0 + a h^p`` with the order ``p`` free, once with equal weights and once with
   weights proportional to ``1/h`` (the finer grids count more); keep the weighting whose fit
   scatters less (standard deviation ``sigma``).
2. If the order is outside ``[0.5, 2.1)`` it cannot be trusted. Above 2.1 it claims more than a
   second-order method gives: fit ``f0 + a h^2`` instead. Below 0.5 the fit is mostly noise: fit
   ``f0 + a h``, ``f0 + a h^2`` and ``f0 + a h + b h^2`` and keep the one with the least scatter.
3. The error of grid ``i`` is ``eps_i = |fit(h_i) - f0|``; the data range is
   ``D = (max f - min f) / (n - 1)``. When ``sigma < D`` the uncertainty is
   ``U_i = Fs eps_i + sigma + |f_i - fit(h_i)|`` with the safety factor ``Fs = 1.25`` for a
   trusted order and 3 otherwise; when the scatter exceeds the range,
   ``U_i = 3 sigma / D (eps_i + sigma + |f_i - fit(h_i)|)``.

The result says what the finest grid's figure is worth (``value +- U``) and where the fits put the
grid-independent value (``f0``), with the observed order. Pure: values in, values out.

Examples
--------
>>> h = [1.0, 0.8, 0.64, 0.512, 0.4096]
>>> study = grid_uncertainty([5.0 + 2.0 * x**1.5 for x in h], h)
>>> study.fit.kind.value, round(study.observed_order, 3), round(study.extrapolated, 4)
('free order', 1.5, 5.0)
>>> round(study.finest_uncertainty, 3), round(1.25 * 2.0 * 0.4096**1.5, 3)   # Fs * error on the finest grid
(0.655, 0.655)
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

from rhinoapp.core.errors import ValidationError

__all__ = ["FitKind", "GridFit", "GridUncertainty", "Weighting", "fit_expansion", "grid_uncertainty"]

#: Orders a free fit is trusted with, ``[low, high)`` (Eça and Hoekstra 2014).
TRUSTED_ORDERS = (0.5, 2.1)
#: Safety factors for a trusted and for an untrusted order or a scattered fit.
SAFETY_FACTORS = (1.25, 3.0)
_ORDER_SEARCH = (0.01, 10.0)


class FitKind(enum.Enum):
    """The error expansions fitted to the grids' values."""

    FREE_ORDER = "free order"
    FIRST_ORDER = "first order"
    SECOND_ORDER = "second order"
    FIRST_AND_SECOND = "first and second order"


class Weighting(enum.Enum):
    """How the grids count in a fit: all alike, or in proportion to ``1/h``."""

    EQUAL = "equal"
    INVERSE_SPACING = "1/h"


@dataclasses.dataclass(frozen=True)
class GridFit:
    """One least-squares fit ``f(h) = f0 + sum(c_k h^q_k)``: its orders, coefficients and scatter."""

    kind: FitKind
    weighting: Weighting
    extrapolated: float
    orders: tuple[float, ...]
    coefficients: tuple[float, ...]
    standard_deviation: float

    def value_at(self, spacing: float) -> float:
        """The fitted value at the spacing ``spacing``.

        Examples
        --------
        >>> fit = GridFit(FitKind.SECOND_ORDER, Weighting.EQUAL, 1.0, (2.0,), (3.0,), 0.0)
        >>> fit.value_at(0.5)
        1.75
        """
        return float(self.extrapolated + sum(c * spacing**q for c, q in zip(self.coefficients, self.orders)))


@dataclasses.dataclass(frozen=True)
class GridUncertainty:
    """What a grid study says: the chosen fit, the observed order and each grid's uncertainty."""

    spacings: tuple[float, ...]
    values: tuple[float, ...]
    fit: GridFit
    observed_order: float
    order_trusted: bool
    data_range: float
    safety_factor: float
    uncertainties: tuple[float, ...]

    @property
    def extrapolated(self) -> float:
        """The fit's grid-independent value ``f0``."""
        return self.fit.extrapolated

    @property
    def finest_value(self) -> float:
        """The value on the finest grid."""
        return self.values[int(np.argmin(self.spacings))]

    @property
    def finest_uncertainty(self) -> float:
        """The numerical uncertainty ``U`` of the finest grid's value."""
        return self.uncertainties[int(np.argmin(self.spacings))]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        fit = self.fit
        return {"spacings": list(self.spacings), "values": list(self.values), "fit": fit.kind.value,
                "weighting": fit.weighting.value, "orders": list(fit.orders), "coefficients": list(fit.coefficients),
                "extrapolated": fit.extrapolated, "standard_deviation": fit.standard_deviation,
                "observed_order": self.observed_order, "order_trusted": self.order_trusted,
                "data_range": self.data_range, "safety_factor": self.safety_factor,
                "uncertainties": list(self.uncertainties), "finest_value": self.finest_value,
                "finest_uncertainty": self.finest_uncertainty,
                "scatter_exceeds_range": fit.standard_deviation >= self.data_range}


def _weights(spacings: np.ndarray, weighting: Weighting) -> np.ndarray:
    raw = np.ones_like(spacings) if weighting is Weighting.EQUAL else 1.0 / spacings
    weights: np.ndarray = raw / raw.sum()
    return weights


def _linear_fit(spacings: np.ndarray, values: np.ndarray, weights: np.ndarray,
                orders: Sequence[float]) -> tuple[np.ndarray, float]:
    """Weighted least squares of ``f0 + sum(c_k h^q_k)``: coefficients and the weighted sum of squares."""
    design = np.column_stack([np.ones_like(spacings)] + [spacings**q for q in orders])
    root = np.sqrt(weights)
    coefficients = np.linalg.lstsq(design * root[:, None], values * root, rcond=None)[0]
    residuals = values - design @ coefficients
    return coefficients, float(np.sum(weights * residuals**2))


def fit_expansion(values: Sequence[float], spacings: Sequence[float], kind: FitKind, *,
                  weighting: Weighting = Weighting.EQUAL) -> GridFit:
    """Fit one error expansion to the grids' values by (weighted) least squares.

    Parameters
    ----------
    values, spacings
        The figure on each grid and the grid's spacing (any unit, any order).
    kind
        The expansion; :attr:`FitKind.FREE_ORDER` also fits the order ``p`` (searched in 0.01-10).
    weighting
        Equal weights, or weights proportional to ``1/h``.

    Examples
    --------
    >>> fit = fit_expansion([3.0 + 0.5 * h for h in (1.0, 0.5, 0.25)], [1.0, 0.5, 0.25], FitKind.FIRST_ORDER)
    >>> round(fit.extrapolated, 6), round(fit.coefficients[0], 6), round(fit.standard_deviation, 9)
    (3.0, 0.5, 0.0)
    """
    h = np.asarray(spacings, dtype=float)
    f = np.asarray(values, dtype=float)
    w = _weights(h, weighting)
    if kind is FitKind.FREE_ORDER:
        grid = np.geomspace(*_ORDER_SEARCH, 200)
        best = int(np.argmin([_linear_fit(h, f, w, [p])[1] for p in grid]))
        bounds = (grid[max(best - 1, 0)], grid[min(best + 1, grid.size - 1)])
        search = minimize_scalar(lambda p: _linear_fit(h, f, w, [p])[1], bounds=bounds, method="bounded",
                                 options={"xatol": 1e-10})
        orders: tuple[float, ...] = (float(search.x),)
    else:
        orders = {FitKind.FIRST_ORDER: (1.0,), FitKind.SECOND_ORDER: (2.0,), FitKind.FIRST_AND_SECOND: (1.0, 2.0)}[kind]
    coefficients, squares = _linear_fit(h, f, w, orders)
    parameters = len(coefficients) + (1 if kind is FitKind.FREE_ORDER else 0)  # f0, the c_k, and p if fitted
    freedom = max(h.size - parameters, 1)
    sigma = math.sqrt(h.size * squares / freedom)
    return GridFit(kind, weighting, float(coefficients[0]), orders, tuple(float(c) for c in coefficients[1:]), sigma)


def _check(values: Sequence[float], spacings: Sequence[float]) -> None:
    if len(values) != len(spacings):
        raise ValidationError(f"{len(values)} values for {len(spacings)} spacings; give one value per grid")
    if any(not math.isfinite(v) for v in values):
        raise ValidationError("a value is not finite (a diverged run?); leave that grid out or rerun it")
    if any(not (math.isfinite(h) and h > 0) for h in spacings):
        raise ValidationError("every spacing must be a positive number; check the grids' spacings")
    if len(set(spacings)) < 4:
        raise ValidationError(f"{len(set(spacings))} distinct spacings; a least-squares grid study needs at least four "
                              "(for three in a constant ratio use the classic Richardson estimate)")


def _best_fit(values: Sequence[float], spacings: Sequence[float], weighting: Weighting) -> tuple[GridFit, float]:
    """The fit one weighting leads to, and the free fit's order."""
    free = fit_expansion(values, spacings, FitKind.FREE_ORDER, weighting=weighting)
    order = free.orders[0]
    if TRUSTED_ORDERS[0] <= order < TRUSTED_ORDERS[1]:
        return free, order
    if order >= TRUSTED_ORDERS[1]:
        return fit_expansion(values, spacings, FitKind.SECOND_ORDER, weighting=weighting), order
    fixed = [fit_expansion(values, spacings, kind, weighting=weighting)
             for kind in (FitKind.FIRST_ORDER, FitKind.SECOND_ORDER, FitKind.FIRST_AND_SECOND)]
    return min(fixed, key=lambda fit: fit.standard_deviation), order


def grid_uncertainty(values: Sequence[float], spacings: Sequence[float]) -> GridUncertainty:
    """The least-squares grid study of four or more grids (Eça and Hoekstra 2014).

    Parameters
    ----------
    values, spacings
        The figure on each grid and the grid's spacing, at least four distinct spacings.

    Raises
    ------
    ValidationError
        Fewer than four distinct spacings, a spacing that is not positive, or a value that is not finite.

    Examples
    --------
    >>> h = [1.0, 0.8, 0.64, 0.512, 0.41, 0.33]
    >>> wobble = [0.05, -0.05, 0.05, -0.05, 0.05, -0.05]
    >>> study = grid_uncertainty([8.0 + 2.0 * x + d for x, d in zip(h, wobble)], h)
    >>> 7.5 < study.extrapolated < 8.5, study.finest_uncertainty > abs(study.finest_value - 8.0)
    (True, True)
    >>> grid_uncertainty([1.0, 2.0, 3.0], [1.0, 0.5, 0.25])
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ValidationError: 3 distinct spacings; a least-squares grid study needs at least four (for three in a constant ratio use the classic Richardson estimate)
    """
    _check(values, spacings)
    candidates = [_best_fit(values, spacings, weighting) for weighting in Weighting]
    fit, order = min(candidates, key=lambda pair: pair[0].standard_deviation)
    h = np.asarray(spacings, dtype=float)
    f = np.asarray(values, dtype=float)
    data_range = float(f.max() - f.min()) / (f.size - 1)
    sigma = fit.standard_deviation
    trusted = fit.kind is FitKind.FREE_ORDER
    scattered = sigma >= data_range
    safety = SAFETY_FACTORS[0] if trusted and not scattered else SAFETY_FACTORS[1]
    fitted = np.array([fit.value_at(x) for x in h])
    error = np.abs(fitted - fit.extrapolated)
    misfit = np.abs(f - fitted)
    if scattered:
        uncertainty = SAFETY_FACTORS[1] * sigma / max(data_range, 1e-300) * (error + sigma + misfit)
    else:
        uncertainty = safety * error + sigma + misfit
    return GridUncertainty(tuple(float(x) for x in h), tuple(float(v) for v in f), fit, float(order), trusted,
                           data_range, safety, tuple(float(u) for u in uncertainty))
