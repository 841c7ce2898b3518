"""The Analysis page's flow-sweep part: R at 75 and 150 Pa from CFD and 4PR, and the CFD curve over the loops."""

from __future__ import annotations

import html
from types import MappingProxyType

import holoviews as hv
import panel as pn
import param

from rhinoapp.analysis.flag_types import PlausibilityFlag, Severity
from rhinoapp.analysis.sweep import MatchedRow, SweepDoubt, SweepResults
from rhinoapp.state.sweep import SweepState
from rhinoapp.views.sweep_plots import sweep_plots

__all__ = ["SweepComparison", "doubts_markdown", "matched_html", "runs_html"]


def _r(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def matched_html(rows: list[MatchedRow]) -> str:
    """R75 and R150 per side, CFD beside 4PR, as an HTML table.

    Examples
    --------
    >>> "0.400" in matched_html([MatchedRow("left", 150.0, 0.4, 0.8, False)])
    True
    """
    body = "".join(
        f"<tr><td>{html.escape(r.side.capitalize())}</td><td>R{r.pressure_pa:.0f}</td>"
        f"<td>{_r(r.simulated)}{' (extrapolated)' if r.extrapolated else ''}</td><td>{_r(r.measured)}</td>"
        f"<td>{'' if r.ratio is None else f'{r.ratio:.2f}'}</td></tr>" for r in rows)
    return ('<table class="rh-sweep-matched"><thead><tr><th>Side</th><th>At</th><th>CFD (Pa·s/ml)</th>'
            f"<th>4PR (Pa·s/ml)</th><th>CFD / 4PR</th></tr></thead><tbody>{body}</tbody></table>")


def _checks(flags: tuple[object, ...]) -> str:
    """A run's flags in a table cell: ``ok``, or each kind with its severity."""
    if not flags:
        return "ok"
    parsed = [PlausibilityFlag.from_document(flag) for flag in flags]  # type: ignore[arg-type]
    return html.escape(", ".join(f"{f.kind.value.replace('_', ' ')} ({f.severity.value})" for f in parsed))


def doubts_markdown(doubts: list[SweepDoubt]) -> str:
    """The checks' doubts about a sweep's runs as a Markdown list, the runs each concerns first.

    Examples
    --------
    >>> from rhinoapp.analysis.flag_types import FlagKind
    >>> flag = PlausibilityFlag(FlagKind.STEADY_STATE, Severity.WARNING, "steps run", 400.0, "", "a steady state",
    ...                         "raise the step limit.")
    >>> print(doubts_markdown([SweepDoubt(flag, ("400 ml/s inspiration",))]))
    **The checks doubt figures of these runs**: read R75, R150 and the curve with them in mind.
    <BLANKLINE>
    - 400 ml/s inspiration: steps run 400 is outside the expected a steady state: raise the step limit.
    """
    items = "\n".join(f"- {d.text}" for d in doubts)
    return f"**The checks doubt figures of these runs**: read R75, R150 and the curve with them in mind.\n\n{items}"


_MODEL_WORDS = MappingProxyType({"smooth_walls": "Simulated with the smooth-walls flow model (the default).",
                                 "standard": "Simulated with the standard flow model (half-way walls)."})


def runs_html(results: SweepResults) -> str:
    """The sweep's runs and fits as an HTML table.

    Examples
    --------
    >>> from rhinoapp.cfd.config import Direction
    >>> from rhinoapp.cfd.sweep_request import SweepPoint
    >>> points = [SweepPoint(q, Direction.INSPIRATION, 0.2 * q, q / 2, q / 2, 10, True, 0.5, False)
    ...           for q in (75.0, 150.0, 250.0, 400.0)]
    >>> "K1 0.4" in runs_html(SweepResults.from_points("s", points, resolution_mm=1.0))
    True
    >>> "smooth-walls flow model" in runs_html(SweepResults.from_points("s", points, resolution_mm=1.0,
    ...                                                                  flow_model="smooth_walls"))
    True
    """
    body = "".join(
        f"<tr><td>{abs(p.flow_ml_s):.0f}</td><td>{p.direction.value}</td><td>{abs(p.pressure_drop_pa):.2f}</td>"
        f"<td>{abs(p.flow_left_ml_s):.1f}</td><td>{abs(p.flow_right_ml_s):.1f}</td>"
        f"<td>{'yes' if p.converged else 'no'}</td><td>{_checks(p.flags)}</td></tr>" for p in results.points)
    fits = "; ".join(f"{side}: K1 {fit.k1:.4g}, K2 {fit.k2:.3g}" for side, fit in results.fits.items())
    return ('<table class="rh-sweep-runs"><thead><tr><th>Flow (ml/s)</th><th>Direction</th><th>ΔP (Pa)</th>'
            f"<th>Left (ml/s)</th><th>Right (ml/s)</th><th>Steady</th><th>Checks</th></tr></thead>"
            f"<tbody>{body}</tbody></table>"
            f"<p class=\"rh-sweep-fits\">Rohrer fits ({html.escape(results.planes)}): {html.escape(fits)}</p>"
            + (f"<p class=\"rh-sweep-model\">{html.escape(_MODEL_WORDS.get(results.flow_model, results.flow_model))}"
               "</p>" if results.flow_model else ""))


class SweepComparison(pn.viewable.Viewer):
    """Sweep selector, CFD beside 4PR at matched pressure, and the CFD curve over the 4PR loops per side."""

    state = param.ClassSelector(class_=SweepState)

    @param.depends("state.results", "state.rows", "state.doubts", "state.message", "state.rhinomanometry.result")
    def _body(self) -> pn.viewable.Viewable:
        parts: list[pn.viewable.Viewable] = []
        if self.state.message:
            parts.append(pn.pane.Alert(self.state.message, alert_type="info", sizing_mode="stretch_width"))
        results = self.state.results
        if results is not None:
            if self.state.doubts:
                worst = any(d.flag.severity is Severity.IMPLAUSIBLE for d in self.state.doubts)
                parts.append(pn.pane.Alert(doubts_markdown(self.state.doubts), alert_type="danger" if worst else "warning",
                                           css_classes=["rh-sweep-doubts"], sizing_mode="stretch_width"))
            if self.state.rows:
                parts.append(pn.pane.HTML(matched_html(self.state.rows), sizing_mode="stretch_width"))
            if results.accuracy:
                parts.append(pn.pane.HTML(f'<p class="rh-sweep-accuracy"><b>How far to trust the CFD figures:</b> '
                                          f"{html.escape(results.accuracy)}</p>", sizing_mode="stretch_width"))
            plots = sweep_plots(results, self.state.rhinomanometry.measurement, self.state.rhinomanometry.result)
            if plots:
                parts.append(pn.pane.HoloViews(hv.Layout(plots).cols(2).opts(shared_axes=True, backend="bokeh"),
                                               backend="bokeh", css_classes=["rh-sweep-plot"],
                                               sizing_mode="stretch_width"))
            parts.append(pn.pane.HTML(runs_html(results), sizing_mode="stretch_width"))
        return pn.Column(*parts, sizing_mode="stretch_width")

    def __panel__(self) -> pn.viewable.Viewable:
        selector = pn.widgets.Select.from_param(self.state.param.sweep, description=None, width=260)
        return pn.Column(pn.pane.Markdown("## Flow sweep: CFD beside the rhinomanometry at matched pressure"),
                         selector, self._body, sizing_mode="stretch_width", css_classes=["rh-sweep"])
