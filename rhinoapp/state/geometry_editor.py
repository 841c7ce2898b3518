"""State of the correction tools on the Geometry page: an edited copy of the airway labels.

The editor starts from the airway the Geometry page shows (:class:`~rhinoapp.state.geometry.GeometryState`
``result``): a copy of its label map that the tools change, voxel by voxel. Each tool click
becomes an edit (:mod:`rhinoapp.segmentation.editing`, LPS millimetres); :meth:`GeometryEditorState.apply`
plans it (the changed sub-block only), writes it and keeps the change for :meth:`~GeometryEditorState.undo`
and :meth:`~GeometryEditorState.redo`. ``revision`` counts the changes; ``axial_revision`` and its
siblings count only the changes that cross the slice shown in that plane, so a view redraws the
planes a stroke touched and no other. :meth:`~GeometryEditorState.save` publishes the edited
labels as a new geometry variant (surface, openings and metrics recomputed, the edits recorded as
its provenance; :mod:`rhinoapp.usecases.geometry_edit`) in a worker thread.
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
from rhinoapp.core.volume import AirwayLabel, CTVolume, ImageGeometry, LabelMap
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
from rhinoapp.state.ct_import import Plane, orthogonal_plane
from rhinoapp.state.geometry import GeometryState
from rhinoapp.state.job_page import MessageKind
from rhinoapp.usecases.geometry_edit import geometry_variants, save_edited_geometry

__all__ = ["PAINT_LABELS", "PLANES", "GeometryEditorState", "plane_axis", "plot_to_lps"]

_log = logging.getLogger(__name__)
PLANES = ("axial", "coronal", "sagittal")
#: Labels the brush paints, by name.
PAINT_LABELS: Mapping[str, int] = MappingProxyType({
    "Left nasal cavity": int(AirwayLabel.LEFT_CAVITY), "Right nasal cavity": int(AirwayLabel.RIGHT_CAVITY),
    "Nasopharynx": int(AirwayLabel.NASOPHARYNX), "Sinus": int(AirwayLabel.SINUS)})
# As the slice display (rhinoapp.state.ct_import.orthogonal_plane): per plane, the LPS component the
# slicing axis follows, and (component, sign) of rows growing downwards and columns to the right.
_DISPLAY = {"axial": (2, (1, 1), (0, 1)), "coronal": (1, (2, -1), (0, 1)), "sagittal": (0, (2, -1), (1, 1))}


def _grid_axis(geometry: ImageGeometry, component: int) -> int:
    return int(np.argmax(np.abs(geometry.direction_matrix[component, :])))


def plane_axis(geometry: ImageGeometry, name: str) -> int:
    """The label array's axis (0 k, 1 j, 2 i) along which plane ``name`` is sliced.

    Examples
    --------
    >>> plane_axis(ImageGeometry((3, 4, 5)), "axial"), plane_axis(ImageGeometry((3, 4, 5)), "sagittal")
    (0, 2)
    """
    return 2 - _grid_axis(geometry, _DISPLAY[name][0])


def plot_to_lps(geometry: ImageGeometry, name: str, index: int, x: float, y: float) -> tuple[float, float, float]:
    """LPS millimetres of the point ``(x, y)`` of slice ``index`` of plane ``name`` as the slice plots draw it.

    The plots put the slice's centre at (0, 0), columns to the right and the first row at the top,
    in millimetres (see :func:`rhinoapp.views.geometry_plots.slice_plot`).

    Examples
    --------
    >>> g = ImageGeometry((10, 20, 30), (1.0, 1.0, 2.0))
    >>> plot_to_lps(g, "axial", 4, -14.6, 9.6)  # top left voxel of the axial slice k = 4
    (0.0, 0.0, 8.0)
    >>> plot_to_lps(g, "coronal", 3, 0.1, 9.9)  # top row is superior
    (15.0, 3.0, 18.0)
    """
    slicing, rows, cols = _DISPLAY[name]
    matrix = geometry.direction_matrix
    shape_ijk = geometry.shape[::-1]
    spacing = geometry.spacing_mm
    ijk = [0, 0, 0]
    ijk[_grid_axis(geometry, slicing)] = int(index)
    for (component, sign), position, along in ((rows, None, y), (cols, x, None)):
        axis = _grid_axis(geometry, component)
        count, size = shape_ijk[axis], spacing[axis]
        shown = (count * size / 2 + position) / size if position is not None else (count * size / 2 - along) / size
        shown_index = min(max(int(np.floor(shown)), 0), count - 1)
        flipped = np.sign(matrix[component, axis]) != sign
        ijk[axis] = count - 1 - shown_index if flipped else shown_index
    return tuple(float(v) for v in geometry.index_to_physical(ijk))  # type: ignore[return-value]


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
    tool = param.Selector(objects=[k.value for k in EditKind], default=EditKind.ERASE.value, label="Tool",
                          doc="What a click on a slice does.")
    brush_mm = param.Number(default=2.0, bounds=(0.5, 20.0), step=0.5, label="Brush radius (mm)",
                            doc="Radius of the sphere the paint and erase brushes change.")
    paint_label = param.Selector(objects=dict(PAINT_LABELS), default=int(AirwayLabel.LEFT_CAVITY), label="Paint label",
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
    axial_revision = param.Integer(default=0, doc="Changes crossing the axial slice shown.")
    coronal_revision = param.Integer(default=0, doc="Changes crossing the coronal slice shown.")
    sagittal_revision = param.Integer(default=0, doc="Changes crossing the sagittal slice shown.")
    saved_variant = param.String(default="", doc="The variant the last save published.")
    message = param.String(default="", doc="What happened last, for the page.")
    message_kind = param.Selector(objects=list(MessageKind), default=MessageKind.INFO)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._labels: np.ndarray | None = None
        self._grid: ImageGeometry | None = None
        self._base_variant = "default"
        self._undo: list[tuple[Edit, Change]] = []
        self._redo: list[tuple[Edit, Change]] = []
        self._lock = asyncio.Lock()
        self.geometry.param.watch(lambda _event: self.reset(), "result")
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
            self._labels, self._grid = result.labels.labels.copy(), result.labels.geometry
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

    def plane(self, name: str) -> tuple[Plane | None, np.ndarray | None]:
        """The CT slice ``name`` shown by the page and the edited labels on it (the page's labels when idle)."""
        if self._labels is None or self._grid is None or self.geometry.ct.volume is None:
            return self.geometry.plane(name)
        volume = self.geometry.ct.volume
        if volume.geometry.shape != self._grid.shape:
            return self.geometry.plane(name)
        index = int(getattr(self.geometry, name))
        return (orthogonal_plane(volume, name, index),
                orthogonal_plane(CTVolume(self._labels, self._grid), name, index).hu.copy())  # edits go on

    def _changed(self, change: Change | None) -> None:
        updates: dict[str, Any] = {"revision": self.revision + 1, "can_undo": bool(self._undo),
                                   "can_redo": bool(self._redo), "edits": [edit for edit, _ in self._undo]}
        for name in PLANES:
            touched = change is None or self._grid is None or change.spans(
                plane_axis(self._grid, name), int(getattr(self.geometry, name)))
            if touched:
                updates[f"{name}_revision"] = getattr(self, f"{name}_revision") + 1
        self.param.update(**updates)

    # -- edits --------------------------------------------------------------------------------------
    def edit_at(self, point_mm: tuple[float, float, float]) -> Edit | None:
        """The edit the current tool makes at an LPS point (None for the crop tool, which uses its box)."""
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
        """A click on a slice at an LPS point: the current tool's edit there."""
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
        save_edited_geometry(self.geometry.session.repository, project_id, snapshot, list(self.edits),
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
        return [] if project_id is None else geometry_variants(self.geometry.session.repository, project_id)

    def _say(self, text: str, kind: MessageKind) -> None:
        self.param.update(message=text, message_kind=kind)
