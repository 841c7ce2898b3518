"""Signal preparation, breath detection and the split of each breath into its four phases.

Rules, in the order they are applied (inspiration must be positive, see
:meth:`~rhinoapp.rhinomanometry.model.Measurement.normalised`):

1. **Dropouts.** NaN runs in pressure or flow that are at most ``max_gap_s`` long (missing
   samples times the median time step) are filled by linear interpolation in time. Longer
   runs, and runs at either end, stay NaN and split the recording into valid segments that
   are analysed separately.
2. **Smoothing.** Detection uses the flow smoothed by a centred moving average of
   ``smooth_s`` (an odd number of samples); the parameters use the unsmoothed samples.
3. **Breaths.** The smoothed flow is labelled +1 above ``+threshold``, -1 below
   ``-threshold`` (``threshold_fraction`` of the 95th percentile of ``|flow|``) and 0
   between; noise near zero flow therefore produces no extra crossings. Between a -1 run and
   the next +1 run the *last* sign change is the onset of inspiration (likewise for
   expiration). A breath runs from one inspiration onset to the next; samples before the
   first onset and after the last one of each segment are a partial breath and are dropped
   (a recording that starts mid-breath loses its first, incomplete breath).
4. **Phases.** Within each half-breath the flow magnitude peaks where its derivative
   crosses zero; the peak is located to a fraction of a sample by a parabola through the
   three highest samples. Each phase starts at the first sample at or after its event (zero
   crossing of the flow, or of its derivative) and ends before the next phase starts.

Examples
--------
>>> import numpy as np
>>> t = np.arange(0, 12.0, 0.01)
>>> found = detect_breaths(t, 300 * np.sin(2 * np.pi * t / 4 + 1.0))
>>> len(found.breaths), [round(float(t[p.start]), 2) for p in found.breaths[0].phases]
(2, [3.37, 4.37, 5.37, 6.37])
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from rhinoapp.core.errors import ValidationError
from rhinoapp.rhinomanometry.model import Phase

__all__ = [
    "BreathDetection",
    "BreathSpan",
    "PhaseSpan",
    "derivative",
    "detect_breaths",
    "fill_short_gaps",
    "moving_average",
    "valid_segments",
]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class PhaseSpan:
    """One phase: samples ``start`` to ``stop - 1`` and the exact time of its starting event."""

    phase: Phase
    start: int
    stop: int
    t_event_s: float


@dataclasses.dataclass(frozen=True)
class BreathSpan:
    """One complete breath: its four phases in order, inspiration first."""

    phases: tuple[PhaseSpan, ...]

    @property
    def start(self) -> int:
        """First sample (onset of inspiration)."""
        return self.phases[0].start

    @property
    def stop(self) -> int:
        """One past the last sample (the onset of the next inspiration)."""
        return self.phases[-1].stop


@dataclasses.dataclass(frozen=True)
class BreathDetection:
    """Result of :func:`detect_breaths`: the complete breaths and notes for people."""

    breaths: tuple[BreathSpan, ...]
    threshold_ml_s: float
    notes: tuple[str, ...] = ()


def fill_short_gaps(t_s: np.ndarray, values: np.ndarray, *, max_gap_s: float) -> tuple[np.ndarray, int, int]:
    """Fill NaN runs of at most ``max_gap_s`` by linear interpolation in time.

    A run's length is its number of samples times the median time step. Runs touching either
    end of the signal are never filled.

    Returns
    -------
    tuple
        The filled copy, the number of runs filled and the number of runs left NaN.

    Examples
    --------
    >>> t = np.arange(6) * 0.01
    >>> filled, done, left = fill_short_gaps(t, np.array([0, 1, np.nan, 3, 4, np.nan]), max_gap_s=0.02)
    >>> filled.tolist(), done, left
    ([0.0, 1.0, 2.0, 3.0, 4.0, nan], 1, 1)
    """
    x = np.array(values, dtype=float)
    missing = ~np.isfinite(x)
    if not missing.any():
        return x, 0, 0
    step = float(np.median(np.diff(t_s)))
    filled = left = 0
    for start, stop in valid_segments(missing):
        if start > 0 and stop < len(x) and (stop - start) * step <= max_gap_s + 1e-9 * step:
            x[start:stop] = np.interp(t_s[start:stop], t_s[[start - 1, stop]], x[[start - 1, stop]])
            filled += 1
        else:
            left += 1
    return x, filled, left


def valid_segments(mask: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` of every run of True in ``mask``.

    Examples
    --------
    >>> valid_segments(np.array([True, True, False, True]))
    [(0, 2), (3, 4)]
    """
    padded = np.concatenate(([False], np.asarray(mask, dtype=bool), [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average over ``window`` samples (made odd); the ends repeat the edge value.

    Examples
    --------
    >>> moving_average(np.array([0.0, 3.0, 0.0, 3.0]), 3).tolist()
    [1.0, 1.0, 2.0, 2.0]
    """
    window = max(1, int(window)) | 1
    if window == 1 or len(values) == 0:
        return np.asarray(values, dtype=float).copy()
    padded = np.pad(np.asarray(values, dtype=float), window // 2, mode="edge")
    return np.convolve(padded, np.ones(window) / window, mode="valid")


def derivative(t_s: np.ndarray, values: np.ndarray, *, smooth_s: float) -> np.ndarray:
    """Time derivative of ``values`` after smoothing over ``smooth_s`` (second-order differences).

    Examples
    --------
    >>> t = np.arange(5) * 0.5
    >>> derivative(t, 3 * t, smooth_s=0).tolist()
    [3.0, 3.0, 3.0, 3.0, 3.0]
    """
    if len(values) < 2:
        return np.zeros(len(values))
    window = _window(t_s, smooth_s)
    result: np.ndarray = np.gradient(moving_average(values, window), t_s)
    return result


def _window(t_s: np.ndarray, smooth_s: float) -> int:
    step = float(np.median(np.diff(t_s))) if len(t_s) > 1 else 1.0
    return max(1, int(round(smooth_s / step))) | 1


def _crossing(t: np.ndarray, s: np.ndarray, lo: int, hi: int, rising: bool) -> tuple[int, float]:
    """Last sign change in ``s[lo..hi]``: the first sample of the new sign and the exact time."""
    before, after = s[lo:hi], s[lo + 1:hi + 1]
    hits = np.flatnonzero((before <= 0) & (after > 0) if rising else (before >= 0) & (after < 0))
    j = lo + 1 + int(hits[-1])
    fraction = -s[j - 1] / (s[j] - s[j - 1])
    return j, float(t[j - 1] + fraction * (t[j] - t[j - 1]))


def _peak(t: np.ndarray, s: np.ndarray, lo: int, hi: int) -> tuple[int, float]:
    """First sample at or after the peak of ``|s[lo:hi]|`` and the peak's interpolated time."""
    y = np.abs(s[lo:hi])
    i = int(np.argmax(y))
    t_peak = float(t[lo + i])
    split = lo + i
    if 0 < i < len(y) - 1:
        curvature = y[i - 1] - 2.0 * y[i] + y[i + 1]
        delta = 0.5 * (y[i - 1] - y[i + 1]) / curvature if curvature < 0 else 0.0
        if delta > 0:
            t_peak = float(t[lo + i] + delta * (t[lo + i + 1] - t[lo + i]))
            split += 1
        elif delta < 0:
            t_peak = float(t[lo + i] + delta * (t[lo + i] - t[lo + i - 1]))
    return min(max(split, lo + 1), hi - 1), t_peak


def _segment_breaths(t: np.ndarray, s: np.ndarray, lo: int, hi: int, threshold: float) -> list[BreathSpan]:
    labels = np.where(s[lo:hi] > threshold, 1, np.where(s[lo:hi] < -threshold, -1, 0))
    nonzero = np.flatnonzero(labels)
    if len(nonzero) == 0:
        return []
    signs = labels[nonzero]
    change = np.flatnonzero(np.diff(signs) != 0)  # last index of a run before the sign flips
    events: list[tuple[bool, int, float]] = []  # (rising, first sample of the new sign, time)
    for k in change.tolist():
        end, begin = lo + int(nonzero[k]), lo + int(nonzero[k + 1])
        rising = bool(signs[k + 1] > 0)
        events.append((rising, *_crossing(t, s, end, begin, rising)))
    breaths = []
    for k in range(len(events) - 2):
        (r0, i0, t0), (r1, i1, t1), (r2, i2, _) = events[k:k + 3]
        if not (r0 and not r1 and r2):
            continue
        p1, tp1 = _peak(t, s, i0, i1)
        p2, tp2 = _peak(t, s, i1, i2)
        bounds = ((i0, p1, t0), (p1, i1, tp1), (i1, p2, t1), (p2, i2, tp2))
        breaths.append(BreathSpan(tuple(PhaseSpan(ph, a, b, te) for ph, (a, b, te) in zip(Phase, bounds, strict=True))))
    return breaths


def detect_breaths(
    t_s: np.ndarray,
    flow_ml_s: np.ndarray,
    *,
    smooth_s: float = 0.05,
    threshold_fraction: float = 0.1,
) -> BreathDetection:
    """Find the complete breaths and their four phases (rules in the module docstring).

    ``flow_ml_s`` must have inspiration positive; NaN samples split the signal into segments.

    Examples
    --------
    >>> t = np.arange(0, 2.0, 0.01)
    >>> detect_breaths(t, np.sin(t)).notes[0]
    'No complete breath: the flow needs an inspiration onset, an expiration and the next inspiration onset.'
    """
    t = np.asarray(t_s, dtype=float)
    flow = np.asarray(flow_ml_s, dtype=float)
    if t.shape != flow.shape or t.ndim != 1:
        raise ValidationError("detect_breaths needs one-dimensional time and flow of equal length.")
    if not 0 < threshold_fraction < 1:
        raise ValidationError(f"threshold_fraction must lie between 0 and 1, not {threshold_fraction!r}.")
    finite = np.isfinite(flow)
    if not finite.any():
        return BreathDetection((), 0.0, ("The flow holds no valid samples.",))
    window = _window(t, smooth_s)
    threshold = threshold_fraction * float(np.percentile(np.abs(flow[finite]), 95))
    breaths: list[BreathSpan] = []
    notes: list[str] = []
    segments = valid_segments(finite)
    for lo, hi in segments:
        s = np.full(len(flow), np.nan)
        s[lo:hi] = moving_average(flow[lo:hi], window)
        found = _segment_breaths(t, s, lo, hi, threshold)
        if found:
            dropped = (found[0].start - lo) + (hi - found[-1].stop)
            if dropped:
                notes.append(f"Dropped {dropped} samples of partial breaths at the ends of"
                             f" {t[lo]:.2f}-{t[hi - 1]:.2f} s.")
        breaths.extend(found)
    if len(segments) > 1:
        notes.append(f"Gaps split the flow into {len(segments)} segments analysed separately.")
    if not breaths:
        notes.insert(0, "No complete breath: the flow needs an inspiration onset, an expiration and the next"
                        " inspiration onset.")
    log.debug("detected %d breaths (threshold %.1f ml/s)", len(breaths), threshold)
    return BreathDetection(tuple(breaths), threshold, tuple(notes))
