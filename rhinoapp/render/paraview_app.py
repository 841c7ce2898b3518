"""The ParaView backend's process of one browser session: ``pvpython`` serving a trame application per 3D pane.

Started by :class:`~rhinoapp.render.trame_service.TrameService` when the ``render_backend`` setting
is ``paraview``, as ``pvpython -m rhinoapp.render.paraview_app`` (see
:func:`~rhinoapp.render.paraview_launch.paraview_command`), with the same commands and answers on
stdin and stdout as the VTK backend's :mod:`rhinoapp.render.trame_app`, the same process key on
every request and the same ``GET /screenshot.png``. Each pane is trame-vtk's remote view of a
ParaView render view; the scene is built by :mod:`rhinoapp.render.pv_pipeline` from the files that
:mod:`rhinoapp.render.pv_bundle` writes (in the web server's Python, a child process of this one)
for the pane's :class:`~rhinoapp.render.spec.SceneSpec`.

ParaView's Python has no trame: the web server's site-packages (``RHINOAPP_PV_SITE``) are added
at the end of the module path, after ParaView's own VTK. Without a ``DISPLAY``, an ``Xvfb`` starts
with the process and ends with it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from rhinoapp.render.trame_app import TrameApps, _read_stdin, _write, serve_commands

__all__ = ["ParaViewApps", "main"]

_log = logging.getLogger(__name__)


@dataclasses.dataclass(eq=False)
class _View:
    server: Any
    scene: Any
    folder: Path


async def _bundle(spec_data: dict[str, Any], folder: Path) -> None:
    """Write the scene's files with the web server's Python (its VTK and PyVista), in a child process."""
    python = os.environ.get("RHINOAPP_BUNDLE_PYTHON", "python3")
    child = await asyncio.create_subprocess_exec(python, "-m", "rhinoapp.render.pv_bundle", str(folder),
                                                 stdin=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _out, errors = await child.communicate(json.dumps(spec_data).encode())
    if child.returncode != 0:
        last = errors.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        raise RuntimeError(f"the scene's files could not be written ({last[0]})")


class ParaViewApps(TrameApps):
    """The ParaView trame applications of this process, by view id."""

    def __init__(self) -> None:
        super().__init__()
        self._views: dict[str, _View] = {}
        self.scratch = Path(tempfile.mkdtemp(prefix="rhinoapp-paraview-"))

    async def open(self, view_id: str, spec_data: dict[str, Any]) -> int:
        """Build the scene of ``view_id`` in a ParaView render view and serve it; returns its port."""
        from paraview import simple
        from trame.app import get_server
        from trame.ui.html import DivLayout
        from trame.widgets import paraview as pv_widgets

        from rhinoapp.render import pv_pipeline

        if view_id in self._views:
            await self.close(view_id)
        folder = Path(tempfile.mkdtemp(prefix=f"{view_id}-", dir=self.scratch))
        await _bundle(spec_data, folder)
        view = simple.CreateView("RenderView")
        view.ViewSize = [640, 480]
        scene = pv_pipeline.build(folder, view)
        server = get_server(f"rhinoapp-{view_id}", client_type="vue3")
        state, ctrl = server.state, server.controller
        state.update({"preset": spec_data.get("camera", "anterior"), "clip": spec_data.get("clip")})

        @state.change("preset")
        def _preset(preset: str, **_: Any) -> None:
            scene.preset(preset)
            ctrl.view_update()

        @state.change("clip")
        def _clip(clip: dict[str, Any] | None, **_: Any) -> None:
            scene.set_clip(clip or None)
            ctrl.view_update()

        @ctrl.add("on_server_bind")
        def _bind(wslink_server: Any) -> None:
            from aiohttp import web

            async def screenshot(_request: web.Request) -> web.Response:
                picture = folder / "screenshot.png"
                simple.SaveScreenshot(str(picture), view)
                return web.Response(body=picture.read_bytes(), content_type="image/png",
                                    headers={"Content-Disposition": 'attachment; filename="rhinoapp-3d-view.png"',
                                             "Cache-Control": "no-store"})

            @web.middleware
            async def keyed(request: web.Request, handler: Any) -> web.StreamResponse:
                if not self.allowed(request.headers.get("X-Rhinoapp-Process-Key")):
                    return web.Response(status=403, text="this port serves only the web server's proxy")
                return await handler(request)

            wslink_server.app.middlewares.insert(0, keyed)
            wslink_server.app.router.add_get("/screenshot.png", screenshot)

        with DivLayout(server, style="position:absolute;inset:0;margin:0;overflow:hidden;background:#1a1f29") as layout:
            layout.root.style = "position:absolute;inset:0;"
            remote = pv_widgets.VtkRemoteView(view, ref="view", interactive_ratio=0.5, interactive_quality=50,
                                              still_quality=94, style="width:100%;height:100%;")
            ctrl.view_update = remote.update

        self._views[view_id] = _View(server, scene, folder)
        server.start(exec_mode="task", host="127.0.0.1", port=0, open_browser=False, show_connection_info=False,
                     disable_logging=True, timeout=0)
        await server.ready
        _log.info("ParaView view %s on port %d", view_id, server.port)
        return int(server.port)

    def set_state(self, view_id: str, changes: dict[str, Any]) -> None:
        """Set trame state of a view (from the Panel widgets)."""
        found = self._views.get(view_id)
        if found is None:
            return
        with found.server.state:
            for name in ("preset", "clip"):
                if name in changes:
                    found.server.state[name] = changes[name]

    async def close(self, view_id: str) -> None:
        """Stop serving a view and free its pipeline and files."""
        from paraview import simple
        from trame.app.core import AVAILABLE_SERVERS

        found = self._views.pop(view_id, None)
        if found is None:
            return
        await found.server.stop()
        AVAILABLE_SERVERS.pop(found.server.name, None)
        for reader, clipper, _kind in reversed(found.scene.sources):
            simple.Delete(clipper)
            simple.Delete(reader)
        simple.Delete(found.scene.view)
        shutil.rmtree(found.folder, ignore_errors=True)


def main() -> int:
    """Entry point of the session's ParaView process."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s paraview[%(process)d] %(levelname)s %(message)s")
    logging.getLogger("rhinoapp").setLevel(os.environ.get("RHINOAPP_TRAME_LOG", "WARNING"))  # not trame's chatter
    nice = int(os.environ.get("RHINOAPP_TRAME_NICE", "10"))
    if nice:
        os.nice(nice)
    sys.argv = sys.argv[:1]  # trame reads its own options from the command line: give it none
    # pvpython wraps the standard streams in objects of its own: read and write the pipes themselves
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 (open for the process's life)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    site = os.environ.get("RHINOAPP_PV_SITE")
    if site:
        sys.path.append(site)  # after ParaView's own VTK and NumPy
    from rhinoapp.render.pv_pipeline import start_display

    display = start_display()

    async def run() -> None:
        from paraview import simple  # noqa: F401  (load ParaView before saying ready)

        apps = ParaViewApps()

        def leave() -> None:  # stdin closed: the process leaves at once (its Xvfb with it)
            shutil.rmtree(apps.scratch, ignore_errors=True)
            if display is not None:
                display.terminate()

        commands: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        threading.Thread(target=_read_stdin, args=(asyncio.get_running_loop(), commands, leave), daemon=True).start()
        _write({"kind": "ready", "pid": os.getpid()})
        await serve_commands(apps, commands)

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
