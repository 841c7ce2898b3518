"""The Geometry page's import dialog: upload a label map or a surface, map its labels, import it as a variant."""

from __future__ import annotations

import panel as pn
import param

from rhinoapp.state.geometry_import import TARGET_CHOICES, GeometryImportState
from rhinoapp.views.alerts import message_alert

__all__ = ["GeometryImportDialog"]

_ACCEPT = ".nii,.nii.gz,.gz,.nrrd,.stl,.vtp"


class GeometryImportDialog(pn.viewable.Viewer):
    """Widgets over a :class:`~rhinoapp.state.geometry_import.GeometryImportState` (a collapsible card)."""

    state = param.ClassSelector(class_=GeometryImportState)

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self._file = pn.widgets.FileInput(accept=_ACCEPT, multiple=False, css_classes=["rh-import-file"])
        self._file.param.watch(self._on_file, "value")
        self._import = pn.widgets.Button(label="Import", color="primary", css_classes=["rh-import-run"],
                                         disabled=self.state.param.can_import.rx.not_(),
                                         description="Resample onto the CT, find the openings, store as a variant")
        self._import.on_click(self._on_import)

    async def _on_file(self, event: param.parameterized.Event) -> None:
        if event.new is not None and self._file.filename:
            await self.state.upload_async(bytes(event.new), self._file.filename)

    async def _on_import(self, _event: object) -> None:
        await self.state.run_import()

    def _select(self, label: int, count: int) -> pn.viewable.Viewable:
        name = self.state.label_names.get(label)
        title = f"Label {label}{f' {name!r}' if name else ''} ({count:,} voxels)"
        select = pn.widgets.Select(label=title, options=list(TARGET_CHOICES),
                                   value=self.state.targets.get(label, TARGET_CHOICES[0]), width=220,
                                   css_classes=[f"rh-import-label-{label}"])
        select.param.watch(lambda event: self.state.set_target(label, event.new), "value")
        return select

    @param.depends("state.labels_found")
    def _mapping(self) -> pn.viewable.Viewable:
        if not self.state.labels_found:
            return pn.Spacer(height=0)
        return pn.Column(pn.pane.Markdown("Which part of the airway is each label?"),
                         pn.GridBox(*(self._select(label, count) for label, count in self.state.labels_found), ncols=3),
                         css_classes=["rh-import-mapping"])

    @param.depends("state.message", "state.message_kind")
    def _message(self) -> pn.viewable.Viewable:
        if not self.state.message:
            return pn.Spacer(height=0)
        return message_alert(self.state.message, self.state.message_kind, "rh-import-message")

    def __panel__(self) -> pn.viewable.Viewable:
        intro = pn.pane.Markdown(
            "A label map (NIfTI or NRRD, e.g. a 3D Slicer segmentation or an ITK-SNAP label map) made on this CT, "
            "or a closed airway surface (STL or VTP, LPS millimetres). It is resampled onto the CT; nostrils and "
            "outlet are found automatically. Segment names choose each label's part where they say it; a label "
            "of the whole airway is split into left, right and nasopharynx.")
        return pn.Card(intro, self._file, self._mapping,
                       pn.Row(pn.widgets.TextInput.from_param(self.state.param.variant, width=220), self._import),
                       self._message, title="Import an existing segmentation", collapsed=True,
                       sizing_mode="stretch_width", css_classes=["rh-geometry-import"])
