"""``rhinoapp desktop``: the app in its own window, served for this user only, stopped with the window.

The server listens on a free loopback port and admits only the holder of a one-time launch token
(:mod:`rhinoapp.render.launch_token`); the window opens the app with it. The window is a native
webview where pywebview is installed and has a backend (run as a child process), otherwise Chromium
or Chrome in app mode with a temporary profile. The server watches the window's process: when it
ends, the server stops, and its render workers and job cluster with it. ``--install`` writes a Linux
desktop entry (``$XDG_DATA_HOME/applications``) and its icon instead.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from rhinoapp.cli._common import out, settings_from
from rhinoapp.core.errors import ConfigurationError

__all__ = ["browser_command", "desktop_entry", "free_loopback_port", "register"]

_log = logging.getLogger(__name__)
_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
_WATCH_MS = 500


def register(commands: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    """Add the ``desktop`` command."""
    desktop = commands.add_parser("desktop", help="open the app in its own window (stops with the window)",
                                  parents=[shared])
    desktop.add_argument("--install", action="store_true",
                         help="write a desktop entry and icon for this user ($XDG_DATA_HOME/applications) and exit")
    desktop.add_argument("--browser", help="Chromium or Chrome executable (default: the first found on PATH)")
    desktop.add_argument("--remote-debugging-port", type=int, default=0,
                         help="open Chromium's debugging port (for tests and diagnosis)")
    desktop.set_defaults(handler=_desktop, verbose_logging=True)


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that is free now.

    Examples
    --------
    >>> 1024 <= free_loopback_port() <= 65535
    True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _webview_available() -> bool:
    try:
        import webview  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        return False
    probe = subprocess.run([sys.executable, "-c", "import webview.guilib as g; g.initialize()"],
                           capture_output=True, timeout=60, check=False)
    return probe.returncode == 0


def browser_command(url: str, profile: Path, *, browser: str | None = None, debugging_port: int = 0) -> list[str]:
    """The command that opens ``url`` in a Chromium or Chrome app window with the profile folder ``profile``.

    Raises
    ------
    ConfigurationError
        When no Chromium or Chrome is found.

    Examples
    --------
    >>> browser_command("http://127.0.0.1:1/", Path("/tmp/p"), browser="/bin/sh")[:3]
    ['/bin/sh', '--app=http://127.0.0.1:1/', '--user-data-dir=/tmp/p']
    """
    found = browser or next((path for name in _BROWSERS if (path := shutil.which(name))), None)
    if not found:
        raise ConfigurationError("No window to open the app in: install pywebview (pip install pywebview) or "
                                 "Chromium/Chrome, or run `rhinoapp serve --show` to use your browser.")
    command = [found, f"--app={url}", f"--user-data-dir={profile}", "--no-first-run", "--no-default-browser-check",
               "--disable-background-networking", "--disable-sync", "--disable-component-update"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    if debugging_port:
        command.append(f"--remote-debugging-port={debugging_port}")
    return command


def _window(url: str, profile: Path, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    if not args.browser and not args.remote_debugging_port and _webview_available():
        script = "import sys, webview; webview.create_window('rhinoapp', sys.argv[1]); webview.start()"
        return subprocess.Popen([sys.executable, "-c", script, url])
    return subprocess.Popen(browser_command(url, profile, browser=args.browser,
                                            debugging_port=args.remote_debugging_port),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def desktop_entry(command: str, icon: Path) -> str:
    """The text of a freedesktop.org desktop entry that runs ``command``.

    Examples
    --------
    >>> print(desktop_entry("/usr/bin/rhinoapp desktop", Path("/i/rhinoapp.svg")).splitlines()[3])
    Exec=/usr/bin/rhinoapp desktop
    """
    return "\n".join(["[Desktop Entry]", "Type=Application", "Name=rhinoapp", f"Exec={command}", f"Icon={icon}",
                      "Comment=Nasal airflow from CT: segmentation, simulation, rhinomanometry",
                      "Categories=Science;MedicalSoftware;", "Terminal=false", ""])


def _install() -> int:
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    icon = data_home / "icons" / "hicolor" / "scalable" / "apps" / "rhinoapp.svg"
    icon.parent.mkdir(parents=True, exist_ok=True)
    icon.write_text(_ICON, encoding="utf-8")
    entry = data_home / "applications" / "rhinoapp.desktop"
    entry.parent.mkdir(parents=True, exist_ok=True)
    executable = shutil.which("rhinoapp") or f"{sys.executable} -m rhinoapp"
    entry.write_text(desktop_entry(f"{executable} desktop", icon), encoding="utf-8")
    out(f"desktop entry written to {entry} (icon {icon})")
    return 0


def _desktop(args: argparse.Namespace) -> int:
    if args.install:
        return _install()
    from tornado.ioloop import PeriodicCallback

    from rhinoapp.app import serve
    from rhinoapp.render.launch_token import TOKEN_ARGUMENT, LaunchToken

    settings = dataclasses.replace(settings_from(args), address="127.0.0.1", port=free_loopback_port())
    launch = LaunchToken()
    url = f"http://127.0.0.1:{settings.port}/?{TOKEN_ARGUMENT}={launch.token}"
    with tempfile.TemporaryDirectory(prefix="rhinoapp-window-") as profile:
        window: dict[str, Any] = {}

        def started(server: Any) -> None:
            process = window["process"] = _window(url, Path(profile), args)

            def watch() -> None:
                if process.poll() is not None:
                    _log.info("the window closed: stopping the server")
                    server.io_loop.stop()

            window["watch"] = PeriodicCallback(watch, _WATCH_MS)
            window["watch"].start()

        try:
            serve(settings, launch=launch, started=started)
        finally:
            process = window.get("process")
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
    return 0


_ICON = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="12" fill="#1f5f8b"/>
<path d="M32 10 C24 24 18 34 18 44 a14 10 0 0 0 28 0 C46 34 40 24 32 10z" fill="#f2f2f2"/>
<circle cx="26" cy="46" r="4" fill="#1f5f8b"/><circle cx="38" cy="46" r="4" fill="#1f5f8b"/></svg>
"""
