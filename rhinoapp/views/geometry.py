"""The Geometry page: segmentation options, Run with progress, CT slices with labels and correction tools, results."""

from __future__ import annotations

import html
from functools import partial
from pathlib import Path

import panel as pn
import param

from rhinoapp.core.access import AuditAction
from rhinoapp.core.workflow import JobState
from rhinoapp.state.geometry import GeometryResult, GeometryState
from rhinoapp.state.geometry_editor import GeometryEditorState
from rhinoapp.state.geometry_import import GeometryImportState
from rhinoapp.state.jobs import JobSummary
from rhinoapp.views.alerts import message_alert
from rhinoapp.views.assets import read_asset
from rhinoapp.views.dispatch import bind_to_session
from rhinoapp.views.geometry_editor import EditorTools
from rhinoapp.views.geometry_import import GeometryImportDialog
from rhinoapp.views.geometry_plots import LABEL_COLOURS, TABLE_CSS, legend_html, metrics_table_html, profile_plot
from rhinoapp.views.jobs import progress_html
from rhinoapp.views.trame_view import TrameView
from rhinoapp.views.slice_viewer import SliceViewer
from rhinoapp.views.swap import swapping

__all__ = ["GeometryPage"]

_DOWNLOADS = (("stl", "Surface (STL)"), ("vtp", "Surface with face labels (VTP)"), ("labels", "Label map (NIfTI)"))
#: A flex item that takes the row's spare width, wraps below its neighbour under 480 px and may shrink.
_GROWS = {"flex": "1 1 480px", "min-width": "0"}


def _progress_text(job: JobSummary | None) -> str:
    if job is None:
        return ""
    if job.state.is_active:
        details = "; ".join(part for part in (job.message, job.eta) if part)
    elif job.state is JobState.DONE:
        details = f"took {job.duration}" if job.duration else ""
    else:
        details = job.message if job.state is JobState.ERROR else ""
    text = job.state.value.capitalize() + (f": {details}" if details else "")
    return (f'<div class="rh-geometry-progress" data-state="{job.state.value}">{progress_html(job)}'
            f"<div>{html.escape(text)}</div></div>")


class GeometryPage(pn.viewable.Viewer):
    """Widgets over a :class:`~rhinoapp.state.geometry.GeometryState`; it follows job events while shown."""

    state = param.ClassSelector(class_=GeometryState)

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self._run = pn.widgets.Button(label="Run segmentation", color="primary",
                                      disabled=self.state.param.can_run.rx.not_(),
                                      description="Segments the open project's CT with these options, as a job")
        self._run.on_click(self._on_run)
        self._cancel = pn.widgets.Button(label="Cancel", color="danger", variant="outline",
                                         visible=self.state.param.running)
        self._cancel.on_click(self._on_cancel)
        self._view: TrameView | None = None  # made on first display (it registers with the render service)
        self._import = GeometryImportDialog(state=GeometryImportState(session=self.state.session))
        self._editor = EditorTools(editor=GeometryEditorState(geometry=self.state))  # edits on the slice views
        bind_to_session(self.state)

    async def _on_run(self, _event: object) -> None:
        await self.state.run()

    async def _on_cancel(self, _event: object) -> None:
        await self.state.cancel()

    def _seed_inputs(self) -> pn.viewable.Viewable:
        if not self.state.manual_seeds:
            return pn.Spacer(height=0)
        p, w = self.state.param, pn.widgets
        return pn.Column(w.LiteralInput.from_param(p.seed_left, width=290, css_classes=["rh-geometry-seed-left"]),
                         w.LiteralInput.from_param(p.seed_right, width=290, css_classes=["rh-geometry-seed-right"]),
                         margin=0)

    def _outlet_input(self) -> pn.viewable.Viewable:
        p = self.state.param
        return pn.widgets.FloatInput.from_param(p.outlet_z_mm if self.state.manual_outlet else p.outlet_depth_mm,
                                                width=290)

    def _controls(self) -> pn.viewable.Viewable:
        p, w = self.state.param, pn.widgets
        # The seed and outlet inputs are built only while they are used, with the values of that
        # moment: hidden, they were sent the seeds and outlet of a loaded result while the browser
        # still built the page's views (three "Cannot set properties of undefined" page errors).
        seeds = swapping(self._seed_inputs, self.state, "manual_seeds", margin=0)
        outlet = swapping(self._outlet_input, self.state, "manual_outlet", margin=0)
        progress = pn.pane.HTML(pn.bind(_progress_text, p.job), stylesheets=[read_asset("style.css")],
                                sizing_mode="stretch_width")
        return pn.Column(
            pn.pane.Markdown("### Segmentation"), w.FloatSlider.from_param(p.threshold_hu, width=290),
            w.Checkbox.from_param(p.partial_volume), w.Select.from_param(p.sinuses, width=290),
            w.Checkbox.from_param(p.manual_seeds), seeds, w.Checkbox.from_param(p.manual_outlet), outlet,
            pn.Row(self._run, self._cancel), progress, width=320, css_classes=["rh-geometry-controls"])

    @param.depends("state.ct.volume")
    def _slices(self) -> pn.viewable.Viewable:
        if self.state.ct.volume is None:
            return pn.Spacer(height=0)
        s, w = self.state.param, pn.widgets
        legend = pn.pane.HTML(pn.bind(lambda sinuses: legend_html(sinuses == "keep"), s.sinuses),
                              stylesheets=[TABLE_CSS])
        colours = [LABEL_COLOURS[label][1] for label in sorted(LABEL_COLOURS)]
        viewer = SliceViewer(state=self.state.viewer, css_prefix="rh-geometry", label_colours=colours, frame_width=240)
        return pn.Column(
            pn.FlexBox(w.RadioButtonGroup.from_param(s.placing, css_classes=["rh-geometry-placing"]),
                   w.FloatSlider.from_param(self.state.viewer.param.opacity, width=200)),
            viewer, legend, self._editor, sizing_mode="stretch_width")

    def _download(self, key: str, path: Path) -> str:
        """The file of a download button, recorded in the audit log as it is fetched."""
        self.state.session.audit(AuditAction.DOWNLOAD, self.state.session.current_project_id, detail=key)
        return str(path)

    @param.depends("state.result")
    def _results(self) -> pn.viewable.Viewable:
        result: GeometryResult | None = self.state.result
        if result is None:
            return pn.Spacer(height=0)
        downloads = [pn.widgets.FileDownload(callback=partial(self._download, key, getattr(result.files, key)),
                                             filename=getattr(result.files, key).name, label=label, color="primary",
                                             variant="outline", css_classes=[f"rh-download-{key}"])
                     for key, label in _DOWNLOADS]
        table = pn.pane.HTML(metrics_table_html(result.rows()), stylesheets=[TABLE_CSS], width=520,
                             css_classes=["rh-geometry-table"])
        warnings = [message_alert(f"Warning: {text}", "warning", "rh-geometry-warning") for text in self.state.warnings]
        return pn.Column(
            *warnings, pn.pane.Markdown("### Area profile and metrics"),
            pn.FlexBox(pn.pane.HoloViews(profile_plot(result.report.document), backend="bokeh", sizing_mode="stretch_width",
                                         css_classes=["rh-geometry-profile"], styles=_GROWS),
                       table, sizing_mode="stretch_width"),
            pn.pane.Markdown("### Downloads"), pn.FlexBox(*downloads), sizing_mode="stretch_width")

    def _view3d(self) -> pn.viewable.Viewable:
        if self._view is None:
            self._view = TrameView(self.state.scene, height=480, label="3D view of the airway surface")
            self.state.param.watch(lambda event: setattr(self._view, "scene", event.new), "scene")
        return pn.Column(pn.pane.Markdown("### 3D view"), self._view, visible=self.state.param.result.rx.is_not(None),
                         sizing_mode="stretch_width", css_classes=["rh-geometry-3d"])

    @param.depends("state.message", "state.message_kind")
    def _message(self) -> pn.viewable.Viewable:
        if not self.state.message:
            return pn.Spacer(height=0)
        return message_alert(self.state.message, self.state.message_kind, "rh-feedback", "rh-geometry-message")

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(pn.pane.Markdown("## Geometry"), self._message,
                         pn.FlexBox(self._controls(), pn.Column(self._slices, sizing_mode="stretch_width", styles=_GROWS),
                                    sizing_mode="stretch_width"), self._import,
                         self._results, self._view3d(), sizing_mode="stretch_width")
