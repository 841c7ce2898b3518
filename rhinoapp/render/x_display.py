"""The one X display that every ``pvpython`` process of a server draws on (ParaView panes and downloads).

ParaView 5.11 (Debian 12's) is built for X. When each ``pvpython`` started an ``Xvfb`` of its own,
starts at the same moment failed at random ("bad X server connection": 10 of 12 aborted with four
started at a time), while four processes on one shared ``Xvfb`` all drew. So the render service
keeps one :class:`SharedDisplay` and hands its name to each process in ``DISPLAY``:

1. ``RHINOAPP_PARAVIEW_DISPLAY``, when set, names the display (an X server of the deployment's);
2. else the server's own ``DISPLAY``, when set;
3. else none, when ``pvpython`` draws without X (a ParaView built for EGL or OSMesa);
4. else an ``Xvfb`` started on first need (``-displayfd``: it picks a free display number, so
   servers side by side never collide), started again if it died, and stopped with the service
   (or, through ``PR_SET_PDEATHSIG``, when the server's process dies).
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import subprocess
import threading

from rhinoapp.render.offscreen import RenderError
from rhinoapp.render.paraview_launch import pvpython_path
from rhinoapp.render.pv_pipeline import HEADLESS_WINDOWS, die_with_parent

__all__ = ["DisplayError", "SharedDisplay"]

_log = logging.getLogger(__name__)
_PROBE = ("from vtkmodules.vtkRenderingCore import vtkRenderWindow; import vtkmodules.vtkRenderingOpenGL2; "
          "print(vtkRenderWindow().GetClassName())")


class DisplayError(RenderError):
    """No X display for ParaView: ``Xvfb`` is missing or did not start."""


def _draws_without_x(*, timeout_s: float = 60.0) -> bool:
    """Whether ``pvpython``'s VTK opens an EGL or OSMesa window (no X server needed); asked once, in a child."""
    pvpython = pvpython_path()
    if pvpython is None:
        return False
    environment = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    try:
        done = subprocess.run([pvpython, "-c", _PROBE], env=environment, capture_output=True, text=True,
                              timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and any(w in done.stdout for w in HEADLESS_WINDOWS)


def _start_xvfb(screen: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start an ``Xvfb`` on a free display; return it and its name (``":N"``).

    A thread that lives as long as the ``Xvfb`` starts and waits for it: ``PR_SET_PDEATHSIG`` fires
    when the thread that started a child ends, so the ``Xvfb`` stops with the server, not with the
    thread of a request that happened to need it first.
    """
    if shutil.which("Xvfb") is None:
        raise DisplayError("ParaView needs an X display and Xvfb is not installed: install Debian's xvfb "
                           "(scripts/install-system-deps.sh), name an X display in RHINOAPP_PARAVIEW_DISPLAY, "
                           "or use render_backend = 'vtk'.")
    read, write = os.pipe()
    started: queue.Queue[subprocess.Popen[bytes] | BaseException] = queue.Queue(maxsize=1)

    def keep() -> None:
        try:
            server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", screen, "-nolisten", "tcp",
                                       "-noreset"],  # no reset when the last client leaves (a new one would be refused)
                                      pass_fds=(write,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, preexec_fn=die_with_parent)
        except BaseException as error:  # handed to the caller, which raises it
            started.put(error)
            return
        finally:
            os.close(write)
        started.put(server)
        server.wait()

    threading.Thread(target=keep, name="xvfb", daemon=True).start()
    outcome = started.get()
    if isinstance(outcome, BaseException):
        os.close(read)
        raise DisplayError(f"Xvfb could not start ({outcome}): check its installation, or name an X display "
                           "in RHINOAPP_PARAVIEW_DISPLAY") from outcome
    with os.fdopen(read) as answer:  # the display's number, or nothing when Xvfb ended
        number = answer.readline().strip()
    if not number:
        raise DisplayError(f"Xvfb ended at its start (exit code {outcome.wait()}): run `Xvfb -displayfd 1` to see "
                           "why, or name an X display in RHINOAPP_PARAVIEW_DISPLAY")
    return outcome, f":{number}"


class SharedDisplay:
    """The X display of a server's ``pvpython`` processes: the deployment's, none, or one shared ``Xvfb``.

    :meth:`display` blocks while it asks ``pvpython`` whether it needs X (once) and starts the
    ``Xvfb`` (on first need): call it off the event loop. Thread-safe.

    Examples
    --------
    >>> import os
    >>> os.environ["RHINOAPP_PARAVIEW_DISPLAY"] = ":7"
    >>> shared = SharedDisplay()
    >>> shared.display(), shared.pid  # the deployment's display: no Xvfb started
    (':7', None)
    >>> del os.environ["RHINOAPP_PARAVIEW_DISPLAY"]
    """

    def __init__(self, *, screen: str = "1920x1200x24") -> None:
        self.screen = screen
        self._lock = threading.Lock()
        self._server: subprocess.Popen[bytes] | None = None
        self._name = ""
        self._headless: bool | None = None

    def display(self) -> str:
        """The ``DISPLAY`` for a ``pvpython`` process (``""``: it needs none), starting the ``Xvfb`` if needed.

        Raises :class:`DisplayError` when an ``Xvfb`` is needed and cannot start.
        """
        given = os.environ.get("RHINOAPP_PARAVIEW_DISPLAY") or os.environ.get("DISPLAY")
        if given:
            return given
        with self._lock:
            if self._headless is None:
                self._headless = _draws_without_x()
                _log.info("pvpython draws %s", "without X" if self._headless else "through X (a shared Xvfb)")
            if self._headless:
                return ""
            if self._server is None or self._server.poll() is not None:
                if self._server is not None:
                    _log.warning("the ParaView processes' Xvfb %s ended (exit code %s); starting a new one",
                                 self._name, self._server.returncode)
                self._server, self._name = _start_xvfb(self.screen)
                _log.info("the ParaView processes draw on Xvfb %s (pid %d)", self._name, self._server.pid)
            return self._name

    @property
    def pid(self) -> int | None:
        """The process id of the running ``Xvfb`` started here, or ``None``."""
        server = self._server
        return server.pid if server is not None and server.poll() is None else None

    def stop(self, *, timeout_s: float = 10.0) -> None:
        """Stop the ``Xvfb`` started here, if any (a later :meth:`display` starts a new one)."""
        with self._lock:
            server, self._server = self._server, None
        if server is None or server.poll() is not None:
            return
        server.terminate()
        try:
            server.wait(timeout_s)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
