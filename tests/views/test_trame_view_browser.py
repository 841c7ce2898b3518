"""Trame panes in Chromium, through Panel's port: rendering, presets, drag, processes, security.

The page is ``tests/render/trame_demo_server.py`` (a TrameView of the synthetic airway, trame
routes mounted as in ``rhinoapp serve``), served in a subprocess.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import psutil
import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from rhinoapp.render.trame_service import KEY_COOKIE
from tests.render.conftest import png_pixels
from tests.test_app import free_port, wait_for_http
from tests.waiting import HANG_S, wait_until

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Demo:
    url: str
    pid: int

    def processes(self) -> list[int]:
        """Live trame processes of the server."""
        found = []
        for child in psutil.Process(self.pid).children(recursive=True):
            try:
                if "rhinoapp.render.trame_app" in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                    found.append(child.pid)
            except psutil.NoSuchProcess:
                pass
        return sorted(found)

    def get(self, path: str, key: str | None = None) -> tuple[int, bytes]:
        headers = {"Cookie": f"{KEY_COOKIE}={key}"} if key is not None else {}
        try:
            with urllib.request.urlopen(urllib.request.Request(self.url + path, headers=headers), timeout=120) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, b""

    def wait_for_processes(self, count: int) -> list[int]:
        """Wait until exactly ``count`` trame processes run (closed pages stop theirs after a grace time)."""
        def exactly() -> tuple[list[int]] | None:
            found = self.processes()
            return (found,) if len(found) == count else None

        return wait_until(exactly, what=f"{count} trame processes")[0]

    def websocket(self, view_id: str, key: str | None) -> int:
        """101 when the pane's websocket opens with ``key``, else the refusal's status."""
        async def connect() -> int:
            headers = {"Cookie": f"{KEY_COOKIE}={key}"} if key is not None else {}
            url = self.url.replace("http://", "ws://") + f"render/{view_id}/ws"
            try:
                connection = await websocket_connect(HTTPRequest(url, headers=headers, request_timeout=120))
            except HTTPClientError as error:
                return error.code
            connection.close()
            return 101

        with ThreadPoolExecutor(1) as pool:  # Playwright's loop runs on this thread
            return pool.submit(asyncio.run, connect()).result()


@contextmanager
def demo_server(log_path: Path, *options: str) -> Iterator[Demo]:
    """The trame demo server (``tests.render.trame_demo_server`` with ``options``) on a free port, its output in
    ``log_path``; its process group is stopped on leaving."""
    port = free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "tests.render.trame_demo_server", "--port", str(port),
                                    *options], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}/"
        try:
            wait_for_http(url, timeout=HANG_S)
            yield Demo(url, process.pid)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    with demo_server(tmp_path_factory.mktemp("log") / "trame-demo.log") as served:
        yield served


@dataclass
class Pane:
    context: object
    page: object

    @property
    def view_id(self) -> str:
        return urlparse(self.page.locator("iframe.rh-trame-frame").get_attribute("src")).path.split("/")[2]

    @property
    def key(self) -> str:
        return next(c["value"] for c in self.context.cookies() if c["name"] == KEY_COOKIE)

    def image(self) -> np.ndarray:
        return png_pixels(self.page.locator(".rh-trame").screenshot())

    def drawn(self) -> list[np.ndarray] | None:
        """``[picture]`` once the airway is on it (None before)."""
        image = self.image()
        background = image[5, 5].astype(int)
        return [image] if (np.abs(image.astype(int) - background).max(axis=2) > 40).mean() > 0.05 else None

    def changed_from(self, before: np.ndarray) -> list[np.ndarray] | None:
        """``[picture]`` once it differs from ``before`` (None before)."""
        image = self.image()
        return [image] if changed(before, image) > 4 else None


def changed(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def open_pane(browser, demo: Demo, triangles: int = 60_000) -> Pane:
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    page = context.new_page()
    page.set_default_timeout(1000 * HANG_S)
    page.goto(f"{demo.url}?triangles={triangles}")
    page.wait_for_selector(".rh-trame[data-state=loaded]")
    pane = Pane(context, page)
    wait_until(pane.drawn, what="the airway drawn in the trame pane")
    return pane


def test_pane_renders_through_the_proxy_and_presets_and_drag_change_it(browser, demo, output_dir: Path) -> None:
    pane = open_pane(browser, demo)
    try:
        first = wait_until(pane.drawn, what="the airway")[0]
        assert first.std() > 20, "the pane is blank"
        assert pane.page.locator("iframe.rh-trame-frame").get_attribute("src").startswith("/render/t")
        pane.page.screenshot(path=str(output_dir / "trame-pane.png"))

        pane.page.get_by_role("button", name="Left").click()
        left = wait_until(lambda: pane.changed_from(first), what="the left preset's picture")[0]

        box = pane.page.locator(".rh-trame").bounding_box()
        mouse = pane.page.mouse
        mouse.move(box["x"] + 400, box["y"] + 200)
        mouse.down()
        for step in range(1, 16):
            mouse.move(box["x"] + 400 + 15 * step, box["y"] + 200 + 4 * step)
        mouse.up()
        wait_until(lambda: pane.changed_from(left), what="the picture turned by the drag")

        response = pane.page.request.get(f"{demo.url}render/{pane.view_id}/screenshot.png")
        assert response.status == 200 and png_pixels(response.body()).std() > 20
    finally:
        pane.context.close()


def test_each_context_gets_its_own_process_and_closing_the_page_stops_it(browser, demo) -> None:
    demo.wait_for_processes(0)  # those of other tests' closed pages
    first = open_pane(browser, demo, 20_000)
    try:
        one = demo.wait_for_processes(1)
        second = open_pane(browser, demo, 20_000)
        two = demo.wait_for_processes(2)
        assert set(one) < set(two)
        second.context.close()
        assert demo.wait_for_processes(1) == one, "the closed page's process did not stop"
    finally:
        first.context.close()
    demo.wait_for_processes(0)


def test_keys_are_checked_on_http_and_websocket_and_ports_are_never_proxied(browser, demo) -> None:
    a, b = open_pane(browser, demo, 5_000), open_pane(browser, demo, 5_000)
    try:
        view, key = a.view_id, a.key
        assert key not in (a.page.locator("iframe.rh-trame-frame").get_attribute("src") or "")
        assert demo.get(f"render/{view}/index.html", key)[0] == 200
        for wrong in (None, "not-the-key", b.key):
            assert demo.get(f"render/{view}/index.html", wrong)[0] == 403, wrong
            assert demo.get(f"render/{view}/screenshot.png", wrong)[0] == 403, wrong
            assert demo.websocket(view, wrong) == 403, wrong
        assert demo.websocket(view, key) == 101
        port = urlparse(demo.url).port
        for path in (f"{port}/index.html", f"127.0.0.1:{port}/", "index.html?port=22", "%3a22/index.html",
                     "a/../../index.html"):
            assert demo.get(f"render/{view}/{path}", key)[0] == 400, path
    finally:
        a.context.close()
        b.context.close()


def test_killed_process_shows_a_message_and_reload_restarts_it(browser, demo) -> None:
    demo.wait_for_processes(0)
    pane = open_pane(browser, demo, 5_000)
    try:
        [pid] = demo.wait_for_processes(1)
        os.kill(pid, signal.SIGKILL)
        pane.page.wait_for_selector(".rh-trame[data-state=failed]")
        message = pane.page.locator(".rh-trame-message").inner_text()
        assert "The 3D view stopped" in message and "Reload the page" in message
        assert demo.get("")[0] == 200  # Panel keeps serving
        pane.page.reload()
        pane.page.wait_for_selector(".rh-trame[data-state=loaded]")
        wait_until(pane.drawn, what="the airway drawn again after the reload")
        restarted = demo.wait_for_processes(1)
        assert pid not in restarted
    finally:
        pane.context.close()


def test_a_scene_whose_file_is_gone_says_why_and_the_next_scene_loads_the_pane_again(browser, demo) -> None:
    """As when a page opens the running job's live checkpoint just as the job ends and its files go."""
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    page = context.new_page()
    page.set_default_timeout(1000 * HANG_S)
    try:
        page.goto(f"{demo.url}?triangles=5000&missing=1")
        message = page.locator(".rh-trame[data-state=message] .rh-trame-message")
        message.wait_for()
        wait_until(lambda: "does not exist" in message.inner_text(), what="the reason shown in the pane")
        assert "next scene" in message.inner_text()
        page.locator(".rh-demo-show button").click()  # the page's next scene (the finished run's)
        page.wait_for_selector(".rh-trame[data-state=loaded]")
        wait_until(Pane(context, page).drawn, what="the airway drawn after the failed scene")
    finally:
        context.close()
