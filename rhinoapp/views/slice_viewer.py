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

__all__ = ["SliceViewer", "ct_image", "labels_image"]

_CROSSHAIR = "#F0E442"  # Okabe-Ito yellow: visible on grey
_MARKER = "#56B4E9"
_AXES = ("x", "y", "z")
_PATIENT = {"x": ("R", "L"), "y": ("A", "P"), "z": ("I", "S")}
# No drag tool: a drag sets the window. The wheel zooms once chosen in the toolbar; reset undoes it.
_TOOLS: dict[str, object] = {"default_tools": [], "tools": ["wheel_zoom", "reset"], "active_tools": []}
_EMPTY = SliceImage(np.full((1, 1), np.nan, np.float32), (0.0, 0.0, 1.0, 1.0), "x", "y", invert_vertical=False)


def _title(name: str, image: SliceImage) -> str:
    low, high = _PATIENT[image.horizontal]
    return f"{name}: {low} on the left, {high} on the right"


def _options(image: SliceImage, frame_width: int) -> dict[str, object]:
    left, bottom, right, top = image.bounds
    height = max(40, round(frame_width * (top - bottom) / (right - left)))
    return {"frame_width": frame_width, "frame_height": height, "aspect": None, "data_aspect": None, **_TOOLS,
            "colorbar": False, "invert_yaxis": image.invert_vertical}


def _kdims(image: SliceImage) -> list[hv.Dimension]:
    low, high = _PATIENT[image.vertical]
    return [hv.Dimension(image.horizontal, label=f"{image.horizontal.upper()} ({_PATIENT[image.horizontal][1]}+)",
                         unit="mm"),
            hv.Dimension(image.vertical, label=f"{image.vertical.upper()} ({high}+, {low}-)", unit="mm")]


def ct_image(name: str, image: SliceImage, *, clim: tuple[float, float], frame_width: int = 260) -> hv.Image:
    """The CT of one view in grey, its axes in patient millimetres (NaN, outside the volume, in black).

    Examples
    --------
    >>> image = SliceImage(np.zeros((2, 3), np.float32), (0.0, 0.0, 3.0, 4.0), "x", "y", invert_vertical=True)
    >>> ct = ct_image("axial", image, clim=(-1000.0, 0.0))
    >>> ct.bounds.lbrt(), [d.pprint_label for d in ct.kdims]
    ((0.0, 0.0, 3.0, 4.0), ['X (L+) (mm)', 'Y (P+, A-) (mm)'])
    """
    hu = hv.Dimension("hu", label="CT", unit="HU")
    ct = hv.Image(image.values, bounds=image.bounds, kdims=_kdims(image), vdims=hu)
    return ct.opts(cmap="gray", clim=clim, title=_title(name, image), toolbar="above", clipping_colors={"NaN": "black"},
                   **_options(image, frame_width))


def labels_image(image: SliceImage, labels: SliceImage | None, *, colours: Sequence[str], opacity: float = 0.55,
                 frame_width: int = 260) -> hv.Image:
    """``labels`` (1, 2, ... drawn in ``colours``) over the view ``image``; all clear without labels.

    Examples
    --------
    >>> image = SliceImage(np.zeros((2, 3), np.float32), (0.0, 0.0, 3.0, 4.0), "x", "y", invert_vertical=True)
    >>> drawn = labels_image(image, None, colours=["#0072B2"], opacity=0.4)
    >>> int(drawn.data.max()), drawn.opts.get().kwargs["clipping_colors"]["min"]
    (0, 'transparent')
    """
    # Always a layer (all clear when there are no labels), so a live plot can gain them later;
    # background (0) lies below the colour range and is drawn transparent.
    values = labels.values if labels is not None else np.zeros(image.values.shape, np.uint8)
    drawn = hv.Image(values, bounds=image.bounds, kdims=_kdims(image), vdims=hv.Dimension("label", label="Label"))
    return drawn.opts(cmap=list(colours) or ["#000000"], clim=(0.5, max(len(colours), 1) + 0.5), alpha=opacity,
                      clipping_colors={"min": "transparent", "NaN": "transparent"}, **_options(image, frame_width))


def _readout_html(text: str, prefix: str) -> str:
    shown = html.escape(text) if text else "Point at a slice to read its position (LPS mm) and HU."
    return f'<div class="{prefix}-readout" style="font-family: monospace">{shown}</div>'


def _window_html(level: float, width: float, prefix: str) -> str:
    return f'<span class="{prefix}-window">Level {level:.0f} HU, width {width:.0f} HU</span>'


class SliceViewer(pn.viewable.Viewer):
    """The three views, the pointer readout, window presets and a slider per view.

    Each view's pane carries the CSS class ``{css_prefix}-{plane}``; the readout ``{css_prefix}-readout``.
    """

    state = param.ClassSelector(class_=SliceViewerState)
    css_prefix = param.String(default="rh-slices", doc="Prefix of the CSS classes of the views and the readout.")
    label_colours = param.List(default=[], item_type=str, doc="Colour of label 1, 2, ... of the overlay.")
    frame_width = param.Integer(default=260, doc="Width of each view in pixels.")

    def _ct(self, name: str, *_: object) -> hv.Image:
        image = self.state.image(name) or _EMPTY
        return ct_image(name, image, clim=self.state.window_range, frame_width=self.frame_width)

    def _labels(self, name: str, *_: object) -> hv.Image:
        s = self.state
        image = s.image(name) or _EMPTY
        return labels_image(image, s.labels_image(name), colours=self.label_colours, opacity=s.opacity,
                            frame_width=self.frame_width)

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
            hv.VLine(s.cursor[h]).opts(color=_CROSSHAIR, line_width=1, alpha=0.8, **_TOOLS),
            hv.HLine(s.cursor[v]).opts(color=_CROSSHAIR, line_width=1, alpha=0.8, **_TOOLS),
            points.opts(color=_MARKER, marker="circle_cross", size=12, line_color="white", **_TOOLS),
            hv.Labels(near, kdims=[_AXES[h], _AXES[v]], vdims=["name"]).opts(
                text_color="white", text_font_size="9pt", yoffset=2.0, text_align="left", **_TOOLS),
            hv.Path(lines, kdims=[_AXES[h], _AXES[v]]).opts(color=_MARKER, line_width=2, line_dash="dashed", **_TOOLS)])

    def _view(self, name: str) -> pn.viewable.Viewable:
        s = self.state
        image = hv.DynamicMap(pn.bind(self._ct, name, s.param[name], s.param.level, s.param.width, s.param.volume))
        labels = hv.DynamicMap(pn.bind(self._labels, name, s.param[name], s.param.volume, s.param.labels,
                                       s.param.labels_revision, s.param.opacity))
        marks = hv.DynamicMap(pn.bind(self._marks, name, s.param.cursor, s.param[name], s.param.markers,
                                      s.param.levels, s.param.volume))
        # the streams' source is the CT layer: HoloViews attaches them to a single element's plot
        hv.streams.Tap(source=image).add_subscriber(lambda x, y: s.click(name, x, y))
        hv.streams.PointerXY(source=image).add_subscriber(lambda x, y: s.hover(name, x, y))
        hv.streams.Draw(source=image).add_subscriber(lambda x, y, stroke_count: s.drag(name, stroke_count, x, y))
        pane = pn.pane.HoloViews(image * labels * marks, backend="bokeh", css_classes=[f"{self.css_prefix}-{name}"])
        return pn.Column(pane,
                         pn.widgets.IntSlider.from_param(s.param[name], label=f"{name.capitalize()} slice",
                                                         width=self.frame_width - 20))

    def __panel__(self) -> pn.viewable.Viewable:
        s = self.state
        window = pn.FlexBox(pn.pane.Markdown("**Window**", margin=(12, 10, 0, 10)),
                        pn.widgets.RadioButtonGroup.from_param(s.param.preset),
                        pn.pane.HTML(s.param.level.rx.pipe(_window_html, s.param.width, prefix=self.css_prefix),
                                     margin=(12, 10, 0, 10)),
                        pn.pane.Markdown("Drag on a slice to change the window; click to move the crosshair.",
                                         margin=(12, 10, 0, 10)), align_items="center")
        readout = pn.pane.HTML(s.param.readout.rx.pipe(_readout_html, prefix=self.css_prefix), sizing_mode="stretch_width")
        return pn.Column(window, readout,
                         pn.FlexBox(*(self._view(n) for n in PLANES)), sizing_mode="stretch_width")
