"""The trame panes' sessions: one trame process per browser session, its views, keys and ports.

:class:`TrameService` (one per server process) registers each Panel session's 3D panes, starts
the session's trame process (:mod:`rhinoapp.render.trame_app`) when a pane's page is first
requested, asks it to serve each pane on 127.0.0.1, and stops it when the session ends or when
no pane of the session has had a websocket for ``idle_stop_s``. The proxy routes
(:mod:`rhinoapp.render.trame_proxy`) ask it whether a request may pass and where to.

Each process gets a key of its own (sent on its stdin, never in its arguments or environment): its
applications on 127.0.0.1 refuse every request without it in the header :data:`PROCESS_KEY_HEADER`,
which only the proxy adds, so another local user or process cannot use a pane's port. When a
process dies (killed, out of memory), the panes of its session are told (``on_stopped``) so that
they show a message; a reload of the page starts a new process.

With the ParaView backend, every ``pvpython`` process (and every "download for ParaView") draws
on the service's one X display (:attr:`TrameService.x_display`, an ``Xvfb`` started on first need
and stopped by :meth:`TrameService.close`, unless the deployment gives one).

View ids are lower-case (trame's client lower-cases its websocket URL) and start with ``t``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hmac
import json
import logging
import os
import secrets
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rhinoapp.config import RenderBackend
from rhinoapp.render.loops import call_on_loop
from rhinoapp.render.offscreen import RenderError, check_offscreen, offscreen_environment
from rhinoapp.render.paraview_launch import paraview_command
from rhinoapp.render.pool import Lease, RenderLimitError, WorkerPool
from rhinoapp.render.sessions import session_key
from rhinoapp.render.spec import SceneSpec
from rhinoapp.render.trame_app import read_message
from rhinoapp.render.x_display import SharedDisplay

if TYPE_CHECKING:
    from rhinoapp.render.trame_relay import SlurmRelay

__all__ = ["KEY_COOKIE", "PROCESS_KEY_HEADER", "STOPPED_MESSAGE", "TrameService", "TrameTicket", "VIEW_PATTERN", "default_trame_service"]

_log = logging.getLogger(__name__)
#: The cookie that carries a session's key to its panes' routes (path ``/render/<view>/``).
KEY_COOKIE = "rhinoapp_render_key"
#: The header that carries a trame process's key from the proxy to the process (never to a browser).
PROCESS_KEY_HEADER = "X-Rhinoapp-Process-Key"
#: What a pane shows when its process died.
STOPPED_MESSAGE = "The 3D view stopped unexpectedly. Reload the page to start it again."
#: A trame view id in a route.
VIEW_PATTERN = r"(t[0-9a-f]{24})"


@dataclasses.dataclass(frozen=True)
class TrameTicket:
    """What the page needs to reach a pane: the view id and the session's key (a secret, never in a URL)."""

    view_id: str
    key: str

    def path(self) -> str:
        """The pane's route below the server's prefix (no key in it)."""
        return f"render/{self.view_id}/"


@dataclasses.dataclass(eq=False)
class _Session:
    key: str
    user: str | None
    views: dict[str, SceneSpec | None] = dataclasses.field(default_factory=dict)
    ports: dict[str, asyncio.Future[int]] = dataclasses.field(default_factory=dict)
    process: asyncio.subprocess.Process | None = None
    starting: asyncio.Task[asyncio.subprocess.Process] | None = None
    sockets: int = 0
    stop_timer: asyncio.TimerHandle | None = None
    reader: asyncio.Task[None] | None = None
    process_key: str = ""
    session_id: str = ""
    label: str = ""
    listeners: dict[str, Callable[[str], None]] = dataclasses.field(default_factory=dict)


class TrameService:
    """Sessions, their panes and their trame processes, for one server process.

    Examples
    --------
    >>> service = TrameService()
    >>> ticket = service.open_view("session-1", SceneSpec(surface="/data/airway.vtp"), user="ada")
    >>> ticket.view_id == ticket.view_id.lower(), service.authorised(ticket.view_id, ticket.key, "ada")
    (True, True)
    >>> service.authorised(ticket.view_id, "guess", "ada"), service.authorised(ticket.view_id, ticket.key, "eve")
    (False, False)
    >>> service.end_session("session-1")
    >>> service.authorised(ticket.view_id, ticket.key, "ada")
    False
    """

    def __init__(self, *, idle_stop_s: float = 20.0, nice: int = 10,
                 backend: RenderBackend = RenderBackend.VTK, pool: WorkerPool | None = None) -> None:
        self.idle_stop_s = idle_stop_s
        self.backend = RenderBackend(backend)
        #: The server's and each user's cap on trame processes (``serve`` sets it from the settings).
        self.pool = pool or WorkerPool(size=16, per_user=16)
        self._nice = nice
        self._lock = threading.RLock()
        self._secret = secrets.token_bytes(32)
        self._sessions: dict[str, _Session] = {}
        self._view_session: dict[str, str] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._environment: dict[str, str] | None = None
        self.mounted = False
        #: Render workers as Slurm jobs joined through the relay routes (the render profile); None: local processes.
        self.relay: SlurmRelay | None = None
        #: The X display of the ParaView processes (the panes' and the downloads').
        self.x_display = SharedDisplay()

    # --- registry (any thread) ---------------------------------------------------------------------

    def open_view(self, session_id: str, spec: SceneSpec | None, *, user: str | None = None, label: str = "",
                  on_stopped: Callable[[str], None] | None = None) -> TrameTicket:
        """Register a pane of ``session_id`` (owned by ``user``); its process starts when the page asks.

        ``on_stopped(message)`` is called (on the server's loop) if the session's process dies, or
        cannot start because the user or the server has as many as :attr:`pool` allows (the message
        says which sessions hold them). ``label`` (the page) names the session in that message to
        the user's other sessions; the first view's counts.
        """
        view_id = "t" + secrets.token_hex(12)
        with self._lock:
            session = self._sessions.setdefault(session_id, _Session(session_key(self._secret, "trame:" + session_id), user,
                                                                       session_id=session_id, label=label))
            session.views[view_id] = spec
            if on_stopped is not None:
                session.listeners[view_id] = on_stopped
            self._view_session[view_id] = session_id
        return TrameTicket(view_id, session.key)

    def prepare(self, view_id: str, on_status: Callable[[str], None]) -> bool:
        """Start the worker of ``view_id`` before its page loads, if workers queue (Slurm jobs).

        ``on_status(text)`` (called on the server's loop) tells the pane the queue state, and ``""``
        once the page may load. Returns False when the page may load at once (local processes).
        """
        session = self._session_of(view_id)
        if self.relay is None or session is None:
            return False
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            pass
        call_on_loop(self._loop, self.relay.prepare, session, view_id, on_status)
        return True

    @property
    def redraws_in_place(self) -> bool:
        """Whether a pane's new scene is drawn into its open page (VTK processes, local or on Slurm), or
        the page must load again (ParaView's process serves the new scene anew)."""
        return self.backend is RenderBackend.VTK

    @property
    def serves_files(self) -> bool:
        """Whether the panes' pages are served from here (the relay) rather than by their worker."""
        return self.relay is not None

    async def local_file(self, view_id: str, subpath: str) -> Path | None:
        """The file at ``subpath`` of the page of ``view_id`` when :attr:`serves_files` (None: not found)."""
        return None if self.relay is None else await self.relay.local_file(view_id, subpath)

    async def channel(self, view_id: str, on_message: Callable[[str | bytes | None], None]) -> Any:
        """The relay's side of the browser's websocket of ``view_id`` (None: connect to its port)."""
        return None if self.relay is None else await self.relay.channel(view_id, on_message)

    def authorised(self, view_id: str, key: str | None, user: str | None) -> bool:
        """Whether ``key`` is the key of the session owning ``view_id`` and ``user`` its user."""
        session = self._session_of(view_id)
        if session is None or not key or not hmac.compare_digest(session.key.encode(), key.encode()):
            return False
        return session.user is None or user == session.user

    def update_view(self, view_id: str, spec: SceneSpec | None) -> None:
        """Show new content in a pane (its process rebuilds the scene)."""
        session = self._session_of(view_id)
        if session is not None:
            session.views[view_id] = spec
            call_on_loop(self._loop, self._reopen, session, view_id)

    def set_state(self, view_id: str, **changes: Any) -> None:
        """Set the pane's trame state (``preset``, ``clip``): what the Panel widgets drive."""
        session = self._session_of(view_id)
        if session is not None:
            call_on_loop(self._loop, self._send, session, {"op": "state", "view": view_id, **changes})

    def close_view(self, view_id: str) -> None:
        """Forget one pane."""
        with self._lock:
            session = self._session_of(view_id)
            self._view_session.pop(view_id, None)
            if session is None:
                return
            session.views.pop(view_id, None)
            session.ports.pop(view_id, None)
            session.listeners.pop(view_id, None)
        call_on_loop(self._loop, self._send, session, {"op": "close", "view": view_id})

    def end_session(self, session_id: str) -> None:
        """Forget a session's panes and stop its process (Panel calls this when the session ends)."""
        with self._lock:
            session = self._sessions.pop(session_id, None)
            if session is None:
                return
            for view_id in session.views:
                self._view_session.pop(view_id, None)
        call_on_loop(self._loop, self._stop, session)

    @property
    def process_ids(self) -> list[int]:
        """Process ids of the running trame processes."""
        with self._lock:
            return [s.process.pid for s in self._sessions.values() if s.process is not None and s.process.returncode is None]

    def routes(self) -> list[tuple[str, type, dict[str, Any]]]:
        """Tornado routes of the panes, for Panel's ``extra_patterns`` (before the other render routes)."""
        from rhinoapp.render.trame_proxy import routes
        from rhinoapp.render.trame_relay import relay_routes

        self.mounted = True
        return [*routes(self), *relay_routes(self)]

    def _session_of(self, view_id: str) -> _Session | None:
        with self._lock:
            session_id = self._view_session.get(view_id)
            return self._sessions.get(session_id) if session_id else None

    # --- on the server's loop ---------------------------------------------------------------------

    async def upstream_port(self, view_id: str) -> int:
        """The port of ``view_id``'s trame application, starting the process and the view if needed."""
        self._loop = asyncio.get_running_loop()
        session = self._session_of(view_id)
        if session is None:
            raise RenderError("this 3D view has ended; reload the page")
        if session.views.get(view_id) is None:
            raise RenderError("this 3D view has nothing to show yet")
        await self._process(session)
        if view_id not in session.ports:
            session.ports[view_id] = self._loop.create_future()
            self._send(session, {"op": "open", "view": view_id, "spec": session.views[view_id].to_dict()})  # type: ignore[union-attr]
        return await asyncio.shield(session.ports[view_id])

    def process_key(self, view_id: str) -> str:
        """The key of the process serving ``view_id`` (for the proxy's :data:`PROCESS_KEY_HEADER`)."""
        session = self._session_of(view_id)
        return session.process_key if session is not None else ""

    def socket_opened(self, view_id: str) -> None:
        """A proxied websocket of the view opened (keeps the process alive)."""
        session = self._session_of(view_id)
        if session is not None:
            session.sockets += 1
            if session.stop_timer is not None:
                session.stop_timer.cancel()
                session.stop_timer = None

    def socket_closed(self, view_id: str) -> None:
        """A proxied websocket closed: stop the process later if the session has none left."""
        session = self._session_of(view_id)
        if session is None:
            return
        session.sockets = max(0, session.sockets - 1)
        if session.sockets == 0 and session.stop_timer is None:
            session.stop_timer = asyncio.get_running_loop().call_later(
                self.idle_stop_s, lambda: asyncio.ensure_future(self._idle_stop(session)))

    async def _idle_stop(self, session: _Session) -> None:
        session.stop_timer = None
        if session.sockets == 0:
            _log.info("stopping an idle trame process")
            await self._stop(session)

    async def _process(self, session: _Session) -> asyncio.subprocess.Process | None:
        if self.relay is not None:
            await self.relay.process(session)
            return None
        if session.process is not None and session.process.returncode is None:
            return session.process
        if session.starting is None:
            session.starting = asyncio.get_running_loop().create_task(self._start(session))
        try:
            return await asyncio.shield(session.starting)
        finally:
            if session.starting is not None and session.starting.done():
                session.starting = None

    async def _start(self, session: _Session) -> asyncio.subprocess.Process:
        if self.backend is RenderBackend.PARAVIEW:  # pvpython (ParaView's Python and VTK) on the shared X display
            display = await asyncio.get_running_loop().run_in_executor(None, self.x_display.display)
            command = paraview_command("rhinoapp.render.paraview_app", display=display)
            argv, environment = command.argv, {**os.environ, **command.environment}
        else:
            if self._environment is None:
                check = await asyncio.get_running_loop().run_in_executor(None, check_offscreen)
                self._environment = offscreen_environment(check.backend)
            argv, environment = [sys.executable, "-m", "rhinoapp.render.trame_app"], {**os.environ, **self._environment}
        try:
            lease = self.pool.acquire(session.session_id, user=session.user or "", label=session.label)
        except RenderLimitError as error:  # no process: the panes say why (and the request gets a 503)
            _log.info("a trame process was not started: %s", error)
            self._tell(session, str(error))
            raise
        try:
            process = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                env={**environment, "RHINOAPP_TRAME_NICE": str(self._nice)}, limit=2**20)
        except BaseException:
            self.pool.release(lease)
            raise
        ready = asyncio.get_running_loop().create_future()
        session.process, session.ports = process, {}
        session.process_key = secrets.token_urlsafe(32)
        self._send(session, {"op": "key", "key": session.process_key})
        session.reader = asyncio.get_running_loop().create_task(self._read(session, process, ready, lease))
        await ready
        return process

    async def _read(self, session: _Session, process: asyncio.subprocess.Process, ready: asyncio.Future[None],
                    lease: Lease) -> None:
        assert process.stdout is not None
        try:
            await self._read_lines(session, process, ready)
        finally:
            await process.wait()
            self.pool.release(lease)  # the process has exited: its slot is free for another session

    async def _read_lines(self, session: _Session, process: asyncio.subprocess.Process,
                          ready: asyncio.Future[None]) -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            if (message := read_message(line)) is None:
                continue  # a library's own output
            kind, waiter = message.get("kind"), session.ports.get(str(message.get("view", "")))
            if kind == "ready" and not ready.done():
                ready.set_result(None)
            elif kind == "view" and waiter is not None:
                if not waiter.done():
                    waiter.set_result(int(message["port"]))
                else:  # a later scene of an open view: drawn in place, or (ParaView) served on a new port
                    session.ports[str(message["view"])] = fresh = asyncio.get_running_loop().create_future()
                    fresh.set_result(int(message["port"]))
            elif kind == "error" and waiter is not None and not waiter.done():
                waiter.set_exception(RenderError(message.get("message", "the 3D view could not be drawn")))
        failure = RenderError("the 3D view's process stopped; reload the page to start it again")
        if not ready.done():
            ready.set_exception(failure)
        for waiter in session.ports.values():
            if not waiter.done():
                waiter.set_exception(failure)
                waiter.exception()  # retrieved: nobody may wait on it
        if session.process is process:  # it died (a stop clears session.process first): tell the panes
            session.process, session.ports = None, {}
            _log.warning("a trame process stopped unexpectedly (exit code %s)", await process.wait())
            self._tell(session, STOPPED_MESSAGE)

    @staticmethod
    def _tell(session: _Session, message: str) -> None:
        for listener in list(session.listeners.values()):
            try:
                listener(message)
            except Exception:  # one pane's failure must not hide the message from the others
                _log.exception("a pane could not show that its process stopped")

    def _send(self, session: _Session, message: dict[str, Any]) -> None:
        if self.relay is not None:
            self.relay.send(session, message)
            return
        process = session.process
        if process is not None and process.returncode is None and process.stdin is not None:
            process.stdin.write((json.dumps(message) + "\n").encode())

    def _reopen(self, session: _Session, view_id: str) -> None:
        # A request waiting for the view's port keeps waiting on the same future: the answer to this
        # command (or to the one before it) resolves it. A view whose last scene failed waits for this one.
        waiter = session.ports.get(view_id)
        if waiter is not None and session.views.get(view_id) is not None:
            if waiter.done() and (waiter.cancelled() or waiter.exception() is not None):
                session.ports[view_id] = asyncio.get_running_loop().create_future()
            self._send(session, {"op": "open", "view": view_id, "spec": session.views[view_id].to_dict()})  # type: ignore[union-attr]

    async def _stop(self, session: _Session) -> None:
        if self.relay is not None:
            await self.relay.stop(session)
        if session.stop_timer is not None:
            session.stop_timer.cancel()
            session.stop_timer = None
        process, session.process = session.process, None
        if process is None or process.returncode is not None:
            return
        if process.stdin is not None:
            process.stdin.close()  # the process leaves when its stdin closes
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def close(self) -> None:
        """Stop every process (at server exit), then the ParaView processes' ``Xvfb``."""
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
            self._view_session.clear()
        await asyncio.gather(*(self._stop(s) for s in sessions), return_exceptions=True)
        await asyncio.get_running_loop().run_in_executor(None, self.x_display.stop)


@functools.cache
def default_trame_service() -> TrameService:
    """The process's trame service, shared by the routes and the panes (made on first use)."""
    return TrameService()
