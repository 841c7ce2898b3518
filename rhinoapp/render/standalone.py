"""The render routes on a port of their own, for a notebook kernel (no Panel server there).

The server runs on its own thread and event loop, so frames keep flowing while the kernel
executes a cell. It listens on 127.0.0.1 only; behind JupyterHub the browser reaches it through
jupyter-server-proxy at ``<hub prefix>proxy/<port>/``. Every route still needs the view's key.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TYPE_CHECKING

from rhinoapp.render.offscreen import RenderError

if TYPE_CHECKING:
    from rhinoapp.render.bridge import RenderService

__all__ = ["StandaloneServer"]

_log = logging.getLogger(__name__)


class StandaloneServer:
    """Serve ``service``'s routes on ``127.0.0.1:<port>`` from a daemon thread (started at once)."""

    def __init__(self, service: RenderService, *, timeout: float = 30.0) -> None:
        self._service = service
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.port = 0
        self._thread = threading.Thread(target=self._run, name="rhinoapp-render-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or not self.port:
            raise RenderError("the notebook's render server did not start; see the kernel log")

    def _run(self) -> None:
        from tornado.httpserver import HTTPServer
        from tornado.netutil import bind_sockets
        from tornado.web import Application

        from rhinoapp.render.handlers import routes

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop

        async def listen() -> None:
            server = HTTPServer(Application(routes(self._service, any_origin=True)))
            sockets = bind_sockets(0, "127.0.0.1")
            server.add_sockets(sockets)
            self.port = sockets[0].getsockname()[1]
            _log.info("render server for notebooks on 127.0.0.1:%d", self.port)

        try:
            loop.run_until_complete(listen())
        finally:
            self._ready.set()
        loop.run_forever()
