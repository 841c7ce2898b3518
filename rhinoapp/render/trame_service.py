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
import logging
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rhinoapp.config import RenderBackend
from rhinoapp.render.loops import call_on_loop
from rhinoapp.render.offscreen import RenderError
from rhinoapp.render.pool import WorkerPool
from rhinoapp.render.sessions import session_key
from rhinoapp.render.spec import SceneSpec
from rhinoapp.render.trame_processes import STOPPED_MESSAGE, LocalProcesses, PaneSession
from rhinoapp.render.x_display import SharedDisplay

if TYPE_CHECKING:
    from rhinoapp.render.trame_relay import SlurmRelay

__all__ = ["KEY_COOKIE", "PROCESS_KEY_HEADER", "STOPPED_MESSAGE", "TrameService", "TrameTicket", "VIEW_PATTERN", "default_trame_service"]

_log = logging.getLogger(__name__)
#: The cookie that carries a session's key to its panes' routes (path ``/render/<view>/``).
KEY_COOKIE = "rhinoapp_render_key"
#: The header that carries a trame process's key from the proxy to the process (never to a browser).
PROCESS_KEY_HEADER = "X-Rhinoapp-Process-Key"
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
        #: The session processes on this machine (without :attr:`relay`).
        self.local = LocalProcesses(self, nice=nice)
        self._lock = threading.RLock()
        self._secret = secrets.token_bytes(32)
        self._sessions: dict[str, PaneSession] = {}
        self._view_session: dict[str, str] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.mounted = False
        #: Render workers as Slurm jobs joined through the relay routes (the render profile); None: local processes.
        self.relay: SlurmRelay | None = None
        #: The X display of the ParaView processes (the panes' and the downloads').
        self.x_display = SharedDisplay()

    # --- registry (any thread) ---------------------------------------------------------------------

    def open_view(self, session_id: str, spec: SceneSpec | None, *, user: str | None = None, label: str = "",
                  on_stopped: Callable[[str], None] | None = None,
                  on_scene: Callable[[str | None], None] | None = None) -> TrameTicket:
        """Register a pane of ``session_id`` (owned by ``user``); its process starts when the page asks.

        ``on_stopped(message)`` is called (on the server's loop) if the session's process dies, or
        cannot start because the user or the server has as many as :attr:`pool` allows (the message
        says which sessions hold them). ``label`` (the page) names the session in that message to
        the user's other sessions; the first view's counts. ``on_scene(message)`` is called (on the
        server's loop) when a scene of this view could not be drawn (a file gone, a broken file), and
        ``on_scene(None)`` when a later scene was drawn after such a failure: the pane must load again.
        """
        view_id = "t" + secrets.token_hex(12)
        with self._lock:
            session = self._sessions.setdefault(session_id, PaneSession(session_key(self._secret, "trame:" + session_id), user,
                                                                       session_id=session_id, label=label))
            session.views[view_id] = spec
            if on_stopped is not None:
                session.listeners[view_id] = on_stopped
            if on_scene is not None:
                session.scene_listeners[view_id] = on_scene
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
            session.scene_listeners.pop(view_id, None)
            session.failed.discard(view_id)
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

    def _session_of(self, view_id: str) -> PaneSession | None:
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

    async def _idle_stop(self, session: PaneSession) -> None:
        session.stop_timer = None
        if session.sockets == 0:
            _log.info("stopping an idle trame process")
            await self._stop(session)

    async def _process(self, session: PaneSession) -> None:
        if self.relay is not None:
            await self.relay.process(session)
        else:
            await self.local.process(session)

    def _send(self, session: PaneSession, message: dict[str, Any]) -> None:
        if self.relay is not None:
            self.relay.send(session, message)
        else:
            self.local.send(session, message)

    def _reopen(self, session: PaneSession, view_id: str) -> None:
        # A request waiting for the view's port keeps waiting on the same future: the answer to this
        # command (or to the one before it) resolves it. A view whose last scene failed waits for this one.
        waiter = session.ports.get(view_id)
        if waiter is not None and session.views.get(view_id) is not None:
            if waiter.done() and (waiter.cancelled() or waiter.exception() is not None):
                session.ports[view_id] = asyncio.get_running_loop().create_future()
            self._send(session, {"op": "open", "view": view_id, "spec": session.views[view_id].to_dict()})  # type: ignore[union-attr]

    async def _stop(self, session: PaneSession) -> None:
        if self.relay is not None:
            await self.relay.stop(session)
        if session.stop_timer is not None:
            session.stop_timer.cancel()
            session.stop_timer = None
        await self.local.stop(session)

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
