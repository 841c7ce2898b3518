"""Which offscreen OpenGL works here: EGL (Mesa llvmpipe or a GPU) or OSMesa, checked safely.

VTK segfaults instead of raising when no offscreen library is installed, so the check renders a
tiny scene in a child process and reads its exit status. Run it from a shell with
``python -m rhinoapp.render.offscreen``.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import os
import subprocess
import sys

from rhinoapp.core.errors import RhinoappError

__all__ = ["Backend", "OffscreenCheck", "RenderError", "check_offscreen", "offscreen_environment"]

_log = logging.getLogger(__name__)

DEBIAN_PACKAGES = {"egl": "libegl1 libegl-mesa0 libgl1-mesa-dri", "osmesa": "libosmesa6"}


class RenderError(RhinoappError, RuntimeError):
    """A 3D view cannot be rendered; the message says what is missing and what to do."""


class Backend(enum.Enum):
    """An offscreen OpenGL window class of VTK."""

    EGL = "egl"
    OSMESA = "osmesa"

    @property
    def window_class(self) -> str:
        """The value for ``VTK_DEFAULT_OPENGL_WINDOW``."""
        return {"egl": "vtkEGLRenderWindow", "osmesa": "vtkOSOpenGLRenderWindow"}[self.value]


@dataclasses.dataclass(frozen=True)
class OffscreenCheck:
    """The outcome of :func:`check_offscreen`: the backend that works and the OpenGL renderer."""

    backend: Backend
    renderer: str
    tried: tuple[str, ...] = ()


def offscreen_environment(backend: Backend, *, threads: int | None = None) -> dict[str, str]:
    """Environment variables that make VTK in a child process use ``backend``.

    Examples
    --------
    >>> offscreen_environment(Backend.EGL, threads=2)["VTK_DEFAULT_OPENGL_WINDOW"]
    'vtkEGLRenderWindow'
    """
    env = {"VTK_DEFAULT_OPENGL_WINDOW": backend.window_class}
    if threads:
        env["LP_NUM_THREADS"] = str(threads)  # Mesa llvmpipe's rasteriser threads
    return env


_PROBE = """
import json
from vtkmodules.vtkFiltersSources import vtkSphereSource
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper, vtkRenderWindow, vtkRenderer
import vtkmodules.vtkRenderingOpenGL2
w = vtkRenderWindow(); w.SetOffScreenRendering(1); w.SetSize(32, 32)
r = vtkRenderer(); w.AddRenderer(r)
s = vtkSphereSource(); m = vtkPolyDataMapper(); m.SetInputConnection(s.GetOutputPort())
a = vtkActor(); a.SetMapper(m); r.AddActor(a); w.Render()
info = w.ReportCapabilities()
line = next((l for l in info.splitlines() if "renderer string" in l), "")
print(json.dumps({"window": type(w).__name__, "renderer": line.split(":", 1)[-1].strip()}))
"""


def _probe(backend: Backend, timeout: float) -> tuple[str | None, str]:
    env = {**os.environ, **offscreen_environment(backend)}
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"{backend.value}: no answer within {timeout:.0f} s"
    if done.returncode != 0:
        reason = f"signal {-done.returncode}" if done.returncode < 0 else f"exit {done.returncode}"
        return None, f"{backend.value}: {reason} {done.stderr.strip().splitlines()[-1:] or ''}"
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None, f"{backend.value}: unreadable answer {done.stdout[-200:]!r}"
    if result["window"] != backend.window_class:
        return None, f"{backend.value}: VTK opened {result['window']} instead"
    return result["renderer"] or "unknown", f"{backend.value}: works"


def check_offscreen(*, timeout: float = 60.0) -> OffscreenCheck:
    """Find an offscreen backend that renders, trying EGL first, then OSMesa.

    Each try runs in a child process, so a missing library cannot crash the caller.

    Raises
    ------
    RenderError
        Neither works; the message names the Debian packages to install.
    """
    tried = []
    for backend in Backend:
        renderer, note = _probe(backend, timeout)
        tried.append(note)
        if renderer is not None:
            _log.info("offscreen rendering through %s (%s)", backend.value, renderer)
            return OffscreenCheck(backend, renderer, tuple(tried))
    raise RenderError(
        "3D views cannot render here: VTK opened neither an EGL nor an OSMesa offscreen context "
        f"({'; '.join(tried)}). Install the Debian packages {DEBIAN_PACKAGES['egl']} (EGL) or "
        f"{DEBIAN_PACKAGES['osmesa']} (OSMesa), e.g. `sudo apt-get install --no-install-recommends "
        f"{DEBIAN_PACKAGES['egl']} {DEBIAN_PACKAGES['osmesa']}` or `sudo bash scripts/install-system-deps.sh`."
    )


def _main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        check = check_offscreen()
    except RenderError as error:
        _log.error("%s", error)
        return 1
    _log.info("3D views render through %s on %s", check.backend.value.upper(), check.renderer)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
