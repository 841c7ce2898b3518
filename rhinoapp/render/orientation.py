"""Where the viewer stands: camera presets, patient direction labels, orientation axes, clip plane.

Coordinates are LPS millimetres: +x patient left, +y posterior, +z superior. The presets follow
clinical habit: the anterior view shows the patient's left on the picture's right (as when facing
the patient), and the axial view from below has anterior up and the patient's left on the right
(the radiological convention).
"""

from __future__ import annotations

import math

import numpy as np
from vtkmodules.vtkCommonDataModel import vtkPlane
from vtkmodules.vtkRenderingAnnotation import vtkAxesActor
from vtkmodules.vtkRenderingCore import vtkCamera, vtkTextActor

from rhinoapp.render.spec import CameraPreset, ClipPlane

__all__ = ["clip_plane", "direction_letters", "marker_actors", "orientation_axes", "place_camera", "update_markers"]

_LETTERS = (("L", "R"), ("P", "A"), ("S", "I"))  # +x, -x; +y, -y; +z, -z in LPS


def direction_letters(vector: tuple[float, float, float] | np.ndarray) -> str:
    """Patient direction letters of a vector, strongest first (as radiology viewers label edges).

    Examples
    --------
    >>> direction_letters((1, 0, 0)), direction_letters((0, -1, 0)), direction_letters((-0.7, 0, -0.7))
    ('L', 'A', 'RI')
    """
    v = np.asarray(vector, dtype=float)
    v = v / (np.linalg.norm(v) or 1.0)
    order = np.argsort(-np.abs(v))
    return "".join(_LETTERS[axis][0 if v[axis] > 0 else 1] for axis in order if abs(v[axis]) > 0.38) or "?"


def marker_actors() -> list[vtkTextActor]:
    """Four edge labels (right, left, top, bottom) naming the patient directions; see :func:`update_markers`."""
    actors = []
    for x, y, horizontal, vertical in ((0.985, 0.5, "right", "center"), (0.015, 0.5, "left", "center"),
                                       (0.5, 0.975, "center", "top"), (0.5, 0.025, "center", "bottom")):
        actor = vtkTextActor()
        actor.GetPositionCoordinate().SetCoordinateSystemToNormalizedViewport()
        actor.GetPositionCoordinate().SetValue(x, y)
        prop = actor.GetTextProperty()
        prop.SetFontSize(20)
        prop.BoldOn()
        prop.SetColor(1.0, 0.95, 0.6)
        getattr(prop, f"SetJustificationTo{'Centered' if horizontal == 'center' else horizontal.title()}")()
        getattr(prop, f"SetVerticalJustificationTo{'Centered' if vertical == 'center' else vertical.title()}")()
        actors.append(actor)
    return actors


def update_markers(markers: list[vtkTextActor], camera: vtkCamera) -> None:
    """Set the edge labels from the camera: the patient direction at each edge of the picture."""
    up = np.array(camera.GetViewUp())
    right = np.cross(np.array(camera.GetDirectionOfProjection()), up)
    for actor, vector in zip(markers, (right, -right, up, -up), strict=False):
        actor.SetInput(direction_letters(vector))


def orientation_axes() -> vtkAxesActor:
    """Axes labelled with the patient directions: L (+x), P (+y), S (+z)."""
    axes = vtkAxesActor()
    axes.SetXAxisLabelText("L")
    axes.SetYAxisLabelText("P")
    axes.SetZAxisLabelText("S")
    axes.SetShaftTypeToCylinder()
    axes.SetTotalLength(1.0, 1.0, 1.0)
    for caption in (axes.GetXAxisCaptionActor2D(), axes.GetYAxisCaptionActor2D(), axes.GetZAxisCaptionActor2D()):
        caption.GetCaptionTextProperty().SetColor(1, 1, 1)
        caption.GetCaptionTextProperty().ShadowOff()
    return axes


def clip_plane(bounds: tuple[float, ...], clip: ClipPlane) -> vtkPlane:
    """The VTK plane for ``clip``: mappers keep the side its normal points to.

    Examples
    --------
    >>> from rhinoapp.render.spec import Axis
    >>> plane = clip_plane((0, 10, 0, 20, 0, 30), ClipPlane(Axis.Y, 0.25))
    >>> plane.GetOrigin()[1], plane.GetNormal()
    (5.0, (0.0, -1.0, 0.0))
    """
    axis = clip.axis.index
    origin = [(bounds[2 * d] + bounds[2 * d + 1]) / 2 for d in range(3)]
    origin[axis] = bounds[2 * axis] + clip.position * (bounds[2 * axis + 1] - bounds[2 * axis])
    normal = [0.0, 0.0, 0.0]
    normal[axis] = 1.0 if clip.flip else -1.0
    plane = vtkPlane()
    plane.SetOrigin(*origin)
    plane.SetNormal(*normal)
    return plane


_PRESETS = {  # direction from the focal point to the camera, and view up (LPS)
    CameraPreset.ANTERIOR: ((0.0, -1.0, 0.0), (0.0, 0.0, 1.0)),
    CameraPreset.LEFT_LATERAL: ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    CameraPreset.RIGHT_LATERAL: ((-1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    CameraPreset.AXIAL_FROM_BELOW: ((0.0, 0.0, -1.0), (0.0, -1.0, 0.0)),  # anterior up, patient left on the right
}


def place_camera(camera: vtkCamera, preset: CameraPreset, bounds: tuple[float, ...], *, aspect: float = 4 / 3) -> None:
    """Point ``camera`` at the centre of ``bounds`` from the side ``preset`` names, filling the view.

    ``aspect`` is the picture's width over its height.

    Examples
    --------
    >>> camera = vtkCamera()
    >>> place_camera(camera, CameraPreset.LEFT_LATERAL, (-10, 10, -10, 10, -10, 10))
    >>> [round(v) for v in camera.GetDirectionOfProjection()]  # looking from the patient's left
    [-1, 0, 0]
    """
    low, high = np.asarray(bounds[0::2], dtype=float), np.asarray(bounds[1::2], dtype=float)
    centre, half = (low + high) / 2, np.maximum((high - low) / 2, 1e-3)
    towards, up = (np.asarray(v) for v in _PRESETS[preset])
    right = np.cross(-towards, up)
    half_width, half_height, half_depth = (float(np.abs(v) @ half) for v in (right, up, towards))
    tangent = math.tan(math.radians(camera.GetViewAngle()) / 2)
    distance = 1.12 * max(half_height, half_width / aspect) / tangent + half_depth
    camera.SetFocalPoint(*centre)
    camera.SetPosition(*(centre + distance * towards))
    camera.SetViewUp(*up)
    camera.SetClippingRange(distance * 0.01, distance * 4)
