"""Pure builders for the Geometry page: label colours, area profiles, metrics table.

Each function turns values into a HoloViews object (bokeh backend) or HTML; none holds state.
Colours come from the Okabe-Ito palette, which stays distinct with the common colour-vision
deficiencies; the right side's profile is also dashed and the table says "below"/"above" in
words, so nothing relies on colour alone.

Examples
--------
>>> report = {"left": {"profile": {"distance_mm": [0, 10, 20], "area_cm2": [0.9, 0.5, 1.1]},
...                    "mcsa_cm2": 0.5, "mcsa_distance_mm": 10.0},
...           "right": {"profile": {"distance_mm": [0, 10, 20], "area_cm2": [0.8, 0.6, 1.0]},
...                     "mcsa_cm2": 0.6, "mcsa_distance_mm": 10.0}}
>>> [el.label for el in profile_plot(report) if el.label]
['Left side', 'Right side', 'mCSA left 0.50 cm² at 10 mm', 'mCSA right 0.60 cm² at 10 mm']
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import holoviews as hv
import numpy as np

import holoviews.plotting.bokeh  # noqa: F401  registers the bokeh backend (no notebook output)
from rhinoapp.core.volume import AirwayLabel
from rhinoapp.state.geometry import MetricRow

__all__ = ["LABEL_COLOURS", "SIDE_COLOURS", "TABLE_CSS", "legend_html", "metrics_table_html", "profile_plot"]

#: Okabe-Ito colours of the labels (left blue as the left nostril in the 3D view).
LABEL_COLOURS: Mapping[AirwayLabel, tuple[str, str]] = {
    AirwayLabel.LEFT_CAVITY: ("Left nasal cavity", "#0072B2"),
    AirwayLabel.RIGHT_CAVITY: ("Right nasal cavity", "#D55E00"),
    AirwayLabel.NASOPHARYNX: ("Nasopharynx and outlet", "#009E73"),
    AirwayLabel.SINUS: ("Paranasal sinuses (kept)", "#CC79A7"),
}
SIDE_COLOURS = {"left": LABEL_COLOURS[AirwayLabel.LEFT_CAVITY][1], "right": LABEL_COLOURS[AirwayLabel.RIGHT_CAVITY][1]}
_DASH = {"left": "solid", "right": "dashed"}
_MARKER = {"left": "triangle", "right": "inverted_triangle"}
_DISTANCE = hv.Dimension("distance_mm", label="Distance from the nostril", unit="mm")
_AREA = hv.Dimension("area_cm2", label="Cross-sectional area", unit="cm²")
_FORMATS = {"volume_ml": ".2f", "surface_cm2": ".1f", "mcsa_cm2": ".2f", "mcsa_distance_mm": ".0f"}
TABLE_CSS = """
table.rh-geometry-metrics { border-collapse: collapse; font-size: 14px; }
.rh-geometry-metrics th, .rh-geometry-metrics td { padding: 5px 10px; border-bottom: 1px solid #d8dee6; text-align: right; }
.rh-geometry-metrics th:first-child, .rh-geometry-metrics td:first-child { text-align: left; }
.rh-geometry-metrics .rh-out { font-weight: 600; color: #b00020; }
.rh-geometry-note { font-size: 12px; color: #555; }
.rh-legend span.rh-swatch { display: inline-block; width: 14px; height: 14px; margin: 0 6px 0 14px;
  vertical-align: -2px; border: 1px solid #444; }
"""


def legend_html(sinuses_kept: bool = True) -> str:
    """Colour swatches naming the labels (the sinuses only when they are kept).

    Examples
    --------
    >>> "Right nasal cavity" in legend_html(), "sinuses" in legend_html(False)
    (True, False)
    """
    items = [(text, colour) for label, (text, colour) in LABEL_COLOURS.items()
             if sinuses_kept or label is not AirwayLabel.SINUS]
    swatches = "".join(f'<span class="rh-swatch" style="background:{colour}"></span>{html.escape(text)}'
                       for text, colour in items)
    return f'<div class="rh-legend">Labels:{swatches}</div>'


def profile_plot(report: Mapping[str, Any]) -> hv.Overlay:
    """Cross-sectional area against distance from the nostril, both sides, each mCSA marked.

    ``report`` is the content of ``geometry.json`` (``left``/``right`` with ``profile``, ``mcsa_cm2``
    and ``mcsa_distance_mm``).
    """
    curves, marks = [], []
    for side in ("left", "right"):
        metrics = report[side]
        profile = metrics.get("profile", {})
        curves.append(hv.Curve((np.asarray(profile.get("distance_mm", []), float),
                                np.asarray(profile.get("area_cm2", []), float)), _DISTANCE, _AREA,
                               label=f"{side.capitalize()} side").opts(
            color=SIDE_COLOURS[side], line_width=2.5, line_dash=_DASH[side], tools=["hover"]))
        mcsa, distance = float(metrics["mcsa_cm2"]), float(metrics["mcsa_distance_mm"])
        if math.isfinite(mcsa) and math.isfinite(distance):
            marks.append(hv.Scatter([(distance, mcsa)], _DISTANCE, _AREA,
                                    label=f"mCSA {side} {mcsa:.2f} cm² at {distance:.0f} mm").opts(
                color=SIDE_COLOURS[side], marker=_MARKER[side], size=14, line_color="black", tools=["hover"]))
    return hv.Overlay([*curves, *marks]).opts(
        title="Cross-sectional area along each side", legend_position="bottom_right", show_grid=True,
        responsive=True, height=360, min_width=420, ylim=(0, None))


def _cell(row: MetricRow, value: float) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    text = format(value, _FORMATS.get(row.key, ".3g"))
    verdict = row.reference.verdict(value) if row.reference else "within"
    if verdict in ("below", "above"):
        return f'<span class="rh-out" data-verdict="{verdict}">{text} ({verdict} range)</span>'
    return text


def metrics_table_html(rows: Sequence[MetricRow]) -> str:
    """The metrics per side beside their healthy ranges, as an HTML table.

    Examples
    --------
    >>> from rhinoapp.state.geometry import REFERENCE_RANGES
    >>> table = metrics_table_html([MetricRow("mcsa_cm2", "mCSA", "cm²", 0.2, 0.5, REFERENCE_RANGES["mcsa_cm2"])])
    >>> "0.20 (below range)" in table, "0.24-1.21" in table
    (True, True)
    """
    body = "".join(
        f'<tr data-metric="{row.key}"><td>{html.escape(row.label)} ({row.unit})</td>'
        f'<td data-side="left">{_cell(row, row.left)}</td><td data-side="right">{_cell(row, row.right)}</td>'
        f"<td>{row.reference.text + ' ' + row.unit if row.reference else '–'}</td></tr>"
        for row in rows)
    sources = sorted({row.reference.source for row in rows if row.reference})
    note = ("Healthy range: " + "; ".join(html.escape(s) for s in sources) + ". Volume and wall surface have no "
            "reference range here: they depend on the field of view and on the outlet plane.")
    return (f'<table class="rh-geometry-metrics"><thead><tr><th>Quantity</th><th>Left</th><th>Right</th>'
            f"<th>Healthy range</th></tr></thead><tbody>{body}</tbody></table>"
            f'<p class="rh-geometry-note">{note}</p>')
