"""Correction tools of the Geometry page: widgets over a :class:`~rhinoapp.state.geometry_editor.GeometryEditorState`.

Tools (paint, erase, remove region, keep region, cut superior, cut posterior, crop), the brush
radius in millimetres, the paint label, undo and redo, and saving the edited airway as a new
variant. Edits happen by clicking on the page's slice views: the panel subscribes
:meth:`EditorTools.on_click` to the clicks of the Geometry state's slice viewer
(:meth:`~rhinoapp.state.slice_viewer.SliceViewerState.on_click`, LPS millimetres of the voxel
clicked); while a tool is chosen the viewer's crosshair stays put. A status line shows what the
server holds (tool, brush radius, variant name), so what a click or Save will do is visible.
"""

from __future__ import annotations

import html

import panel as pn
import param

from rhinoapp.segmentation.editing import EditKind
from rhinoapp.state.geometry_editor import OFF, GeometryEditorState
from rhinoapp.views.alerts import message_alert

__all__ = ["EditorTools"]

_TOOL_NAMES = {OFF: "Off", EditKind.PAINT: "Paint", EditKind.ERASE: "Erase", EditKind.REMOVE_REGION: "Remove region",
               EditKind.KEEP_REGION: "Keep region", EditKind.CUT_SUPERIOR: "Cut superior",
               EditKind.CUT_POSTERIOR: "Cut posterior", EditKind.CROP: "Crop"}
_HELP = ("Choose a tool, then click on a slice to edit there (Off: a click moves the crosshair again): paint and erase change a sphere of the brush radius; remove/keep region "
         "take the connected airway under the click; a cut tool's click sets the limit (LPS z superior, y posterior) "
         "and cuts. Cuts and the crop box can also be typed and applied.")


class EditorTools(pn.viewable.Viewer):
    """The correction tools panel; it edits on the clicks of the Geometry state's slice viewer."""

    editor = param.ClassSelector(class_=GeometryEditorState)

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        e = self.editor
        self._undo = pn.widgets.Button(label="Undo", disabled=e.param.can_undo.rx.not_(), css_classes=["rh-edit-undo"])
        self._undo.on_click(lambda _event: e.undo())
        self._redo = pn.widgets.Button(label="Redo", disabled=e.param.can_redo.rx.not_(), css_classes=["rh-edit-redo"])
        self._redo.on_click(lambda _event: e.redo())
        self._apply = pn.widgets.Button(label="Apply cut or crop", css_classes=["rh-edit-apply"],
                                        description="Applies the typed cut position or crop box")
        self._apply.on_click(self._on_apply)
        self._save = pn.widgets.Button(label="Save as variant", color="primary", disabled=e.param.busy,
                                       css_classes=["rh-edit-save"],
                                       description="Recomputes surface, openings and metrics from the edited labels")
        self._save.on_click(self._on_save)
        e.geometry.viewer.on_click(self.on_click)

    async def _on_apply(self, _event: object) -> None:
        await self.editor.apply_async(self.editor.current_edit())

    async def _on_save(self, _event: object) -> None:
        await self.editor.save_async()

    def on_click(self, plane: str, lps_point: tuple[float, float, float], voxel_index: object = None) -> None:
        """A click on slice ``plane`` at an LPS point: the current tool's edit there (scheduled on the event loop)."""
        if self.editor.tool == OFF or not self.editor.active:
            return
        point = tuple(float(v) for v in lps_point)

        async def edit() -> None:
            await self.editor.click(point)  # type: ignore[arg-type]

        pn.state.execute(edit)

    @param.depends("editor.tool", "editor.brush_mm", "editor.variant_name")
    def _status(self) -> pn.viewable.Viewable:
        e = self.editor
        tool = _TOOL_NAMES[e.tool if e.tool == OFF else EditKind(e.tool)]
        text = f"Tool: {tool} · brush {e.brush_mm:g} mm · Save as variant '{e.variant_name}'"
        return pn.pane.HTML(f'<div class="rh-edit-status">{html.escape(text)}</div>', margin=(0, 10))

    @param.depends("editor.message", "editor.message_kind")
    def _message(self) -> pn.viewable.Viewable:
        if not self.editor.message:
            return pn.Spacer(height=0)
        return message_alert(self.editor.message, self.editor.message_kind, "rh-edit-message")

    def __panel__(self) -> pn.viewable.Viewable:
        p, w = self.editor.param, pn.widgets
        tools = w.RadioButtonGroup.from_param(p.tool, options={_TOOL_NAMES[k]: getattr(k, "value", k) for k in _TOOL_NAMES},
                                              css_classes=["rh-edit-tool"], button_type="primary",
                                              button_style="outline")
        return pn.Column(
            pn.pane.Markdown("### Correct the airway"), pn.pane.Markdown(_HELP, styles={"font-size": "13px"}), tools,
            pn.FlexBox(w.FloatSlider.from_param(p.brush_mm, width=220), w.Select.from_param(p.paint_label, width=200),
                   self._undo, self._redo),
            pn.FlexBox(w.FloatInput.from_param(p.cut_mm, width=180, css_classes=["rh-edit-cut"]),
                   w.LiteralInput.from_param(p.crop_mm, width=340, css_classes=["rh-edit-crop"]), self._apply),
            pn.FlexBox(w.TextInput.from_param(p.variant_name, width=220, css_classes=["rh-edit-variant"]), self._save),
            self._status, self._message, visible=p.active, sizing_mode="stretch_width", css_classes=["rh-geometry-editor"])
