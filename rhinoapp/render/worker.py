"""The render worker: one process per browser session, rendering its views offscreen.

Started by :class:`~rhinoapp.render.client.WorkerClient` as ``python -m rhinoapp.render.worker
--fd N``, with one end of a socket pair as fd ``N``. It reads commands (see
:mod:`~rhinoapp.render.protocol`) on a thread and renders on its main thread: all commands that
arrived during a render are applied together before the next one, so a slow render never builds a
queue. While the user drags, frames use the decimated mesh, a smaller size and a lower JPEG
quality; when the drag ends (or 250 ms after the last wheel event) one full-quality frame follows.

The worker exits as soon as its socket closes: when the server stops the session, exits or dies,
the worker goes too (no orphans).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from rhinoapp.render.protocol import ProtocolError, pack, read_blocking

__all__ = ["RenderWorker", "main"]

_log = logging.getLogger(__name__)
SETTLE_S = 0.25  # a still frame follows this long after the last wheel event


@dataclasses.dataclass
class _ViewState:
    view: Any  # SceneView
    image_format: Any  # ImageFormat
    dragging: bool = False
    interacting: bool = False
    last_event: float = 0.0
    dirty: bool = True
    seq: int = 0


class RenderWorker:
    """Applies commands to its views and sends frames through ``send(header, body)``."""

    def __init__(self, send: Callable[[dict[str, Any], bytes], None]) -> None:
        self._send = send
        self._views: dict[str, _ViewState] = {}

    def run(self, inbox: queue.Queue[tuple[dict[str, Any], bytes] | None]) -> None:
        """Serve commands from ``inbox`` until it yields ``None``."""
        while True:
            settling = [s for s in self._views.values() if s.interacting and not s.dragging]
            timeout = max(0.0, min(s.last_event for s in settling) + SETTLE_S - time.monotonic()) if settling else None
            try:
                batch = [inbox.get(timeout=timeout)]
            except queue.Empty:
                batch = []
            while True:
                try:
                    batch.append(inbox.get_nowait())
                except queue.Empty:
                    break
            if None in batch:
                return
            for header, _body in batch:  # type: ignore[misc]
                self._apply(header)
            now = time.monotonic()
            for state in self._views.values():
                if state.interacting and not state.dragging and now - state.last_event >= SETTLE_S:
                    state.interacting, state.dirty = False, True
            for view_id, state in list(self._views.items()):
                if state.dirty:
                    self._frame(view_id, state)

    def _apply(self, header: dict[str, Any]) -> None:
        op, view_id = header.get("op"), header.get("view", "")
        try:
            if op == "open":
                self._open(view_id, header)
                return
            state = self._views.get(view_id)
            if op == "ping":
                self._send({"kind": "pong"}, b"")
            elif state is None:
                return
            elif op == "close":
                state.view.close()
                del self._views[view_id]
            else:
                self._interact(state, op, header)
                if op == "screenshot":
                    self._screenshot(view_id, state, header.get("request"))
        except Exception as error:  # a bad file or a failed render: tell the page, keep serving
            _log.exception("render worker: %s failed", op)
            self._send({"kind": "error", "view": view_id, "message": _describe(error), "request": header.get("request")}, b"")

    def _open(self, view_id: str, header: dict[str, Any]) -> None:
        from rhinoapp.render.frames import ImageFormat
        from rhinoapp.render.loaders import load_scene_data
        from rhinoapp.render.spec import SceneSpec
        from rhinoapp.render.view import SceneView

        previous = self._views.pop(view_id, None)
        spec = SceneSpec.from_dict(header["spec"])
        started = time.perf_counter()
        size = previous.view.size if previous else (int(header.get("width", 640)), int(header.get("height", 480)))
        view = SceneView(spec, load_scene_data(spec), width=size[0], height=size[1])
        if previous is not None:  # a new revision of the same view keeps the camera
            view.camera.DeepCopy(previous.view.camera)
            previous.view.close()
        self._views[view_id] = _ViewState(view, ImageFormat(header.get("format", "jpeg")))
        _log.info("view built in %.2f s (%d triangles, %d while interacting)",
                  time.perf_counter() - started, *view.triangles)

    def _interact(self, state: _ViewState, op: str, header: dict[str, Any]) -> None:
        from rhinoapp.render.spec import CameraPreset, ClipPlane

        view, phase = state.view, header.get("phase", "move")
        if op in ("rotate", "pan", "zoom"):
            state.dragging = op != "zoom" and phase != "end"
            state.interacting, state.last_event = op == "zoom" or phase != "end", time.monotonic()
            width, height = view.size
            fx, fy = float(header.get("dx", 0.0)), float(header.get("dy", 0.0))  # fractions of the view size
            if op == "rotate":
                view.rotate(-200.0 * fx, 200.0 * fy)  # as VTK's trackball camera
            elif op == "pan":
                view.pan(fx * width / height, -fy)
            else:
                view.zoom(float(header.get("factor", 1.0)))
        elif op == "camera":
            view.preset(CameraPreset(header["preset"]))
        elif op == "clip":
            clip = header.get("clip")
            view.set_clip(ClipPlane(**clip) if clip else None)
        elif op == "resize":
            view.set_size(int(header["width"]), int(header["height"]))
        elif op != "frame":
            return
        state.dirty = True

    def _frame(self, view_id: str, state: _ViewState) -> None:
        from rhinoapp.render.frames import INTERACTING, STILL, encode

        quality = dataclasses.replace(INTERACTING if state.interacting else STILL, image_format=state.image_format)
        started = time.perf_counter()
        pixels = state.view.render(quality)
        rendered = time.perf_counter()
        data = encode(pixels, quality.image_format, quality.quality)
        state.seq += 1
        state.dirty = False
        self._send({
            "kind": "frame", "view": view_id, "seq": state.seq, "mime": quality.image_format.mime,
            "width": int(pixels.shape[1]), "height": int(pixels.shape[0]), "lod": quality.lod,
            "quality": quality.quality, "render_ms": round(1e3 * (rendered - started), 1),
            "encode_ms": round(1e3 * (time.perf_counter() - rendered), 1),
            "triangles": state.view.triangles[1 if quality.lod else 0],
        }, data)

    def _screenshot(self, view_id: str, state: _ViewState, request: Any) -> None:
        from rhinoapp.render.frames import STILL, ImageFormat, encode

        pixels = state.view.render(STILL)
        self._send({"kind": "screenshot", "view": view_id, "request": request}, encode(pixels, ImageFormat.PNG))


def _describe(error: Exception) -> str:
    from rhinoapp.core.errors import RhinoappError

    if isinstance(error, RhinoappError):
        return str(error)
    return f"The 3D view could not be drawn ({type(error).__name__}: {error})."


def _read_loop(sock: socket.socket, inbox: queue.Queue[tuple[dict[str, Any], bytes] | None]) -> None:
    try:
        while True:
            inbox.put(read_blocking(sock))
    except (ProtocolError, OSError, ValueError):
        pass
    os._exit(0)  # the server closed the socket or died: leave at once, even mid-render


def main(argv: list[str] | None = None) -> int:
    """Entry point of the worker process."""
    parser = argparse.ArgumentParser(prog="python -m rhinoapp.render.worker")
    parser.add_argument("--fd", type=int, required=True, help="file descriptor of the socket to the server")
    parser.add_argument("--nice", type=int, default=10, help="CPU priority offset, so the web server stays responsive")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s render-worker[%(process)d] %(levelname)s %(message)s")
    if args.nice:
        os.nice(args.nice)
    sock = socket.socket(fileno=args.fd)
    inbox: queue.Queue[tuple[dict[str, Any], bytes] | None] = queue.Queue()
    threading.Thread(target=_read_loop, args=(sock, inbox), name="render-commands", daemon=True).start()
    lock = threading.Lock()

    def send(header: dict[str, Any], body: bytes) -> None:
        with lock:
            sock.sendall(pack(header, body))

    import rhinoapp.render.view  # noqa: F401  (load VTK before saying ready)

    send({"kind": "ready", "pid": os.getpid(), "window": os.environ.get("VTK_DEFAULT_OPENGL_WINDOW", "")}, b"")
    RenderWorker(send).run(inbox)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
