"""The scenes of the trame panes, built with PyVista on a :class:`pyvista.Plotter`.

The airway coloured by face, pressure or wall shear stress, CT slices with the surface, streamlines from the nostrils,
a clip plane, camera presets, patient direction markers and a decimated mesh while interacting.
Quantities use the same exact colour maps and robust colour ranges (:mod:`rhinoapp.render.colours`:
the 2nd to 98th percentile unless the scene sets a range, values outside in their own colours with
"below"/"above" swatches), with one scalar bar (title and units) per quantity shown: the wall's and,
with streamlines, the velocity's.

Coordinates are LPS millimetres: +x patient left, +y posterior, +z superior.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pyvista as pv

from rhinoapp.render import orientation, scenes
from rhinoapp.render.colours import ABOVE_COLOUR, BELOW_COLOUR, ColourMap, ColourRange, colour_table, robust_range
from rhinoapp.render.loaders import SceneData
from rhinoapp.render.spec import CameraPreset, ClipPlane, Colouring, SceneSpec

__all__ = ["ALIASES", "FIELD_TITLES", "VELOCITY_TITLE", "PyVistaScene", "build_scene", "streamline_mesh"]

#: Colour map and scalar-bar title (with units) of each quantity (the maps of :mod:`rhinoapp.render.scenes`).
FIELD_TITLES = {
    Colouring.PRESSURE: (ColourMap.CIVIDIS, "Pressure (Pa)"),
    Colouring.WALL_SHEAR_STRESS: (ColourMap.VIRIDIS, "Wall shear stress (Pa)"),
}
VELOCITY_TITLE = "Velocity (m/s)"
ALIASES = {
    Colouring.PRESSURE: ("pressure_pa", "pressure", "p", "static_pressure"),
    Colouring.WALL_SHEAR_STRESS: ("wss_pa", "wss", "wall_shear_stress", "wallshearstress"),
}
_VELOCITY = ("velocity_m_s", "velocity", "u", "v")
_BAR: dict[str, Any] = {"vertical": True, "position_y": 0.12, "width": 0.08, "height": 0.76,
        "title_font_size": 14, "label_font_size": 12, "n_labels": 5, "fmt": "%.3g", "color": "white"}


def _colours(colour_map: ColourMap, span: ColourRange, title: str, *, slot: int, bar: bool) -> dict[str, Any]:
    """``add_mesh`` options of a quantity: the exact map over ``span``, clipped values in their own colours."""
    from matplotlib.colors import ListedColormap

    options: dict[str, Any] = {"cmap": ListedColormap(colour_table(colour_map)), "n_colors": 256,
                               "clim": (span.low, span.high), "show_scalar_bar": bar}
    bar_args = {**_BAR, "title": title, "position_x": 0.84 - 0.17 * slot}
    if span.clipped_below:
        options["below_color"] = BELOW_COLOUR
        bar_args["below_label"] = "below"
    if span.clipped_above:
        options["above_color"] = ABOVE_COLOUR
        bar_args["above_label"] = "above"
    options["scalar_bar_args"] = bar_args
    return options


@dataclasses.dataclass(eq=False)
class PyVistaScene:
    """A built scene: the plotter and the actors the controls change."""

    plotter: pv.Plotter
    full: Any
    lod: Any
    clipped: list[Any]
    markers: list[Any]
    bounds: tuple[float, ...]
    triangles: tuple[int, int]
    ranges: tuple[ColourRange, ...]
    clip: ClipPlane | None = None
    observer: int | None = None  # the renderer's observer that turns the orientation markers

    def clear(self) -> None:
        """Remove this scene's content from its plotter; the window, camera, background and axes stay.

        The next scene is built into the same window (``build_scene(..., into=scene)``), so that a page
        showing this window keeps showing it: it never has to follow a new window.
        """
        if self.observer is not None:
            self.plotter.renderer.RemoveObserver(self.observer)
            self.observer = None
        self.plotter.clear()  # actors, colour bars and lights
        self.plotter.enable_lightkit()

    @property
    def has_bar(self) -> bool:
        """Whether the scene shows a colour bar (one per entry of :attr:`ranges`: wall, then velocity)."""
        return bool(self.ranges)

    def preset(self, preset: CameraPreset) -> None:
        """Look from a standard direction (anterior, left, right, from below)."""
        width, height = self.plotter.window_size
        aspect = width / max(height, 1)
        camera = self.plotter.renderer.GetActiveCamera()
        if self.has_bar:  # keep the right part of the picture for the colour bars
            share = 0.2 + 0.17 * (len(self.ranges) - 1)
            aspect *= 1.0 - share
            camera.SetWindowCenter(share, 0.0)
        orientation.place_camera(camera, CameraPreset(preset), self.bounds, aspect=aspect)
        self.plotter.renderer.ResetCameraClippingRange()

    def set_clip(self, clip: ClipPlane | None) -> None:
        """Clip every actor of the scene with one plane, or remove the clip (``None``)."""
        plane = orientation.clip_plane(self.bounds, clip) if clip is not None else None
        for actor in self.clipped:
            mapper = actor.GetMapper()
            mapper.RemoveAllClippingPlanes()
            if plane is not None:
                mapper.AddClippingPlane(plane)
        self.clip = clip

    def set_lod(self, lod: bool) -> None:
        """Show the decimated mesh (``True``, while the user interacts) or the full one."""
        self.lod.SetVisibility(lod)
        self.full.SetVisibility(not lod or self.lod is self.full)

    def screenshot(self) -> np.ndarray:
        """A full-quality picture, ``(height, width, 3)`` uint8, top row first."""
        self.set_lod(False)
        if self.plotter.render_window is not None:
            self.plotter.render_window.Render()
        return np.asarray(self.plotter.screenshot(return_img=True))[..., :3]


def _surface(plotter: pv.Plotter, mesh: pv.PolyData, spec: SceneSpec, *, opacity: float, bar: bool,
             span: ColourRange | None = None) -> tuple[Any, ColourRange | None]:
    """Add the airway; returns its actor and the colour range of its quantity (``None``: no quantity).

    ``span`` fixes the range (the decimated mesh uses the full mesh's); else the scene's
    ``colour_range`` or the 2nd to 98th percentile of the values.
    """
    options: dict[str, Any] = {"color": scenes.MUCOSA, "opacity": opacity, "smooth_shading": True, "ambient": 0.15,
                               "diffuse": 0.85, "specular": 0.25, "specular_power": 20, "show_scalar_bar": False}
    faces = scenes.find_array(mesh, ("face",)) if spec.colouring is Colouring.FACES else None
    if faces is not None:
        options.update(scalars=faces.name, preference="point" if faces.on_points else "cell",
                       cmap=[pv.Color(c).hex_rgb for c in scenes.FACE_COLOURS], clim=(0, 3), n_colors=4,
                       categories=True, interpolate_before_map=True)
    elif spec.colouring in FIELD_TITLES and (found := scenes.find_array(mesh, ALIASES[spec.colouring])) is not None:
        colour_map, title = FIELD_TITLES[spec.colouring]
        if span is None:
            span = robust_range(scenes.array_values(mesh, found), fixed=spec.colour_range)
        options.update(scalars=found.name, preference="point" if found.on_points else "cell",
                       **_colours(colour_map, span, title, slot=0, bar=bar))
    else:
        span = None
    return plotter.add_mesh(mesh, **options), span


def streamline_mesh(flow: Any, surface: Any) -> pv.PolyData | None:
    """Streamlines from the nostrils through ``flow``, with their speed (``speed_m_s``); ``None``: none left the seeds."""
    found = scenes.find_array(flow, _VELOCITY)
    if found is None:
        from rhinoapp.render.offscreen import RenderError

        raise RenderError("the flow field has no 'velocity' array: check the simulation's fields.vti")
    field = pv.wrap(flow)
    field.set_active_vectors(found.name)
    seeds = pv.wrap(scenes._nostril_seeds(surface, 60))
    lines = field.streamlines_from_source(seeds, vectors=found.name, integrator_type=45, max_length=400.0,
                                          initial_step_length=0.3, max_steps=4000, terminal_speed=1e-3)
    if lines.n_points == 0:
        return None
    velocity = np.asarray(lines.point_data[found.name], dtype=float)
    lines.point_data["speed_m_s"] = np.linalg.norm(velocity, axis=1) if velocity.ndim == 2 else np.abs(velocity)
    return lines


def _streamlines(plotter: Any, flow: Any, surface: Any, *, fixed: tuple[float, float] | None,
                 slot: int) -> tuple[Any, ColourRange] | None:
    """Add the streamlines coloured by speed (magma over the robust or the scene's range), with their bar."""
    lines = streamline_mesh(flow, surface)
    if lines is None:
        return None
    span = robust_range(np.asarray(lines.point_data["speed_m_s"]), fixed=fixed)
    actor = plotter.add_mesh(lines, scalars="speed_m_s", line_width=2.0, lighting=False,
                             **_colours(ColourMap.MAGMA, span, VELOCITY_TITLE, slot=slot, bar=True))
    return actor, span


def build_scene(spec: SceneSpec, data: SceneData, *, width: int = 640, height: int = 480,
                into: PyVistaScene | None = None) -> PyVistaScene:
    """Build ``spec``'s scene on an offscreen plotter (``into``: in place of that scene, in its window).

    Examples
    --------
    >>> from rhinoapp.render.loaders import load_scene_data
    >>> from rhinoapp.render.spec import Synthetic
    >>> spec = SceneSpec(synthetic=Synthetic(3000), colouring=Colouring.PRESSURE, lod_triangles=1000)
    >>> scene = build_scene(spec, load_scene_data(spec), width=64, height=48)
    >>> scene.triangles[0] > scene.triangles[1], len(scene.ranges), scene.ranges[0].clipped_above
    (True, 1, True)
    >>> wss = build_scene(dataclasses.replace(spec, colouring=Colouring.WALL_SHEAR_STRESS), load_scene_data(spec),
    ...                   into=scene)
    >>> wss.plotter is scene.plotter, len(wss.plotter.scalar_bars)  # the same window, one colour bar
    (True, 1)
    >>> wss.plotter.close()
    """
    # Any: PyVista wraps its methods in a decorator whose annotations mypy cannot call through
    plotter: Any
    if into is None:
        # no multisampling: with CPU rendering, 4 samples cost about 3.5 times the render time of a frame
        plotter = pv.Plotter(off_screen=True, window_size=[width, height], lighting="light kit")
        plotter.render_window.SetMultiSamples(0)
        plotter.set_background((0.10, 0.12, 0.16), top=(0.28, 0.32, 0.40))
    else:
        plotter = into.plotter
        into.clear()
    surface = pv.wrap(scenes.with_normals(data.surface))
    translucent = spec.streamlines and data.flow is not None
    opacity = 0.3 if translucent else 1.0
    full, span = _surface(plotter, surface, spec, opacity=opacity, bar=True)
    ranges = [span] if span is not None else []
    small = scenes.decimated(data.surface, spec.lod_triangles)
    lod = _surface(plotter, pv.wrap(small), spec, opacity=opacity, bar=False, span=span)[0] \
        if small is not data.surface else full
    clipped = [full, lod] if lod is not full else [full]
    if spec.slices and data.volume is not None:
        bounds = data.surface.GetBounds()
        centre = ((bounds[0] + bounds[1]) / 2, (bounds[2] + bounds[3]) / 2, (bounds[4] + bounds[5]) / 2)
        for actor in scenes.slice_actors(data.volume, through_mm=centre):
            plotter.add_actor(actor, reset_camera=False)
            clipped.append(actor)
    if translucent:
        lines = _streamlines(plotter, data.flow, data.surface, fixed=spec.velocity_range, slot=len(ranges))
        if lines is not None:
            clipped.append(lines[0])
            ranges.append(lines[1])  # one bar per quantity shown: the wall's and the velocity's
    markers = orientation.marker_actors() if spec.markers else []
    for marker in markers:
        plotter.add_actor(marker, reset_camera=False)
    if into is None:
        plotter.add_axes(xlabel="L", ylabel="P", zlabel="S", color="white")
    scene = PyVistaScene(plotter, full, lod, clipped, markers, tuple(data.surface.GetBounds()),
                         (data.surface.GetNumberOfCells(), small.GetNumberOfCells()), tuple(ranges))
    camera = plotter.renderer.GetActiveCamera()
    scene.observer = plotter.renderer.AddObserver("StartEvent", lambda *_: orientation.update_markers(markers, camera))
    scene.set_lod(False)
    scene.set_clip(spec.clip)
    scene.preset(spec.camera)
    plotter.camera_set = True  # the plotter must not reset the preset's camera on its first render
    return scene
