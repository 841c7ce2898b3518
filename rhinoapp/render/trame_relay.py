"""The relay: trame panes whose render worker is a Slurm job that dials back through the web server's port.

With the render profile's ``render_workers = "slurm"``, :class:`SlurmRelay` (plugged into the
:class:`~rhinoapp.render.trame_service.TrameService`) submits one job per browser session when its
first pane is shown (:mod:`rhinoapp.render.slurm_workers`), and the job's
:mod:`~rhinoapp.render.relay_worker` connects back to these routes on Panel's own port:

* ``/render-relay/control``: the job's command channel (the JSON messages of
  :mod:`rhinoapp.render.trame_app`, which a local process reads on stdin);
* ``/render-relay/<view>``: a view's wslink server in reverse mode; the browser's websocket
  ``/render/<view>/ws`` is joined to it, message by message.

Both authenticate with the job's relay id and key (HTTP basic authentication; the key reached
the job in a file of mode 0600, never in a URL or a command line); a wrong key, another job's key
or another session's view is refused (403). The page's static files come from the trame packages
installed here (the same packages as the job's): only folders of ``trame*`` packages are served.
While the job waits in the queue the panes show its state (``squeue``); when it ends (failed,
cancelled, walltime) they show why; it is cancelled (``scancel``) when the session ends.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import hmac
import importlib.util
import json
import logging
import os
import re
import secrets
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tornado.web import HTTPError
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from rhinoapp.config.render import RenderProfile
from rhinoapp.render import slurm_workers as slurm
from rhinoapp.render.offscreen import RenderError, check_offscreen, offscreen_environment
from rhinoapp.render.trame_service import VIEW_PATTERN

if TYPE_CHECKING:
    from rhinoapp.render.trame_processes import PaneSession
    from rhinoapp.render.trame_service import TrameService

__all__ = ["SlurmRelay", "relay_routes", "static_folder"]

_log = logging.getLogger(__name__)
_ROUTE = re.compile(r"/|__[\w.-]+")
_MAX_MESSAGE = 256 * 2**20


def static_folder(package: str, relative: str) -> Path | None:
    """The folder ``relative`` inside the installed ``trame*`` package ``package`` (None for anything else).

    Examples
    --------
    >>> static_folder("trame_client", "module/vue3-www").name
    'vue3-www'
    >>> static_folder("os", "."), static_folder("trame_client", "../../etc")
    (None, None)
    """
    if not re.fullmatch(r"trame\w*", package) or Path(relative).is_absolute() or ".." in Path(relative).parts:
        return None
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations)), relative).resolve()
    return folder if folder.is_dir() else None


@dataclasses.dataclass(eq=False)
class _Job:
    relay_id: str
    key: str
    session: PaneSession
    job_id: str = ""
    control: WebSocketHandler | None = None
    connected: asyncio.Future[None] | None = None
    workers: dict[str, WebSocketHandler] = dataclasses.field(default_factory=dict)
    browsers: dict[str, _Channel] = dataclasses.field(default_factory=dict)
    opened: set[str] = dataclasses.field(default_factory=set)
    static: dict[str, Path] = dataclasses.field(default_factory=dict)
    status: str = "Waiting for a render node: submitting the render job."
    listeners: dict[str, Callable[[str], None]] = dataclasses.field(default_factory=dict)
    poller: asyncio.Task[None] | None = None
    wake: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    ended: bool = False
    relay_file: Path | None = None


class _Channel:
    """The browser's side of a joined view: what the proxy writes to and closes."""

    def __init__(self, job: _Job, view_id: str, on_message: Callable[[str | bytes | None], None]) -> None:
        self.job, self.view_id, self.on_message = job, view_id, on_message

    def write_message(self, message: str | bytes, binary: bool = False) -> Any:
        worker = self.job.workers.get(self.view_id)
        if worker is None:
            raise WebSocketClosedError()
        return worker.write_message(message, binary=binary)

    def close(self) -> None:
        if self.job.browsers.get(self.view_id) is self:
            del self.job.browsers[self.view_id]


class SlurmRelay:
    """Render workers as Slurm jobs joined through the relay routes, for one :class:`TrameService`."""

    def __init__(self, service: TrameService, profile: RenderProfile, *, spool: Path, relay_url: str = "",
                 port: int = 5006, poll_s: float = 1.0) -> None:
        self.service, self.profile, self.poll_s = service, profile, poll_s
        self.relay_url = profile.relay_url or relay_url or f"http://{socket.getfqdn()}:{port}"
        self.spool = spool
        self._jobs: dict[str, _Job] = {}  # by relay id
        self._by_session: dict[int, _Job] = {}

    # --- the service's hooks (on the server's loop) --------------------------------------------------

    def prepare(self, session: PaneSession, view_id: str, on_status: Callable[[str], None]) -> None:
        """Submit the session's job if it has none, follow its state in the pane, open the view once it runs."""
        job = self._job(session)
        job.listeners[view_id] = on_status
        on_status(job.status)

        async def open_view() -> None:
            try:
                await self.service.upstream_port(view_id)
            except RenderError as error:
                if not job.ended:
                    on_status(str(error))
                return
            if not job.ended and view_id in job.listeners:
                on_status("")  # the pane may load

        asyncio.get_running_loop().create_task(open_view())

    async def process(self, session: PaneSession) -> None:
        """Wait until the session's job is connected (submitting one if needed)."""
        job = self._job(session)
        assert job.connected is not None
        await asyncio.shield(job.connected)

    def send(self, session: PaneSession, message: dict[str, Any]) -> None:
        """Send a command to the session's job."""
        job = self._by_session.get(id(session))
        if job is not None and job.control is not None and not job.ended:
            job.control.write_message(json.dumps(message))

    async def stop(self, session: PaneSession) -> None:
        """The session ended: cancel its job."""
        job = self._by_session.get(id(session))
        if job is not None:
            await self._end(job, None)

    async def channel(self, view_id: str, on_message: Callable[[str | bytes | None], None]) -> _Channel:
        """Join a browser's websocket to the view's worker connection."""
        await self.service.upstream_port(view_id)
        job = self._view_job(view_id)
        if job is None or view_id not in job.workers:
            raise RenderError("the 3D view's render job is not connected")
        old = job.browsers.pop(view_id, None)
        if old is not None:
            old.on_message(None)  # one browser per view: the newest wins
        job.browsers[view_id] = channel = _Channel(job, view_id, on_message)
        return channel

    async def local_file(self, view_id: str, subpath: str) -> Path | None:
        """The file of the view's page at ``subpath``, from the trame packages installed here."""
        await self.service.upstream_port(view_id)
        job = self._view_job(view_id)
        if job is None:
            return None
        head, _, rest = subpath.partition("/")
        folder, inner = (job.static[head], rest) if head in job.static else (job.static.get("/"), subpath)
        if folder is None:
            return None
        path = (folder / (inner or "index.html")).resolve()
        return path if path.is_relative_to(folder) and path.is_file() else None

    # --- jobs -----------------------------------------------------------------------------------------

    def _view_job(self, view_id: str) -> _Job | None:
        session = self.service._session_of(view_id)
        return self._by_session.get(id(session)) if session is not None else None

    def _job(self, session: PaneSession) -> _Job:
        job = self._by_session.get(id(session))
        if job is None or job.ended:
            job = _Job(secrets.token_hex(8), secrets.token_urlsafe(32), session)
            job.connected = asyncio.get_running_loop().create_future()
            self._jobs[job.relay_id] = self._by_session[id(session)] = job
            job.poller = asyncio.get_running_loop().create_task(self._follow(job))
        return job

    async def _follow(self, job: _Job) -> None:
        try:
            await self._submit(job)
            while not job.ended:
                state = await slurm.queue_state(job.job_id)
                if job.ended:
                    return
                if state.ended:
                    log = str(self.spool / f"render-{job.job_id}.log")
                    await self._end(job, slurm.ended_message(state, walltime=self.profile.walltime, log_path=log))
                    return
                if job.control is None or job.control.ws_connection is None:
                    self._status(job, slurm.waiting_message(state))
                job.wake.clear()
                try:
                    await asyncio.wait_for(job.wake.wait(), self.poll_s)
                except TimeoutError:
                    pass
        except RenderError as error:
            await self._end(job, str(error))

    async def _submit(self, job: _Job) -> None:
        self.spool.mkdir(parents=True, exist_ok=True, mode=0o700)
        job.relay_file = self.spool / f"relay-{job.relay_id}.json"
        descriptor = os.open(job.relay_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump({"url": self.relay_url, "relay_id": job.relay_id, "key": job.key}, handle)
        command = slurm.sbatch_command(self.profile, python=sys.executable, log_path=str(self.spool / "render-%j.log"))
        check = await asyncio.get_running_loop().run_in_executor(None, check_offscreen)
        environment = {**os.environ, **offscreen_environment(check.backend), slurm.RELAY_FILE_VARIABLE: str(job.relay_file)}
        job.job_id = await slurm.submit(command, environment)
        _log.info("render job %s submitted for a session (relay %s)", job.job_id, job.relay_id)
        if job.ended:  # the session ended while sbatch ran
            await slurm.cancel(job.job_id)

    def _status(self, job: _Job, text: str) -> None:
        if text != job.status:
            job.status = text
            for listener in list(job.listeners.values()):
                listener(text)

    async def _end(self, job: _Job, message: str | None) -> None:
        if job.ended:
            return
        job.ended = True
        job.wake.set()
        if self._by_session.get(id(job.session)) is job:
            del self._by_session[id(job.session)]
        self._jobs.pop(job.relay_id, None)
        if job.relay_file is not None:
            job.relay_file.unlink(missing_ok=True)
        failure = RenderError(message or "the session ended")
        if job.connected is not None and not job.connected.done():
            job.connected.set_exception(failure)
            job.connected.exception()
        for waiter in job.session.ports.values():
            if not waiter.done():
                waiter.set_exception(failure)
                waiter.exception()
        job.session.ports = {}
        for channel in list(job.browsers.values()):
            channel.on_message(None)
        for socket_ in [job.control, *job.workers.values()]:
            if socket_ is not None:
                socket_.close()
        if message is None:
            if job.job_id:
                await slurm.cancel(job.job_id)
            return
        _log.warning("render job %s: %s", job.job_id, message)
        for listener in list(job.session.listeners.values()):
            try:
                listener(message)
            except Exception:  # one pane's failure must not hide the message from the others
                _log.exception("a pane could not show that its render job ended")

    # --- the job's connections ----------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> _Job | None:
        """The job whose relay id and key are in a basic ``Authorization`` header (None: refused)."""
        if not authorization or not authorization.startswith("Basic "):
            return None
        try:
            relay_id, _, key = base64.b64decode(authorization[6:], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        job = self._jobs.get(relay_id)
        if job is None or job.ended or not hmac.compare_digest(job.key.encode(), key.encode()):
            return None
        return job

    def answer(self, job: _Job, message: dict[str, Any]) -> None:
        """A message of the job's control channel."""
        kind, view_id = message.get("kind"), str(message.get("view", ""))
        if kind == "ready" and job.connected is not None and not job.connected.done():
            job.connected.set_result(None)
            self._status(job, "Waiting for a render node: the render job is connected, drawing the 3D view.")
        elif kind == "view":
            for route, located in dict(message.get("static") or {}).items():
                valid = isinstance(located, list) and len(located) == 2 and all(isinstance(p, str) for p in located)
                resolved = static_folder(*located) if valid else None
                if _ROUTE.fullmatch(str(route)) and resolved is not None:
                    job.static[str(route).strip("/")] = resolved
                else:
                    _log.warning("render job %s: not serving %s=%s (not a trame package's folder)", job.job_id,
                                 route, located)
            if "" in job.static:
                job.static["/"] = job.static.pop("")
            job.opened.add(view_id)
            self._joined(job, view_id)
            job.session.scene_drawn(view_id, None)
        elif kind == "error":
            job.session.scene_failed(view_id, str(message.get("message", "the 3D view could not be drawn")))

    def _joined(self, job: _Job, view_id: str) -> None:
        waiter = job.session.ports.get(view_id)
        if view_id in job.opened and view_id in job.workers and waiter is not None and not waiter.done():
            waiter.set_result(0)  # no port: the view is reached through the relay

    def worker_connected(self, job: _Job, view_id: str, handler: WebSocketHandler) -> None:
        job.workers[view_id] = handler
        self._joined(job, view_id)

    def worker_closed(self, job: _Job, view_id: str, handler: WebSocketHandler) -> None:
        if job.workers.get(view_id) is handler:
            del job.workers[view_id]
            job.opened.discard(view_id)
            channel = job.browsers.pop(view_id, None)
            if channel is not None:
                channel.on_message(None)


class _RelaySocket(WebSocketHandler):
    def initialize(self, service: TrameService) -> None:
        self.service = service
        self.job: _Job | None = None

    @property
    def max_message_size(self) -> int:
        return _MAX_MESSAGE

    def prepare(self) -> None:
        relay = self.service.relay
        job = relay.authenticate(self.request.headers.get("Authorization")) if isinstance(relay, SlurmRelay) else None
        if job is None:
            raise HTTPError(403, reason="not a render job of this server")
        self.job = job

    def _request_summary(self) -> str:  # the access log must not show the credentials
        return f"{self.request.method} {self.request.path} ({self.request.remote_ip})"


class RelayControl(_RelaySocket):
    """``/render-relay/control``: a render job's command channel."""

    def open(self) -> None:
        assert self.job is not None
        self.job.control = self

    def on_message(self, message: str | bytes) -> None:
        try:
            answer = json.loads(message)
        except ValueError:
            return
        if isinstance(answer, dict) and self.job is not None:
            self.service.relay.answer(self.job, answer)  # type: ignore[union-attr]

    def on_close(self) -> None:
        if self.job is not None:
            self.job.wake.set()  # the job is ending: its state says why


class RelayView(_RelaySocket):
    """``/render-relay/<view>``: a view's wslink server in reverse mode, joined to the browser's websocket."""

    def prepare(self) -> None:
        super().prepare()
        assert self.job is not None
        if self.service._session_of(self.path_args[0]) is not self.job.session:
            raise HTTPError(403, reason="this view belongs to another render job")

    def open(self, view_id: str) -> None:
        self.set_nodelay(True)
        self.view_id = view_id
        self.service.relay.worker_connected(self.job, view_id, self)  # type: ignore[union-attr,arg-type]

    def on_message(self, message: str | bytes) -> None:
        channel = self.job.browsers.get(self.view_id) if self.job is not None else None
        if channel is not None:
            channel.on_message(message)

    def on_close(self) -> None:
        if self.job is not None:
            self.service.relay.worker_closed(self.job, self.view_id, self)  # type: ignore[union-attr]


def relay_routes(service: TrameService) -> list[tuple[str, type, dict[str, Any]]]:
    """The relay's routes (they refuse everything unless the service has a :class:`SlurmRelay`).

    Examples
    --------
    >>> from rhinoapp.render.trame_service import TrameService
    >>> [pattern for pattern, _handler, _kw in relay_routes(TrameService())]
    ['/render-relay/control', '/render-relay/(t[0-9a-f]{24})']
    """
    options = {"service": service}
    return [(r"/render-relay/control", RelayControl, options), (rf"/render-relay/{VIEW_PATTERN}", RelayView, options)]
