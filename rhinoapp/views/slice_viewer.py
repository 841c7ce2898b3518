"""Three linked slice views (axial, coronal, sagittal) over a :class:`~rhinoapp.state.slice_viewer.SliceViewerState`.

Axes are patient (LPS) millimetres. Moving the pointer over a view shows its LPS position and HU;
a click moves the crosshair (or, with a tool active, goes to the page's tool through
``state.on_click``); dragging on a view sets the window (right: wider, up: higher level); the mouse
wheel zooms once its tool is chosen in the toolbar. Behaviour lives in the state; this only draws.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import holoviews as hv
import numpy as np
import panel as pn
import param

import holoviews.plotting.bokeh  # noqa: F401  registers the bokeh backend (no notebook output)
from rhinoapp.state.slice_viewer import PLANES, SliceImage, SliceViewerState

__all__ = ["SliceViewer", "slice_overlay"]

_CROSSHAIR = "#F0E442"  # Okabe-Ito yellow: visible on grey
_MARKER = "#56B4E9"
_AXES = ("x", "y", "z")
_PATIENT = {"x": ("R", "L"), "y": ("A", "P"), "z": ("I", "S")}


def _title(name: str, image: SliceImage) -> str:
    low, high = _PATIENT[image.horizontal]
    return f"{name}: {low} on the left, {high} on the right"


def slice_overlay(name: str, image: SliceImage, labels: SliceImage | None, *, clim: tuple[float, float],
                  colours: Sequence[str] = (), opacity: float = 0.55, frame_width: int = 260) -> hv.Overlay:
    """The CT of one view in grey, in patient millimetres, with ``labels`` (1, 2, ... in ``colours``) over it.

    Examples
    --------
    >>> image = SliceImage(np.zeros((2, 3), np.float32), (0.0, 0.0, 3.0, 4.0), "x", "y", invert_vertical=True)
    >>> overlay = slice_overlay("axial", image, None, clim=(-1000.0, 0.0), colours=["#0072B2"])
    >>> [type(e).__name__ for e in overlay], overlay.get(0).bounds.lbrt()
    (['Image', 'Image'], (0.0, 0.0, 3.0, 4.0))
    """
    left, bottom, right, top = image.bounds
    height = max(40, round(frame_width * (top - bottom) / (right - left)))
    low, high = _PATIENT[image.vertical]
    options = {"frame_width": frame_width, "frame_height": height, "aspect": None, "data_aspect": None,
               "colorbar": False, "invert_yaxis": image.invert_vertical, "default_tools": [],
               "tools": ["wheel_zoom", "reset"], "active_tools": []}
    kdims = [hv.Dimension(image.horizontal, label=f"{image.horizontal.upper()} ({_PATIENT[image.horizontal][1]}+)",
                          unit="mm"),
             hv.Dimension(image.vertical, label=f"{image.vertical.upper()} ({high}+, {low}-)", unit="mm")]
    ct = hv.Image(image.values, bounds=image.bounds, kdims=kdims, vdims=hv.Dimension("hu", label="CT", unit="HU"))
    ct = ct.opts(cmap="gray", clim=clim, title=_title(name, image), toolbar="above",
                 clipping_colors={"NaN": "black"}, **options)
    # Always two layers (labels all clear when there are none), so a live plot can gain them later;
    # background (0) lies below the colour range and is drawn transparent.
    values = labels.values if labels is not None else np.zeros(image.values.shape, np.uint8)
    drawn = hv.Image(values, bounds=image.bounds, kdims=kdims, vdims=hv.Dimension("label", label="Label")).opts(
        cmap=list(colours) or ["#000000"], clim=(0.5, max(len(colours), 1) + 0.5), alpha=opacity,
        clipping_colors={"min": "transparent", "NaN": "transparent"}, **options)
    return hv.Overlay([ct, drawn])


class SliceViewer(pn.viewable.Viewer):
    """The three views, the pointer readout, window presets and a slider per view.

    Each view's pane carries the CSS class ``{css_prefix}-{plane}``; the readout ``{css_prefix}-readout``.
    """

    state = param.ClassSelector(class_=SliceViewerState)
    css_prefix = param.String(default="rh-slices", doc="Prefix of the CSS classes of the views and the readout.")
    label_colours = param.List(default=[], item_type=str, doc="Colour of label 1, 2, ... of the overlay.")
    frame_width = param.Integer(default=260, doc="Width of each view in pixels.")

    def _layers(self, name: str, *_: object) -> hv.Overlay | hv.Text:
        s = self.state
        image = s.image(name)
        if image is None:
            return hv.Text(0, 0, "no CT")
        return slice_overlay(name, image, s.labels_image(name), clim=s.window_range, colours=self.label_colours,
                             opacity=s.opacity, frame_width=self.frame_width)

    def _marks(self, name: str, *_: object) -> hv.Overlay:
        s = self.state
        h, v, normal = PLANES[name]
        half = s.grid.step[normal] / 2 if s.grid is not None else 0.0
        near = [(p[h], p[v], label) for label, p in s.markers.items() if abs(p[normal] - s.position(name)) <= half]
        points = hv.Points(near, kdims=[_AXES[h], _AXES[v]], vdims=["name"])
        image = s.image(name)
        left, right = (image.bounds[0], image.bounds[2]) if image is not None else (0.0, 1.0)
        lines = [[(left, z), (right, z)] for z in s.levels.values()] if v == 2 else []
        return hv.Overlay([
            hv.VLine(s.cursor[h]).opts(color=_CROSSHAIR, line_width=1, alpha=0.8),
            hv.HLine(s.cursor[v]).opts(color=_CROSSHAIR, line_width=1, alpha=0.8),
            points.opts(color=_MARKER, marker="circle_cross", size=12, line_color="white", tools=["hover"]),
            hv.Labels(near, kdims=[_AXES[h], _AXES[v]], vdims=["name"]).opts(
                text_color="white", text_font_size="9pt", yoffset=2.0, text_align="left"),
            hv.Path(lines, kdims=[_AXES[h], _AXES[v]]).opts(color=_MARKER, line_width=2, line_dash="dashed")])

    def _view(self, name: str) -> pn.viewable.Viewable:
        s = self.state
        image = hv.DynamicMap(pn.bind(self._layers, name, s.param[name], s.param.level, s.param.width, s.param.volume,
                                      s.param.labels, s.param.labels_revision, s.param.opacity))
        marks = hv.DynamicMap(pn.bind(self._marks, name, s.param.cursor, s.param[name], s.param.markers,
                                      s.param.levels, s.param.volume))
        hv.streams.Tap(source=image).add_subscriber(lambda x, y: s.click(name, x, y))
        hv.streams.PointerXY(source=image).add_subscriber(lambda x, y: s.hover(name, x, y))
        hv.streams.Draw(source=image).add_subscriber(lambda x, y, stroke_count: s.drag(name, stroke_count, x, y))
        return pn.Column(pn.pane.HoloViews(image * marks, backend="bokeh", css_classes=[f"{self.css_prefix}-{name}"]),
                         pn.widgets.IntSlider.from_param(s.param[name], label=f"{name.capitalize()} slice",
                                                         width=self.frame_width - 20))

    def _readout(self, text: str) -> str:
        shown = html.escape(text) if text else "Point at a slice to read its position (LPS mm) and HU."
        return f'<div class="{self.css_prefix}-readout" style="font-family: monospace">{shown}</div>'

    def _window_text(self, level: float, width: float) -> str:
        return f'<span class="{self.css_prefix}-window">Level {level:.0f} HU, width {width:.0f} HU</span>'

    def __panel__(self) -> pn.viewable.Viewable:
        s = self.state
        window = pn.Row(pn.pane.Markdown("**Window**", margin=(12, 10, 0, 10)),
                        pn.widgets.RadioButtonGroup.from_param(s.param.preset),
                        pn.pane.HTML(pn.bind(self._window_text, s.param.level, s.param.width), margin=(12, 10, 0, 10)),
                        pn.pane.Markdown("Drag on a slice to change the window; click to move the crosshair.",
                                         margin=(12, 10, 0, 10)))
        return pn.Column(window, pn.pane.HTML(pn.bind(self._readout, s.param.readout), sizing_mode="stretch_width"),
                         pn.Row(*(self._view(n) for n in PLANES)), sizing_mode="stretch_width")
