"""Plot and table builders of the Simulations page: streamed convergence curves, results beside healthy ranges."""

from __future__ import annotations

import holoviews as hv
from bokeh.models import GlyphRenderer

from rhinoapp.state.simulations import ConvergencePoint, HealthyRange, result_rows
from rhinoapp.views.simulations_plots import (convergence_buffer, convergence_frame, convergence_plot,
                                              last_sample_text, results_table_html)

RESULTS = {"pressure_drop_pa": 18.23, "flow_ml_s": {"total": 250.0, "left": 125.2, "right": 124.8},
           "flow_partition_left_pct": 50.09, "resistance_pa_s_per_ml": {"total": 0.0729, "left": 0.1456, "right": None},
           "max_velocity_m_s": 8.83, "wss_mean_pa": 0.06, "wss_max_pa": 2.81, "mass_conservation_error": 6.6e-05,
           "steps": 22407, "converged": True, "backend": "numba", "mlups": 8.79}


def _sources(plot: hv.Layout) -> list[dict[str, list[float]]]:
    rendered = hv.render(plot, backend="bokeh")
    return [{k: list(v) for k, v in renderer.data_source.data.items()}
            for renderer in rendered.select({"type": GlyphRenderer})]


def test_streamed_samples_reach_both_curves() -> None:
    buffer = convergence_buffer()
    plot = convergence_plot(buffer)
    buffer.send(convergence_frame([ConvergencePoint(115, 0.2, 0.0), ConvergencePoint(230, 1.5, 1.5)]))
    buffer.send(convergence_frame([ConvergencePoint(345, 4.4, 11.3)]))
    sources = {column: source for source in _sources(plot) for column in source if column != "step"}
    assert set(sources) == {"pressure_drop_pa", "flow_ml_s"}
    assert all(source["step"] == [115, 230, 345] for source in sources.values())
    assert sources["pressure_drop_pa"]["pressure_drop_pa"] == [0.2, 1.5, 4.4]
    assert sources["flow_ml_s"]["flow_ml_s"] == [0.0, 1.5, 11.3]
    buffer.clear()
    assert len(buffer.data) == 0


def test_results_table_states_verdicts_in_words_with_sources() -> None:
    rows = result_rows(RESULTS)
    table = results_table_html(rows)
    assert table.count("<tr data-key=") == len(rows) == 14
    assert '<tr data-key="pressure_drop_pa"><td>Pressure drop, nostrils to nasopharynx</td><td class="rh-num">18.2</td>' in table
    # the resistance 0.0729 Pa·s/ml follows from 18.2 Pa at 250 ml/s: within, as the pressure drop is
    assert '<td class="rh-out">above</td>' not in table
    assert '<td class="rh-out">above</td>' in results_table_html(result_rows({**RESULTS, "pressure_drop_pa": 30.0}))
    assert '<td class="rh-in">within</td>' in table
    assert 'title="healthy left-right flow partition (domain notes)">24-76</span>' in table
    assert "10-20</span> at 250 ml/s" in table
    assert '<td class="rh-num">—</td>' in table  # a missing value (right resistance)
    assert "125.2" in table and "22,407" in table and "yes" in table
    faster = results_table_html(result_rows({**RESULTS, "flow_ml_s": {"total": 500.0}}))
    assert "scaled from 250 to 500 ml/s" in faster and "at 500 ml/s" in faster  # the ranges at the run's own flow


def test_table_escapes_text_and_uses_given_ranges() -> None:
    custom = {"pressure_drop_pa": HealthyRange(5.0, 40.0, "phantom <acceptance>")}
    table = results_table_html(result_rows({**RESULTS, "backend": "<b>x</b>"}, custom))
    assert "&lt;b&gt;x&lt;/b&gt;" in table and "phantom &lt;acceptance&gt;" in table and "5-40" in table
    assert "24-76" not in table


def test_last_sample_and_empty_frame() -> None:
    assert last_sample_text([]) == ""
    points = [ConvergencePoint(100, 3.0, 100.0), ConvergencePoint(4730, 19.76, 249.8)]
    assert last_sample_text(points) == "Step 4,730: pressure drop 19.8 Pa, flow 249.8 ml/s (2 samples)."
    frame = convergence_frame(points)
    assert frame["step"].tolist() == [100, 4730] and list(frame.columns) == ["step", "pressure_drop_pa", "flow_ml_s"]
