"""State of the correction tools on the Geometry page: an edited copy of the airway labels.

The editor starts from the airway the Geometry page shows (:class:`~rhinoapp.state.geometry.GeometryState`
``result``): a copy of its label map that the tools change, voxel by voxel, and that the page's
slice viewer (``GeometryState.viewer``, :class:`~rhinoapp.state.slice_viewer.SliceViewerState`)
draws as its label overlay. While a tool is chosen (``tool`` not ``off``) the viewer's ``tool`` is
set, so a click on a slice no longer moves the crosshair but goes to :meth:`GeometryEditorState.click`
(the page subscribes it through the viewer's ``on_click``). Each click becomes an edit
(:mod:`rhinoapp.segmentation.editing`, LPS millimetres); :meth:`GeometryEditorState.apply` plans it
(the changed sub-block only), writes it into the overlay in place, bumps the viewer's
``labels_revision`` and keeps the change for :meth:`~GeometryEditorState.undo` and
:meth:`~GeometryEditorState.redo`. :meth:`~GeometryEditorState.save` publishes the edited labels
as a new geometry variant (surface, openings and metrics recomputed, the edits recorded as its
provenance; :mod:`rhinoapp.usecases.geometry_edit`) in a worker thread.
No Panel here; problems never raise from the async handlers: they become ``message``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import param

from rhinoapp.core.errors import RhinoappError
from rhinoapp.core.volume import AirwayLabel, ImageGeometry, LabelMap
from rhinoapp.segmentation.editing import (
    Change,
    Crop,
    CutPosterior,
    CutSuperior,
    Edit,
    EditKind,
    Erase,
    KeepRegion,
    Paint,
    RemoveRegion,
    plan_edit,
)
from rhinoapp.state.geometry import GeometryState, Placement
from rhinoapp.state.job_page import MessageKind
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.usecases.geometry_edit import geometry_variants, save_edited_geometry

__all__ = ["OFF", "PAINT_LABELS", "GeometryEditorState"]

_log = logging.getLogger(__name__)
#: The ``tool`` value with no tool chosen: a click on a slice moves the crosshair.
OFF = "off"
#: Labels the brush paints, by name.
PAINT_LABELS: Mapping[str, int] = MappingProxyType({
    "Left nasal cavity": int(AirwayLabel.LEFT_CAVITY), "Right nasal cavity": int(AirwayLabel.RIGHT_CAVITY),
    "Nasopharynx": int(AirwayLabel.NASOPHARYNX), "Sinus": int(AirwayLabel.SINUS)})


class GeometryEditorState(param.Parameterized):
    """Correction tools over the airway the Geometry page shows, without any widget.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store import open_store, ProjectRepository
    >>> from rhinoapp.state.session import SessionState
    >>> repo = ProjectRepository(open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))), owner="local")
    >>> editor = GeometryEditorState(geometry=GeometryState(session=SessionState(repository=repo)))
    >>> editor.active, editor.can_undo
    (False, False)
    """

    geometry = param.ClassSelector(class_=GeometryState, constant=True, doc="The Geometry page's state.")
    tool: param.Selector = param.Selector(objects=[OFF, *(k.value for k in EditKind)], default=OFF, label="Tool",
                          doc="What a click on a slice does; off: it moves the crosshair.")
    brush_mm = param.Number(default=2.0, bounds=(0.5, 20.0), step=0.5, label="Brush radius (mm)",
                            doc="Radius of the sphere the paint and erase brushes change.")
    paint_label: param.Selector = param.Selector(objects=dict(PAINT_LABELS), default=int(AirwayLabel.LEFT_CAVITY), label="Paint label",
                                 doc="The label the paint brush sets.")
    cut_mm = param.Number(default=0.0, step=0.5, label="Cut position (mm)",
                          doc="LPS z of the superior limit or LPS y of the posterior limit; a click on a slice sets it.")
    crop_mm = param.NumericTuple(default=(0.0, 0.0, 0.0, 0.0, 0.0, 0.0), length=6,
                                 label="Crop box (x0, x1, y0, y1, z0, z1 mm)",
                                 doc="The LPS box to keep; set to the airway's extent when editing starts.")
    variant_name = param.String(default="edited", label="Save as variant",
                                doc="Name of the new geometry variant (letters, digits, '-' or '_').")
    active = param.Boolean(default=False, doc="An airway is loaded for editing.")
    edits = param.List(default=[], doc="The edits applied, in order (undone ones removed).")
    can_undo = param.Boolean(default=False)
    can_redo = param.Boolean(default=False)
    busy = param.Boolean(default=False, doc="An edit or a save runs in a worker thread.")
    revision = param.Integer(default=0, doc="Counts every change of the edited labels.")
    saved_variant = param.String(default="", doc="The variant the last save published.")
    message = param.String(default="", doc="What happened last, for the page.")
    message_kind: param.Selector = param.Selector(objects=list(MessageKind), default=MessageKind.INFO)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._labels: np.ndarray | None = None
        self._grid: ImageGeometry | None = None
        self._base_variant = "default"
        self._undo: list[tuple[Edit, Change]] = []
        self._redo: list[tuple[Edit, Change]] = []
        self._lock = asyncio.Lock()
        self.geometry.param.watch(lambda _event: self.reset(), "result")
        self.geometry.param.watch(self._placing_chosen, "placing")
        self.geometry.viewer.param.watch(self._overlay_replaced, "labels")
        self.reset()

    # -- the edited labels ------------------------------------------------------------------------
    def reset(self) -> None:
        """Start again from the airway shown (drops the edits and their undo history)."""
        result = self.geometry.result
        self._undo.clear()
        self._redo.clear()
        if result is None:
            self._labels, self._grid = None, None
        else:
            self._labels, self._grid = np.array(result.labels.labels, copy=True), result.labels.geometry
            self._base_variant = result.variant
            self.crop_mm = self._airway_box()
        self.param.update(active=result is not None, edits=[], saved_variant="", message="")
        self._changed(None)

    @property
    def labels(self) -> LabelMap | None:
        """The edited label map (a read-only view), None when nothing is loaded."""
        if self._labels is None or self._grid is None:
            return None
        view = self._labels.view()
        view.flags.writeable = False
        return LabelMap(view, self._grid)

    def _airway_box(self) -> tuple[float, ...]:
        assert self._labels is not None and self._grid is not None
        index = np.nonzero(self._labels)
        if not len(index[0]):
            return (0.0,) * 6
        corners = self._grid.index_to_physical(np.array([[a.min() for a in index[::-1]], [a.max() for a in index[::-1]]]))
        low, high = corners.min(axis=0), corners.max(axis=0)
        return tuple(round(float(v), 2) for pair in zip(low - 1, high + 1) for v in pair)

    def _fits(self) -> bool:
        volume = self.geometry.viewer.volume
        return self._labels is not None and volume is not None and volume.hu.shape == self._labels.shape

    def _show(self) -> None:
        """The edited labels as the viewer's overlay (changed in place: a revision bump redraws it)."""
        viewer = self.geometry.viewer
        if not self._fits():
            return
        if viewer.labels is not self._labels:
            viewer.labels = self._labels
        else:
            viewer.labels_revision += 1

    def _overlay_replaced(self, event: param.parameterized.Event) -> None:
        # The page shows its result's labels again (e.g. the CT was read again): show the edited copy instead.
        if event.new is not None and event.new is not self._labels and self._fits():
            self.geometry.viewer.labels = self._labels

    @param.depends("tool", watch=True)
    def _tool_chosen(self) -> None:
        viewer, crosshair = self.geometry.viewer, Placement.CROSSHAIR.value
        if self.tool == OFF:
            if self.geometry.placing == crosshair:
                viewer.tool = ""
            return
        self.geometry.placing = crosshair  # one thing at a time: no seed or outlet placement pending
        viewer.tool = f"edit: {self.tool}"

    def _placing_chosen(self, event: param.parameterized.Event) -> None:
        if event.new != Placement.CROSSHAIR.value:
            self.tool = OFF

    def _changed(self, change: Change | None) -> None:
        self.param.update(revision=self.revision + 1, can_undo=bool(self._undo), can_redo=bool(self._redo),
                          edits=[edit for edit, _ in self._undo])
        self._show()

    # -- edits --------------------------------------------------------------------------------------
    def edit_at(self, point_mm: tuple[float, float, float]) -> Edit | None:
        """The edit the current tool makes at an LPS point (None with the tool off or for the crop tool, which uses its box)."""
        if self.tool == OFF:
            return None
        tool = EditKind(self.tool)
        if tool is EditKind.PAINT:
            return Paint(point_mm, self.brush_mm, int(self.paint_label))
        if tool is EditKind.ERASE:
            return Erase(point_mm, self.brush_mm)
        if tool is EditKind.REMOVE_REGION:
            return RemoveRegion(point_mm)
        if tool is EditKind.KEEP_REGION:
            return KeepRegion(point_mm)
        if tool is EditKind.CUT_SUPERIOR:
            self.cut_mm = round(float(point_mm[2]), 2)
            return CutSuperior(self.cut_mm)
        if tool is EditKind.CUT_POSTERIOR:
            self.cut_mm = round(float(point_mm[1]), 2)
            return CutPosterior(self.cut_mm)
        return None

    def current_edit(self) -> Edit | None:
        """The cut or crop the numeric fields describe (None for the brush and region tools)."""
        if self.tool == OFF:
            return None
        tool = EditKind(self.tool)
        if tool is EditKind.CUT_SUPERIOR:
            return CutSuperior(self.cut_mm)
        if tool is EditKind.CUT_POSTERIOR:
            return CutPosterior(self.cut_mm)
        if tool is EditKind.CROP:
            x0, x1, y0, y1, z0, z1 = self.crop_mm
            return Crop(((x0, x1), (y0, y1), (z0, z1)))
        return None

    def apply(self, edit: Edit) -> Change | None:
        """Apply ``edit`` to the edited labels now; ValidationError when it cannot apply (say why)."""
        if self._labels is None or self._grid is None:
            raise RhinoappError("no airway to edit: segment the CT first")
        change = plan_edit(self._labels, self._grid, edit)
        return self._commit(edit, change)

    def _commit(self, edit: Edit, change: Change | None) -> Change | None:
        if change is None:
            self._say(f"The {edit.kind.value} changed nothing.", MessageKind.INFO)
            return None
        assert self._labels is not None
        change.apply(self._labels)
        self._undo.append((edit, change))
        self._redo.clear()
        self._changed(change)
        self._say(f"{edit.kind.value.capitalize()}: {change.changed} voxels changed.", MessageKind.INFO)
        return change

    def undo(self) -> None:
        """Take back the last edit (exactly)."""
        if not self._undo or self._labels is None:
            return
        edit, change = self._undo.pop()
        change.revert(self._labels)
        self._redo.append((edit, change))
        self._changed(change)
        self._say(f"Undone: {edit.kind.value}.", MessageKind.INFO)

    def redo(self) -> None:
        """Apply the last undone edit again."""
        if not self._redo or self._labels is None:
            return
        edit, change = self._redo.pop()
        change.apply(self._labels)
        self._undo.append((edit, change))
        self._changed(change)
        self._say(f"Redone: {edit.kind.value}.", MessageKind.INFO)

    async def apply_async(self, edit: Edit | None) -> None:
        """Plan ``edit`` in a worker thread (region and cut edits scan the volume), then apply it; errors become ``message``."""
        if edit is None or self._labels is None or self._grid is None:
            return
        async with self._lock:
            labels, grid = self._labels, self._grid
            try:
                change = plan_edit(labels, grid, edit) if isinstance(edit, (Paint, Erase)) else \
                    await asyncio.to_thread(plan_edit, labels, grid, edit)
            except RhinoappError as error:
                self._say(str(error), MessageKind.WARNING)
                return
            if labels is self._labels:  # still the same airway
                self._commit(edit, change)

    async def click(self, point_mm: tuple[float, float, float]) -> None:
        """A click on a slice at an LPS point: the current tool's edit there (nothing with the tool off)."""
        if self.tool == OFF:
            return
        try:
            edit = self.edit_at(point_mm)
        except RhinoappError as error:
            self._say(str(error), MessageKind.WARNING)
            return
        if edit is None:
            self._say("The crop tool uses its box: type it and press Apply.", MessageKind.INFO)
            return
        await self.apply_async(edit)

    # -- saving -------------------------------------------------------------------------------------
    def save(self) -> str:
        """Publish the edited labels as the new variant ``variant_name`` (on this thread); returns its name."""
        project_id = self.geometry.session.current_project_id
        labels = self.labels
        if project_id is None or labels is None:
            raise RhinoappError("no airway to save: open a project and segment its CT first")
        snapshot = LabelMap(labels.labels.copy(), labels.geometry)
        save_edited_geometry(self._repository(), project_id, snapshot, list(self.edits),
                             base_variant=self._base_variant, variant=self.variant_name)
        return self.variant_name

    async def save_async(self) -> None:
        """:meth:`save` in a worker thread (surface and metrics take seconds); the outcome becomes ``message``."""
        if self.busy:
            return
        self.busy = True
        self._say(f"Saving the edited airway as {self.variant_name!r}: recomputing the surface and metrics.",
                  MessageKind.INFO)
        try:
            name = await asyncio.to_thread(self.save)
        except RhinoappError as error:
            self._say(f"Not saved: {error}", MessageKind.ERROR)
            return
        finally:
            self.busy = False
        self.saved_variant = name
        self._say(f"Saved as geometry variant {name!r} with {len(self.edits)} edits; choose it for the simulation.",
                  MessageKind.SUCCESS)

    def variants(self) -> list[str]:
        """The complete geometry variants of the open project (what a simulation can use)."""
        project_id = self.geometry.session.current_project_id
        return [] if project_id is None else geometry_variants(self._repository(), project_id)

    def _repository(self) -> ProjectRepository:
        repository = self.geometry.session.repository
        if repository is None:
            raise RhinoappError("no project store: open the app with a data directory")
        return repository

    def _say(self, text: str, kind: MessageKind) -> None:
        self.param.update(message=text, message_kind=kind)
