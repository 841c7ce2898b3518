"""Tornado handlers of the render routes (see :mod:`rhinoapp.render.bridge`).

They only check keys and move bytes; every await is on a socket, never on a render.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import math
from typing import TYPE_CHECKING, Any

from tornado.web import HTTPError, RequestHandler
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from rhinoapp.render.offscreen import RenderError
from rhinoapp.render.security import SecureHeaders
from rhinoapp.render.spec import CameraPreset, ClipPlane

if TYPE_CHECKING:
    from rhinoapp.render.bridge import RenderService

__all__ = ["HealthHandler", "RenderSocket", "ScreenshotHandler", "routes", "validate_interaction"]

_log = logging.getLogger(__name__)
_VIEW = r"([A-Za-z0-9_\-]{8,64})"
_INTERACTION = {"rotate", "pan", "zoom", "camera", "clip", "resize", "frame"}


def validate_interaction(message: dict[str, Any]) -> dict[str, Any]:
    """Check a command from a page and keep only its known fields (pages cannot open files).

    Examples
    --------
    >>> validate_interaction({"op": "rotate", "dx": 0.1, "dy": 0, "phase": "move", "x": "ignored"})
    {'op': 'rotate', 'phase': 'move', 'dx': 0.1, 'dy': 0.0}
    >>> validate_interaction({"op": "open", "spec": {}})
    Traceback (most recent call last):
    ...
    ValueError: unknown command 'open'
    """
    op = message.get("op")
    if op not in _INTERACTION:
        raise ValueError(f"unknown command {op!r}")
    clean: dict[str, Any] = {"op": op}
    if op in ("rotate", "pan", "zoom"):
        clean["phase"] = {"start": "start", "end": "end"}.get(message.get("phase"), "move")
        for name, low, high in (("dx", -5, 5), ("dy", -5, 5), ("factor", 0.2, 5)):
            if name in message or (op == "zoom" and name == "factor") or (op != "zoom" and name != "factor"):
                value = float(message.get(name, 1.0 if name == "factor" else 0.0))
                if not math.isfinite(value):
                    raise ValueError(f"{name} must be a finite number")
                clean[name] = min(max(value, low), high)
    elif op == "camera":
        clean["preset"] = CameraPreset(message.get("preset")).value
    elif op == "clip":
        clip = message.get("clip")
        clean["clip"] = None if not clip else dataclasses.asdict(ClipPlane(**{k: clip[k] for k in ("axis", "position", "flip") if k in clip}))
        if clean["clip"]:
            clean["clip"]["axis"] = clean["clip"]["axis"].value
    elif op == "resize":
        clean["width"], clean["height"] = (int(min(max(float(message.get(n, 0)), 16), 4096)) for n in ("width", "height"))
    return clean


class _Authorised:
    """Refuses (403) a request whose ``key`` is not the key of the session owning the view."""

    service: RenderService

    def _authorise(self: Any) -> None:
        key = self.get_query_argument("key", None) or self.request.headers.get("X-Rhinoapp-Render-Key")
        if not self.path_args or not self.service.authorised(self.path_args[0], key):
            raise HTTPError(403, "this 3D view belongs to another session")

    def _request_summary(self: Any) -> str:  # the access log must not show the key
        return f"{self.request.method} {self.request.path} ({self.request.remote_ip})"


class RenderSocket(SecureHeaders, _Authorised, WebSocketHandler):
    """The page's websocket to one view: interaction in, frames out (latest frame wins)."""

    def initialize(self, service: RenderService, any_origin: bool = False) -> None:
        self.service = service
        self._any_origin = any_origin
        self._pending: bytes | None = None
        self._sending = False
        self._drain_task: asyncio.Task[None] | None = None
        self.view_id = ""

    def check_origin(self, origin: str) -> bool:
        return True if self._any_origin else super().check_origin(origin)

    def prepare(self) -> None:
        self._authorise()

    async def open(self, view_id: str) -> None:  # type: ignore[override]
        self.view_id = view_id
        self.set_nodelay(True)
        try:
            width = int(self.get_query_argument("width", "640"))
            height = int(self.get_query_argument("height", "480"))
            await self.service.attach(self, view_id, width, height)
        except (RenderError, ValueError) as error:
            self.send_status("failed", str(error))
            self.close(1011, "cannot render")
        except Exception as error:  # e.g. the process could not be started: say so, keep serving
            _log.exception("a 3D view could not start")
            self.send_status("failed", f"The 3D view could not start ({type(error).__name__}: {error}). "
                                       "Reload the page to try again; the server log has details.")
            self.close(1011, "cannot render")

    def on_message(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            return
        try:
            self.service.interact(self.view_id, json.loads(message))
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            self.send_status("error", f"A command from the page was ignored: {error}")

    def on_close(self) -> None:
        self.service.detach(self, self.view_id)

    def push_frame(self, payload: bytes) -> None:
        """Send a frame; while one is being written, a newer one replaces any waiting one."""
        self._pending = payload
        if not self._sending:
            self._sending = True
            self._drain_task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._pending is not None:
                payload, self._pending = self._pending, None
                await self.write_message(payload, binary=True)
        except WebSocketClosedError:
            self._pending = None
        finally:
            self._sending = False

    def send_status(self, kind: str, message: str) -> None:
        """A JSON message the page shows as text (``failed``: the view cannot go on)."""
        try:
            self.write_message(json.dumps({"kind": kind, "message": message}))
        except WebSocketClosedError:
            pass


class ScreenshotHandler(SecureHeaders, _Authorised, RequestHandler):
    """``GET`` a full-quality PNG of a view, as a download."""

    def initialize(self, service: RenderService, any_origin: bool = False) -> None:
        self.service = service
        self._any_origin = any_origin

    def prepare(self) -> None:
        self._authorise()

    async def get(self, view_id: str) -> None:
        try:
            png = await self.service.screenshot(view_id)
        except (RenderError, TimeoutError) as error:
            raise HTTPError(503, reason="the 3D view could not be drawn", log_message=str(error)) from None
        if self._any_origin:
            self.set_header("Access-Control-Allow-Origin", "*")
        self.set_header("Content-Type", "image/png")
        self.set_header("Content-Disposition", 'attachment; filename="rhinoapp-3d-view.png"')
        self.set_header("Cache-Control", "no-store")
        self.finish(png)


class HealthHandler(SecureHeaders, RequestHandler):
    """``GET /health``: a quick answer that the server's event loop is alive."""

    def initialize(self, service: RenderService, any_origin: bool = False) -> None:
        self.service = service

    def get(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.finish({"status": "ok", "render_workers": len(self.service.worker_pids)})


def routes(service: RenderService, *, any_origin: bool = False) -> list[tuple[str, type, dict[str, Any]]]:
    """The route table for ``extra_patterns`` (Panel prepends its URL prefix).

    Examples
    --------
    >>> from rhinoapp.render.bridge import RenderService
    >>> [pattern for pattern, _handler, _kw in routes(RenderService())][-1]
    '/health'
    """
    options = {"service": service, "any_origin": any_origin}
    return [
        (rf"/render/{_VIEW}/ws", RenderSocket, options),
        (rf"/render/{_VIEW}/screenshot\.png", ScreenshotHandler, options),
        (r"/health", HealthHandler, options),
    ]
