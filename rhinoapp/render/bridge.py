"""Render routes inside Panel's own tornado server, and the render workers behind them.

:class:`RenderService` (one per server process) registers the views of each browser session,
starts one render worker per session on demand, forwards interaction from the page's websocket
to the worker and frames back, and stops the worker when the session ends, when its last view
has been closed for ``idle_stop_s``, or when the server exits.

Routes (mounted with ``pn.serve(..., extra_patterns=service.routes())`` or
``panel serve ... --plugins rhinoapp.render.plugin``; Panel adds its URL prefix):

* ``/render/<view>/ws?key=...``: websocket; frames out (binary: 4-byte header length, JSON header,
  image), interaction in (JSON: rotate, pan, zoom, camera, clip, resize, frame);
* ``/render/<view>/screenshot.png?key=...``: a full-quality PNG download;
* ``/health``: answers at once, ``{"status": "ok", "render_workers": n}``.

A request without the key of the session that owns the view gets 403. Nothing here renders or
blocks: the handlers only move bytes between sockets on the server's event loop.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import hmac
import json
import logging
import secrets
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from rhinoapp.render.client import WorkerClient
from rhinoapp.render.frames import ImageFormat
from rhinoapp.render.handlers import validate_interaction
from rhinoapp.render.loops import call_on_loop
from rhinoapp.render.offscreen import OffscreenCheck, RenderError, check_offscreen, offscreen_environment
from rhinoapp.render.pool import Lease, WorkerPool
from rhinoapp.render.sessions import Session, ViewTicket, session_key
from rhinoapp.render.spec import SceneSpec

__all__ = ["RenderService", "ViewTicket", "default_service"]

_log = logging.getLogger(__name__)


class RenderService:
    """Sessions, their views and their render workers, for one server process.

    Parameters
    ----------
    idle_stop_s
        Stop a session's worker when none of its views has been connected for this long.
    max_workers
        Refuse new sessions' workers beyond this number (each uses CPU and memory); the default
        :attr:`pool` caps the server at this and allows as many to one user.
    nice
        CPU priority offset of the workers (they yield to the web server).
    render_threads
        Rasteriser threads of Mesa llvmpipe per worker (``None``: one per CPU).
    offscreen
        A known-good :func:`~rhinoapp.render.offscreen.check_offscreen` result (skips the check).
    pool
        The leases of render workers (server-wide and per-user caps); share one with the trame
        service so that both kinds of worker count against the same limits.

    Examples
    --------
    >>> service = RenderService()
    >>> ticket = service.open_view("session-1", SceneSpec(surface="/data/p1/geometry/default/airway.vtp"))
    >>> service.authorised(ticket.view_id, ticket.key), service.authorised(ticket.view_id, "guess")
    (True, False)
    >>> service.end_session("session-1")
    >>> service.authorised(ticket.view_id, ticket.key)
    False
    """

    def __init__(self, *, idle_stop_s: float = 20.0, max_workers: int = 16, nice: int = 10,
                 render_threads: int | None = None, offscreen: OffscreenCheck | None = None,
                 pool: WorkerPool | None = None) -> None:
        self.idle_stop_s = idle_stop_s
        self.max_workers = max_workers
        self.pool = pool or WorkerPool(size=max_workers, per_user=max_workers)
        self._nice = nice
        self._render_threads = render_threads
        self._lock = threading.RLock()
        self._sessions: dict[str, Session] = {}
        self._secret = secrets.token_bytes(32)  # render keys: HMACs of the session ids (sessions.session_key)
        self._view_session: dict[str, str] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="rhinoapp-render")
        self._check: Future[OffscreenCheck] | None = None
        if offscreen is not None:
            self._check = Future()
            self._check.set_result(offscreen)
        self._requests = 0
        self.mounted = False
        self._standalone: Any = None
        self._stopping: set[asyncio.Task[None]] = set()

    # --- registry: thread-safe, called by the views layer --------------------------------------

    def open_view(self, session_id: str, spec: SceneSpec | None, *, image_format: ImageFormat = ImageFormat.JPEG,
                  user: str | None = None, label: str = "") -> ViewTicket:
        """Register a view of ``session_id`` (frames as JPEG or WebP); its worker starts when the page connects.

        ``user`` (whose limit of render workers the session's worker counts against) and ``label``
        (the page, for the message another session of that user gets) are taken from the first view.
        """
        view_id = secrets.token_urlsafe(12)
        with self._lock:
            session = self._sessions.setdefault(session_id, Session(key=session_key(self._secret, session_id),
                                                                    session_id=session_id, user=user or "", label=label))
            session.views[view_id] = spec
            session.formats[view_id] = ImageFormat(image_format).value
            self._view_session[view_id] = session_id
            return ViewTicket(view_id, session.key)

    def update_view(self, view_id: str, spec: SceneSpec | None) -> None:
        """Show new content in a view (e.g. the next checkpoint); the camera stays."""
        with self._lock:
            session = self._session_of(view_id)
            if session is None:
                return
            session.views[view_id] = spec
        self._call_soon(self._send_open, view_id)

    def command(self, view_id: str, message: dict[str, Any]) -> None:
        """Send an interaction command (see :func:`validate_interaction`) from server-side code."""
        clean = validate_interaction(message)
        self._call_soon(self._forward, view_id, clean)

    def close_view(self, view_id: str) -> None:
        """Forget one view and free its scene in the worker; its page shows that it ended."""
        with self._lock:
            session = self._session_of(view_id)
            if session is None:
                return
            self._view_session.pop(view_id, None)
            session.views.pop(view_id, None)
        self._call_soon(self._close_view, session, view_id)

    def _close_view(self, session: Session, view_id: str) -> None:
        for socket in list(session.sockets.pop(view_id, ())):
            socket.send_status("failed", "This 3D view was closed.")
            socket.close(1000, "view closed")
        if session.worker is not None and view_id in session.opened:
            session.worker.send({"op": "close", "view": view_id})
        session.opened.discard(view_id)

    def end_session(self, session_id: str) -> None:
        """Forget a session's views and stop its worker (Panel calls this when the session ends)."""
        with self._lock:
            session = self._sessions.pop(session_id, None)
            if session is None:
                return
            for view_id in session.views:
                self._view_session.pop(view_id, None)
        self._call_soon(self._shutdown_session, session, "the page was closed")

    def authorised(self, view_id: str, key: str | None) -> bool:
        """Whether ``key`` is the key of the session that owns ``view_id`` (constant-time compare)."""
        session = self._session_of(view_id)
        return session is not None and key is not None and hmac.compare_digest(session.key.encode(), key.encode())

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the running workers."""
        with self._lock:
            return [s.worker.pid for s in self._sessions.values() if s.worker is not None and s.worker.alive and s.worker.pid]

    def routes(self) -> list[tuple[str, type, dict[str, Any]]]:
        """Tornado routes for Panel's ``extra_patterns``; views then use the page's own server."""
        from rhinoapp.render.handlers import routes

        self.mounted = True
        return routes(self)

    def notebook_port(self) -> int:
        """The port of this process's own render server on 127.0.0.1 (for notebooks), started once."""
        from rhinoapp.render.standalone import StandaloneServer

        with self._lock:
            if self._standalone is None:
                self._standalone = StandaloneServer(self)
            return self._standalone.port

    def prepare(self) -> None:
        """Start the offscreen check now (in a thread) so that the first view opens sooner."""
        with self._lock:
            if self._check is None:
                self._check = self._executor.submit(check_offscreen)

    # --- on the loop -----------------------------------------------------------------------------

    def _session_of(self, view_id: str) -> Session | None:
        with self._lock:
            session_id = self._view_session.get(view_id)
            return self._sessions.get(session_id) if session_id else None

    def _bind_loop(self) -> None:
        self._loop = asyncio.get_running_loop()  # the loop the routes are served on

    def _call_soon(self, callback: Any, *args: Any) -> None:
        call_on_loop(self._loop, callback, *args)

    async def _offscreen(self) -> OffscreenCheck:
        self.prepare()
        return await asyncio.wrap_future(self._check)  # type: ignore[arg-type]

    async def _worker(self, session: Session) -> WorkerClient:
        if session.failure:
            raise RenderError(session.failure)
        if session.worker is not None and session.worker.alive:
            return session.worker
        if session.starting is None:
            session.starting = asyncio.get_running_loop().create_task(self._start_worker(session))
        try:
            return await asyncio.shield(session.starting)
        finally:
            if session.starting is not None and session.starting.done():
                session.starting = None

    async def _start_worker(self, session: Session) -> WorkerClient:
        lease = self.pool.acquire(session.session_id, user=session.user, label=session.label)  # RenderLimitError: the pane says it
        try:
            check = await self._offscreen()
            worker = WorkerClient(
                environment=offscreen_environment(check.backend, threads=self._render_threads),
                on_message=lambda header, body: self._from_worker(session, header, body),
                on_exit=lambda reason, expected: self._worker_exited(session, worker, lease, reason, expected),
                executor=self._executor, nice=self._nice)
            await worker.start()
        except BaseException:
            self.pool.release(lease)
            raise
        session.worker = worker
        session.opened.clear()
        return worker

    def _send_open(self, view_id: str) -> None:
        session = self._session_of(view_id)
        if session is None or session.worker is None or not session.worker.alive:
            return
        spec = session.views.get(view_id)
        if spec is None:  # nothing to show yet
            return
        width, height = session.sizes.get(view_id, (640, 480))
        session.worker.send({"op": "open", "view": view_id, "spec": spec.to_dict(),
                             "width": width, "height": height, "format": session.formats.get(view_id, "jpeg")})
        session.opened.add(view_id)

    def _forward(self, view_id: str, message: dict[str, Any]) -> None:
        session = self._session_of(view_id)
        if message["op"] == "resize" and session is not None:
            session.sizes[view_id] = (message["width"], message["height"])
        if session is not None and session.worker is not None and view_id in session.opened:
            session.worker.send({**message, "view": view_id})

    def _from_worker(self, session: Session, header: dict[str, Any], body: bytes) -> None:
        kind, view_id = header.get("kind"), header.get("view", "")
        if kind == "screenshot" or (kind == "error" and header.get("request") is not None):
            waiter = session.waiters.pop(header.get("request"), None)
            if waiter is not None and not waiter.done():
                if kind == "screenshot":
                    waiter.set_result(body)
                else:
                    waiter.set_exception(RenderError(header.get("message", "the screenshot failed")))
            return
        sockets = session.sockets.get(view_id, ())
        if kind == "frame":
            encoded = json.dumps(header).encode()
            payload = len(encoded).to_bytes(4, "big") + encoded + body
            for socket in list(sockets):
                socket.push_frame(payload)
        elif kind == "error":
            for socket in list(sockets):
                socket.send_status("error", header.get("message", ""))

    def _worker_exited(self, session: Session, worker: WorkerClient, lease: Lease, reason: str, expected: bool) -> None:
        self.pool.release(lease)  # its slot in the pool is free for another session
        self._worker_gone(session, worker, reason, expected)

    def _worker_gone(self, session: Session, worker: WorkerClient, reason: str, expected: bool) -> None:
        if session.worker is not worker:  # an idle worker that was replaced while it stopped
            return
        session.worker = None
        session.opened.clear()
        for waiter in session.waiters.values():
            if not waiter.done():
                waiter.set_exception(RenderError("the render process stopped"))
        session.waiters.clear()
        if expected:
            return
        session.failure = (f"The 3D view stopped because {reason}. Reload the page to start it again; "
                           "if it happens again, the scene may be too large for this server.")
        for sockets in session.sockets.values():
            for socket in list(sockets):
                socket.send_status("failed", session.failure)
                socket.close(1011, "render worker stopped")

    async def _shutdown_session(self, session: Session, why: str) -> None:
        if session.stop_timer is not None:
            session.stop_timer.cancel()
        for sockets in session.sockets.values():
            for socket in list(sockets):
                socket.close(1001, why)
        if session.starting is not None:
            try:
                await session.starting
            except Exception:  # it failed to start: nothing to stop
                pass
        if session.worker is not None:
            await session.worker.stop()

    # --- used by the handlers ------------------------------------------------------------------

    async def attach(self, socket: Any, view_id: str, width: int, height: int) -> None:
        """A page connected to ``view_id``: start the worker if needed and show the view."""
        self._bind_loop()
        session = self._session_of(view_id)
        if session is None:
            raise RenderError("this 3D view has ended; reload the page")
        if session.views.get(view_id) is None:
            raise RenderError("this 3D view has nothing to show yet")
        if session.stop_timer is not None:
            session.stop_timer.cancel()
            session.stop_timer = None
        session.sockets.setdefault(view_id, set()).add(socket)
        session.sizes[view_id] = (width, height)
        await self._worker(session)
        if view_id in session.opened:
            self._forward(view_id, {"op": "resize", "width": width, "height": height})
        else:
            self._send_open(view_id)

    def detach(self, socket: Any, view_id: str) -> None:
        """A page's websocket closed; stop the worker later if nothing else is connected."""
        session = self._session_of(view_id)
        if session is None:
            return
        session.sockets.get(view_id, set()).discard(socket)
        if not any(session.sockets.values()) and session.stop_timer is None:
            session.stop_timer = asyncio.get_running_loop().call_later(self.idle_stop_s, self._idle_stop, session)

    def _idle_stop(self, session: Session) -> None:
        session.stop_timer = None
        worker = session.worker
        if not any(session.sockets.values()) and worker is not None:
            _log.info("stopping an idle render worker (%s)", worker.pid)
            session.worker = None  # a page that connects meanwhile gets a new one
            session.opened.clear()
            self._stopping.add(asyncio.get_running_loop().create_task(worker.stop()))
            for task in [t for t in self._stopping if t.done()]:
                self._stopping.discard(task)

    def interact(self, view_id: str, message: dict[str, Any]) -> None:
        """Forward a checked command from a page."""
        self._forward(view_id, validate_interaction(message))

    async def screenshot(self, view_id: str, *, timeout: float = 120.0) -> bytes:
        """A full-quality PNG of the view (starting the worker if needed)."""
        self._bind_loop()
        session = self._session_of(view_id)
        if session is None:
            raise RenderError("this 3D view has ended; reload the page")
        await self._worker(session)
        if view_id not in session.opened:
            self._send_open(view_id)
        self._requests += 1
        request = self._requests
        waiter: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        session.waiters[request] = waiter
        session.worker.send({"op": "screenshot", "view": view_id, "request": request})  # type: ignore[union-attr]
        return await asyncio.wait_for(waiter, timeout)

    async def close(self) -> None:
        """Stop every worker (at server exit)."""
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
            self._view_session.clear()
        await asyncio.gather(*(self._shutdown_session(s, "the server is stopping") for s in sessions),
                             *self._stopping, return_exceptions=True)

    def kill_all(self) -> None:
        """Kill every worker now, without a loop (last resort at interpreter exit)."""
        with self._lock:
            for session in self._sessions.values():
                if session.worker is not None:
                    session.worker.kill()


@functools.cache
def default_service() -> RenderService:
    """The process's render service, shared by the routes and the views (made on first use).

    Its workers are killed at interpreter exit if the server did not stop them before.
    """
    service = RenderService()
    atexit.register(service.kill_all)
    return service
