"""Still pictures of an airway surface (PNG), rendered offscreen in a child process, for documents.

The report and the Python API need a picture, not an interactive view: :func:`render_pictures`
renders a list of :class:`Picture` (a surface file, its colouring, a camera preset) with the
same actors as the 3D view (:func:`~rhinoapp.render.scenes.surface_actor`), in one child process
that uses the offscreen OpenGL :func:`~rhinoapp.render.offscreen.check_offscreen` found, so that
a missing library fails with a message instead of a crash.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import subprocess
import sys
from collections.abc import Sequence

from rhinoapp.render.offscreen import RenderError, check_offscreen, offscreen_environment
from rhinoapp.render.spec import CameraPreset, Colouring

__all__ = ["Picture", "render_pictures"]


@dataclasses.dataclass(frozen=True)
class Picture:
    """One still picture: ``surface`` (a .vtp, .vtk, .stl or .ply file) seen from ``preset``.

    Examples
    --------
    >>> Picture("airway.vtp", Colouring.PRESSURE).to_dict()["colouring"]
    'pressure'
    """

    surface: str
    colouring: Colouring = Colouring.SOLID
    preset: CameraPreset = CameraPreset.LEFT_LATERAL
    width: int = 800
    height: int = 600

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields (what the child process reads)."""
        return {"surface": str(self.surface), "colouring": self.colouring.value, "preset": self.preset.value,
                "width": int(self.width), "height": int(self.height)}


def render_pictures(pictures: Sequence[Picture], *, timeout_s: float = 180.0) -> list[bytes]:
    """PNG bytes of each picture, rendered in one child process with the offscreen OpenGL that works here.

    Raises
    ------
    RenderError
        When no offscreen OpenGL works or a picture cannot be rendered; the message says why.
    """
    if not pictures:
        return []
    backend = check_offscreen().backend
    env = offscreen_environment(backend, threads=1)
    import os

    child_env = {**os.environ, **env}
    payload = json.dumps([p.to_dict() for p in pictures])
    done = subprocess.run([sys.executable, "-m", "rhinoapp.render.pictures"], input=payload.encode(),
                          capture_output=True, timeout=timeout_s, env=child_env, check=False)
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        raise RenderError(f"the pictures could not be rendered ({reason[0][:300]}); check the offscreen OpenGL "
                          "with `python -m rhinoapp.render.offscreen`.")
    return [base64.b64decode(line) for line in done.stdout.decode().split()]


def _render(picture: dict[str, object]) -> bytes:  # pragma: no cover - runs in the child process
    from vtkmodules.vtkIOImage import vtkPNGWriter
    from vtkmodules.vtkRenderingCore import vtkRenderer, vtkRenderWindow, vtkWindowToImageFilter

    import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (the OpenGL classes)
    import vtkmodules.vtkRenderingFreeType  # noqa: F401  (the scalar bar's text)
    from rhinoapp.render.loaders import read_surface
    from rhinoapp.render.orientation import place_camera
    from rhinoapp.render.scenes import scale_text, surface_actor

    width, height = int(picture["width"]), int(picture["height"])  # type: ignore[call-overload]
    surface = read_surface(str(picture["surface"]))
    actor, bar = surface_actor(surface, Colouring(picture["colouring"]))
    renderer = vtkRenderer()
    renderer.SetBackground(1.0, 1.0, 1.0)
    renderer.AddActor(actor)
    if bar is not None:
        scale_text(bar, height)
        bar.GetTitleTextProperty().SetColor(0.1, 0.1, 0.1)
        bar.GetLabelTextProperty().SetColor(0.1, 0.1, 0.1)
        renderer.AddViewProp(bar)
    window = vtkRenderWindow()
    window.SetOffScreenRendering(True)
    window.SetSize(width, height)
    window.AddRenderer(renderer)
    place_camera(renderer.GetActiveCamera(), CameraPreset(picture["preset"]), surface.GetBounds(),
                 aspect=width / height)
    window.Render()
    grab = vtkWindowToImageFilter()
    grab.SetInput(window)
    grab.ReadFrontBufferOff()
    grab.Update()
    writer = vtkPNGWriter()
    writer.WriteToMemoryOn()
    writer.SetInputConnection(grab.GetOutputPort())
    writer.Write()
    data = writer.GetResult()
    return bytes(memoryview(data)) if data is not None else b""


def _main() -> int:  # pragma: no cover - the child process
    pictures = json.loads(sys.stdin.read())
    for picture in pictures:
        sys.stdout.write(base64.b64encode(_render(picture)).decode() + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(_main())
