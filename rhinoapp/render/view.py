"""One rendered view: an offscreen render window holding a built scene, a camera and its LOD.

A :class:`SceneView` lives in a render worker process (or a test, or a benchmark). It knows
nothing about sockets: callers move the camera, pick the quality, and get pixels back.
"""

from __future__ import annotations

import math

import numpy as np
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkUnsignedCharArray
from vtkmodules.vtkRenderingCore import vtkActor, vtkRenderer, vtkRenderWindow

import vtkmodules.vtkRenderingFreeType  # noqa: F401  (text: scalar bars, markers)
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (the OpenGL window classes)
from rhinoapp.render import orientation, scenes
from rhinoapp.render.frames import STILL, FrameQuality
from rhinoapp.render.loaders import SceneData
from rhinoapp.render.spec import CameraPreset, ClipPlane, SceneSpec

__all__ = ["MAX_SIZE", "SceneView"]

MAX_SIZE = (2560, 1600)
_BACKGROUND = ((0.09, 0.11, 0.15), (0.22, 0.26, 0.33))  # bottom, top


class SceneView:
    """A scene rendered offscreen at a given pixel size.

    Parameters
    ----------
    spec
        What to show (colouring, slices, streamlines, clip, markers, LOD size, first camera).
    data
        The loaded data (:func:`~rhinoapp.render.loaders.load_scene_data`).
    width, height
        Pixel size of still frames.

    Examples
    --------
    >>> from rhinoapp.render.spec import Synthetic
    >>> from rhinoapp.render.loaders import load_scene_data
    >>> spec = SceneSpec(synthetic=Synthetic(3000), lod_triangles=1000)
    >>> view = SceneView(spec, load_scene_data(spec), width=64, height=48)  # builds, does not render
    >>> view.triangles[0] > view.triangles[1]
    True
    >>> view.close()
    """

    def __init__(self, spec: SceneSpec, data: SceneData, *, width: int = 640, height: int = 480) -> None:
        self.spec = spec
        self.window = vtkRenderWindow()
        self.window.SetOffScreenRendering(1)
        self.window.SetMultiSamples(0)
        self.window.SetNumberOfLayers(2)
        self.renderer = vtkRenderer()
        self.renderer.GradientBackgroundOn()
        self.renderer.SetBackground(*_BACKGROUND[0])
        self.renderer.SetBackground2(*_BACKGROUND[1])
        self.window.AddRenderer(self.renderer)
        self._axes_renderer = vtkRenderer()
        self._axes_renderer.SetLayer(1)
        self._axes_renderer.SetViewport(0.0, 0.0, 0.16, 0.22)
        self._axes_renderer.InteractiveOff()
        self._axes_renderer.AddActor(orientation.orientation_axes())
        self.window.AddRenderer(self._axes_renderer)
        self._size = (64, 64)
        self.set_size(width, height)
        self._clipped: list[vtkActor] = []
        self._build(spec, data)
        self.bounds = data.surface.GetBounds()
        self.set_clip(spec.clip)
        self.preset(spec.camera)

    def _build(self, spec: SceneSpec, data: SceneData) -> None:
        translucent = spec.streamlines and data.flow is not None
        opacity = 0.3 if translucent else 1.0
        self._full, bar = scenes.surface_actor(data.surface, spec.colouring, opacity=opacity,
                                               colour_range=spec.colour_range)
        lod_surface = scenes.decimated(data.surface, spec.lod_triangles)
        self._lod = scenes.surface_actor(lod_surface, spec.colouring, opacity=opacity,
                                         colour_range=bar.GetLookupTable().GetRange() if bar else None)[0] \
            if lod_surface is not data.surface else self._full
        self.triangles = (data.surface.GetNumberOfCells(), lod_surface.GetNumberOfCells())
        self._clipped = [self._full, self._lod]
        for actor in {id(a): a for a in (self._full, self._lod)}.values():
            self.renderer.AddActor(actor)
        bars = [bar] if bar is not None else []
        if spec.slices and data.volume is not None:
            centre = [(a + b) / 2 for a, b in zip(data.surface.GetBounds()[0::2], data.surface.GetBounds()[1::2], strict=True)]
            for actor in scenes.slice_actors(data.volume, through_mm=tuple(centre)):
                self.renderer.AddActor(actor)
                self._clipped.append(actor)
        if translucent:
            lines, line_bar = scenes.streamline_actor(data.flow, data.surface,  # type: ignore[arg-type]
                                                      colour_range=spec.velocity_range, slot=len(bars))
            self.renderer.AddActor(lines)
            self._clipped.append(lines)
            bars.append(line_bar)  # one bar per quantity shown: the wall's and the velocity's
        self._has_bar = bool(bars)
        self._bars = bars
        for bar_actor in bars:
            self.renderer.AddViewProp(bar_actor)
        self._markers = orientation.marker_actors() if spec.markers else []
        for marker in self._markers:
            self.renderer.AddViewProp(marker)
        self.set_lod(False)

    @property
    def size(self) -> tuple[int, int]:
        """Pixel size of still frames (width, height)."""
        return self._size

    def set_size(self, width: int, height: int) -> None:
        """Change the pixel size of still frames (clamped to 16 .. :data:`MAX_SIZE`)."""
        self._size = (int(min(max(width, 16), MAX_SIZE[0])), int(min(max(height, 16), MAX_SIZE[1])))

    def set_lod(self, lod: bool) -> None:
        """Show the decimated mesh (``True``) or the full one."""
        self._lod.SetVisibility(lod)
        self._full.SetVisibility(not lod or self._lod is self._full)

    @property
    def camera(self):  # noqa: ANN201 (vtkCamera)
        """The main camera."""
        return self.renderer.GetActiveCamera()

    def preset(self, preset: CameraPreset) -> None:
        """Look from a standard direction (anterior, left, right, from below)."""
        aspect = self._size[0] / self._size[1]
        if self._has_bar:  # keep the right fifth of the picture for each colour bar
            share = 0.2 + 0.17 * (len(self._bars) - 1)
            aspect *= 1.0 - share
            self.camera.SetWindowCenter(share, 0.0)
        orientation.place_camera(self.camera, CameraPreset(preset), self.bounds, aspect=aspect)

    def rotate(self, azimuth_deg: float, elevation_deg: float) -> None:
        """Turn the camera around the focal point (trackball style)."""
        camera = self.camera
        camera.Azimuth(azimuth_deg)
        camera.Elevation(elevation_deg)
        camera.OrthogonalizeViewUp()

    def zoom(self, factor: float) -> None:
        """Move closer (``factor > 1``) or away."""
        self.camera.Dolly(min(max(factor, 0.2), 5.0))

    def pan(self, right: float, up: float) -> None:
        """Shift the view by fractions of its height (positive: content moves right and up)."""
        camera = self.camera
        focal, position = np.array(camera.GetFocalPoint()), np.array(camera.GetPosition())
        distance = float(np.linalg.norm(position - focal))
        height = 2 * distance * math.tan(math.radians(camera.GetViewAngle()) / 2)
        view_up = np.array(camera.GetViewUp())
        direction = (focal - position) / distance
        side = np.cross(direction, view_up)
        shift = -height * (right * side + up * view_up)
        camera.SetFocalPoint(*(focal + shift))
        camera.SetPosition(*(position + shift))

    def set_clip(self, clip: ClipPlane | None) -> None:
        """Clip every actor of the scene with one plane, or remove the clip (``None``)."""
        plane = orientation.clip_plane(self.bounds, clip) if clip is not None else None
        for actor in self._clipped:
            mapper = actor.GetMapper()
            mapper.RemoveAllClippingPlanes()
            if plane is not None:
                mapper.AddClippingPlane(plane)
        self.clip = clip

    def render(self, quality: FrameQuality = STILL) -> np.ndarray:
        """Render and return the pixels as an ``(height, width, 3)`` uint8 array, top row first."""
        width = max(16, round(self._size[0] * quality.scale))
        height = max(16, round(self._size[1] * quality.scale))
        if tuple(self.window.GetSize()) != (width, height):
            self.window.SetSize(width, height)
            for bar in self._bars:
                scenes.scale_text(bar, height)
            for marker in self._markers:
                marker.GetTextProperty().SetFontSize(int(min(max(height / 24, 10), 22)))
        self.set_lod(quality.lod)
        self._sync_axes()
        self.renderer.ResetCameraClippingRange()
        self.window.Render()
        buffer = vtkUnsignedCharArray()
        self.window.GetPixelData(0, 0, width - 1, height - 1, 0, buffer, 0)
        return vtk_to_numpy(buffer).reshape(height, width, 3)[::-1]

    def _sync_axes(self) -> None:
        camera, axes_camera = self.camera, self._axes_renderer.GetActiveCamera()
        direction = np.array(camera.GetDirectionOfProjection())
        axes_camera.SetFocalPoint(0.0, 0.0, 0.0)
        axes_camera.SetPosition(*(-4.5 * direction))
        axes_camera.SetViewUp(*camera.GetViewUp())
        self._axes_renderer.ResetCameraClippingRange()
        orientation.update_markers(self._markers, camera)

    def close(self) -> None:
        """Release the OpenGL resources."""
        self.window.Finalize()
