"""The trame process of one browser session: one trame application (a remote view) per 3D pane.

Started by :class:`~rhinoapp.render.trame_service.TrameService` as ``python -m
rhinoapp.render.trame_app``. Commands arrive as JSON lines on stdin; answers leave as JSON lines
on stdout (never a secret in its arguments, so ``ps`` shows none):

* ``{"op": "open", "view": id, "spec": {...}}``: build the scene with PyVista and serve it on
  127.0.0.1 (a free port); answers ``{"kind": "view", "view": id, "port": n}`` or ``{"kind": "error"}``;
* ``{"op": "state", "view": id, "preset": "left"}`` or ``{"op": "state", "view": id, "clip": {...}|null}``:
  what the Panel widgets changed; they set the trame state of that view, whose handlers move
  the camera or the clip plane and push a new image;
* ``{"op": "close", "view": id}``;
* ``{"op": "key", "key": k}`` (first): every request to the applications must carry ``k`` in the
  header ``X-Rhinoapp-Process-Key`` (the proxy adds it); without it, or before it is known, 403.
  A notebook's process (:mod:`rhinoapp.render.trame_notebook`, no proxy in between) is also given
  ``"cookie": name``: the key may then come in that cookie instead, which the cell's page sets.

Each application also answers ``GET /screenshot.png`` (a full-quality PNG). While the user drags,
the view shows the decimated mesh at a lower resolution and JPEG quality (trame-vtk's
interactive ratio and quality). The process exits when stdin closes: when the web server stops
the session or dies, the process goes too (no orphans).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import json
import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["TrameApps", "main", "read_message", "serve_commands"]

_log = logging.getLogger(__name__)
_KEY_HEADER = "X-Rhinoapp-Process-Key"  # trame_service.PROCESS_KEY_HEADER (not imported: this process stays small)


@dataclasses.dataclass(eq=False)
class _App:
    server: Any
    scene: Any
    task: Any = None
    view: Any = None  # the trame remote view widget


def _watch_interaction(app: _App, ctrl: Any) -> None:
    """Level of detail while the user drags: the decimated mesh, then the full one when they let go.

    Once per view: its window stays for every scene it shows, and the observers act on the current one.
    """
    interactor = app.scene.plotter.iren.interactor if app.scene.plotter.iren is not None else None
    if interactor is not None:
        interactor.AddObserver("StartInteractionEvent", lambda *_: app.scene.set_lod(True))
        interactor.AddObserver("EndInteractionEvent", lambda *_: _settle(app.scene, ctrl))


def _settle(scene: Any, ctrl: Any) -> None:
    """Back to the full mesh when the user lets go, and push the new image."""
    scene.set_lod(False)
    ctrl.view_update()


def _write(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def read_message(line: str | bytes) -> dict[str, Any] | None:
    """One line a trame process wrote: its message, or None for anything else (a library's own output).

    Examples
    --------
    >>> read_message('{"kind": "ready", "pid": 7}\\n'), read_message(b"VTK says hello"), read_message("[1]")
    ({'kind': 'ready', 'pid': 7}, None, None)
    """
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


class TrameApps:
    """The trame applications of this process, by view id (all served on one event loop)."""

    def __init__(self, *, reverse_url: Callable[[str], str] | None = None) -> None:
        self._apps: dict[str, _App] = {}
        self.key = ""
        self.cookie = ""  # the cookie that may carry the key instead of the header ("": none may)
        self._reverse_url = reverse_url  # a render job's views dial out to the web server's relay instead

    def static_folders(self, view_id: str) -> dict[str, str]:
        """The folders the page of ``view_id`` loads its files from, by route (``/``: the page itself)."""
        app = self._apps.get(view_id)
        if app is None:
            return {}
        from trame_client.module import vue3  # type: ignore[import-untyped]

        return {"/": vue3.www, **{route: str(folder[0] if isinstance(folder, (list, tuple)) else folder)
                                  for route, folder in app.server.serve.items()}}

    def allowed(self, header: str | None) -> bool:
        """Whether a request's key header is this process's key (no key set yet: nothing passes).

        Examples
        --------
        >>> apps = TrameApps()
        >>> apps.allowed("k"), apps.allowed(None)
        (False, False)
        >>> apps.key = "k"
        >>> apps.allowed("k"), apps.allowed("x"), apps.allowed(None)
        (True, False, False)
        """
        return bool(self.key) and header is not None and hmac.compare_digest(header.encode(), self.key.encode())

    async def open(self, view_id: str, spec_data: dict[str, Any]) -> int:
        """Build the scene of ``view_id`` and serve it; returns its port on 127.0.0.1."""
        from trame.app import get_server
        from trame.ui.html import DivLayout
        from trame.widgets import vtk as vtk_widgets

        from rhinoapp.render.loaders import load_scene_data
        from rhinoapp.render.pv_scenes import build_scene
        from rhinoapp.render.spec import CameraPreset, ClipPlane, SceneSpec

        spec = SceneSpec.from_dict(spec_data)
        data = await asyncio.get_running_loop().run_in_executor(None, load_scene_data, spec)
        if view_id in self._apps:  # a new scene for an open view (a live checkpoint): same server, same page
            return self._replace(self._apps[view_id], spec, data)
        scene = build_scene(spec, data)
        server = get_server(f"rhinoapp-{view_id}", client_type="vue3")
        app = _App(server, scene)
        state, ctrl = server.state, server.controller
        state.update({"preset": spec.camera.value, "clip": None if spec.clip is None else
                      {**dataclasses.asdict(spec.clip), "axis": spec.clip.axis.value}, "title": spec.title})

        @state.change("preset")
        def _preset(preset: str, **_: Any) -> None:
            app.scene.preset(CameraPreset(preset))
            ctrl.view_update()

        @state.change("clip")
        def _clip(clip: dict[str, Any] | None, **_: Any) -> None:
            app.scene.set_clip(ClipPlane(**clip) if clip else None)
            ctrl.view_update()

        _watch_interaction(app, ctrl)

        @ctrl.add("on_server_bind")
        def _bind(wslink_server: Any) -> None:
            from aiohttp import web

            if getattr(wslink_server, "app", None) is None:  # a reverse connection serves no HTTP
                return

            async def screenshot(_request: web.Request) -> web.Response:
                from rhinoapp.render.frames import ImageFormat, encode

                png = encode(app.scene.screenshot(), ImageFormat.PNG)
                ctrl.view_update()
                return web.Response(body=png, content_type="image/png",
                                    headers={"Content-Disposition": 'attachment; filename="rhinoapp-3d-view.png"',
                                             "Cache-Control": "no-store"})

            @web.middleware
            async def keyed(request: web.Request, handler: Any) -> web.StreamResponse:
                given = request.headers.get(_KEY_HEADER) or (request.cookies.get(self.cookie) if self.cookie else None)
                if not self.allowed(given):
                    return web.Response(status=403, text="this port serves only the web server's proxy")
                return await handler(request)

            wslink_server.app.middlewares.insert(0, keyed)  # before the application starts (it freezes them)
            wslink_server.app.router.add_get("/screenshot.png", screenshot)

        with DivLayout(server, style="position:absolute;inset:0;margin:0;overflow:hidden;background:#1a1f29") as layout:
            layout.root.style = "position:absolute;inset:0;"
            view = vtk_widgets.VtkRemoteView(scene.plotter.render_window, ref="view", interactive_ratio=0.5,
                                             interactive_quality=50, still_quality=94, style="width:100%;height:100%;")
            ctrl.view_update = view.update

        app.view = view
        self._apps[view_id] = app
        if self._reverse_url is not None:
            server.cli.set_defaults(reverse_url=self._reverse_url(view_id))  # never on a command line
        app.task = server.start(exec_mode="task", host="127.0.0.1", port=0, open_browser=False,
                                show_connection_info=False, disable_logging=True, timeout=0)
        await server.ready
        _log.info("view %s: %d triangles (%d while interacting) on port %d", view_id, *scene.triangles, server.port)
        return int(server.port)

    def _replace(self, app: _App, spec: Any, data: Any) -> int:
        """Draw ``spec``'s scene into ``app``'s window from where the user looked; the page stays, its image changes.

        The window stays too: the page's view keeps following the same window, which it could not
        reliably switch to another one while it was still connecting (it kept the old, emptied one).
        """
        from vtkmodules.vtkRenderingCore import vtkCamera

        from rhinoapp.render.pv_scenes import build_scene
        from rhinoapp.render.spec import ClipPlane

        looked = vtkCamera()
        looked.DeepCopy(app.scene.plotter.renderer.GetActiveCamera())
        scene = build_scene(spec, data, into=app.scene)
        scene.plotter.renderer.GetActiveCamera().DeepCopy(looked)
        clip = app.server.state["clip"]
        scene.set_clip(ClipPlane(**clip) if clip else None)  # the clip the user set
        scene.plotter.renderer.ResetCameraClippingRange()
        app.scene = scene
        app.server.controller.view_update()
        _log.info("view: a new scene, %d triangles (%d while interacting)", *scene.triangles)
        return int(app.server.port)

    def set_state(self, view_id: str, changes: dict[str, Any]) -> None:
        """Set trame state of a view (from the Panel widgets)."""
        app = self._apps.get(view_id)
        if app is None:
            return
        with app.server.state:
            for name in ("preset", "clip"):
                if name in changes:
                    app.server.state[name] = changes[name]

    async def close(self, view_id: str) -> None:
        """Stop serving a view and free its scene."""
        app = self._apps.pop(view_id, None)
        if app is not None:
            await app.server.stop()
            app.scene.plotter.close()
            from trame.app.core import AVAILABLE_SERVERS

            # trame keeps every server by name: forget this one, or a new scene for the same view
            # (same name) would get the stopped server back, and closed views would never be freed
            AVAILABLE_SERVERS.pop(app.server.name, None)


async def serve_commands(apps: TrameApps, commands: asyncio.Queue[dict[str, Any] | None],
                         write: Callable[[dict[str, Any]], None] = _write) -> None:
    while (command := await commands.get()) is not None:
        op, view_id = command.get("op"), str(command.get("view", ""))
        try:
            if op == "key":
                apps.key, apps.cookie = str(command.get("key", "")), str(command.get("cookie", ""))
            elif op == "open":
                _log.info("view %s: open %s", view_id, command["spec"].get("revision") or command["spec"].get("title") or "")
                write({"kind": "view", "view": view_id, "port": await apps.open(view_id, command["spec"])})
            elif op == "state":
                apps.set_state(view_id, command)
            elif op == "close":
                await apps.close(view_id)
        except Exception as error:  # a bad file or a failed render: say so, keep serving the others
            _log.exception("trame process: %s failed", op)
            write({"kind": "error", "view": view_id, "message": f"The 3D view could not be drawn ({type(error).__name__}: {error})."})


def _read_stdin(loop: asyncio.AbstractEventLoop, commands: asyncio.Queue[dict[str, Any] | None],
                on_exit: Any = None) -> None:
    for line in sys.stdin:
        try:
            loop.call_soon_threadsafe(commands.put_nowait, json.loads(line))
        except ValueError:
            continue
    if on_exit is not None:
        on_exit()
    os._exit(0)  # the web server closed the pipe or died: leave at once


def main() -> int:
    """Entry point of the session's trame process."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s trame[%(process)d] %(levelname)s %(message)s")
    logging.getLogger("rhinoapp").setLevel(os.environ.get("RHINOAPP_TRAME_LOG", "WARNING"))  # not trame's chatter
    nice = int(os.environ.get("RHINOAPP_TRAME_NICE", "10"))
    if nice:
        os.nice(nice)
    sys.argv = sys.argv[:1]  # trame reads its own options from the command line: give it none

    async def run() -> None:
        import rhinoapp.render.pv_scenes  # noqa: F401  (load VTK and PyVista before saying ready)

        commands: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        threading.Thread(target=_read_stdin, args=(asyncio.get_running_loop(), commands), daemon=True).start()
        _write({"kind": "ready", "pid": os.getpid()})
        await serve_commands(TrameApps(), commands)

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
