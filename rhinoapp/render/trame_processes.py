"""The local trame processes of :class:`~rhinoapp.render.trame_service.TrameService`, one per browser session.

:class:`LocalProcesses` starts a session's process (:mod:`rhinoapp.render.trame_app`, or ParaView's
``pvpython`` with :mod:`rhinoapp.render.paraview_app`) within the service's
:class:`~rhinoapp.render.pool.WorkerPool`, writes its commands (JSON lines on its stdin) and reads
its answers (JSON lines on its stdout): the port of each view, or why a scene could not be drawn.
:class:`PaneSession` holds one session's panes; it tells them when the process dies and how each
scene turned out. With render workers on Slurm, :class:`~rhinoapp.render.trame_relay.SlurmRelay`
runs them instead.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import secrets
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rhinoapp.config import RenderBackend
from rhinoapp.render.offscreen import RenderError, check_offscreen, offscreen_environment
from rhinoapp.render.paraview_launch import paraview_command
from rhinoapp.render.pool import Lease, RenderLimitError
from rhinoapp.render.spec import SceneSpec
from rhinoapp.render.trame_app import read_message

if TYPE_CHECKING:
    from rhinoapp.render.trame_service import TrameService

__all__ = ["STOPPED_MESSAGE", "LocalProcesses", "PaneSession"]

_log = logging.getLogger(__name__)
#: What a pane shows when its process died.
STOPPED_MESSAGE = "The 3D view stopped unexpectedly. Reload the page to start it again."


@dataclasses.dataclass(eq=False)
class PaneSession:
    """One browser session's panes (views, their scenes and ports) and its trame process or render job."""

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
    scene_listeners: dict[str, Callable[[str | None], None]] = dataclasses.field(default_factory=dict)
    failed: set[str] = dataclasses.field(default_factory=set)  # views whose last scene could not be drawn

    def scene_drawn(self, view_id: str, error: str | None) -> None:
        """The outcome of a scene of ``view_id`` (``error``: why it could not be drawn; ``None``: drawn).

        A failure is told to the pane (it shows why instead of a dead page); the first scene drawn after
        a failure is told too, so that the pane loads again: a scene that arrives while its page is broken
        (say the running job's live checkpoint, removed when the job ended) must not leave it broken.
        """
        if error is None and view_id not in self.failed:
            return  # the usual case: a scene drawn, in place or on first load
        if error is None:
            self.failed.discard(view_id)
        else:
            _log.warning("a 3D view could not draw its scene: %s", error)
            self.failed.add(view_id)
        listener = self.scene_listeners.get(view_id)
        if listener is not None:
            try:
                listener(error)
            except Exception:  # the pane's failure must not stop the process's reader
                _log.exception("a pane could not take the outcome of its scene")

    def scene_failed(self, view_id: str, error: str) -> None:
        """The process could not draw the scene of ``view_id``: a page waiting for its port gets ``error``
        (a 503), and the pane is told (:meth:`scene_drawn`)."""
        waiter = self.ports.get(view_id)
        if waiter is not None and not waiter.done():
            waiter.set_exception(RenderError(error))
        self.scene_drawn(view_id, error)

    def tell(self, message: str) -> None:
        """Tell every pane of the session that its process stopped or could not start (``message``: why)."""
        for listener in list(self.listeners.values()):
            try:
                listener(message)
            except Exception:  # one pane's failure must not hide the message from the others
                _log.exception("a pane could not show that its process stopped")


class LocalProcesses:
    """The trame processes of a :class:`~rhinoapp.render.trame_service.TrameService` on this machine.

    The service's ``backend``, ``pool`` and ``x_display`` are read when a process starts (the server
    sets them from its settings after making the service); ``nice`` lowers the processes' priority.
    """

    def __init__(self, service: TrameService, *, nice: int = 10) -> None:
        self.service = service
        self._nice = nice
        self._environment: dict[str, str] | None = None

    async def process(self, session: PaneSession) -> asyncio.subprocess.Process:
        """The session's running process, started if it has none (one start at a time)."""
        if session.process is not None and session.process.returncode is None:
            return session.process
        if session.starting is None:
            session.starting = asyncio.get_running_loop().create_task(self._start(session))
        try:
            return await asyncio.shield(session.starting)
        finally:
            if session.starting is not None and session.starting.done():
                session.starting = None

    async def _start(self, session: PaneSession) -> asyncio.subprocess.Process:
        if self.service.backend is RenderBackend.PARAVIEW:  # pvpython (ParaView's Python and VTK) on the shared X display
            display = await asyncio.get_running_loop().run_in_executor(None, self.service.x_display.display)
            command = paraview_command("rhinoapp.render.paraview_app", display=display)
            argv, environment = command.argv, {**os.environ, **command.environment}
        else:
            if self._environment is None:
                check = await asyncio.get_running_loop().run_in_executor(None, check_offscreen)
                self._environment = offscreen_environment(check.backend)
            argv, environment = [sys.executable, "-m", "rhinoapp.render.trame_app"], {**os.environ, **self._environment}
        try:
            lease = self.service.pool.acquire(session.session_id, user=session.user or "", label=session.label)
        except RenderLimitError as error:  # no process: the panes say why (and the request gets a 503)
            _log.info("a trame process was not started: %s", error)
            session.tell(str(error))
            raise
        try:
            process = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                env={**environment, "RHINOAPP_TRAME_NICE": str(self._nice)}, limit=2**20)
        except BaseException:
            self.service.pool.release(lease)
            raise
        ready = asyncio.get_running_loop().create_future()
        session.process, session.ports = process, {}
        session.process_key = secrets.token_urlsafe(32)
        self.send(session, {"op": "key", "key": session.process_key})
        session.reader = asyncio.get_running_loop().create_task(self._read(session, process, ready, lease))
        await ready
        return process

    async def _read(self, session: PaneSession, process: asyncio.subprocess.Process, ready: asyncio.Future[None],
                    lease: Lease) -> None:
        assert process.stdout is not None
        try:
            await self._read_lines(session, process, ready)
        finally:
            await process.wait()
            self.service.pool.release(lease)  # the process has exited: its slot is free for another session

    async def _read_lines(self, session: PaneSession, process: asyncio.subprocess.Process,
                          ready: asyncio.Future[None]) -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            if (message := read_message(line)) is None:
                continue  # a library's own output
            kind, view_id = message.get("kind"), str(message.get("view", ""))
            waiter = session.ports.get(view_id)
            if kind == "ready" and not ready.done():
                ready.set_result(None)
            elif kind == "view" and waiter is not None:
                if not waiter.done():
                    waiter.set_result(int(message["port"]))
                else:  # a later scene of an open view: drawn in place, or (ParaView) served on a new port
                    session.ports[view_id] = fresh = asyncio.get_running_loop().create_future()
                    fresh.set_result(int(message["port"]))
                session.scene_drawn(view_id, None)
            elif kind == "error":
                session.scene_failed(view_id, str(message.get("message", "the 3D view could not be drawn")))
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
            session.tell(STOPPED_MESSAGE)

    @staticmethod
    def send(session: PaneSession, message: dict[str, Any]) -> None:
        """Write a command to the session's process (nothing if it has none)."""
        process = session.process
        if process is not None and process.returncode is None and process.stdin is not None:
            process.stdin.write((json.dumps(message) + "\n").encode())

    async def stop(self, session: PaneSession) -> None:
        """Stop the session's process: its stdin closes, and it is killed if it has not left 10 s later."""
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
