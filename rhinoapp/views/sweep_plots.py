"""Pure builders for the flow sweep on the Analysis page: the CFD pressure-flow curve over the 4PR loops.

Per side, the sweep's fitted Rohrer curve (a line) and its runs (points) are drawn over the measured
pressure-flow loops of :func:`~rhinoapp.views.rhinomanometry_plots.loop_plot` (same axes: pressure
drop across, flow up), or alone when there is no measurement of that side.

Examples
--------
>>> from rhinoapp.analysis.sweep import SweepResults
>>> from rhinoapp.cfd.config import Direction
>>> from rhinoapp.cfd.sweep_request import SweepPoint
>>> points = [SweepPoint(q, Direction.INSPIRATION, 0.1 * q + 0.0005 * q * q, q / 2, q / 2, 10, True, 1.0, False)
...           for q in (75.0, 150.0, 250.0, 400.0)]
>>> sweep = SweepResults.from_points("s", points, resolution_mm=1.0)
>>> plots = sweep_plots(sweep, None, None)
>>> len(plots), [c.label for c in plots[0]]
(2, ['CFD (Rohrer fit)', 'CFD runs'])
"""

from __future__ import annotations

import holoviews as hv
import numpy as np

import holoviews.plotting.bokeh  # noqa: F401  registers the bokeh backend (no notebook output)
from rhinoapp.analysis.sweep import SideFit, SweepResults
from rhinoapp.rhinomanometry.model import Measurement, Side
from rhinoapp.rhinomanometry.results import AnalysisResult
from rhinoapp.views.rhinomanometry_plots import loop_plot

__all__ = ["CFD_COLOUR", "CFD_CURVE_LABEL", "CFD_POINTS_LABEL", "sweep_curve", "sweep_plots"]

CFD_COLOUR = "#000000"
CFD_CURVE_LABEL = "CFD (Rohrer fit)"
CFD_POINTS_LABEL = "CFD runs"
_DP = hv.Dimension("dp_pa", label="ΔP", unit="Pa")
_FLOW = hv.Dimension("flow_ml_s", label="Flow", unit="ml/s")
_WIDTH, _HEIGHT = 600, 460  # two side by side on a laptop screen, the loops readable beside the legend


def sweep_curve(sweep: SweepResults, fit: SideFit, *, flow_limit: float | None = None) -> hv.Overlay:
    """The fitted curve of one side (over both breathing directions) and the sweep's runs as points."""
    flows = [{"left": p.flow_left_ml_s, "right": p.flow_right_ml_s}.get(fit.side, p.flow_total_ml_s)
             for p in sweep.points]
    top = float(flow_limit or 1.1 * max(abs(q) for q in flows))
    q = np.linspace(-top, top, 201)
    curve = hv.Curve((fit.pressure(q), q), _DP, _FLOW, label=CFD_CURVE_LABEL).opts(
        color=CFD_COLOUR, line_width=2.5, backend="bokeh")
    points = hv.Scatter(([p.pressure_drop_pa for p in sweep.points], flows), _DP, _FLOW, label=CFD_POINTS_LABEL).opts(
        color=CFD_COLOUR, marker="diamond", size=10, backend="bokeh")
    return hv.Overlay([curve, points])


def sweep_plots(sweep: SweepResults, measurement: Measurement | None,
                result: AnalysisResult | None) -> list[hv.Overlay]:
    """One plot per side the sweep fitted: the CFD curve over the measured loops of that side (if measured)."""
    measured = {s.side.value: s for s in result.sides} if result is not None and measurement is not None else {}
    plots = []
    for side in ("left", "right"):
        fit = sweep.fits.get(side)
        if fit is None:
            continue
        recording = measurement.recording(Side(side)) if side in measured and measurement is not None else None
        if recording is not None:
            limit = float(np.nanmax(np.abs(recording.flow_ml_s)))
            base = loop_plot(recording, measured[side])
            title = f"{side.capitalize()} side: CFD over the 4PR loops"
            plots.append((base * sweep_curve(sweep, fit, flow_limit=limit)).opts(
                title=title, responsive=False, width=_WIDTH, height=_HEIGHT, backend="bokeh"))
        else:
            plots.append(sweep_curve(sweep, fit).opts(
                title=f"{side.capitalize()} side: CFD pressure-flow curve (no 4PR)", show_grid=True, responsive=False,
                width=_WIDTH, height=_HEIGHT, legend_position="top_left", backend="bokeh"))
    return plots
