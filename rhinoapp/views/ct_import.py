"""The CT page: upload (progress bar), series picker, summary, three linked slice views in patient millimetres."""

from __future__ import annotations

import html

import panel as pn
import param

from rhinoapp.state.ct_import import CTImportState
from rhinoapp.state.session import Page
from rhinoapp.views.alerts import message_alert
from rhinoapp.views.dropper import DropZone
from rhinoapp.views.slice_viewer import SliceViewer

__all__ = ["CTImportPage"]

_FRAME = 280  # width of each slice view in pixels
_DROPPER_CLASS = "rh-ct-upload"
_HINT = (
    "Drop the CT's DICOM files (or a zip of the export folder), or one NIfTI (.nii, .nii.gz) or NRRD (.nrrd) "
    "volume. Every DICOM file is de-identified in memory as it arrives (DICOM PS3.15 Basic Profile); only the "
    "assembled volume is stored, once every file of the upload arrived. Images with burned-in annotations "
    "(screenshots, dose sheets) are left out."
)


class CTImportPage(pn.viewable.Viewer):
    """Widgets over a :class:`~rhinoapp.state.ct_import.CTImportState`; behaviour lives in the state.

    A drop's files are announced (:class:`~rhinoapp.views.dropper.DropZone`) and handed to the state
    one by one as they arrive; the state reads the upload once it is complete. A new CT for a
    project that has one waits for "Replace the CT" or "Keep the current CT".
    """

    state = param.ClassSelector(class_=CTImportState)

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        state = self.state
        self._drop = DropZone(css_class=_DROPPER_CLASS, max_mb=state.session.settings.max_upload_mb, multiple=True,
                              on_file=state.receive_file, on_complete=state.finish_upload_async,
                              on_announce=state.expect_files, on_withdraw=state.withdraw_files)
        self._import = pn.widgets.Button(label="Import the chosen series", color="primary",
                                         disabled=self.state.param.busy)
        self._import.on_click(self._on_import)
        self._replace = pn.widgets.Button(label="Replace the CT", color="danger", css_classes=["rh-ct-replace"],
                                          disabled=self.state.param.busy)
        self._replace.on_click(self._on_replace)
        self._keep = pn.widgets.Button(label="Keep the current CT", color="primary", variant="outline",
                                       css_classes=["rh-ct-keep"], disabled=self.state.param.busy)
        self._keep.on_click(lambda _event: self.state.keep_current())
        doc = pn.state.curdoc
        if doc is not None and doc.session_context is not None:
            pn.state.on_session_destroyed(lambda _context: self.state.close())

    async def _on_replace(self, _event: object) -> None:
        await self.state.confirm_replace_async()

    @param.depends("state.replace_question")
    def _confirmation(self) -> pn.viewable.Viewable:
        if not self.state.replace_question:
            return pn.Spacer(height=0)
        return pn.Row(self._replace, self._keep, css_classes=["rh-ct-confirm"], sizing_mode="stretch_width")

    async def _on_import(self, _event: object) -> None:
        await self.state.import_series_async()

    def _go_to_projects(self, _event: object) -> None:
        self.state.session.page = Page.PROJECTS.value

    @param.depends("state.feedback", "state.feedback_kind")
    def _feedback(self) -> pn.viewable.Viewable:
        if not self.state.feedback:
            return pn.Spacer(height=0)
        return message_alert(self.state.feedback, self.state.feedback_kind, "rh-feedback", "rh-ct-feedback")

    @param.depends("state.candidates")
    def _picker(self) -> pn.viewable.Viewable:
        if not self.state.candidates:
            return pn.Spacer(height=0)
        rows = "".join(f"<li><code>{html.escape(s.line())}</code></li>" for s in self.state.candidates)
        return pn.Column(
            pn.pane.HTML(f"<p>Series in the upload:</p><ul>{rows}</ul>", sizing_mode="stretch_width"),
            pn.Row(pn.widgets.Select.from_param(self.state.param.series, width=480),
                   pn.widgets.RadioButtonGroup.from_param(self.state.param.tilt, label="Gantry tilt")),
            self._import, css_classes=["rh-ct-picker"], sizing_mode="stretch_width")

    @param.depends("state.summary")
    def _summary(self) -> pn.viewable.Viewable:
        meta = self.state.summary
        if not meta:
            return pn.pane.Markdown("No CT stored in this project yet.")
        spacing = " x ".join(f"{v:.3g}" for v in meta["spacing_mm"])
        deid = meta.get("deidentification", {})
        lines = [f"**{html.escape(meta.get('series_description') or 'CT')}** ({meta.get('source')}, "
                 f"{meta.get('modality')}): {' x '.join(map(str, meta['dimensions_ijk']))} voxels, {spacing} mm",
                 f"De-identification: {html.escape('; '.join(deid.get('method', [])))}",
                 *(f"Note: {html.escape(n)}" for n in meta.get("assembly", {}).get("notes", []) + meta.get("notes", [])),
                 *(f"**Warning:** {html.escape(w)}" for w in meta.get("assembly", {}).get("warnings", []))]
        return pn.pane.Markdown("\n\n".join(lines), css_classes=["rh-ct-summary"], sizing_mode="stretch_width")

    @param.depends("state.volume")
    def _views(self) -> pn.viewable.Viewable:
        if self.state.volume is None:
            return pn.Spacer(height=0)
        return SliceViewer(state=self.state.viewer, css_prefix="rh-ct", frame_width=_FRAME)

    def _body(self, project_id: str | None) -> pn.viewable.Viewable:
        if project_id is None:
            go = pn.widgets.Button(label="Go to Projects", color="primary")
            go.on_click(self._go_to_projects)
            return pn.Column(pn.pane.Alert("No project is open: open one on the Projects page to import its CT.",
                                           alert_type="warning"), go, sizing_mode="stretch_width")
        progress = pn.indicators.Progress(value=self.state.param.progress, max=100, sizing_mode="stretch_width",
                                          visible=self.state.param.busy, bar_color="primary")
        return pn.Column(pn.pane.Markdown(_HINT), self._drop, progress, self._feedback, self._confirmation,
                         self._picker, self._summary, self._views, sizing_mode="stretch_width")

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.panel(pn.bind(self._body, self.state.session.param.current_project_id), sizing_mode="stretch_width")
