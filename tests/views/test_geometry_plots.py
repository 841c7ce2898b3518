"""The pure plot and table builders of the Geometry page (no server, no browser)."""

from __future__ import annotations

import math

import holoviews as hv
import numpy as np

from rhinoapp.core.volume import AirwayLabel
from rhinoapp.state.geometry import REFERENCE_RANGES, MetricRow
from rhinoapp.views.geometry_plots import (
    LABEL_COLOURS,
    SIDE_COLOURS,
    legend_html,
    metrics_table_html,
    profile_plot,
)

OKABE_ITO = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"}


def _report(left_mcsa: float = 0.45, right_mcsa: float = 0.62) -> dict:
    distance = np.arange(-4.0, 60.0, 1.0)

    def side(mcsa: float, at: float) -> dict:
        area = 0.4 + 0.02 * np.abs(distance - at) + (mcsa - 0.4)
        return {"profile": {"distance_mm": distance.tolist(), "area_cm2": area.tolist()}, "mcsa_cm2": mcsa,
                "mcsa_distance_mm": at, "volume_ml": 7.5, "surface_cm2": 60.0}
    return {"left": side(left_mcsa, 14.0), "right": side(right_mcsa, 18.0)}


def test_label_colours_are_colour_blind_safe_and_distinct() -> None:
    assert {colour for _, colour in LABEL_COLOURS.values()} <= OKABE_ITO and len(set(LABEL_COLOURS.values())) == 4


def test_legend_names_every_label_shown() -> None:
    text = legend_html(sinuses_kept=True)
    for name, colour in LABEL_COLOURS.values():
        assert name in text and colour in text
    assert LABEL_COLOURS[AirwayLabel.SINUS][0] not in legend_html(sinuses_kept=False)


def test_area_profile_has_both_sides_and_marks_each_mcsa() -> None:
    overlay = profile_plot(_report())
    curves = [el for el in overlay if isinstance(el, hv.Curve)]
    marks = [el for el in overlay if isinstance(el, hv.Scatter)]
    assert [c.label for c in curves] == ["Left side", "Right side"]
    assert [c.opts.get().kwargs["color"] for c in curves] == [SIDE_COLOURS["left"], SIDE_COLOURS["right"]]
    assert curves[1].opts.get().kwargs["line_dash"] == "dashed"  # readable without colour
    assert curves[0].kdims[0].pprint_label == "Distance from the nostril (mm)"
    assert curves[0].vdims[0].pprint_label == "Cross-sectional area (cm²)"
    assert [tuple(m.array()[0]) for m in marks] == [(14.0, 0.45), (18.0, 0.62)]
    assert marks[0].label == "mCSA left 0.45 cm² at 14 mm"
    figure = hv.render(overlay, backend="bokeh")
    assert figure.y_range.start == 0  # areas from zero, so narrowings are not exaggerated
    assert [item.label.value for item in figure.legend[0].items] == [c.label for c in curves] + [m.label for m in marks]


def test_profile_without_a_minimum_draws_the_curves_only() -> None:
    report = _report()
    report["right"]["mcsa_distance_mm"] = math.nan
    assert len([el for el in profile_plot(report) if isinstance(el, hv.Scatter)]) == 1


def test_metrics_table_gives_values_per_side_beside_the_healthy_range() -> None:
    mcsa = REFERENCE_RANGES["mcsa_cm2"]
    rows = [MetricRow("volume_ml", "Volume", "ml", 7.512, 8.1),
            MetricRow("mcsa_cm2", "Minimal cross-sectional area (mCSA)", "cm²", 0.18, 0.62, mcsa),
            MetricRow("mcsa_distance_mm", "mCSA <distance>", "mm", 14.0, math.nan)]
    table = metrics_table_html(rows)
    assert '<td data-side="left">7.51</td>' in table and '<td data-side="right">8.10</td>' in table
    assert 'data-verdict="below">0.18 (below range)' in table and '<td data-side="right">0.62</td>' in table
    assert "0.24-1.21 cm²" in table and "n/a" in table and "&lt;distance&gt;" in table
    assert mcsa.source in table and "no reference range" in table
    assert mcsa.verdict(1.5) == "above" and mcsa.verdict(math.nan) == "unknown"
