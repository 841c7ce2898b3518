"""Pure builders for the 4PR page: pressure-flow loops, time series and the parameters table.

Each function turns a measurement and its analysis into a HoloViews object (bokeh backend) or
a pandas table; none holds state. The phases use the Okabe-Ito palette, which stays distinct
with the common colour-vision deficiencies, and decelerating phases are also dashed, so the
loops read without colour too.

Examples
--------
>>> from rhinoapp.rhinomanometry import analyse, generate
>>> m = generate(duration_s=10, seed=1).measurement
>>> result = analyse(m)
>>> len(loops_plot(m, result)), parameters_table(result).loc["R150 [Pa·s/ml]", "Both sides"][:5]
(2, '0.254')
"""

from __future__ import annotations

import math
from collections.abc import Callable

import holoviews as hv
import numpy as np
import pandas as pd

import holoviews.plotting.bokeh  # noqa: F401  registers the bokeh backend (no notebook output)
from rhinoapp.rhinomanometry.model import Measurement, Phase, Recording, Side
from rhinoapp.rhinomanometry.results import AnalysisResult, SideResult, Statistic, Value

__all__ = ["MAX_POINTS", "PHASE_COLOURS", "SIDE_COLOURS", "loop_plot", "loops_plot", "parameters_table",
           "phase_segments", "time_series_plot"]

#: Okabe-Ito colours: blues for inspiration, oranges for expiration.
PHASE_COLOURS = {
    Phase.ACCELERATING_INSPIRATION: "#0072B2",
    Phase.DECELERATING_INSPIRATION: "#56B4E9",
    Phase.ACCELERATING_EXPIRATION: "#D55E00",
    Phase.DECELERATING_EXPIRATION: "#E69F00",
}
SIDE_COLOURS = {Side.LEFT: "#009E73", Side.RIGHT: "#CC79A7"}
#: Time series longer than this are thinned for display (every n-th sample).
MAX_POINTS = 20_000
_DP = hv.Dimension("dp_pa", label="ΔP", unit="Pa")
_FLOW = hv.Dimension("flow_ml_s", label="Flow", unit="ml/s")
_TIME = hv.Dimension("t_s", label="Time", unit="s")
_REFERENCE_PA = (-150.0, -75.0, 75.0, 150.0)


def phase_segments(recording: Recording, side: SideResult) -> dict[Phase, tuple[np.ndarray, np.ndarray]]:
    """Pressure and flow of every breath's phases, joined per phase with NaN between breaths.

    Each segment runs one sample into the next phase, so the loop is drawn without gaps.

    Examples
    --------
    >>> from rhinoapp.rhinomanometry import analyse, generate
    >>> m = generate(duration_s=10, seed=1, right=None).measurement
    >>> side = analyse(m).sides[0]
    >>> dp, flow = phase_segments(m.recordings[0], side)[Phase.ACCELERATING_INSPIRATION]
    >>> len(side.breaths), int(np.isnan(dp).sum()), bool(np.nanmax(flow) > 400)
    (1, 1, True)
    """
    parts: dict[Phase, list[np.ndarray]] = {phase: [] for phase in Phase}
    n = len(recording)
    for breath in side.breaths:
        for phase in breath.phases:
            stop = min(phase.stop + 1, n)
            parts[phase.phase].append(np.stack([recording.dp_pa[phase.start:stop],
                                                recording.flow_ml_s[phase.start:stop]]))
            parts[phase.phase].append(np.full((2, 1), np.nan))
    return {phase: (np.concatenate(p, axis=1)[0], np.concatenate(p, axis=1)[1]) if p else (np.array([]), np.array([]))
            for phase, p in parts.items()}


def loop_plot(recording: Recording, side: SideResult) -> hv.Overlay:
    """The pressure-flow loops of one side, the four phases coloured, with ±75 and ±150 Pa marked.

    Examples
    --------
    >>> from rhinoapp.rhinomanometry import analyse, generate
    >>> m = generate(duration_s=10, seed=1, right=None).measurement
    >>> [c.label for c in loop_plot(m.recordings[0], analyse(m).sides[0]) if c.label][:2]
    ['Accelerating inspiration', 'Decelerating inspiration']
    """
    limit = 1.1 * max(150.0, float(np.nanmax(np.abs(recording.dp_pa))))
    marks = [hv.VLine(x).opts(color="#999999", line_dash="dotted", line_width=1, backend="bokeh")
             for x in _REFERENCE_PA]
    background = hv.Curve((recording.dp_pa, recording.flow_ml_s), _DP, _FLOW).opts(
        color="#bbbbbb", line_width=1, alpha=0.5, backend="bokeh")
    curves = [
        hv.Curve(phase_segments(recording, side)[phase], _DP, _FLOW, label=phase.value.capitalize()).opts(
            color=PHASE_COLOURS[phase], line_width=2.5, line_dash="solid" if phase.is_accelerating else "dashed",
            backend="bokeh")
        for phase in Phase
    ]
    title = f"{side.side.value.capitalize()} side: pressure-flow loops ({len(side.breaths)} breaths)"
    return hv.Overlay([background, *marks, *curves]).opts(
        title=title, legend_position="top_left", show_grid=True, responsive=True, height=420, min_width=320,
        xlim=(-limit, limit), backend="bokeh")


def loops_plot(measurement: Measurement, result: AnalysisResult) -> hv.Layout:
    """One loop plot per measured side, sharing their axes (left first)."""
    plots = [loop_plot(measurement.recording(side.side), side) for side in result.sides]
    return hv.Layout(plots).cols(2).opts(shared_axes=True, backend="bokeh")


def _thinned(recording: Recording) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    step = max(1, math.ceil(len(recording) / MAX_POINTS))
    return recording.t_s[::step], recording.dp_pa[::step], recording.flow_ml_s[::step]


def time_series_plot(measurement: Measurement) -> hv.Layout:
    """Pressure and flow against time, one curve per side, the time axes linked.

    Examples
    --------
    >>> from rhinoapp.rhinomanometry import generate
    >>> [o.opts.get().kwargs["title"] for o in time_series_plot(generate(duration_s=5, seed=1).measurement)]
    ['Pressure difference', 'Flow']
    """
    series = {side: _thinned(measurement.recording(side)) for side in measurement.sides}
    opts = {"responsive": True, "height": 220, "show_grid": True, "legend_position": "top_right", "backend": "bokeh"}

    def panel(index: int, dim: hv.Dimension, title: str) -> hv.Overlay:
        return hv.Overlay([hv.Curve((values[0], values[index]), _TIME, dim, label=f"{side.value.capitalize()} side")
                           .opts(color=SIDE_COLOURS[side], line_width=1.5, backend="bokeh")
                           for side, values in series.items()]).opts(title=title, **opts)

    return hv.Layout([panel(1, _DP, "Pressure difference"), panel(2, _FLOW, "Flow")]).cols(1)


def _number(value: float | None, fmt: str) -> str:
    return "n/a" if value is None or not math.isfinite(value) else format(value, fmt)


def _value(value: Value, fmt: str) -> str:
    if value.value is not None:
        return _number(value.value, fmt)
    return "not reached" if value.reason.startswith("not reached") or "not reached" in value.reason else "n/a"


def _stat(stat: Statistic, fmt: str) -> str:
    if stat.mean is None:
        return _value(Value(None, stat.reason), fmt)
    spread = f" ± {_number(stat.std, fmt)}" if stat.std is not None else ""
    return f"{_number(stat.mean, fmt)}{spread}"


_ROWS: tuple[tuple[str, str, str, str | None], ...] = (
    # label, per-breath parameter, format, attribute of TotalResult
    ("R75 [Pa·s/ml]", "r75", ".3f", "r75"),
    ("R150 [Pa·s/ml]", "r150", ".3f", "r150"),
    ("VR [Pa·s/ml]", "vr", ".3f", "vr"),
    ("Reff [Pa·s/ml]", "reff", ".3f", "reff"),
    ("LVR [log10 Pa·s/ml]", "lvr", ".3f", None),
    ("LReff [log10 Pa·s/ml]", "lreff", ".3f", None),
    ("Hysteresis [Pa·ml/s]", "hysteresis", ".0f", None),
    ("Flow at 150 Pa [ml/s]", "flow_at_150", ".0f", None),
)


def parameters_table(result: AnalysisResult) -> pd.DataFrame:
    """The parameters per side (mean ± SD over breaths) and of both sides together.

    Missing values read "not reached" (the pressure never reached the level) or "n/a".
    """
    columns = [f"{s.side.value.capitalize()}" for s in result.sides] + ["Both sides"]
    rows: dict[str, list[str]] = {"Breaths": [str(len(s.breaths)) for s in result.sides] + [""]}
    for label, name, fmt, total in _ROWS:
        rows[label] = [_stat(s.summary[name], fmt) for s in result.sides]
        rows[label].append(_value(getattr(result.total, total), fmt) if total else "")
    fits: dict[str, Callable[[SideResult], str]] = {
        "Rohrer K1 [Pa·s/ml]": lambda s: _number(s.rohrer.k1 if s.rohrer else None, ".3f"),
        "Rohrer K2 [Pa·s²/ml²]": lambda s: _number(s.rohrer.k2 if s.rohrer else None, ".2e"),
        "Obstruction class": lambda s: s.obstruction.label if s.obstruction else "n/a",
    }
    for label, cell in fits.items():
        rows[label] = [cell(s) for s in result.sides] + [""]
    partition = result.total.flow_partition_left_150
    share = f"{100 * partition.value:.0f} % left" if partition.value is not None else _value(partition, ".0f")
    rows["Flow partition at 150 Pa"] = [""] * len(result.sides) + [share]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns).rename_axis("Parameter")
