"""``rhinoapp desktop`` under Xvfb: the window shows the Projects page, closing it leaves no process behind;
``--install`` writes the desktop entry and icon; the launch token works once."""

from __future__ import annotations

import os
import shutil
import signal
import struct
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import psutil
import pytest
from PIL import Image

from rhinoapp.render.launch_token import LaunchToken
from tests.test_app import free_port
from tests.waiting import HANG_S, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.timeout(3 * HANG_S)]


def test_install_writes_a_desktop_entry_and_icon(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "rhinoapp", "desktop", "--install"], env=env, capture_output=True,
                          text=True, timeout=HANG_S, check=True)
    entry = (tmp_path / "applications" / "rhinoapp.desktop").read_text()
    assert "Exec=" in entry and " desktop" in entry and "desktop entry written" in done.stdout
    assert (tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "rhinoapp.svg").read_text().startswith("<svg")


def test_the_launch_token_is_exchanged_once() -> None:
    launch = LaunchToken()
    cookie = launch.exchange(launch.token)
    assert cookie and launch.admits(cookie) and launch.exchange(launch.token) is None


def test_the_window_shows_the_projects_page_and_closing_it_stops_everything(tmp_path: Path, output_dir: Path) -> None:
    if not shutil.which("Xvfb") or not shutil.which("xwd"):
        pytest.fail("Xvfb or xwd is not installed: run scripts/install-system-deps.sh (as root)")
    read, write = os.pipe()  # Xvfb picks a free display number itself and writes it here
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as answer:
        display = f":{answer.readline().strip()}"
    assert display != ":", "Xvfb did not start"
    debug_port = free_port()
    log = (tmp_path / "desktop.log").open("w")
    env = {**os.environ, "DISPLAY": display, "RHINOAPP_DEMO": "false"}
    app = subprocess.Popen([sys.executable, "-m", "rhinoapp", "desktop", "--data-dir", str(tmp_path / "data"),
                            "--remote-debugging-port", str(debug_port)], env=env, stdout=log,
                           stderr=subprocess.STDOUT, start_new_session=True)
    seen: set[int] = set()

    def tree() -> set[int]:
        try:
            return {p.pid for p in psutil.Process(app.pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            return set()

    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = wait_until(lambda: _connect(playwright, debug_port), what="the app window's browser")
            page = wait_until(lambda: next(iter(p for c in browser.contexts for p in c.pages), None),
                              what="the window's page")
            page.get_by_role("heading", name="Projects").first.wait_for(timeout=1000 * HANG_S)
            assert "launch-token" not in page.url  # the token was exchanged for the cookie
            page.screenshot(path=str(output_dir / "desktop-window.png"))
            shown = _display_screenshot(display, output_dir / "desktop-display.png")
            assert (shown.reshape(-1, 3).max(axis=1) > 0).mean() > 0.3, "the window does not cover the X display"
            with pytest.raises(urllib.error.HTTPError) as refused:  # another client, without the launch cookie
                urllib.request.urlopen(page.url.split("?")[0], timeout=HANG_S)
            assert refused.value.code == 403
            seen |= tree()
            assert len(seen) >= 2, "the window's processes run as children of the server"
            page.close()  # the user closes the window
        app.wait(timeout=HANG_S)
        left = [pid for pid in seen if _alive(pid)]
        assert not left, f"processes left behind: {left}"
        assert not [p.pid for p in psutil.process_iter() if _in_session(p, app.pid)]
    finally:
        if app.poll() is None:
            os.killpg(app.pid, signal.SIGTERM)
            app.wait(timeout=30)
        xvfb.terminate()
        xvfb.wait(timeout=30)
        log.close()


def _display_screenshot(display: str, path: Path) -> np.ndarray:
    """The X display's root window (xwd, 24-bit TrueColor) as RGB pixels, saved as a PNG at ``path``."""
    raw = subprocess.run(["xwd", "-root", "-silent", "-display", display], capture_output=True, check=True,
                         timeout=HANG_S).stdout
    header = struct.unpack(">25I", raw[:100])
    header_size, width, height, bytes_per_line, colours = header[0], header[4], header[5], header[12], header[19]
    start = header_size + 12 * colours
    rows = np.frombuffer(raw[start:start + bytes_per_line * height], dtype=np.uint8).reshape(height, bytes_per_line)
    pixels = rows[:, :width * 4].reshape(height, width, 4)
    rgb = pixels[..., [2, 1, 0]] if header[7] == 0 else pixels[..., [1, 2, 3]]  # byte order LSB first: BGRX
    Image.fromarray(np.ascontiguousarray(rgb)).save(path)
    return rgb


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _connect(playwright, port: int):
    try:
        return playwright.chromium.connect_over_cdp(f"http://127.0.0.1:{port}")
    except Exception:  # not listening yet
        return None


def _in_session(process: psutil.Process, session: int) -> bool:
    try:
        return os.getsid(process.pid) == session and process.status() != psutil.STATUS_ZOMBIE
    except (OSError, psutil.Error):
        return False
