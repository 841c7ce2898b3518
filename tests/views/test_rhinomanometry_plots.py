"""The pure plot and table builders of the 4PR page (no server, no browser)."""

from __future__ import annotations

import holoviews as hv
import numpy as np

from rhinoapp.rhinomanometry import Phase, Side, SyntheticSide, analyse, generate
from rhinoapp.views.rhinomanometry_plots import (
    PHASE_COLOURS,
    loops_plot,
    parameters_table,
    phase_segments,
    time_series_plot,
)


def test_loops_have_one_coloured_curve_per_phase_and_a_legend() -> None:
    m = generate(duration_s=13.0, seed=2).measurement
    result = analyse(m)
    layout = loops_plot(m, result)
    assert len(layout) == 2 and len(set(PHASE_COLOURS.values())) == 4
    overlay = layout.values()[0]
    labels = [el.label for el in overlay if isinstance(el, hv.Curve) and el.label]
    assert labels == [p.value.capitalize() for p in Phase]
    figure = hv.render(layout, backend="bokeh")  # builds the bokeh models as the server would
    assert figure is not None


def test_phase_segments_cover_every_sample_of_the_complete_breaths() -> None:
    m = generate(duration_s=13.0, seed=2, right=None).measurement
    side = analyse(m).sides[0]
    segments = phase_segments(m.recordings[0], side)
    samples = sum(int(np.isfinite(dp).sum()) for dp, _ in segments.values())
    breaths = side.breaths
    assert samples == (breaths[-1].stop - breaths[0].start) + 4 * len(breaths)  # one sample of overlap per phase


def test_time_series_share_the_time_axis() -> None:
    m = generate(duration_s=6.0, seed=2).measurement
    layout = time_series_plot(m)
    assert [o.values()[0].kdims[0].name for o in layout] == ["t_s", "t_s"]


def test_table_means_sds_totals_and_not_reached() -> None:
    weak = SyntheticSide(k1=0.25, k2=0.0006, inertance=0.01, peak_flow_ml_s=200.0)  # peaks near 75 Pa
    result = analyse(generate(duration_s=13.0, seed=2, right=weak, noise_pa=0.5).measurement)
    table = parameters_table(result)
    assert list(table.columns) == ["Left", "Right", "Both sides"]
    assert table.loc["R150 [Pa·s/ml]", "Right"] == "not reached"
    assert table.loc["R150 [Pa·s/ml]", "Both sides"] == "not reached"
    assert " ± " in table.loc["R75 [Pa·s/ml]", "Left"] and table.loc["Breaths", "Left"] == "2"
    assert table.loc["Obstruction class", "Left"] == result.side(Side.LEFT).obstruction.label
    assert table.loc["Flow partition at 150 Pa", "Both sides"] == "not reached"
    for row in ("VR [Pa·s/ml]", "Reff [Pa·s/ml]", "LVR [log10 Pa·s/ml]", "LReff [log10 Pa·s/ml]",
                "Hysteresis [Pa·ml/s]", "Flow at 150 Pa [ml/s]", "Rohrer K1 [Pa·s/ml]", "Rohrer K2 [Pa·s²/ml²]"):
        assert table.loc[row, "Left"] not in ("", "n/a")


def test_table_of_one_side() -> None:
    result = analyse(generate(duration_s=13.0, seed=2, left=None).measurement)
    table = parameters_table(result)
    assert list(table.columns) == ["Right", "Both sides"]
    assert table.loc["R150 [Pa·s/ml]", "Both sides"] == "n/a"  # the total needs both sides
