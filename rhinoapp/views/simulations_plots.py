"""Pure builders for the Simulations page: the streaming convergence plot and the results table.

Each function turns values into a HoloViews object (bokeh backend), a DataFrame or HTML; none
holds state. The convergence plot is two curves fed by one :class:`holoviews.streams.Buffer`,
so new samples are appended in the browser instead of redrawing the plot. The table states
"within", "below" or "above" in words, so nothing relies on colour alone.

Examples
--------
>>> from rhinoapp.state.simulations import ConvergencePoint
>>> buffer = convergence_buffer()
>>> buffer.send(convergence_frame([ConvergencePoint(100, 3.5, 120.0), ConvergencePoint(200, 9.2, 240.0)]))
>>> len(buffer.data), list(buffer.data.columns)
(2, ['step', 'pressure_drop_pa', 'flow_ml_s'])
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from functools import partial

import holoviews as hv
import pandas as pd
from holoviews import streams

import holoviews.plotting.bokeh  # noqa: F401  registers the bokeh backend (no notebook output)
from rhinoapp.state.simulations import ConvergencePoint, ResultRow

__all__ = ["COLUMNS", "TABLE_CSS", "convergence_buffer", "convergence_frame", "convergence_plot", "last_sample_text",
           "results_table_html"]

#: Columns of the convergence frame (those of ``convergence.csv`` the plot uses).
COLUMNS = ("step", "pressure_drop_pa", "flow_ml_s")
_STEP = hv.Dimension("step", label="Time step")
_CURVES = {"pressure_drop_pa": (hv.Dimension("pressure_drop_pa", label="Pressure drop", unit="Pa"), "#0072B2"),
           "flow_ml_s": (hv.Dimension("flow_ml_s", label="Flow", unit="ml/s"), "#009E73")}
_VERDICTS = {"within": "within", "below": "below", "above": "above", "unknown": "—",
             "other flow": "range applies at {flow:g} ml/s"}
TABLE_CSS = """
table.rh-sim-results { border-collapse: collapse; font-size: 14px; }
.rh-sim-results th, .rh-sim-results td { padding: 5px 12px; border-bottom: 1px solid #d8dee6; text-align: left; }
.rh-sim-results td.rh-num { text-align: right; white-space: nowrap; }
.rh-sim-results .rh-out { font-weight: 600; color: #b00020; }
.rh-sim-results .rh-in { color: #1b7f3b; }
.rh-sim-note { font-size: 12px; color: #555; }
.rh-sim-results .rh-sim-norange { font-style: italic; color: #555; }
.rh-sim-results .rh-doubt { font-weight: 600; color: #8a4b00; }
"""


def convergence_frame(points: Sequence[ConvergencePoint]) -> pd.DataFrame:
    """The samples as a frame with :data:`COLUMNS` (empty but typed when there are none).

    Examples
    --------
    >>> convergence_frame([]).dtypes.tolist()
    [dtype('int64'), dtype('float64'), dtype('float64')]
    """
    return pd.DataFrame({"step": pd.Series([p.step for p in points], dtype="int64"),
                         "pressure_drop_pa": pd.Series([p.pressure_drop_pa for p in points], dtype="float64"),
                         "flow_ml_s": pd.Series([p.flow_ml_s for p in points], dtype="float64")})


def convergence_buffer(length: int = 100_000) -> streams.Buffer:
    """An empty stream of convergence samples (the newest ``length`` are kept)."""
    return streams.Buffer(convergence_frame([]), length=length, index=False)


def _curve(column: str, data: pd.DataFrame) -> hv.Curve:
    dimension, colour = _CURVES[column]
    return hv.Curve(data, _STEP, dimension).opts(color=colour, line_width=2, tools=["hover"], framewise=True,
                                                 responsive=True, height=260, show_grid=True)


def convergence_plot(buffer: streams.Buffer) -> hv.Layout:
    """Pressure drop and flow against time step, side by side, both fed by ``buffer``.

    Examples
    --------
    >>> plot = convergence_plot(convergence_buffer())
    >>> [dmap.label for dmap in plot]
    ['Pressure drop', 'Flow']
    """
    plots = [hv.DynamicMap(partial(_curve, column), streams=[buffer]).relabel(dimension.label)
             for column, (dimension, _colour) in _CURVES.items()]
    return hv.Layout(plots).cols(2).opts(shared_axes=False)


def last_sample_text(points: Sequence[ConvergencePoint]) -> str:
    """The newest sample in words (empty without samples).

    Examples
    --------
    >>> last_sample_text([ConvergencePoint(2300, 12.345, 249.81)])
    'Step 2,300: pressure drop 12.3 Pa, flow 249.8 ml/s (1 sample).'
    """
    if not points:
        return ""
    last = points[-1]
    count = f"{len(points)} sample{'s' if len(points) != 1 else ''}"
    return (f"Step {last.step:,}: pressure drop {last.pressure_drop_pa:.3g} Pa, flow {last.flow_ml_s:.1f} ml/s "
            f"({count}).")


_FLAGS = {"warning": "doubtful: see the warning above", "implausible": "implausible: see the warning above"}


def results_table_html(rows: Sequence[ResultRow]) -> str:
    """The results with their healthy ranges, the verdict in words, the range's source as a tooltip, and a
    plausibility column that names each figure the checks doubt (never shown without saying so).

    Examples
    --------
    >>> from rhinoapp.state.simulations import result_rows
    >>> table = results_table_html(result_rows({"pressure_drop_pa": 31.0, "flow_ml_s": {"total": 250.0}}))
    >>> '<td class="rh-out">above</td>' in table, "10-20" in table, "no published healthy range" in table
    (True, True, True)
    >>> import dataclasses
    >>> flagged = [dataclasses.replace(row, flag="implausible") for row in result_rows({"pressure_drop_pa": 749.0})]
    >>> '<td class="rh-doubt">implausible: see the warning above</td>' in results_table_html(flagged[:1])
    True
    """
    body = []
    for row in rows:
        reference = row.reference
        healthy = verdict = ""
        if reference is not None:
            healthy = (f'<span title="{html.escape(reference.source)}">{html.escape(reference.text)}</span>'
                       + (f" at {reference.at_flow_ml_s:g} ml/s" if reference.at_flow_ml_s else ""))
            words = _VERDICTS.get(row.verdict, row.verdict).format(flow=reference.at_flow_ml_s or 0)
            css = "rh-out" if row.verdict in ("below", "above") else "rh-in" if row.verdict == "within" else ""
            verdict = f'<td class="{css}">{html.escape(words)}</td>'
        elif row.note:
            healthy = f'<span class="rh-sim-norange">{html.escape(row.note)}</span>'
        body.append(f'<tr data-key="{html.escape(row.key)}"><td>{html.escape(row.label)}</td>'
                    f'<td class="rh-num">{html.escape(row.text)}</td><td>{html.escape(row.unit)}</td>'
                    f"<td>{healthy}</td>{verdict or '<td></td>'}"
                    f'<td class="rh-doubt">{html.escape(_FLAGS.get(row.flag, row.flag))}</td></tr>')
    return ('<table class="rh-sim-results"><thead><tr><th>Result</th><th>Value</th><th>Unit</th>'
            '<th>Healthy range</th><th>Compared</th><th>Plausibility</th></tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')
