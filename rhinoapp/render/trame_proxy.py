"""Tornado routes that proxy the trame panes through Panel's own port: ``/render/<view>/...``.

* ``/render/<view>/ws``: the pane's websocket, relayed message by message (text and binary);
* ``/render/<view>/<path>``: its page, scripts and ``screenshot.png`` (``GET``);
* ``/health``: a quick answer that the server's event loop is alive (no key; it names no pane).

Every request must carry the owning session's key in the cookie :data:`KEY_COOKIE` (set by the
pane's page for the path ``/render/<view>/`` only; never in a URL) and, when the server has
signed-in users, come from the session's user; otherwise 403. The upstream is always the
view's own application on 127.0.0.1, at the port its process reported, and the proxy adds the
process's key (:data:`PROCESS_KEY_HEADER`), without which that port refuses everything; a request whose path or
query names a port or a host is refused (400), so the proxy can never be pointed elsewhere.
"""

from __future__ import annotations

import logging
import mimetypes
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.web import HTTPError, RequestHandler
from tornado.websocket import WebSocketClientConnection, WebSocketClosedError, WebSocketHandler, websocket_connect

from rhinoapp.render.offscreen import RenderError
from rhinoapp.render.security import SecureHeaders
from rhinoapp.render.trame_service import KEY_COOKIE, PROCESS_KEY_HEADER, VIEW_PATTERN

if TYPE_CHECKING:
    from rhinoapp.render.trame_service import TrameService

__all__ = ["HealthHandler", "TrameHttpProxy", "TrameSocketProxy", "names_port", "routes"]

_log = logging.getLogger(__name__)
_PORTISH = re.compile(r"(^|/)\d{1,5}(/|$)|[:@\\]|^/|\.\.")
_HOST_ARGUMENTS = {"port", "host", "url", "target", "upstream"}
_PASSED_HEADERS = ("Content-Type", "Content-Encoding", "Cache-Control", "ETag", "Last-Modified")


def names_port(path: str, arguments: dict[str, Any]) -> bool:
    """Whether a proxied path or its query names a port, a host or leaves the view's folder.

    Examples
    --------
    >>> names_port("index.html", {}), names_port("assets/app.js", {"v": [b"2"]})
    (False, False)
    >>> names_port("8888/index.html", {}), names_port("127.0.0.1:22/", {}), names_port("ws", {"port": [b"1"]})
    (True, True, True)
    >>> names_port("a/../../health", {}), names_port("%3A8080", {})
    (True, True)
    """
    decoded = unquote(unquote(path))
    return bool(_PORTISH.search(decoded)) or any(name.lower() in _HOST_ARGUMENTS for name in arguments)


class _Checked:
    """The key, user and port checks of both handlers."""

    service: TrameService

    def _check(self: Any, view_id: str, subpath: str) -> None:
        if names_port(subpath, self.request.query_arguments):
            raise HTTPError(400, reason="a 3D view's route cannot name a port or a host")
        key = self.get_cookie(KEY_COOKIE)
        user = None
        if self.application.settings.get("cookie_secret"):
            raw = self.get_secure_cookie("user")
            user = raw.decode() if raw else None
        if not self.service.authorised(view_id, key, user):
            raise HTTPError(403, reason="this 3D view belongs to another session")

    def _request_summary(self: Any) -> str:  # the access log must not show the cookie
        return f"{self.request.method} {self.request.path} ({self.request.remote_ip})"


class TrameHttpProxy(SecureHeaders, _Checked, RequestHandler):
    """``GET`` (or ``POST``) a file of the pane's trame application (page, scripts, screenshot)."""

    def initialize(self, service: TrameService) -> None:
        self.service = service

    async def get(self, view_id: str, subpath: str) -> None:
        await self._relay(view_id, subpath)

    async def post(self, view_id: str, subpath: str) -> None:
        await self._relay(view_id, subpath)

    async def _relay(self, view_id: str, subpath: str) -> None:
        self._check(view_id, subpath)
        if self.service.serves_files:  # the relay: the page's files are the trame packages installed here
            await self._local_file(view_id, subpath)
            return
        try:
            port = await self.service.upstream_port(view_id)
        except RenderError as error:
            raise HTTPError(503, reason="the 3D view could not start", log_message=str(error)) from None
        query = f"?{self.request.query}" if self.request.query else ""
        request = HTTPRequest(f"http://127.0.0.1:{port}/{subpath}{query}", method=self.request.method,
                              body=self.request.body if self.request.method == "POST" else None,
                              follow_redirects=False, request_timeout=120,
                              decompress_response=False,
                              headers={"Accept-Encoding": self.request.headers.get("Accept-Encoding", ""),
                                       PROCESS_KEY_HEADER: self.service.process_key(view_id)})
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
        except (OSError, HTTPClientError) as error:
            raise HTTPError(502, reason="the 3D view did not answer", log_message=str(error)) from None
        self.set_status(response.code if response.code != 599 else 502)
        for name in _PASSED_HEADERS:
            if name in response.headers:
                self.set_header(name, response.headers[name])
        if "Content-Disposition" in response.headers and subpath == "screenshot.png":
            self.set_header("Content-Disposition", response.headers["Content-Disposition"])
        location = response.headers.get("Location")
        if location and 300 <= response.code < 400:  # keep redirects inside the view's folder
            self.set_header("Location", location.lstrip("/").rsplit("/", 1)[-1] or "index.html")
        self.finish(response.body or b"")


    async def _local_file(self, view_id: str, subpath: str) -> None:
        try:
            path = await self.service.local_file(view_id, subpath)
        except RenderError as error:
            raise HTTPError(503, reason="the 3D view could not start", log_message=str(error)) from None
        if path is None:
            raise HTTPError(404)
        self.set_header("Content-Type", mimetypes.guess_type(path.name)[0] or "application/octet-stream")
        self.finish(path.read_bytes())


class TrameSocketProxy(SecureHeaders, _Checked, WebSocketHandler):
    """The pane's websocket, relayed to its trame application."""

    def initialize(self, service: TrameService) -> None:
        self.service = service
        self._upstream: WebSocketClientConnection | Any = None
        self._view_id = ""
        self._counted = False

    def prepare(self) -> None:
        self._check(self.path_args[0], "ws")

    async def open(self, view_id: str) -> None:
        self._view_id = view_id
        self.set_nodelay(True)
        try:
            self._upstream = await self.service.channel(view_id, self._from_upstream)  # the relay's, or None
        except RenderError as error:
            _log.warning("a trame pane could not join its render job: %s", error)
            self.close(1011, "the 3D view could not start")
            return
        try:
            if self._upstream is None:
                port = await self.service.upstream_port(view_id)
                upstream = HTTPRequest(f"ws://127.0.0.1:{port}/ws", headers={PROCESS_KEY_HEADER: self.service.process_key(view_id)})
                self._upstream = await websocket_connect(upstream, max_message_size=256 * 2**20,
                                                         on_message_callback=self._from_upstream)
        except (RenderError, OSError, HTTPClientError) as error:
            _log.warning("a trame pane could not connect: %s", error)
            self.close(1011, "the 3D view could not start")
            return
        self.service.socket_opened(view_id)
        self._counted = True

    def _from_upstream(self, message: str | bytes | None) -> None:
        if message is None:
            self.close(1011, "the 3D view stopped")
            return
        try:
            self.write_message(message, binary=isinstance(message, bytes))
        except WebSocketClosedError:
            pass

    async def on_message(self, message: str | bytes) -> None:
        if self._upstream is not None:
            try:
                await self._upstream.write_message(message, binary=isinstance(message, bytes))
            except WebSocketClosedError:
                self.close(1011, "the 3D view stopped")

    def on_close(self) -> None:
        if self._upstream is not None:
            self._upstream.close()
        if self._counted:
            self._counted = False
            self.service.socket_closed(self._view_id)


class HealthHandler(SecureHeaders, RequestHandler):
    """``GET /health``: the server's event loop answers, with the number of running render processes."""

    def initialize(self, service: TrameService) -> None:
        self.service = service

    def get(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.finish({"status": "ok", "render_processes": len(self.service.process_ids)})


def routes(service: TrameService) -> list[tuple[str, type, dict[str, Any]]]:
    """The route table for Panel's ``extra_patterns`` (Panel prepends its URL prefix).

    Examples
    --------
    >>> from rhinoapp.render.trame_service import TrameService
    >>> [pattern for pattern, _handler, _kw in routes(TrameService())]
    ['/render/(t[0-9a-f]{24})/ws', '/render/(t[0-9a-f]{24})/(.*)', '/health']
    """
    options = {"service": service}
    return [
        (rf"/render/{VIEW_PATTERN}/ws", TrameSocketProxy, options),
        (rf"/render/{VIEW_PATTERN}/(.*)", TrameHttpProxy, options),
        (r"/health", HealthHandler, options),
    ]
