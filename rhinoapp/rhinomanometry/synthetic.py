"""Synthetic 4PR measurements with exactly known parameters, for the demo and the tests.

There is no public 4PR sample data, so the generator drives Rohrer's law with an inertial
term by a sinusoidal breathing flow (domain notes: period 3-5 s, peak 200-600 ml/s per side):

``V(t) = A * sin(2*pi*t/T + phi0)`` with ``A`` the peak flow during inspiration and
``A * expiration_scale`` during expiration, and ``dP = K1*V + K2*V*|V| + L*dV/dt`` with the
analytic derivative. Gaussian noise (seeded :class:`numpy.random.Generator`), NaN dropouts,
an inverted sign convention and a start in the middle of a breath are optional. The returned
:class:`SyntheticTruth` holds the exact inputs and the true phase boundaries.

Examples
--------
>>> synth = generate(duration_s=8.0, seed=1)
>>> [s.letter for s in synth.measurement.sides]
['L', 'R']
>>> round(synth.truth.side(Side.LEFT).resistance_at(150.0), 4)
0.45
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np

from rhinoapp.core.errors import ValidationError
from rhinoapp.rhinomanometry.model import Measurement, Metadata, Phase, Recording, Side, SignConvention
from rhinoapp.rhinomanometry.rohrer import check_coefficients, rohrer_flow, rohrer_pressure

__all__ = [
    "DEFAULT_LEFT",
    "DEFAULT_RIGHT",
    "SyntheticMeasurement",
    "SyntheticSide",
    "SyntheticTruth",
    "generate",
]

_PHASE_ORDER = tuple(Phase)


@dataclasses.dataclass(frozen=True)
class SyntheticSide:
    """Rohrer coefficients, inertance and peak inspiratory flow of one synthetic side.

    Units: ``k1`` Pa·s/ml, ``k2`` Pa·s²/ml², ``inertance`` Pa·s²/ml, ``peak_flow_ml_s`` ml/s.

    Examples
    --------
    >>> round(SyntheticSide(k1=0.2, k2=0.001).flow_at(150.0), 6)
    300.0
    """

    k1: float = 0.25
    k2: float = 0.0006
    inertance: float = 0.01
    peak_flow_ml_s: float = 450.0

    def __post_init__(self) -> None:
        check_coefficients(self.k1, self.k2, self.inertance)
        if not math.isfinite(self.peak_flow_ml_s) or self.peak_flow_ml_s <= 0:
            raise ValidationError(f"peak_flow_ml_s must be a positive flow in ml/s, not {self.peak_flow_ml_s!r}.")

    def flow_at(self, dp_pa: float) -> float:
        """Steady-flow (Rohrer) flow [ml/s] at ``dp_pa``: the analytic root of the quadratic."""
        return float(rohrer_flow(dp_pa, k1=self.k1, k2=self.k2))

    def resistance_at(self, dp_pa: float) -> float:
        """Analytic resistance ``dP / V(dP)`` [Pa·s/ml], for example R150 at 150 Pa."""
        return dp_pa / self.flow_at(dp_pa)

    @property
    def peak_pressure_pa(self) -> float:
        """Pressure of Rohrer's law at the peak inspiratory flow (the loop's vertex)."""
        return float(rohrer_pressure(self.peak_flow_ml_s, k1=self.k1, k2=self.k2))


DEFAULT_LEFT = SyntheticSide(k1=0.25, k2=0.0006, inertance=0.01, peak_flow_ml_s=450.0)
DEFAULT_RIGHT = SyntheticSide(k1=0.35, k2=0.0009, inertance=0.012, peak_flow_ml_s=350.0)


@dataclasses.dataclass(frozen=True)
class SyntheticTruth:
    """The exact inputs of :func:`generate` and what follows from them.

    ``dropouts`` lists ``(side, start, stop)`` sample ranges set to NaN (stop exclusive).
    """

    sides: tuple[tuple[Side, SyntheticSide], ...]
    period_s: float
    duration_s: float
    sample_rate_hz: float
    start_phase_rad: float
    expiration_scale: float
    noise_pa: float
    noise_ml_s: float
    seed: int | None
    inspiration_sign: SignConvention
    dropouts: tuple[tuple[Side, int, int], ...]

    def side(self, side: Side) -> SyntheticSide:
        """Parameters of ``side``; :class:`KeyError` when that side was not generated."""
        return dict(self.sides)[side]

    def _angle(self, t_s: np.ndarray) -> np.ndarray:
        return 2.0 * math.pi * np.asarray(t_s, dtype=float) / self.period_s + self.start_phase_rad

    def flow(self, side: Side, t_s: np.ndarray) -> np.ndarray:
        """Noise-free flow [ml/s], inspiration positive."""
        s = np.sin(self._angle(t_s))
        result: np.ndarray = self.side(side).peak_flow_ml_s * s * np.where(s >= 0, 1.0, self.expiration_scale)
        return result

    def dflow_dt(self, side: Side, t_s: np.ndarray) -> np.ndarray:
        """Analytic time derivative of :meth:`flow` [ml/s^2]."""
        angle = self._angle(t_s)
        amplitude = self.side(side).peak_flow_ml_s * np.where(np.sin(angle) >= 0, 1.0, self.expiration_scale)
        result: np.ndarray = amplitude * (2.0 * math.pi / self.period_s) * np.cos(angle)
        return result

    def pressure(self, side: Side, t_s: np.ndarray) -> np.ndarray:
        """Noise-free pressure difference [Pa]: Rohrer's law plus the inertial term."""
        p = self.side(side)
        return rohrer_pressure(self.flow(side, t_s), k1=p.k1, k2=p.k2) + p.inertance * self.dflow_dt(side, t_s)

    def phase_starts(self) -> tuple[tuple[float, Phase], ...]:
        """Exact start times [s] of every phase inside the recording, with the phase.

        Phases start where the flow crosses zero (inspiration/expiration) and where it peaks
        (accelerating/decelerating): at the angles ``k*pi/2``.

        Examples
        --------
        >>> truth = generate(duration_s=4.0, right=None).truth
        >>> [(t, p.value) for t, p in truth.phase_starts()][:2]
        [(0.0, 'accelerating inspiration'), (1.0, 'decelerating inspiration')]
        """
        first = math.ceil((self.start_phase_rad / (math.pi / 2.0)) - 1e-12)
        starts = []
        k = first
        while (t := (k * math.pi / 2.0 - self.start_phase_rad) * self.period_s / (2.0 * math.pi)) <= self.duration_s:
            if t >= 0:
                starts.append((round(t, 12), _PHASE_ORDER[k % 4]))
            k += 1
        return tuple(starts)


@dataclasses.dataclass(frozen=True)
class SyntheticMeasurement:
    """A generated measurement and the truth it was made from."""

    measurement: Measurement
    truth: SyntheticTruth


def generate(
    *,
    left: SyntheticSide | None = DEFAULT_LEFT,
    right: SyntheticSide | None = DEFAULT_RIGHT,
    period_s: float = 4.0,
    duration_s: float = 20.5,
    sample_rate_hz: float = 100.0,
    start_phase_rad: float = 0.0,
    expiration_scale: float = 1.0,
    noise_pa: float = 0.0,
    noise_ml_s: float = 0.0,
    seed: int | None = None,
    dropouts: int = 0,
    dropout_s: float = 0.05,
    inspiration_sign: SignConvention = SignConvention.INSPIRATION_POSITIVE,
    device: str = "rhinoapp synthetic generator",
    date: dt.date | None = None,
    decongested: bool | None = False,
) -> SyntheticMeasurement:
    """Generate a 4PR measurement of one or both sides with known parameters.

    Parameters
    ----------
    left, right
        Parameters of each side, or None to leave that side out (at least one is needed).
    period_s, duration_s, sample_rate_hz
        Breathing period, recording length and sampling rate; samples lie at ``k / rate``.
    start_phase_rad
        Breathing phase at ``t = 0``: 0 starts at the onset of inspiration, ``pi/3`` in the
        middle of the accelerating inspiration.
    expiration_scale
        Peak expiratory flow as a fraction of the peak inspiratory flow.
    noise_pa, noise_ml_s
        Standard deviations of Gaussian noise added to pressure and flow.
    seed
        Seed of the :class:`numpy.random.Generator` for noise and dropouts.
    dropouts, dropout_s
        Number of NaN gaps per side and the length of each (both signals).
    inspiration_sign
        Sign convention of the output; ``negative`` flips both signals.

    Examples
    --------
    >>> synth = generate(right=None, inspiration_sign=SignConvention.INSPIRATION_NEGATIVE)
    >>> rec = synth.measurement.recording(Side.LEFT)
    >>> bool(rec.flow_ml_s[50] < 0), synth.measurement.metadata.inspiration_sign.value
    (True, 'negative')
    """
    chosen = tuple((side, p) for side, p in ((Side.LEFT, left), (Side.RIGHT, right)) if p is not None)
    if not chosen:
        raise ValidationError("Generate at least one side: give left or right parameters.")
    for name, value in (("period_s", period_s), ("duration_s", duration_s), ("sample_rate_hz", sample_rate_hz),
                        ("expiration_scale", expiration_scale)):
        if not math.isfinite(value) or value <= 0:
            raise ValidationError(f"{name} must be a positive number, not {value!r}.")
    if noise_pa < 0 or noise_ml_s < 0 or dropouts < 0 or dropout_s <= 0:
        raise ValidationError("Noise levels and the number of dropouts must be >= 0, dropout_s > 0.")
    sign = SignConvention.parse(inspiration_sign)
    rng = np.random.default_rng(seed)
    n = int(math.floor(duration_s * sample_rate_hz + 1e-9)) + 1
    t = np.arange(n) / sample_rate_hz
    gap = max(1, int(round(dropout_s * sample_rate_hz)))
    truth = SyntheticTruth(chosen, float(period_s), float(duration_s), float(sample_rate_hz), float(start_phase_rad),
                           float(expiration_scale), float(noise_pa), float(noise_ml_s), seed, sign, ())
    recordings, gaps = [], []
    for side, _ in chosen:
        flow = truth.flow(side, t)
        dp = truth.pressure(side, t)
        if noise_pa > 0:
            dp = dp + rng.normal(0.0, noise_pa, n)
        if noise_ml_s > 0:
            flow = flow + rng.normal(0.0, noise_ml_s, n)
        for _ in range(dropouts):
            start = int(rng.integers(1, max(2, n - gap - 1)))
            dp[start:start + gap] = np.nan
            flow[start:start + gap] = np.nan
            gaps.append((side, start, min(n, start + gap)))
        factor = -1.0 if sign is SignConvention.INSPIRATION_NEGATIVE else 1.0
        recordings.append(Recording(side, t, factor * dp, factor * flow))
    metadata = Metadata(device=device, date=date, decongested=decongested, sample_rate_hz=float(sample_rate_hz),
                        inspiration_sign=sign)
    return SyntheticMeasurement(Measurement(metadata, tuple(recordings)),
                                dataclasses.replace(truth, dropouts=tuple(gaps)))
