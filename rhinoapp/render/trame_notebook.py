"""3D panes in a Jupyter cell: the web app's trame application, served by a process of the kernel.

:class:`NotebookPanes` starts one trame process per kernel (``python -m rhinoapp.render.trame_app``,
the process of the web app's panes, at nice 10; it exits when the kernel does, as its stdin closes)
and asks it to serve each :class:`NotebookPane` on 127.0.0.1 (a port of its own). A pane displays
as an ``<iframe>`` whose address comes from trame's own iframe builders
(:func:`trame_client.ui.core.get_iframe_builder`, as a trame layout shows itself in Jupyter):

* ``default``: the port directly (the browser runs on the kernel's machine);
* ``jupyter-hub``, chosen by trame when ``JUPYTERHUB_SERVICE_PREFIX`` is set: through
  jupyter-server-proxy, ``{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/``;
* ``serverproxy`` (``TRAME_IFRAME_BUILDER=serverproxy``, a plain Jupyter server with
  jupyter-server-proxy): ``{base_url}/{port}/``, ``base_url`` ``/proxy`` by default.

Trust: the process's port is on 127.0.0.1, where every local user can connect, and behind
JupyterHub jupyter-server-proxy lets only the notebook server's own user through. So the process
has a key of its own (sent on its stdin) and refuses (403) every request, HTTP or websocket,
without it. The key never goes into a URL: the cell's output carries it to the browser, whose
frame stores it as a cookie (``SameSite=Strict``, path ``/`` for a direct port, the pane's
``proxy/<port>/`` folder behind a proxy), and the trame process checks that cookie. The key is
valid while the kernel runs; a saved notebook keeps it in its outputs until they are cleared.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import json
import logging
import os
import secrets
import subprocess
import sys
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from rhinoapp.render.offscreen import RenderError, check_offscreen, offscreen_environment
from rhinoapp.render.spec import CameraPreset, ClipPlane, SceneSpec
from rhinoapp.render.trame_app import read_message

__all__ = ["COOKIE_PREFIX", "NotebookPane", "NotebookPanes", "default_notebook_panes", "pane_markup"]

_log = logging.getLogger(__name__)
#: The start of the name of the cookie that carries a kernel's key to its panes.
COOKIE_PREFIX = "rhinoapp_pane_"
_LOOPBACK = ("localhost", "127.0.0.1")


@dataclasses.dataclass(frozen=True)
class _Served:
    """What trame's iframe builders read of a started trame server."""

    port: int
    name: str
    client_type: str = "vue3"


class _Layout:
    """What trame's iframe builders read of a layout (``trame_client.ui.core.AbstractLayout``)."""

    def __init__(self, view_id: str, port: int, base_url: str) -> None:
        self.server = _Served(port, f"rhinoapp-{view_id}")
        self._template_name = "trame__template_main"
        self.template_name = "main"  # the page of the DivLayout that trame_app builds
        self.iframe_base_url = base_url
        self.iframe_style = ""
        self.iframe_attrs: dict[str, str] = {}


def trame_address(view_id: str, port: int, *, iframe_builder: str = "default", base_url: str | None = None) -> str:
    """The address trame's iframe builder ``iframe_builder`` gives the page of a view served on ``port``.

    Examples
    --------
    >>> trame_address("t1", 8123)
    'http://localhost:8123/index.html?ui=main&reconnect=auto'
    >>> trame_address("t1", 8123, iframe_builder="serverproxy")
    '/proxy/8123/index.html?ui=main&reconnect=auto'
    """
    from trame_client.ui.core import get_iframe_builder  # type: ignore[import-untyped]

    if base_url is None:
        base_url = "/proxy" if os.environ.get("TRAME_IFRAME_BUILDER", iframe_builder) == "serverproxy" else "http://localhost"
    return str(get_iframe_builder(iframe_builder)(_Layout(view_id, port, base_url))["src"])


def pane_markup(address: str, *, cookie: str, key: str, height: int, view_id: str = "") -> str:
    """The HTML of a pane: an iframe that stores the key as a cookie, then loads ``address``.

    A loopback ``address`` (trame's default builder) is reached on the notebook page's own host
    name, so that the cookie, set for that host, goes with it; any other address must be on the
    page's own origin (a path, as the proxy builders give). The frame's first document is a
    ``srcdoc`` (it runs in a Panel or ipywidgets HTML pane too, where a ``<script>`` would not).

    Examples
    --------
    >>> markup = pane_markup("/proxy/8123/index.html?ui=main", cookie="rhinoapp_pane_x", key="k", height=300)
    >>> "<iframe" in markup and "8123" in markup and "key=" not in markup
    True
    """
    parts = urlsplit(address)
    if parts.hostname in _LOOPBACK:
        target = {"port": parts.port, "path": parts.path + (f"?{parts.query}" if parts.query else "")}
    elif not parts.netloc:
        target = {"port": 0, "path": address}
    else:
        raise RenderError(f"a 3D pane cannot be shown at {address}: its cookie needs the notebook's own host; "
                          "unset TRAME_IFRAME_BUILDER or set it to default, jupyter-hub or serverproxy")
    script = (
        "<script>(() => {"
        f"const p = window.parent, t = {json.dumps(target)};"
        "const url = t.port ? new URL(`http://${p.location.hostname}:${t.port}${t.path}`) : new URL(t.path, p.location.href);"
        "const folder = t.port ? '/' : url.pathname.replace(/[^/]*$/, '');"
        f"p.document.cookie = `{cookie}={key}; path=${{folder}}; SameSite=Strict` + "
        "(p.location.protocol === 'https:' ? '; Secure' : '');"
        "location.replace(url.href);"
        "})()</script>"
    )
    return (f'<iframe class="trame-iframe rhinoapp-pane" data-view="{html.escape(view_id)}" '
            f'data-address="{html.escape(address)}" title="3D view" srcdoc="{html.escape(script)}" '
            f'style="border:none;width:100%;height:{int(height)}px;"></iframe>')


class NotebookPanes:
    """The kernel's trame process and its panes (the process starts with the first pane).

    Parameters
    ----------
    iframe_builder
        trame's iframe builder (``default``, ``jupyter-hub``, ``serverproxy``; ``TRAME_IFRAME_BUILDER``
        overrides it and ``JUPYTERHUB_SERVICE_PREFIX`` turns ``default`` into ``jupyter-hub``, as in trame).
    base_url
        The ``serverproxy`` builder's base (``/proxy`` when None).
    timeout_s
        How long to wait for the process and for each scene.

    Examples
    --------
    >>> panes = NotebookPanes()
    >>> panes.cookie.startswith(COOKIE_PREFIX), len(panes.key) > 30
    (True, True)
    """

    def __init__(self, *, iframe_builder: str = "default", base_url: str | None = None, timeout_s: float = 180.0,
                 nice: int = 10) -> None:
        self.iframe_builder, self.base_url, self.timeout_s, self._nice = iframe_builder, base_url, timeout_s, nice
        self.key = secrets.token_urlsafe(32)
        self.cookie = COOKIE_PREFIX + secrets.token_hex(6)
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None
        self._waiting: dict[str, Future[int]] = {}
        self._environment: dict[str, str] | None = None

    @property
    def pid(self) -> int | None:
        """The process id of the running trame process (None: none runs)."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def open(self, scene: SceneSpec, *, height: int = 420) -> NotebookPane:
        """Serve ``scene`` as a new pane (waits until its application answers on its port)."""
        view_id = "t" + secrets.token_hex(12)
        return NotebookPane(self, view_id, self.serve(view_id, scene), scene, height=height)

    def serve(self, view_id: str, scene: SceneSpec) -> int:
        """Build ``scene`` for ``view_id`` in the process (again, on a new port) and return its port."""
        process = self._started()
        waiter: Future[int] = Future()
        with self._lock:
            self._waiting[view_id] = waiter
        self._send(process, {"op": "open", "view": view_id, "spec": scene.to_dict()})
        return waiter.result(self.timeout_s)

    def set_state(self, view_id: str, **changes: Any) -> None:
        """Set the trame state of a pane (``preset``, ``clip``)."""
        if self._process is not None:
            self._send(self._process, {"op": "state", "view": view_id, **changes})

    def close(self, view_id: str) -> None:
        """Stop serving a pane."""
        if self._process is not None:
            self._send(self._process, {"op": "close", "view": view_id})

    def stop(self) -> None:
        """Stop the process (it would also stop with the kernel)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            assert process.stdin is not None
            process.stdin.close()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _started(self) -> subprocess.Popen[str]:
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                return self._process
            if self._environment is None:
                self._environment = offscreen_environment(check_offscreen().backend)
            package_root = str(Path(__file__).resolve().parents[2])  # the process imports this rhinoapp
            path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)
            process = subprocess.Popen([sys.executable, "-m", "rhinoapp.render.trame_app"], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True, bufsize=1,
                                       env={**os.environ, **self._environment, "PYTHONPATH": path,
                                            "RHINOAPP_TRAME_NICE": str(self._nice)})
            ready: Future[int] = Future()
            self._waiting[""] = ready
            self._process = process
            assert process.stdout is not None
            threading.Thread(target=self._read, args=(process.stdout,), name="rhinoapp-notebook-panes", daemon=True).start()
        self._send(process, {"op": "key", "key": self.key, "cookie": self.cookie})
        ready.result(self.timeout_s)
        _log.info("trame process for notebook panes: pid %d", process.pid)
        return process

    def _send(self, process: subprocess.Popen[str], message: dict[str, Any]) -> None:
        if process.poll() is None and process.stdin is not None:
            try:
                process.stdin.write(json.dumps(message) + "\n")
                process.stdin.flush()
            except (BrokenPipeError, ValueError):
                pass  # it died: the reader fails the waiters

    def _read(self, stdout: IO[str]) -> None:
        for line in stdout:
            if (message := read_message(line)) is None:
                continue  # a library's own output
            kind = message.get("kind")
            key = "" if kind == "ready" else str(message.get("view", ""))
            with self._lock:
                waiter = self._waiting.pop(key, None)
            if waiter is None or waiter.done():
                continue
            if kind == "error":
                waiter.set_exception(RenderError(message.get("message", "the 3D view could not be drawn")))
            else:
                waiter.set_result(int(message.get("port") or message.get("pid") or 0))
        with self._lock:
            waiting, self._waiting = list(self._waiting.values()), {}
        for waiter in waiting:
            if not waiter.done():
                waiter.set_exception(RenderError("the 3D panes' process stopped; see the kernel's log, "
                                                 "then show the pane again to start a new one"))


class NotebookPane:
    """One 3D pane of a notebook: displays as an iframe of its trame application (``_repr_html_``).

    Set :attr:`scene` to show new content (the process builds it again; the pane's markup changes).
    """

    def __init__(self, panes: NotebookPanes, view_id: str, port: int, scene: SceneSpec, *, height: int = 420) -> None:
        self._panes, self.view_id, self.port, self._scene, self.height = panes, view_id, port, scene, height

    @property
    def scene(self) -> SceneSpec:
        """What the pane shows."""
        return self._scene

    @scene.setter
    def scene(self, scene: SceneSpec) -> None:
        self.port = self._panes.serve(self.view_id, scene)
        self._scene = scene

    @property
    def address(self) -> str:
        """The pane's page as trame's iframe builder gives it (no key in it)."""
        return trame_address(self.view_id, self.port, iframe_builder=self._panes.iframe_builder,
                             base_url=self._panes.base_url)

    def html(self) -> str:
        """The pane's HTML (an iframe; it carries the kernel's key to the browser, never in a URL)."""
        return pane_markup(self.address, cookie=self._panes.cookie, key=self._panes.key, height=self.height,
                           view_id=self.view_id)

    def _repr_html_(self) -> str:
        return self.html()

    def show_camera(self, preset: CameraPreset | str) -> None:
        """Look from a standard direction."""
        self._panes.set_state(self.view_id, preset=CameraPreset(preset).value)

    def set_clip(self, clip: ClipPlane | None) -> None:
        """Clip the scene with one plane, or remove the clip."""
        value = None if clip is None else {"axis": clip.axis.value, "position": clip.position, "flip": clip.flip}
        self._panes.set_state(self.view_id, clip=value)

    def close(self) -> None:
        """Stop serving the pane."""
        self._panes.close(self.view_id)


@functools.cache
def default_notebook_panes() -> NotebookPanes:
    """The kernel's panes (one trame process for all of them, started with the first)."""
    return NotebookPanes()
