"""Three linked slice views of a CT in patient (LPS) millimetres: the model, without any widget.

The axial, coronal and sagittal views are planes of constant LPS ``z``, ``y`` and ``x`` through one
cursor point (the crosshair), sampled on a display grid aligned with the patient axes. Along each
patient axis the grid steps by the spacing of the voxel axis most aligned with it and starts at the
lowest voxel centre, so for an axis-aligned volume (flipped or permuted axes included) every
displayed pixel is exactly one voxel; a volume whose axes are oblique to the patient is sampled at the
nearest voxel. Positions shown, clicked and read out are those of voxel centres, converted through
the volume's geometry (:class:`~rhinoapp.core.volume.ImageGeometry`), so anisotropic voxels and any
orientation come out right.

Views are radiological: axial and coronal show the patient's right on the viewer's left (LPS ``x``
grows to the right), the axial view has anterior at the top, the sagittal view anterior on the left;
coronal and sagittal have superior at the top.

Examples
--------
>>> from rhinoapp.core.volume import CTVolume, ImageGeometry
>>> hu = np.arange(24, dtype=np.int16).reshape(2, 3, 4)  # [k, j, i]
>>> viewer = SliceViewerState(volume=CTVolume(hu, ImageGeometry(hu.shape, (0.5, 0.5, 2.0), (10.0, 20.0, 30.0))))
>>> viewer.cursor, (viewer.axial, viewer.coronal, viewer.sagittal)
((11.0, 20.5, 32.0), (1, 1, 2))
>>> viewer.click("axial", 10.4, 21.1)  # near the centre of voxel (i, j, k) = (1, 2, 1)
((10.5, 21.0, 32.0), (1, 2, 1))
>>> viewer.hover("axial", 10.4, 21.1)
'L 10.5 P 21.0 S 32.0 mm · HU 21 · voxel 1, 2, 1'
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import param

from rhinoapp.core.volume import CTVolume, ImageGeometry

__all__ = ["PLANES", "WINDOWS", "ClickCallback", "DisplayGrid", "SliceImage", "SliceViewerState", "dragged_window",
           "readout_text"]

_log = logging.getLogger(__name__)

#: Window presets (centre, width) in HU.
WINDOWS: Mapping[str, tuple[float, float]] = MappingProxyType({
    "air": (-500.0, 1000.0), "soft tissue": (40.0, 400.0), "bone": (500.0, 2000.0)})
CUSTOM = "custom"
_PRESETS: list[str] = [*WINDOWS, CUSTOM]
#: The three views; per view the LPS components along its horizontal axis, its vertical axis and its normal.
PLANES: Mapping[str, tuple[int, int, int]] = MappingProxyType({
    "axial": (0, 1, 2), "coronal": (0, 2, 1), "sagittal": (1, 2, 0)})
_NAMES = ("x", "y", "z")
_WIDTH_RANGE, _LEVEL_RANGE = (1.0, 6000.0), (-1500.0, 3000.0)
#: Callback of a click: plane name, LPS millimetres of the voxel centre clicked, its (i, j, k) index.
ClickCallback = Callable[[str, tuple[float, float, float], tuple[int, int, int]], Any]


@dataclass(frozen=True)
class DisplayGrid:
    """Pixel centres of the views along each patient axis: ``lower + step * n`` for ``n < count``.

    Examples
    --------
    >>> grid = DisplayGrid.of(ImageGeometry((3, 4, 5), (0.5, 0.6, 2.0), (1.0, 2.0, 3.0), (-1, 0, 0, 0, 1, 0, 0, 0, 1)))
    >>> grid.lower, grid.step, grid.count
    ((-1.0, 2.0, 3.0), (0.5, 0.6, 2.0), (5, 4, 3))
    """

    lower: tuple[float, float, float]
    step: tuple[float, float, float]
    count: tuple[int, int, int]

    @classmethod
    def of(cls, geometry: ImageGeometry) -> DisplayGrid:
        """The display grid covering every voxel centre of ``geometry``."""
        aligned = np.argmax(np.abs(geometry.direction_matrix), axis=1)  # voxel axis nearest each LPS axis
        step = np.asarray(geometry.spacing_mm)[aligned]
        last = np.asarray(geometry.shape[::-1]) - 1
        corners = np.array([[a, b, c] for a in (0, last[0]) for b in (0, last[1]) for c in (0, last[2])])
        points = geometry.index_to_physical(corners)
        lower, upper = points.min(axis=0), points.max(axis=0)
        count = np.rint((upper - lower) / step).astype(int) + 1
        return cls(tuple(float(v) for v in lower), tuple(float(v) for v in step),  # type: ignore[arg-type]
                   tuple(int(v) for v in count))  # type: ignore[arg-type]

    def coordinates(self, component: int) -> np.ndarray:
        """Pixel centres (mm) along LPS ``component``."""
        return self.lower[component] + self.step[component] * np.arange(self.count[component])

    def index(self, component: int, value_mm: float) -> int:
        """Nearest pixel index along ``component`` of ``value_mm``, clipped to the grid."""
        n = round((value_mm - self.lower[component]) / self.step[component])
        return int(min(max(n, 0), self.count[component] - 1))


@dataclass(frozen=True, eq=False)
class SliceImage:
    """One view's pixels: ``values`` with the first row at the top of the vertical axis (its highest value).

    ``bounds`` are ``(left, bottom, right, top)`` in LPS millimetres of the view's horizontal and
    vertical components; ``invert_vertical`` says that the vertical axis grows downwards on screen.
    """

    values: np.ndarray
    bounds: tuple[float, float, float, float]
    horizontal: str
    vertical: str
    invert_vertical: bool


def readout_text(lps: tuple[float, float, float], hu: float, ijk: tuple[int, int, int]) -> str:
    """What the pointer is over, as a radiologist reads it.

    Examples
    --------
    >>> readout_text((12.34, -45.6, 78.9), -987.0, (3, 4, 5))
    'L 12.3 P -45.6 S 78.9 mm · HU -987 · voxel 3, 4, 5'
    """
    x, y, z = (v + 0.0 for v in np.round(lps, 1))
    return f"L {x:.1f} P {y:.1f} S {z:.1f} mm · HU {hu:.0f} · voxel {ijk[0]}, {ijk[1]}, {ijk[2]}"


def dragged_window(level: float, width: float, right: float, up: float) -> tuple[float, float]:
    """Window level and width after a drag of ``right`` and ``up`` (fractions of the view's size).

    Dragging right widens the window (less contrast), up raises the level (darker image); a drag
    across the whole view changes the width by 2000 HU or the level by 1000 HU.

    Examples
    --------
    >>> dragged_window(-500.0, 1000.0, 0.1, -0.2)
    (-700.0, 1200.0)
    >>> dragged_window(0.0, 100.0, -1.0, 0.0)
    (0.0, 1.0)
    """
    width = float(np.clip(width + 2000.0 * right, *_WIDTH_RANGE))
    level = float(np.clip(level + 1000.0 * up, *_LEVEL_RANGE))
    return level, width


class SliceViewerState(param.Parameterized):
    """Cursor, slice indices, window and pointer readout of three linked views of ``volume``.

    ``labels`` (an integer array on the CT's grid, e.g. an airway label map) is drawn over the CT;
    bump ``labels_revision`` after changing it in place. With ``tool`` empty a click moves the
    crosshair; with a tool active (a name set by the page) it does not, and the page acts on the
    click through :meth:`on_click`.
    """

    volume = param.ClassSelector(class_=CTVolume, default=None, allow_None=True, doc="The CT shown.")
    labels = param.Array(default=None, allow_None=True, doc="Labels drawn over the CT ([k, j, i], CT grid).")
    labels_revision = param.Integer(default=0, doc="Bumped when ``labels`` changed in place.")
    opacity = param.Number(default=0.55, bounds=(0.0, 1.0), step=0.05, label="Label opacity",
                           doc="Opacity of the labels over the CT.")
    cursor = param.NumericTuple(default=(0.0, 0.0, 0.0), length=3, doc="Crosshair point, LPS mm.")
    axial = param.Integer(default=0, bounds=(0, 0), doc="Axial slice (pixel index along z).")
    coronal = param.Integer(default=0, bounds=(0, 0), doc="Coronal slice (pixel index along y).")
    sagittal = param.Integer(default=0, bounds=(0, 0), doc="Sagittal slice (pixel index along x).")
    preset: param.Selector = param.Selector(objects=_PRESETS, default="air", label="Window",
                            doc="Window preset; dragging on a view makes it custom.")
    level = param.Number(default=WINDOWS["air"][0], bounds=_LEVEL_RANGE, label="Level (HU)", doc="Window centre.")
    width = param.Number(default=WINDOWS["air"][1], bounds=_WIDTH_RANGE, label="Width (HU)", doc="Window width.")
    readout = param.String(default="", doc="Position and HU under the pointer.")
    tool = param.String(default="", doc="Active tool; empty: a click moves the crosshair.")
    markers = param.Dict(default={}, doc="Points to mark (name -> LPS mm), drawn on the views through them.")
    levels = param.Dict(default={}, doc="Axial planes to mark (name -> z mm), drawn on the coronal and sagittal views.")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._callbacks: list[ClickCallback] = []
        self._syncing = False
        self._drag: tuple[str, int, float, float, float, float] | None = None
        self.grid: DisplayGrid | None = None
        self.param.watch(self._cursor_moved, "cursor")
        self.param.watch(self._index_moved, list(PLANES))
        self.param.watch(self._preset_chosen, "preset")
        self._volume_changed()

    # -- volume, cursor and slices -------------------------------------------------------------
    @param.depends("volume", watch=True)
    def _volume_changed(self) -> None:
        volume = self.volume
        self.grid = DisplayGrid.of(volume.geometry) if volume is not None else None
        for name, (_, _, normal) in PLANES.items():
            self.param[name].bounds = (0, self.grid.count[normal] - 1 if self.grid else 0)
        if self.grid is None:
            self.param.update(readout="", **{name: 0 for name in PLANES})
            return
        middle = np.asarray(volume.hu.shape[::-1]) // 2
        self.cursor = tuple(float(v) for v in volume.geometry.index_to_physical(middle))
        self._cursor_moved()

    def _cursor_moved(self, *_: object) -> None:
        if self._syncing or self.grid is None:
            return
        self._syncing = True
        try:
            self.param.update(**{name: self.grid.index(normal, self.cursor[normal])
                                 for name, (_, _, normal) in PLANES.items()})
        finally:
            self._syncing = False

    def _index_moved(self, *events: param.parameterized.Event) -> None:
        if self._syncing or self.grid is None:
            return
        cursor = list(self.cursor)
        for event in events:
            normal = PLANES[event.name][2]
            cursor[normal] = self.grid.lower[normal] + self.grid.step[normal] * event.new
        self._syncing = True
        try:
            self.cursor = tuple(cursor)
        finally:
            self._syncing = False

    def position(self, name: str) -> float:
        """LPS millimetres of the slice shown in view ``name`` along its normal."""
        normal = PLANES[name][2]
        return self.grid.lower[normal] + self.grid.step[normal] * getattr(self, name) if self.grid else 0.0

    def image(self, name: str) -> SliceImage | None:
        """The CT pixels of view ``name`` at its current slice (NaN outside the volume)."""
        return None if self.volume is None else self._sample(self.volume.hu, name, np.nan, np.float32)

    def labels_image(self, name: str) -> SliceImage | None:
        """The labels of view ``name`` (0 outside), or None without labels on the CT's grid."""
        if self.volume is None or self.labels is None or self.labels.shape != self.volume.hu.shape:
            return None
        return self._sample(self.labels, name, 0, self.labels.dtype)

    def _sample(self, array: np.ndarray, name: str, fill: float, dtype: Any) -> SliceImage:
        grid, geometry = self.grid, self.volume.geometry
        h, v, normal = PLANES[name]
        across, up = grid.coordinates(h), grid.coordinates(v)[::-1]  # first row: highest vertical value
        points = np.empty((up.size, across.size, 3))
        points[..., h], points[..., v], points[..., normal] = across[None, :], up[:, None], self.position(name)
        ijk = np.rint(geometry.physical_to_index(points)).astype(np.int64)
        size = np.asarray(geometry.shape[::-1])
        inside = np.all((ijk >= 0) & (ijk < size), axis=-1)
        values = np.full(inside.shape, fill, dtype=dtype)
        hits = ijk[inside]
        values[inside] = array[hits[:, 2], hits[:, 1], hits[:, 0]]
        sh, sv = grid.step[h] / 2, grid.step[v] / 2
        bounds = (across[0] - sh, up[-1] - sv, across[-1] + sh, up[0] + sv)
        return SliceImage(values, tuple(float(b) for b in bounds), _NAMES[h], _NAMES[v],  # type: ignore[arg-type]
                          invert_vertical=name == "axial")

    # -- pointer -------------------------------------------------------------------------------
    def point_on(self, name: str, horizontal: float, vertical: float) -> tuple[float, float, float]:
        """LPS millimetres of the point at (``horizontal``, ``vertical``) on view ``name``."""
        h, v, normal = PLANES[name]
        point = [0.0, 0.0, 0.0]
        point[h], point[v], point[normal] = float(horizontal), float(vertical), self.position(name)
        return point[0], point[1], point[2]

    def voxel_at(self, lps: Any) -> tuple[int, int, int] | None:
        """Index ``(i, j, k)`` of the voxel containing the LPS point ``lps``; None outside the volume."""
        if self.volume is None:
            return None
        ijk = np.rint(self.volume.geometry.physical_to_index(lps)).astype(int)
        if np.any(ijk < 0) or np.any(ijk >= np.asarray(self.volume.hu.shape[::-1])):
            return None
        return int(ijk[0]), int(ijk[1]), int(ijk[2])

    def centre_of(self, ijk: tuple[int, int, int]) -> tuple[float, float, float]:
        """LPS millimetres of the centre of voxel ``ijk`` (rounded to 1 µm)."""
        centre = np.round(self.volume.geometry.index_to_physical(ijk), 3) + 0.0
        return float(centre[0]), float(centre[1]), float(centre[2])

    def _voxel_under(self, name: str, horizontal: float | None, vertical: float | None) -> tuple[int, int, int] | None:
        if horizontal is None or vertical is None:  # the pointer left the view
            return None
        return self.voxel_at(self.point_on(name, horizontal, vertical))

    def hover(self, name: str, horizontal: float | None, vertical: float | None) -> str:
        """Update and return ``readout`` for the pointer at (``horizontal``, ``vertical``) on view ``name``."""
        ijk = self._voxel_under(name, horizontal, vertical)
        if ijk is None:
            self.readout = "outside the CT"
        else:
            self.readout = readout_text(self.centre_of(ijk), float(self.volume.hu[ijk[2], ijk[1], ijk[0]]), ijk)
        return self.readout

    def on_click(self, callback: ClickCallback) -> None:
        """Call ``callback(plane_name, lps_mm, (i, j, k))`` on every click inside the volume."""
        self._callbacks.append(callback)

    def click(self, name: str, horizontal: float | None, vertical: float | None
              ) -> tuple[tuple[float, float, float], tuple[int, int, int]] | None:
        """A click at (``horizontal``, ``vertical``) on view ``name``: the voxel centre and index clicked.

        Without an active ``tool`` the crosshair moves there. Every subscriber of :meth:`on_click`
        is called. None (nothing happens) outside the volume.
        """
        ijk = self._voxel_under(name, horizontal, vertical)
        if ijk is None:
            return None
        lps = self.centre_of(ijk)
        if not self.tool:
            self.cursor = lps
        for callback in list(self._callbacks):
            callback(name, lps, ijk)
        return lps, ijk

    # -- window --------------------------------------------------------------------------------
    @property
    def window_range(self) -> tuple[float, float]:
        """Lowest and highest HU of the window."""
        return self.level - self.width / 2, self.level + self.width / 2

    def _preset_chosen(self, event: param.parameterized.Event) -> None:
        if event.new in WINDOWS:
            level, width = WINDOWS[event.new]
            self.param.update(level=level, width=width)

    def drag(self, name: str, stroke: int, horizontal: float | None, vertical: float | None) -> None:
        """A drag on view ``name`` (``stroke`` counts the drags) sets the window; see :func:`dragged_window`."""
        if horizontal is None or vertical is None or self.grid is None:
            return
        if self._drag is None or self._drag[:2] != (name, stroke):
            self._drag = (name, stroke, horizontal, vertical, self.level, self.width)
            return
        h, v, _ = PLANES[name]
        size_h, size_v = (self.grid.step[c] * self.grid.count[c] for c in (h, v))
        up = (vertical - self._drag[3]) / size_v * (-1 if name == "axial" else 1)
        level, width = dragged_window(self._drag[4], self._drag[5], (horizontal - self._drag[2]) / size_h, up)
        self.param.update(preset=CUSTOM, level=level, width=width)
