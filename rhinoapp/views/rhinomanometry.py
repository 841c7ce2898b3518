"""The rhinomanometry (4PR) page: upload, the measurement shown, its loops, time series and parameters."""

from __future__ import annotations

import html

import panel as pn
import param

from rhinoapp.state.rhinomanometry import RhinomanometryState
from rhinoapp.state.session import Page
from rhinoapp.views.alerts import message_alert
from rhinoapp.views.rhinomanometry_plots import loops_plot, parameters_table, time_series_plot
from rhinoapp.views.size_guard import SizeGuard

__all__ = ["ACCEPT", "RhinomanometryPage"]

#: File types offered by the browser's file picker.
ACCEPT = ".csv,.txt,.xlsx"
_FORMAT_HINT = (
    "Upload the recording exported by the rhinomanometer: CSV or text with the columns time, side, pressure"
    " difference and flow (units in the headers, e.g. `dP [Pa]`), or an Excel workbook (.xlsx) laid out the"
    " same way. The format is described in `docs/rhinomanometry-format.md`."
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
        self._file = pn.widgets.FileInput(accept=ACCEPT, multiple=False, css_classes=["rh-4pr-upload"],
                                          disabled=self.state.param.busy)
        # An empty file arrives as value None (no change of value): its new file name announces it.
        self._file.param.watch(self._on_file, ["value", "filename"])
        # A file over the limit is held back in the browser: sent whole, it could exceed the websocket's limit.
        self._guard = SizeGuard(css_class="rh-4pr-upload", max_bytes=int(self.state.max_upload_mb * 1e6),
                                on_refused=self.state.check_size)

    async def _on_file(self, *_events: param.parameterized.Event) -> None:
        if not self._file.filename or self.state.busy:
            return
        await self.state.upload_async(self._file.filename, self._file.value or b"")
        self._file.clear()  # the same file may be uploaded again

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
        upload = pn.Row(pn.pane.Markdown("**Upload a recording**", margin=(12, 10, 0, 10)), self._file, self._guard)
        return pn.Column(upload, pn.pane.Markdown(_FORMAT_HINT), self._feedback, self._selector, self._results,
                         sizing_mode="stretch_width", loading=self.state.param.busy)

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.panel(pn.bind(self._body, self.state.session.param.current_project_id), sizing_mode="stretch_width")
