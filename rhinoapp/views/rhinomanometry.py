"""The rhinomanometry (4PR) page: upload, the measurement shown, its loops, time series and parameters."""

from __future__ import annotations

import html

import panel as pn
import param

from rhinoapp.state.rhinomanometry import RhinomanometryState
from rhinoapp.state.session import Page
from rhinoapp.views.alerts import message_alert
from rhinoapp.views.assets import read_doc
from rhinoapp.views.dropper import DropZone
from rhinoapp.views.rhinomanometry_plots import loops_plot, parameters_table, time_series_plot

__all__ = ["RhinomanometryPage"]

_DROP_CLASS = "rh-4pr-upload"
_FORMAT_DOC = "rhinomanometry-format.md"
_FORMAT_HINT = (
    "Drop the recording exported by the rhinomanometer here, or browse for it: CSV or text with the columns"
    " time, side, pressure difference and flow (units in the headers, e.g. `dP [Pa]`), or an Excel workbook"
    " (.xlsx) laid out the same way. The accepted formats are described in *The 4PR file format* below."
)
_TABLE_CSS = """
table { border-collapse: collapse; font-size: 14px; }
table th, table td { padding: 4px 18px 4px 4px; border-bottom: 1px solid #d9dee5; text-align: left !important;
  white-space: nowrap; }
table thead th { color: #12355b; }
table td:first-child { font-weight: 600; }
"""
_TABLE_NOTE = (
    "Mean ± standard deviation over the complete breaths of each side. R75 and R150 are read at the loop's"
    " midline during inspiration; *not reached* means the pressure never reached that level (no extrapolation)."
    " Both sides: resistances in parallel."
)


class RhinomanometryPage(pn.viewable.Viewer):
    """Widgets over a :class:`~rhinoapp.state.rhinomanometry.RhinomanometryState`; behaviour lives in the state."""

    state = param.ClassSelector(class_=RhinomanometryState)

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self._received: tuple[str, bytes] | None = None
        # A file over the limit is refused in the browser, before it is sent; the page names the limit.
        self._drop = DropZone(css_class=_DROP_CLASS, max_mb=self.state.max_upload_mb, multiple=False,
                              on_file=self._on_file, on_complete=self._upload, on_refused=self._on_refused,
                              disabled=self.state.busy)
        self.state.param.watch(lambda event: setattr(self._drop, "disabled", event.new), "busy")
        self._replace = pn.widgets.Button(label="Store as the latest measurement", color="primary",
                                          css_classes=["rh-4pr-replace"])
        self._replace.on_click(lambda _event: self.state.confirm_replace())
        self._keep = pn.widgets.Button(label="Keep the current measurements", color="primary", variant="outline",
                                       css_classes=["rh-4pr-keep"])
        self._keep.on_click(lambda _event: self.state.keep_current())

    def _on_file(self, name: str, content: bytes) -> bool:
        self._received = (name, content)
        return True

    def _on_refused(self, name: str, size_bytes: int) -> None:
        if self.state.check_size(name, size_bytes):  # refused for another reason than its size
            self.state.param.update(feedback=f"{name} was not received: the browser refused it; try again.",
                                    feedback_kind="error")

    async def _upload(self) -> None:
        received, self._received = self._received, None
        if received is not None and not self.state.busy:
            await self.state.upload_async(*received)

    @param.depends("state.replace_question")
    def _confirmation(self) -> pn.viewable.Viewable:
        if not self.state.replace_question:
            return pn.Spacer(height=0)
        return pn.Row(self._replace, self._keep, css_classes=["rh-4pr-confirm"], sizing_mode="stretch_width")

    @staticmethod
    def _format_help() -> pn.viewable.Viewable:
        return pn.Card(pn.pane.Markdown(read_doc(_FORMAT_DOC), sizing_mode="stretch_width"),
                       title="The 4PR file format", collapsed=True, sizing_mode="stretch_width",
                       css_classes=["rh-4pr-format"])

    def _go_to_projects(self, _event: object) -> None:
        self.state.session.page = Page.PROJECTS.value

    @param.depends("state.feedback", "state.feedback_kind")
    def _feedback(self) -> pn.viewable.Viewable:
        if not self.state.feedback:
            return pn.Spacer(height=0)
        return message_alert(self.state.feedback, self.state.feedback_kind, "rh-feedback", "rh-4pr-feedback")

    @param.depends("state.measurements")
    def _selector(self) -> pn.viewable.Viewable:
        if not self.state.measurements:
            return pn.pane.Markdown("No measurement yet: upload the project's 4PR recording above.")
        return pn.widgets.Select.from_param(self.state.param.selected, label="Measurement", description=None,
                                            width=320)

    def _metadata(self) -> pn.viewable.Viewable:
        result = self.state.result
        meta = result.metadata
        decongested = {True: "yes", False: "no", None: "unknown"}[meta.decongested]
        notes = [f"{s.side.value.capitalize()} side: {note}" for s in result.sides for note in s.notes]
        lines = [f"Device: {html.escape(meta.device) or 'not stated'} · Date: {meta.date or 'not stated'}"
                 f" · Decongested: {decongested}", f"Obstruction classes: {html.escape(result.classes.source)}",
                 *map(html.escape, notes)]
        return pn.pane.HTML("".join(f"<p>{line}</p>" for line in lines), css_classes=["rh-note"],
                            sizing_mode="stretch_width")

    @param.depends("state.result")
    def _results(self) -> pn.viewable.Viewable:
        result, measurement = self.state.result, self.state.measurement
        if result is None or measurement is None:
            return pn.Spacer(height=0)
        table = pn.pane.DataFrame(parameters_table(result).reset_index(), index=False, justify="left",
                                  css_classes=["rh-4pr-parameters"],
                                  stylesheets=[_TABLE_CSS], sizing_mode="stretch_width")
        return pn.Column(
            pn.pane.Markdown("### Pressure-flow loops"),
            pn.pane.HoloViews(loops_plot(measurement, result), backend="bokeh", sizing_mode="stretch_width",
                              css_classes=["rh-4pr-loops"]),
            pn.pane.Markdown("### Parameters"), table, pn.pane.Markdown(_TABLE_NOTE), self._metadata(),
            pn.pane.Markdown("### Time series"),
            pn.pane.HoloViews(time_series_plot(measurement), backend="bokeh", sizing_mode="stretch_width",
                              css_classes=["rh-4pr-series"]),
            sizing_mode="stretch_width",
        )

    def _body(self, project_id: str | None) -> pn.viewable.Viewable:
        if project_id is None:
            go = pn.widgets.Button(label="Go to Projects", color="primary")
            go.on_click(self._go_to_projects)
            return pn.Column(pn.pane.Alert("No project is open: open one on the Projects page to upload and see its"
                                           " rhinomanometry (4PR).", alert_type="warning"), go,
                             sizing_mode="stretch_width")
        return pn.Column(pn.pane.Markdown("**Upload a recording**"), self._drop, pn.pane.Markdown(_FORMAT_HINT),
                         self._format_help(), self._feedback, self._confirmation, self._selector, self._results,
                         sizing_mode="stretch_width", loading=self.state.param.busy)

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.panel(pn.bind(self._body, self.state.session.param.current_project_id), sizing_mode="stretch_width")
