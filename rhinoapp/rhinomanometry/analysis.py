"""Four-phase rhinomanometry parameters as pure functions of a measurement.

:func:`analyse` normalises the sign convention (inspiration positive), fills short dropouts
and detects breaths and phases as :mod:`rhinoapp.rhinomanometry.breaths` describes, then
computes, per breath and side (units: Pa, ml/s, Pa·s/ml):

* **Per phase** ``dp_max_pa = max|dP|``, ``flow_max_ml_s = max|V|``, vertex resistance
  ``VR = max|dP| / max|V|`` and effective resistance ``Reff = RMS(dP) / RMS(V)`` over the
  phase's samples. Reff is the root-mean-square definition of the Juelich/Aachen group;
  the alternative ``sum(dP)/sum(V)`` is *not* used.
* **Flow at 75 and 150 Pa of a phase** (``flow_at_75``, ``flow_at_150``): ``|V|`` linearly
  interpolated where ``|dP|`` crosses the level on the branch between zero flow and the flow
  peak (first crossing in an accelerating phase, last crossing in a decelerating one), both
  signals smoothed by the ``smooth_s`` moving average so that noise does not bias the crossing.
  When ``|dP|`` stays below the level the value is None with the reason "not reached"; it is
  never extrapolated. ``R75 = 75 Pa / flow_at_75``, ``R150`` likewise.
* **Per breath** ``r75``/``r150`` (inspiration) and ``r75_expiration``/``r150_expiration``
  use the loop's midline: the mean of the flows on the accelerating and the decelerating
  branch at that pressure. The inertial term ``L*dV/dt`` has opposite signs on the two
  branches, so the midline cancels it to first order and approximates the steady-flow
  (Rohrer) resistance; both branches must reach the level. ``flow_at_75``/``flow_at_150``
  are these midline inspiratory flows. ``vr`` (``vr_expiration``) is VR over both
  inspiratory (expiratory) phases, ``reff`` is Reff over the whole breath, ``lvr =
  log10(vr)`` and ``lreff = log10(reff)``.
* **Hysteresis** is the area of the pressure-flow loop, ``|closed integral of dP dV|`` by the
  trapezoidal rule over the breath's samples with the polygon closed [Pa·ml/s]; for a
  sinusoidal flow of peak A and angular frequency w it equals ``pi*L*w*A^2``. The
  inspiratory and expiratory loops are also given separately, each closed along V = 0
  between its two zero crossings (located by linear interpolation).
* **Per side** the mean and sample standard deviation of every per-breath number (a mean of
  logarithms for LVR/LReff), Rohrer's ``K1``, ``K2`` (and inertance ``L``) fitted by least
  squares to all samples of complete breaths (:func:`~rhinoapp.rhinomanometry.rohrer.fit_rohrer`
  with ``dV/dt`` of the smoothed flow; ``estimate_inertance=False`` leaves the inertial term
  in the residual), and the obstruction class of the mean LVR or LReff under the
  :class:`~rhinoapp.rhinomanometry.classification.ObstructionClasses` passed in.
* **Total** resistances of both sides in parallel ``R_T = R_L*R_R/(R_L+R_R)`` of the side
  means, and the flow partition ``V_L/(V_L+V_R)`` at 75 and 150 Pa; None with a reason when
  a side is missing or a value is not reached.

Examples
--------
>>> from rhinoapp.rhinomanometry.synthetic import generate
>>> result = analyse(generate(seed=0).measurement)
>>> left = result.side(Side.LEFT)
>>> len(left.breaths), round(left.mean("r150").value, 3), round(result.total.r150.value, 3)
(4, 0.45, 0.254)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np

from rhinoapp.core.errors import ValidationError
from rhinoapp.rhinomanometry.breaths import (
    BreathSpan,
    PhaseSpan,
    derivative,
    detect_breaths,
    fill_short_gaps,
    moving_average,
    valid_segments,
)
from rhinoapp.rhinomanometry.classification import (
    DEFAULT_OBSTRUCTION_CLASSES,
    ClassParameter,
    ObstructionClasses,
    classify,
)
from rhinoapp.rhinomanometry.model import Measurement, Recording, Side
from rhinoapp.rhinomanometry.results import (
    BREATH_PARAMETERS,
    AnalysisResult,
    BreathResult,
    PhaseResult,
    SideResult,
    Statistic,
    TotalResult,
    Value,
)
from rhinoapp.rhinomanometry.rohrer import fit_rohrer

__all__ = ["analyse", "analyse_side", "loop_area", "parallel_resistance"]

log = logging.getLogger(__name__)


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else math.nan


def _log10(value: float) -> float:
    return math.log10(value) if value > 0 else math.nan


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x * x)))


def loop_area(dp_pa: np.ndarray, flow_ml_s: np.ndarray) -> float:
    """Area ``|closed integral of dP dV|`` of the closed polygon through the samples [Pa·ml/s].

    Examples
    --------
    >>> loop_area(np.array([0.0, 0.0, 1.0, 1.0]), np.array([0.0, 2.0, 2.0, 0.0]))
    2.0
    """
    dp_next, v_next = np.roll(dp_pa, -1), np.roll(flow_ml_s, -1)
    return abs(float(np.sum(0.5 * (dp_pa + dp_next) * (v_next - flow_ml_s))))


def _half_loop_area(dp: np.ndarray, v: np.ndarray, start: int, stop: int) -> float:
    """Loop area of one half-breath, its ends moved onto V = 0 by linear interpolation."""
    p, f = list(dp[start:stop]), list(v[start:stop])
    if start > 0 and v[start - 1] * v[start] < 0:
        w = v[start] / (v[start] - v[start - 1])
        p.insert(0, dp[start] + w * (dp[start - 1] - dp[start]))
        f.insert(0, 0.0)
    if stop < len(v) and v[stop - 1] * v[stop] < 0:
        w = v[stop - 1] / (v[stop - 1] - v[stop])
        p.append(dp[stop - 1] + w * (dp[stop] - dp[stop - 1]))
        f.append(0.0)
    return loop_area(np.array(p), np.array(f))


def parallel_resistance(left: Value, right: Value) -> Value:
    """Resistance of both sides in parallel, ``R_L*R_R/(R_L+R_R)``, or None with the reason.

    Examples
    --------
    >>> parallel_resistance(Value(0.4), Value(0.6)).value
    0.24
    >>> parallel_resistance(Value(0.4), Value(None, "150 Pa not reached")).reason
    'right side: 150 Pa not reached'
    """
    for name, side in (("left", left), ("right", right)):
        if side.value is None:
            return Value(None, f"{name} side: {side.reason}")
    a, b = float(left.value), float(right.value)  # type: ignore[arg-type]
    return Value(a * b / (a + b)) if a + b > 0 else Value(None, "both resistances are zero")


def _branch_flow(dp: np.ndarray, v: np.ndarray, span: PhaseSpan, level: float) -> Value:
    """|V| where |dP| crosses ``level`` on the phase's branch between zero flow and the peak.

    ``dp`` and ``v`` are the smoothed signals, so noise does not move the first crossing early.
    """
    a, b = np.abs(dp[span.start:span.stop]), np.abs(v[span.start:span.stop])
    above = np.flatnonzero(a >= level)
    name = span.phase.value
    if len(above) == 0:
        return Value(None, f"not reached: |dP| peaks at {a.max():.1f} Pa in the {name} (< {level:g} Pa);"
                           " not extrapolated")
    if span.phase.is_accelerating:
        k, j = int(above[0]), int(above[0]) - 1
        edge = k == 0
    else:
        k, j = int(above[-1]), int(above[-1]) + 1
        edge = k == len(a) - 1
    if edge:
        return Value(None, f"|dP| is already {a[k]:.1f} Pa at the zero-flow end of the {name}; the"
                           f" {level:g} Pa point lies outside the phase")
    fraction = (level - a[j]) / (a[k] - a[j])
    return Value(float(b[j] + fraction * (b[k] - b[j])))


def _phase(dp: np.ndarray, v: np.ndarray, smooth: tuple[np.ndarray, np.ndarray], span: PhaseSpan) -> PhaseResult:
    p, f = dp[span.start:span.stop], v[span.start:span.stop]
    dp_max, v_max = float(np.max(np.abs(p))), float(np.max(np.abs(f)))
    flows = {level: _branch_flow(*smooth, span, level) for level in (75.0, 150.0)}
    rs = {level: Value(level / x.value) if x.value else Value(None, x.reason or "zero flow")
          for level, x in flows.items()}
    return PhaseResult(span.phase, span.start, span.stop, span.t_event_s, dp_max, v_max, _ratio(dp_max, v_max),
                       _ratio(_rms(p), _rms(f)), flows[75.0], flows[150.0], rs[75.0], rs[150.0])


def _midline(accelerating: PhaseResult, decelerating: PhaseResult, level: float) -> tuple[Value, Value]:
    """Mean flow of the two branches at ``level`` and the resistance ``level / flow``."""
    name = "flow_at_75" if level == 75.0 else "flow_at_150"
    up, down = getattr(accelerating, name), getattr(decelerating, name)
    if up.value is not None and down.value is not None:
        flow = 0.5 * (up.value + down.value)
        return Value(flow), Value(level / flow)
    if up.value is None and down.value is None:
        reason = up.reason if up.reason.startswith("not reached") else down.reason
    else:
        present, missing = (accelerating, down) if down.value is None else (decelerating, up)
        reason = (f"{level:g} Pa is reached only in the {present.phase.value} and the loop midline needs both"
                  f" branches ({missing.reason})")
    return Value(None, reason), Value(None, reason)


def _breath(index: int, span: BreathSpan, t: np.ndarray, dp: np.ndarray, v: np.ndarray,
            smooth: tuple[np.ndarray, np.ndarray]) -> BreathResult:
    phases = tuple(_phase(dp, v, smooth, p) for p in span.phases)
    ai, di, ae, de = phases
    inspiration, expiration = slice(ai.start, di.stop), slice(ae.start, de.stop)
    flow75, r75 = _midline(ai, di, 75.0)
    flow150, r150 = _midline(ai, di, 150.0)
    _, r75_exp = _midline(ae, de, 75.0)
    _, r150_exp = _midline(ae, de, 150.0)
    vr = _ratio(float(np.max(np.abs(dp[inspiration]))), float(np.max(np.abs(v[inspiration]))))
    vr_exp = _ratio(float(np.max(np.abs(dp[expiration]))), float(np.max(np.abs(v[expiration]))))
    whole = slice(span.start, span.stop)
    reff = _ratio(_rms(dp[whole]), _rms(v[whole]))
    stop_time = float(t[span.stop]) if span.stop < len(t) else float(t[-1])
    return BreathResult(
        index=index, start=span.start, stop=span.stop, t_start_s=float(t[span.start]), t_stop_s=stop_time,
        phases=phases, r75=r75, r150=r150, r75_expiration=r75_exp, r150_expiration=r150_exp,
        flow_at_75=flow75, flow_at_150=flow150, vr=vr, vr_expiration=vr_exp, reff=reff,
        lvr=_log10(vr), lreff=_log10(reff), hysteresis=loop_area(dp[whole], v[whole]),
        hysteresis_inspiration=_half_loop_area(dp, v, ai.start, di.stop),
        hysteresis_expiration=_half_loop_area(dp, v, ae.start, de.stop),
    )


def _statistic(values: Sequence[float | Value], n_breaths: int) -> Statistic:
    numbers = [x.value if isinstance(x, Value) else x for x in values]
    kept = [float(x) for x in numbers if x is not None and math.isfinite(x)]
    if not kept:
        reasons = [x.reason for x in values if isinstance(x, Value) and x.reason]
        return Statistic(None, None, 0, reasons[0] if reasons else "no complete breath")
    reason = "" if len(kept) == n_breaths else f"from {len(kept)} of {n_breaths} breaths"
    std = float(np.std(kept, ddof=1)) if len(kept) > 1 else None
    return Statistic(float(np.mean(kept)), std, len(kept), reason)


def analyse_side(
    recording: Recording,
    *,
    classes: ObstructionClasses = DEFAULT_OBSTRUCTION_CLASSES,
    max_gap_s: float = 0.1,
    smooth_s: float = 0.05,
    threshold_fraction: float = 0.1,
    estimate_inertance: bool = True,
) -> SideResult:
    """Analyse one side whose recording already has inspiration positive.

    Raises :class:`ValidationError` when pressure and flow have opposite signs overall (one
    channel inverted), since no resistance can then be positive.
    """
    side = recording.side
    t = recording.t_s
    dp, dp_filled, dp_open = fill_short_gaps(t, recording.dp_pa, max_gap_s=max_gap_s)
    v, v_filled, v_open = fill_short_gaps(t, recording.flow_ml_s, max_gap_s=max_gap_s)
    valid = np.isfinite(dp) & np.isfinite(v)
    notes = []
    if dp_filled or v_filled:
        notes.append(f"Interpolated {dp_filled + v_filled} NaN gaps of at most {max_gap_s:g} s.")
    if dp_open or v_open:
        notes.append(f"{dp_open + v_open} NaN gaps longer than {max_gap_s:g} s (or at an end) were left out.")
    if valid.sum() and float(np.sum(dp[valid] * v[valid])) < 0:
        raise ValidationError(
            f"{side.value} side: pressure and flow have opposite signs, so one channel is inverted;"
            " the inspiration sign convention applies to both: correct the export of that channel."
        )
    detection = detect_breaths(t, np.where(valid, v, np.nan), smooth_s=smooth_s, threshold_fraction=threshold_fraction)
    notes.extend(detection.notes)
    dp_smooth, v_smooth, slope = (np.full(len(t), np.nan) for _ in range(3))
    window = max(1, int(round(smooth_s / float(np.median(np.diff(t))))))
    for start, stop in valid_segments(valid):
        dp_smooth[start:stop] = moving_average(dp[start:stop], window)
        v_smooth[start:stop] = moving_average(v[start:stop], window)
        if stop - start > 2:
            slope[start:stop] = derivative(t[start:stop], v[start:stop], smooth_s=smooth_s)
    breaths = tuple(_breath(i, span, t, dp, v, (dp_smooth, v_smooth)) for i, span in enumerate(detection.breaths))
    summary = {name: _statistic([getattr(b, name) for b in breaths], len(breaths)) for name in BREATH_PARAMETERS}
    rohrer, rohrer_reason = None, ""
    in_breath = np.zeros(len(t), dtype=bool)
    for b in breaths:
        in_breath[b.start:b.stop] = True
    try:
        rohrer = fit_rohrer(dp[in_breath], v[in_breath], slope[in_breath] if estimate_inertance else None)
    except ValidationError as error:
        rohrer_reason = str(error)
    key = "lvr" if classes.parameter is ClassParameter.LVR else "lreff"
    stat = summary[key]
    obstruction = classify(stat.mean, classes) if stat.mean is not None else None
    obstruction_reason = "" if obstruction else f"no {key.upper()}: {stat.reason}"
    log.info("%s side: %d breaths, R150 %s", side.value, len(breaths), summary["r150"].mean)
    return SideResult(side, breaths, summary, rohrer, rohrer_reason, obstruction, obstruction_reason, tuple(notes))


def analyse(
    measurement: Measurement,
    *,
    classes: ObstructionClasses = DEFAULT_OBSTRUCTION_CLASSES,
    max_gap_s: float = 0.1,
    smooth_s: float = 0.05,
    threshold_fraction: float = 0.1,
    estimate_inertance: bool = True,
) -> AnalysisResult:
    """Analyse every measured side and both together (definitions in the module docstring).

    Parameters
    ----------
    measurement
        One or both sides, in any sign convention (normalised to inspiration positive here).
    classes
        Obstruction class limits, from configuration.
    max_gap_s
        Longest NaN run filled by interpolation; longer runs split the recording.
    smooth_s
        Moving-average length for breath detection and for dV/dt of the Rohrer fit.
    threshold_fraction
        Hysteresis band for the zero crossings, as a fraction of the 95th percentile of |V|.
    estimate_inertance
        Fit the inertance L together with K1 and K2 (True) or leave it in the residual.
    """
    normalised = measurement.normalised()
    sides = tuple(
        analyse_side(r, classes=classes, max_gap_s=max_gap_s, smooth_s=smooth_s,
                     threshold_fraction=threshold_fraction, estimate_inertance=estimate_inertance)
        for r in normalised.recordings
    )
    by_side = {s.side: s for s in sides}
    if len(by_side) < 2:
        only = next(iter(by_side)).value
        reason = f"only the {only} side was measured; the total needs both sides"
        missing = Value(None, reason)
        total = TotalResult(missing, missing, missing, missing, missing, missing)
    else:
        left, right = by_side[Side.LEFT], by_side[Side.RIGHT]
        partition = {}
        for level in ("75", "150"):
            vl, vr = left.mean(f"flow_at_{level}"), right.mean(f"flow_at_{level}")
            if vl.value is None or vr.value is None:
                partition[level] = Value(None, f"flow at {level} Pa: " + (vl.reason if vl.value is None else vr.reason))
            else:
                partition[level] = Value(vl.value / (vl.value + vr.value))
        r75, r150, vr, reff = (parallel_resistance(left.mean(name), right.mean(name))
                               for name in ("r75", "r150", "vr", "reff"))
        total = TotalResult(r75, r150, vr, reff, partition["75"], partition["150"])
    return AnalysisResult(normalised.metadata, sides, total, classes)
