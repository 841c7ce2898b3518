"""The scenes of the ParaView backend, built with ``paraview.simple`` from a scene folder (runs in ``pvpython``).

The folder is what :mod:`rhinoapp.render.pv_bundle` writes: the data files and ``scene.json``, the
description both backends draw (the same colour tables and ranges, scalar bar titles with units,
slices, streamlines, clip plane and camera presets as :mod:`rhinoapp.render.pv_scenes`).
ParaView draws it in a render view: its own level of detail while the user interacts, its own
scalar bars. Nothing here is imported by the web server (``paraview`` exists only in ``pvpython``);
the ``paraview`` imports are inside the functions.

Commands (``pvpython -m rhinoapp.render.pv_pipeline ...``):

* ``save FOLDER NAME.pvsm``: build the scene and save it as a ParaView state in FOLDER, its data
  files named relative to the state (written to a temporary name, then renamed);
* ``load STATE.pvsm PICTURE.png``: load a state with the data beside it and save a picture.

ParaView 5.11 is built for X. The web server gives every ``pvpython`` it starts its one shared
display (:mod:`rhinoapp.render.x_display`); run on its own without a ``DISPLAY``,
:func:`start_display` starts an ``Xvfb`` that ends with this process.
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
import logging
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["HEADLESS_WINDOWS", "ParaViewScene", "build", "die_with_parent", "relative_state", "save_state",
           "start_display"]

_log = logging.getLogger(__name__)
_BACKGROUND, _BACKGROUND_TOP = (0.10, 0.12, 0.16), (0.28, 0.32, 0.40)
#: VTK's render windows that need no X server (a ParaView built for EGL or OSMesa).
HEADLESS_WINDOWS = ("vtkEGLRenderWindow", "vtkOSOpenGLRenderWindow")


def die_with_parent() -> None:  # pragma: no cover (runs in the child between fork and exec)
    """Have the kernel stop this (child) process when the thread that started it ends (``PR_SET_PDEATHSIG``)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_display() -> subprocess.Popen[bytes] | None:
    """Start an ``Xvfb`` for this process when it has no ``DISPLAY`` and its VTK draws through X
    (it stops when this process ends)."""
    if os.environ.get("DISPLAY"):
        return None
    import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (the render window classes)
    from vtkmodules.vtkRenderingCore import vtkRenderWindow

    if vtkRenderWindow().GetClassName() in HEADLESS_WINDOWS:
        return None  # a ParaView built for EGL or OSMesa needs no X server
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1920x1200x24", "-nolisten", "tcp"],
                              pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              preexec_fn=die_with_parent)
    os.close(write)
    with os.fdopen(read) as answer:
        number = answer.readline().strip()
    if not number:
        raise RuntimeError("Xvfb did not start: install it (scripts/install-system-deps.sh) or set DISPLAY")
    os.environ["DISPLAY"] = f":{number}"
    return server


def _table(lut: Any, quantity: dict[str, Any], *, discrete: bool = True) -> None:
    """Set ``lut`` to the quantity's exact colour table over its range, with its below/above colours."""
    low, high = quantity["range"]
    table = quantity["table"]
    steps = len(table) - 1
    lut.ColorSpace = "RGB"
    lut.RGBPoints = [v for i, rgb in enumerate(table) for v in (low + (high - low) * i / steps, *rgb)]
    lut.AutomaticRescaleRangeMode = "Never"
    lut.Discretize = int(discrete)
    lut.NumberOfTableValues = len(table)
    for side in ("below", "above"):
        name = "Below" if side == "below" else "Above"
        setattr(lut, f"Use{name}RangeColor", int(quantity[side] is not None))
        if quantity[side] is not None:
            setattr(lut, f"{name}RangeColor", quantity[side])


def _bar(simple: Any, lut: Any, view: Any, title: str, slot: int) -> None:
    bar = simple.GetScalarBar(lut, view)
    bar.Title, bar.ComponentTitle = title, ""
    bar.Orientation, bar.WindowLocation = "Vertical", "Any Location"
    bar.Position = [0.86 - 0.17 * slot, 0.12]
    bar.ScalarBarLength = 0.76
    bar.TitleFontSize, bar.LabelFontSize = 14, 12
    bar.RangeLabelFormat, bar.AddRangeLabels = "%-#.3g", 1
    bar.TitleColor = bar.LabelColor = [1.0, 1.0, 1.0]
    bar.Visibility = 1


def _surface_look(rep: Any, scene: dict[str, Any]) -> None:
    rep.AmbientColor = rep.DiffuseColor = scene["mucosa"]
    rep.Ambient, rep.Diffuse, rep.Specular, rep.SpecularPower = 0.15, 0.85, 0.25, 20.0
    rep.Interpolation = "Gouraud"
    rep.Opacity = scene["opacity"]


@dataclasses.dataclass(eq=False)
class ParaViewScene:
    """A built scene: each dataset shown whole or through its clip filter, and the view."""

    view: Any
    sources: list[tuple[Any, Any, str]]  # (reader, clip filter, what it is: surface, slices, streamlines)
    bounds: tuple[float, ...]
    bars: int

    def set_clip(self, clip: dict[str, Any] | None) -> None:
        """Clip every dataset with one plane (``{"axis", "position", "flip"}``), or show them whole (``None``)."""
        from paraview import simple

        for reader, clipper, _kind in self.sources:
            if clip is not None:
                axis = "xyz".index(clip["axis"])
                origin = [(self.bounds[2 * d] + self.bounds[2 * d + 1]) / 2 for d in range(3)]
                origin[axis] = self.bounds[2 * axis] + float(clip["position"]) * (self.bounds[2 * axis + 1] - self.bounds[2 * axis])
                normal = [0.0, 0.0, 0.0]
                normal[axis] = 1.0 if clip.get("flip") else -1.0
                clipper.ClipType.Origin, clipper.ClipType.Normal = origin, normal
            simple.GetDisplayProperties(clipper, self.view).Visibility = int(clip is not None)
            simple.GetDisplayProperties(reader, self.view).Visibility = int(clip is None)

    def preset(self, preset: str) -> None:
        """Look from a standard direction (``anterior``, ``left``, ``right``, ``below``), leaving room for the bars."""
        from rhinoapp.render import orientation
        from rhinoapp.render.spec import CameraPreset

        width, height = self.view.ViewSize
        aspect = width / max(height, 1)
        camera = self.view.GetActiveCamera()
        if self.bars:
            share = 0.2 + 0.17 * (self.bars - 1)
            aspect *= 1.0 - share
            camera.SetWindowCenter(share, 0.0)
        orientation.place_camera(camera, CameraPreset(preset), self.bounds, aspect=aspect)
        self.view.CenterOfRotation = [(self.bounds[2 * d] + self.bounds[2 * d + 1]) / 2 for d in range(3)]


def build(folder: Path, view: Any = None) -> ParaViewScene:
    """Build the scene described by ``folder/scene.json`` in ``view`` (a new render view when omitted)."""
    from paraview import simple

    scene = json.loads((folder / "scene.json").read_text())
    view = view or simple.CreateView("RenderView")
    view.OrientationAxesVisibility = 1
    view.UseColorPaletteForBackground = 0
    view.BackgroundColorMode = "Gradient"
    view.Background, view.Background2 = list(_BACKGROUND), list(_BACKGROUND_TOP)
    view.LODThreshold = 5.0  # MB of geometry: larger scenes show ParaView's decimated mesh while they move
    view.LODResolution = 0.5
    sources: list[tuple[Any, Any, str]] = []
    bars = 0

    def add(file: str, kind: str) -> Any:
        reader = simple.XMLPolyDataReader(registrationName=f"{kind} ({file})", FileName=[str(folder / file)])
        clipper = simple.Clip(registrationName=f"{kind} clipped", Input=reader)
        clipper.ClipType, clipper.Invert, clipper.Crinkleclip = "Plane", 0, 0
        sources.append((reader, clipper, kind))
        return [simple.Show(source, view) for source in (reader, clipper)]

    for rep in add(scene["surface"], "surface"):
        _surface_look(rep, scene)
        wall = scene["wall"]
        if wall is None:
            simple.ColorBy(rep, None)
        elif "faces" in wall:
            simple.ColorBy(rep, (wall["association"], wall["array"]))
            lut = simple.GetColorTransferFunction(wall["array"])
            lut.InterpretValuesAsCategories = 1
            lut.Annotations = ["0", "wall", "1", "left nostril", "2", "right nostril", "3", "outlet"]
            lut.IndexedColors = [c for colour in wall["faces"] for c in colour]
            rep.SetScalarBarVisibility(view, False)
        else:
            simple.ColorBy(rep, (wall["association"], wall["array"]))
            _table(simple.GetColorTransferFunction(wall["array"]), wall)
    if scene["wall"] is not None and "table" in scene["wall"]:
        _bar(simple, simple.GetColorTransferFunction(scene["wall"]["array"]), view, scene["wall"]["title"], bars)
        bars += 1
    if scene["slices"] is not None:
        for rep in add(scene["slices"]["file"], "CT slices"):
            simple.ColorBy(rep, ("POINTS", "ct_hu"))
            rep.Ambient, rep.Diffuse, rep.Interpolation = 1.0, 0.0, "Flat"
            rep.SetScalarBarVisibility(view, False)
        grey = simple.GetColorTransferFunction("ct_hu")
        low, high = scene["slices"]["window"]
        grey.RGBPoints, grey.AutomaticRescaleRangeMode = [low, 0.0, 0.0, 0.0, high, 1.0, 1.0, 1.0], "Never"
    if scene["streamlines"] is not None:
        lines = scene["streamlines"]
        for rep in add(lines["file"], "streamlines"):
            simple.ColorBy(rep, ("POINTS", lines["array"]))
            rep.LineWidth, rep.Ambient, rep.Diffuse = 2.0, 1.0, 0.0
        lut = simple.GetColorTransferFunction(lines["array"])
        _table(lut, lines)
        _bar(simple, lut, view, lines["title"], bars)
        bars += 1
    built = ParaViewScene(view, sources, tuple(scene["bounds"]), bars)
    built.set_clip(scene["clip"])
    built.preset(scene["camera"])
    return built


def relative_state(text: str, folder: Path) -> str:
    """A state's text with the data files of ``folder`` named relative to it (the state lies in ``folder``).

    Examples
    --------
    >>> relative_state('<Element index="0" value="/tmp/case/surface.vtp"/>', Path("/tmp/case"))
    '<Element index="0" value="surface.vtp"/>'
    """
    return re.sub(re.escape(str(folder.absolute()).rstrip("/") + "/"), "", text)


def save_state(folder: Path, name: str) -> Path:
    """Build ``folder``'s scene and save it as the ParaView state ``folder/name`` (relative file names)."""
    from paraview import simple

    built = build(folder)
    built.view.ViewSize = [1000, 700]
    built.preset(json.loads((folder / "scene.json").read_text())["camera"])
    partial = folder / f".{name}.partial.pvsm"
    simple.SaveState(str(partial))
    target = folder / name
    partial.write_text(relative_state(partial.read_text(), folder))
    os.replace(partial, target)
    return target


def load_picture(state: Path, picture: Path) -> None:
    """Load ``state`` (its data files named relative to it) and save a picture of its view."""
    from paraview import simple

    os.chdir(state.parent)  # the state names its files relative to its own folder
    simple.LoadState(state.name)
    view = simple.GetActiveViewOrCreate("RenderView")
    simple.SaveScreenshot(str(picture.absolute()), view, ImageResolution=[400, 300])


def main(argv: list[str]) -> int:
    """``save FOLDER NAME.pvsm`` or ``load STATE.pvsm PICTURE.png`` (see the module's notes)."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    start_display()
    command, first, second = argv
    if command == "save":
        save_state(Path(first).absolute(), second)
    elif command == "load":
        picture = Path(second).absolute()
        load_picture(Path(first).absolute(), picture)
    else:
        raise SystemExit(f"unknown command {command!r}: use save or load")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
