"""Rohrer's law of nasal resistance, its inverse, and its least-squares fit.

Rohrer's law relates the pressure difference to the flow through a conduit as
``dP = K1*V + K2*V*|V|`` (``V*|V|`` keeps the law sign-symmetric for expiration). The air
column adds an inertial term ``L*dV/dt``; it is zero at steady flow and makes a breath's
pressure-flow curve a loop. Units: K1 in Pa·s/ml, K2 in Pa·s²/ml², L in Pa·s²/ml.

Examples
--------
>>> round(float(rohrer_pressure(300.0, k1=0.2, k2=0.001)), 6)
150.0
>>> round(float(rohrer_flow(150.0, k1=0.2, k2=0.001)), 6)
300.0
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from numpy.typing import ArrayLike

from rhinoapp.core.errors import ValidationError

__all__ = ["RohrerFit", "check_coefficients", "fit_rohrer", "rohrer_flow", "rohrer_pressure"]


def check_coefficients(k1: float, k2: float, inertance: float = 0.0) -> None:
    """Raise :class:`ValidationError` unless K1, K2 and L are finite, non-negative and K1+K2 > 0.

    Examples
    --------
    >>> check_coefficients(0.0, 0.0)
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ValidationError: Rohrer coefficients K1 and K2 are both zero; at least one must be positive for a resistance.
    """
    for name, value in (("K1", k1), ("K2", k2), ("inertance L", inertance)):
        if not math.isfinite(value) or value < 0:
            raise ValidationError(f"Rohrer coefficient {name} must be a finite number >= 0, not {value!r}.")
    if k1 == 0 and k2 == 0:
        raise ValidationError(
            "Rohrer coefficients K1 and K2 are both zero; at least one must be positive for a resistance."
        )


def rohrer_pressure(flow_ml_s: ArrayLike, *, k1: float, k2: float) -> np.ndarray:
    """Pressure difference [Pa] of Rohrer's law at the given flow [ml/s] (steady flow)."""
    v = np.asarray(flow_ml_s, dtype=float)
    result: np.ndarray = k1 * v + k2 * v * np.abs(v)
    return result


def rohrer_flow(dp_pa: ArrayLike, *, k1: float, k2: float) -> np.ndarray:
    """Flow [ml/s] at which Rohrer's law gives ``dp_pa``: the root of ``K2*V^2 + K1*V = |dP|``.

    Uses ``V = 2|dP| / (K1 + sqrt(K1^2 + 4*K2*|dP|))``, which stays exact when K2 is zero,
    with the sign of ``dp_pa``.

    Examples
    --------
    >>> float(rohrer_flow(-50.0, k1=0.5, k2=0.0))
    -100.0
    """
    check_coefficients(k1, k2)
    p = np.asarray(dp_pa, dtype=float)
    denominator = k1 + np.sqrt(k1 * k1 + 4.0 * k2 * np.abs(p))
    safe = np.where(denominator > 0, denominator, 1.0)  # zero only at dP = 0 when K1 = 0
    magnitude = np.where(denominator > 0, 2.0 * np.abs(p) / safe, 0.0)
    result: np.ndarray = np.sign(p) * magnitude
    return result


@dataclasses.dataclass(frozen=True)
class RohrerFit:
    """Result of :func:`fit_rohrer`.

    ``inertance`` is None when the fit did not estimate it. ``rms_residual_pa`` is the root
    mean square of the pressure residuals, ``r_squared`` the coefficient of determination.
    """

    k1: float
    k2: float
    inertance: float | None
    rms_residual_pa: float
    r_squared: float
    n_samples: int

    def resistance_at(self, dp_pa: float) -> float:
        """Steady-flow resistance dP/V [Pa·s/ml] of the fitted law at ``dp_pa``.

        Examples
        --------
        >>> RohrerFit(0.2, 0.001, None, 0.0, 1.0, 100).resistance_at(150.0)
        0.5
        """
        flow = float(rohrer_flow(dp_pa, k1=max(self.k1, 0.0), k2=max(self.k2, 0.0)))
        return dp_pa / flow


def fit_rohrer(
    dp_pa: ArrayLike, flow_ml_s: ArrayLike, dflow_dt: ArrayLike | None = None, *, non_negative: bool = False
) -> RohrerFit:
    """Fit ``dP = K1*V + K2*V*|V| (+ L*dV/dt)`` by linear least squares (``numpy.linalg.lstsq``).

    With ``dflow_dt`` the inertance L is estimated together with K1 and K2, so the loop's
    hysteresis does not bias them. Without it the inertial term is left in the residual: over
    whole breaths it averages out to first order but widens the residual. Samples where any
    input is NaN are skipped.

    Parameters
    ----------
    dp_pa, flow_ml_s
        Pressure difference [Pa] and flow [ml/s], same length, inspiration positive.
    dflow_dt
        Time derivative of the flow [ml/s^2] at the same samples, or None.
    non_negative
        Keep every coefficient at zero or above (``scipy.optimize.nnls``), as the law's terms are resistances:
        a curve that steepens faster than ``V*|V|`` (as a simulation's can towards its highest flows) then
        gets ``K1 = 0`` and the best ``K2``, not a negative ``K1`` that no airway has.

    Examples
    --------
    >>> v = np.linspace(-400, 400, 81)
    >>> fit = fit_rohrer(0.3 * v + 0.0008 * v * np.abs(v), v)
    >>> round(fit.k1, 6), round(fit.k2, 8), fit.inertance
    (0.3, 0.0008, None)
    >>> steeper = np.array([75.0, 150.0, 250.0, 400.0])
    >>> round(fit_rohrer(2.5e-4 * steeper**2.1, steeper).k1, 4), fit_rohrer(2.5e-4 * steeper**2.1, steeper,
    ...                                                               non_negative=True).k1
    (-0.0109, 0.0)
    """
    dp = np.asarray(dp_pa, dtype=float)
    v = np.asarray(flow_ml_s, dtype=float)
    columns = [v, v * np.abs(v)]
    if dflow_dt is not None:
        columns.append(np.asarray(dflow_dt, dtype=float))
    if any(c.shape != dp.shape for c in columns) or dp.ndim != 1:
        raise ValidationError("fit_rohrer needs one-dimensional pressure, flow and derivative of equal length.")
    design = np.column_stack(columns)
    keep = np.isfinite(dp) & np.all(np.isfinite(design), axis=1)
    design, dp = design[keep], dp[keep]
    if len(dp) < 2 * design.shape[1]:
        raise ValidationError(
            f"The Rohrer fit needs at least {2 * design.shape[1]} valid samples, not {len(dp)};"
            " record at least one complete breath."
        )
    coefficients, _, rank, _ = np.linalg.lstsq(design, dp, rcond=None)
    if rank < design.shape[1]:
        raise ValidationError(
            "The Rohrer fit is undetermined: flow (and its derivative) do not vary enough;"
            " record complete breaths with a range of flows."
        )
    if non_negative and np.any(coefficients < 0):
        from scipy.optimize import nnls

        coefficients = nnls(design, dp)[0]
    residual = dp - design @ coefficients
    total = float(np.sum((dp - dp.mean()) ** 2))
    return RohrerFit(
        k1=float(coefficients[0]),
        k2=float(coefficients[1]),
        inertance=float(coefficients[2]) if dflow_dt is not None else None,
        rms_residual_pa=float(np.sqrt(np.mean(residual**2))),
        r_squared=1.0 - float(np.sum(residual**2)) / total if total > 0 else 1.0,
        n_samples=int(len(dp)),
    )
