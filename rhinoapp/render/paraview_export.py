"""The "download for ParaView": a case's 3D scene as a ParaView state (``.pvsm``) with its data, in a zip.

The scene's files are written by :mod:`rhinoapp.render.pv_bundle` (the data the 3D pane draws)
and the state by ``pvpython`` (:mod:`rhinoapp.render.pv_pipeline`, ``paraview.simple.SaveState``),
its data files named relative to it. Every file is written under a temporary name and renamed.
In ParaView: unpack the zip, *File > Load State*, choose ``scene.pvsm`` and *Search files under
specified directory* (the unpacked folder); in ``pvpython``: ``LoadState("scene.pvsm",
data_directory=".")`` from that folder.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
import zipfile
from pathlib import Path

from rhinoapp.render.offscreen import RenderError
from rhinoapp.render.paraview_launch import paraview_command
from rhinoapp.render.pv_bundle import write_bundle
from rhinoapp.render.spec import SceneSpec
from rhinoapp.render.trame_service import default_trame_service

__all__ = ["STATE_NAME", "paraview_state_zip"]

_log = logging.getLogger(__name__)
#: The state's name inside the zip.
STATE_NAME = "scene.pvsm"
_README = """Open in ParaView (5.11 or newer):
  File > Load State..., choose scene.pvsm, and under "Load State Data File Options" pick
  "Search files under specified directory" with this folder.
From pvpython, in this folder:  from paraview.simple import *; LoadState("scene.pvsm", data_directory=".")
Coordinates are patient LPS millimetres (+x left, +y posterior, +z superior).
"""


def paraview_state_zip(spec: SceneSpec, *, display: str | None = None, timeout_s: float = 300.0) -> bytes:
    """The zip of ``spec``'s scene: ``scene.pvsm``, its data files (``.vtp``) and a README.

    ``pvpython`` draws on X ``display``; by default the render service's shared one (see
    :mod:`rhinoapp.render.x_display`: one ``Xvfb`` per server, as pvpython processes that each
    started their own at the same moment failed at random with "bad X server connection").

    Raises :class:`~rhinoapp.render.paraview_launch.ParaViewMissingError` without ``pvpython`` and
    :class:`~rhinoapp.render.offscreen.RenderError` when ParaView fails.
    """
    if display is None:
        display = default_trame_service().x_display.display()
    command = paraview_command("rhinoapp.render.pv_pipeline", "save", display=display)
    with tempfile.TemporaryDirectory(prefix="rhinoapp-pvsm-") as scratch:
        folder = Path(scratch) / "scene"
        write_bundle(spec, folder)
        try:
            done = subprocess.run([*command.argv, str(folder), STATE_NAME], env={**os.environ, **command.environment},
                                  capture_output=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            raise RenderError(f"ParaView took over {timeout_s:.0f} s to save the scene: try again when the "
                              "server is less busy") from None
        if done.returncode != 0 or not (folder / STATE_NAME).is_file():
            told = done.stderr.decode(errors="replace")  # the cause is at the start of a crash's report
            _log.warning("pvpython could not save the state: %s ... %s", told[:1000], told[-1500:])
            raise RenderError("ParaView could not save the scene's state: see the server's log")
        partial = Path(scratch) / "scene.zip.partial"
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.iterdir()):
                if not path.name.startswith("."):
                    archive.write(path, f"rhinoapp-paraview/{path.name}")
            archive.writestr("rhinoapp-paraview/README.txt", _README)
        final = Path(scratch) / "scene.zip"
        os.replace(partial, final)
        return final.read_bytes()
