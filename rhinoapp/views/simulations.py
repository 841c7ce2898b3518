"""The Simulations page: inputs and estimate, Run, progress and live convergence, results and 3D flow (live while
a run writes checkpoints)."""

from __future__ import annotations

import html

import panel as pn
import param

from rhinoapp.state.simulations import SimulationsState
from rhinoapp.views.alerts import message_alert
from rhinoapp.views.assets import read_asset
from rhinoapp.views.dispatch import bind_to_session
from rhinoapp.views.downloads import RunDownloads
from rhinoapp.views.jobs import progress_html
from rhinoapp.views.trame_view import TrameView
from rhinoapp.views.simulations_plots import (TABLE_CSS, convergence_buffer, convergence_frame, convergence_plot,
                                              last_sample_text, results_table_html)

__all__ = ["SimulationsPage"]

_TABLE_NOTE = ("Healthy ranges from the domain notes; hover a range for its source. The pressure drop's range "
               "(given at 250 ml/s) is scaled to the run's flow, and the resistance ranges follow from it "
               "(R = pressure drop / flow; each side twice the total), so the two always agree. The literature "
               "gives no healthy range for the velocity and the wall shear stress. The mass conservation bound "
               "is the solver's own acceptance criterion.")

_COLOUR_NOTE = ("Colours span the 2nd to 98th percentile of each quantity unless you set a range; values beyond "
                "are drawn grey (below) and white (above), shown by the swatches at the ends of the colour bar. "
                "Colour maps: cividis (pressure), viridis (wall shear stress), magma (velocity), which are "
                "perceptually uniform and readable with colour-blindness.")


class SimulationsPage(pn.viewable.Viewer):
    """Widgets over a :class:`~rhinoapp.state.simulations.SimulationsState`; it follows job events while shown."""

    state = param.ClassSelector(class_=SimulationsState)

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self._buffer = convergence_buffer()
        self._buffer.send(convergence_frame(self.state.history))
        self._view = TrameView(self.state.scene, height=520, label="3D view of the airflow")
        self.state.param.watch(self._stream, "history")
        self.state.param.watch(lambda event: setattr(self._view, "scene", event.new), "scene")
        self._run = pn.widgets.Button(label="Run simulation", color="primary", css_classes=["rh-sim-run"],
                                      disabled=pn.bind(lambda ok: not ok, self.state.param.can_run))
        self._run.on_click(self._on_run)
        self._cancel = pn.widgets.Button(label="Cancel", color="danger", variant="outline", css_classes=["rh-sim-cancel"],
                                         visible=pn.bind(lambda job: bool(job and job.cancellable), self.state.param.job))
        self._cancel.on_click(self._on_cancel)
        self._plot = pn.pane.HoloViews(convergence_plot(self._buffer), backend="bokeh", sizing_mode="stretch_width",
                                       css_classes=["rh-sim-convergence"])
        bind_to_session(self.state)

    async def _on_run(self, _event: object) -> None:
        await self.state.run()

    async def _on_cancel(self, _event: object) -> None:
        await self.state.cancel()

    def _stream(self, event: param.parameterized.Event) -> None:
        """Append new samples to the plot; start it again when the history is another one."""
        old, new = event.old or [], event.new or []
        if len(new) >= len(old) and new[:len(old)] == old:
            if len(new) > len(old):
                self._buffer.send(convergence_frame(new[len(old):]))
            return
        self._buffer.clear()
        if new:
            self._buffer.send(convergence_frame(new))

    @param.depends("state.message", "state.message_kind")
    def _message(self) -> pn.viewable.Viewable:
        if not self.state.message:
            return pn.Spacer(height=0)
        return message_alert(self.state.message, self.state.message_kind, "rh-feedback", "rh-sim-message")

    def _inputs(self) -> pn.viewable.Viewable:
        param_ = self.state.param
        common = {"description": None, "width": 170}
        return pn.FlexBox(
            pn.widgets.Select.from_param(param_.variant, css_classes=["rh-sim-variant"], **common),
            pn.widgets.FloatInput.from_param(param_.flow_ml_s, css_classes=["rh-sim-flow"], **common),
            pn.widgets.RadioButtonGroup.from_param(param_.direction, css_classes=["rh-sim-direction"],
                                                   color="primary", variant="outline", description=None,
                                                   align="end"),
            pn.Column(pn.widgets.Checkbox.from_param(param_.automatic_resolution, css_classes=["rh-sim-auto"]),
                      pn.widgets.FloatInput.from_param(param_.resolution_mm, css_classes=["rh-sim-resolution"],
                                                       placeholder="automatic", **common)),
            pn.widgets.IntInput.from_param(param_.max_steps, css_classes=["rh-sim-max-steps"], **common),
            pn.widgets.Select.from_param(param_.flow_model, css_classes=["rh-sim-flow-model"], **common),
            pn.Column(self._run, align="end"), align_items="flex-end",
        )

    @param.depends("state.estimate_text", "state.estimate_problem", "state.where", "state.resolution_text",
                   "state.automatic_resolution", "state.proposed_resolution_mm")
    def _estimate(self) -> pn.viewable.Viewable:
        parts = []
        state = self.state
        if state.automatic_resolution and state.resolution_text:
            parts.append(f'<p class="rh-sim-proposal">Resolution: {html.escape(state.resolution_text)}</p>')
        elif not state.automatic_resolution and state.proposed_resolution_mm:
            parts.append(f'<p class="rh-sim-proposal">Resolution: {state.resolution_mm:g} mm, given by you (the '
                         f'automatic one is {state.proposed_resolution_mm:g} mm).</p>')
        if self.state.estimate_text:
            parts.append(f'<p class="rh-sim-estimate">Estimate: {html.escape(self.state.estimate_text)}</p>')
        parts.append(f'<p class="rh-sim-note">{html.escape(self.state.where)}</p>')
        pane = pn.pane.HTML("".join(parts), sizing_mode="stretch_width", stylesheets=[TABLE_CSS])
        if not self.state.estimate_problem:
            return pane
        return pn.Column(pane, pn.pane.Alert(self.state.estimate_problem, alert_type="danger",
                                             css_classes=["rh-sim-refused"], sizing_mode="stretch_width"),
                         sizing_mode="stretch_width")

    @param.depends("state.job")
    def _progress(self) -> pn.viewable.Viewable:
        job = self.state.job
        if job is None:
            return pn.Spacer(height=0)
        texts = (job.message, job.eta) if job.state.is_active else (f"took {job.duration}" if job.duration else "",)
        details = " · ".join(html.escape(text) for text in (job.state.value, *texts, job.where) if text)
        return pn.Row(pn.pane.HTML(f'<div class="rh-sim-progress" data-state="{job.state.value}">{progress_html(job)}</div>', width=220, align="center",
                                   stylesheets=[read_asset("style.css")]),
                      pn.pane.HTML(f'<span class="rh-sim-status">{details}</span>', sizing_mode="stretch_width",
                                   align="center"), self._cancel, sizing_mode="stretch_width")

    @param.depends("state.history")
    def _last_sample(self) -> pn.viewable.Viewable:
        text = last_sample_text(self.state.history)
        return pn.pane.HTML(f'<p class="rh-sim-last">{html.escape(text)}</p>', sizing_mode="stretch_width")

    @param.depends("state.runs", "state.selected")
    def _runs(self) -> pn.viewable.Viewable:
        if not self.state.runs:
            return pn.Spacer(height=0)
        select = pn.widgets.Select(label="Finished runs", options={r.label: r.run_id for r in self.state.runs},
                                   value=self.state.selected, width=520, css_classes=["rh-sim-runs"])
        select.param.watch(lambda event: self.state.select(event.new), "value")
        return select

    @param.depends("state.flags")
    def _flags(self) -> pn.viewable.Viewable:
        if not self.state.flags:
            return pn.Spacer(height=0)
        implausible = any(flag.severity.value == "implausible" for flag in self.state.flags)
        items = "\n".join(f"- **{flag.severity.value}**: {flag.message}" for flag in self.state.flags)
        return pn.pane.Alert(f"**The plausibility checks doubt these figures of this run:**\n\n{items}",
                             alert_type="danger" if implausible else "warning", css_classes=["rh-sim-flags"],
                             sizing_mode="stretch_width")

    @param.depends("state.rows", "state.accuracy")
    def _table(self) -> pn.viewable.Viewable:
        if not self.state.rows:
            return pn.Spacer(height=0)
        accuracy = (f'<p class="rh-sim-accuracy"><b>How far to trust the pressure drop:</b> '
                    f'{html.escape(self.state.accuracy)}</p>' if self.state.accuracy else "")
        return pn.pane.HTML(f'{results_table_html(self.state.rows)}{accuracy}<p class="rh-sim-note">{_TABLE_NOTE}</p>',
                            stylesheets=[TABLE_CSS], sizing_mode="stretch_width")

    def _view_options(self) -> pn.viewable.Viewable:
        param_ = self.state.param
        ranges = {"description": None, "width": 150, "placeholder": "automatic"}
        return pn.Column(
            pn.Row(pn.widgets.RadioButtonGroup.from_param(param_.colouring, description=None,
                                                          color="primary", variant="outline"),
                   pn.widgets.Checkbox.from_param(param_.streamlines, align="center")),
            pn.FlexBox(pn.widgets.FloatInput.from_param(param_.colour_low, css_classes=["rh-sim-colour-low"], **ranges),
                       pn.widgets.FloatInput.from_param(param_.colour_high, css_classes=["rh-sim-colour-high"], **ranges),
                       pn.widgets.FloatInput.from_param(param_.velocity_low, css_classes=["rh-sim-velocity-low"],
                                                        visible=param_.streamlines, **ranges),
                       pn.widgets.FloatInput.from_param(param_.velocity_high, css_classes=["rh-sim-velocity-high"],
                                                        visible=param_.streamlines, **ranges)),
            pn.pane.HTML(f'<p class="rh-sim-note">{_COLOUR_NOTE}</p>', sizing_mode="stretch_width"),
            self._range_problem, sizing_mode="stretch_width")

    @param.depends("state.range_problem")
    def _range_problem(self) -> pn.viewable.Viewable:
        if not self.state.range_problem:
            return pn.Spacer(height=0)
        return pn.pane.Alert(self.state.range_problem, alert_type="warning", css_classes=["rh-sim-range-problem"],
                             sizing_mode="stretch_width")

    def __panel__(self) -> pn.viewable.Viewable:
        has_history = pn.bind(bool, self.state.param.history)
        has_result = pn.bind(lambda result: result is not None, self.state.param.result)
        has_scene = pn.bind(lambda scene: scene is not None, self.state.param.scene)  # a run's, or the live one
        return pn.Column(
            pn.pane.Markdown("## Simulations"), self._message,
            self._inputs(), self._estimate, self._progress,
            pn.Column(pn.pane.Markdown("### Convergence"), self._plot, self._last_sample, visible=has_history,
                      sizing_mode="stretch_width"),
            pn.Column(pn.pane.Markdown("### Results"), self._runs, self._flags, self._table,
                      RunDownloads(state=self.state), visible=has_result, sizing_mode="stretch_width"),
            pn.Column(pn.pane.Markdown("### The airway wall and the flow in 3D"), self._view_options(),
                      pn.Column(self._view, css_classes=["rh-sim-3d"], sizing_mode="stretch_width"),
                      visible=has_scene, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )
