"""RemoteView in Chromium: rendered frames, presets, drag, sessions, security, isolation, failures.

The page is ``tests/render/demo_server.py`` (a RemoteView of the synthetic airway, render routes
mounted as in ``rhinoapp serve``), served in a subprocess.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import psutil
import pytest

from tests.render.conftest import png_pixels
from tests.test_app import free_port, wait_for_http
from tests.waiting import HANG_S, wait_until

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Demo:
    url: str
    pid: int

    def workers(self) -> list[int]:
        """Live render worker processes of the server."""
        found = []
        for child in psutil.Process(self.pid).children(recursive=True):
            try:
                if "rhinoapp.render.worker" in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                    found.append(child.pid)
            except psutil.NoSuchProcess:
                pass
        return sorted(found)

    def wait_for_workers(self, count: int, timeout: float = HANG_S) -> list[int]:
        """Wait until exactly ``count`` workers run (closed pages stop theirs after a grace time)."""
        deadline = time.monotonic() + timeout
        while len(found := self.workers()) != count:
            assert time.monotonic() < deadline, f"expected {count} render workers, found {found}"
            time.sleep(0.2)
        return found

    def get(self, path: str, timeout: float = 60.0) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, b""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    port = free_port()
    log = (tmp_path_factory.mktemp("log") / "demo.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "tests.render.demo_server", "--port", str(port)], cwd=ROOT,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_http(url + "health", timeout=HANG_S)
        yield Demo(url, process.pid)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
        log.close()


@dataclass
class Viewer:
    context: object
    page: object
    sockets: list[str]

    @property
    def frame(self):  # noqa: ANN201
        return self.page.locator(".rh-rv-frame")

    def seq(self) -> int:
        return int(self.frame.get_attribute("data-seq") or 0)

    def image(self) -> np.ndarray:
        return png_pixels(self.page.locator(".rh-rv-stage").screenshot())

    def wait_for_new_frame(self, after: int, *, still: bool = True, timeout: float = HANG_S) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seq = self.seq()
            if seq > after and (not still or self.frame.get_attribute("data-lod") == "false"):
                return seq
            time.sleep(0.05)
        raise AssertionError(f"no new frame after {after} within {timeout} s")

    def render_key(self) -> tuple[str, str]:
        """The view id and session key the page uses (as any script of the page could read)."""
        url = urlparse(next(s for s in self.sockets if "/render/" in s))
        return url.path.split("/")[2], parse_qs(url.query)["key"][0]


def open_viewer(browser, demo: Demo, triangles: int = 60_000, *, standalone: bool = False) -> Viewer:
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    page = context.new_page()
    page.set_default_timeout(1000 * HANG_S)  # only catches a hung page
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(f"{demo.url}?triangles={triangles}" + ("&standalone=1" if standalone else ""))
    page.wait_for_selector(".rh-rv[data-state=streaming]")
    return Viewer(context, page, sockets)


def changed(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_view_renders_and_presets_drag_and_screenshot_change_it(browser, demo, output_dir: Path) -> None:
    viewer = open_viewer(browser, demo)
    try:
        first = viewer.image()
        assert first.std() > 20, "the view is blank"
        background = first[5, 5].astype(int)
        assert (np.abs(first.astype(int) - background).max(axis=2) > 40).mean() > 0.05, "nothing drawn on the background"
        viewer.page.screenshot(path=str(output_dir / "remote-view.png"))

        seq = viewer.seq()
        viewer.page.get_by_role("button", name="Left").click()
        seq = viewer.wait_for_new_frame(seq)
        left = viewer.image()
        assert changed(first, left) > 4, "the left preset did not change the picture"

        box = viewer.page.locator(".rh-rv-stage").bounding_box()
        mouse = viewer.page.mouse
        mouse.move(box["x"] + 300, box["y"] + 200)
        mouse.down()
        for step in range(1, 16):
            mouse.move(box["x"] + 300 + 15 * step, box["y"] + 200 + 4 * step)
        # still dragging: the frames that come are decimated, however long the first one takes
        saw_lod = wait_until(lambda: viewer.frame.get_attribute("data-lod") == "true",
                             what="a decimated frame while dragging", interval_s=0.02)
        mouse.up()
        viewer.wait_for_new_frame(seq)
        rotated = viewer.image()
        assert saw_lod, "no decimated frame was shown while dragging"
        assert changed(left, rotated) > 4, "dragging did not rotate the view"
        viewer.page.screenshot(path=str(output_dir / "remote-view-rotated.png"))

        with viewer.page.expect_download() as download:
            viewer.page.get_by_text("Screenshot").click()
        png = png_pixels(Path(download.value.path()).read_bytes())
        assert png.shape[2] == 3 and png.shape[1] >= 600 and png.std() > 20
    finally:
        viewer.context.close()


def test_sessions_are_independent_and_closing_a_page_stops_its_worker(browser, demo) -> None:
    demo.wait_for_workers(0)
    one, two = open_viewer(browser, demo), open_viewer(browser, demo)
    try:
        assert len(demo.workers()) == 2, "each session has its own render worker"
        one.wait_for_new_frame(0)
        two.wait_for_new_frame(0)  # both views drew their still frame: nothing more comes unless asked
        two_seq, two_image = two.seq(), two.image()
        seq = one.seq()
        one.page.get_by_role("button", name="Below").click()
        one.wait_for_new_frame(seq)
        time.sleep(0.5)  # grace for a wrong frame of the other session to show; it cannot fail a correct view
        assert two.seq() == two_seq and changed(two.image(), two_image) < 0.5, "the other session's view moved"
    finally:
        one.context.close()
    demo.wait_for_workers(1)  # the closed page's worker stopped, the other one runs on
    two.context.close()
    demo.wait_for_workers(0)  # the process count is back where it was


def test_render_routes_refuse_requests_without_the_sessions_key(browser, demo) -> None:
    one, two = open_viewer(browser, demo), open_viewer(browser, demo)
    try:
        view, key = one.render_key()
        _other_view, other_key = two.render_key()
        shot = f"render/{view}/screenshot.png"
        assert demo.get(shot)[0] == 403
        assert demo.get(f"{shot}?key={other_key}")[0] == 403  # another session's key
        assert demo.get(f"render/{view}/ws?key=not-the-key")[0] == 403
        assert demo.get(f"render/{view}/ws")[0] == 403
        status, png = demo.get(f"{shot}?key={key}", timeout=60)
        assert status == 200 and png[:4] == b"\x89PNG"
    finally:
        one.context.close()
        two.context.close()


class Rotator(threading.Thread):
    """Drags session A's view through its websocket like the page does (one move in flight).

    It goes on until ``stop`` is set and at least ``min_moves`` frames came back, so the drag
    covers whatever the test does meanwhile, however slow the machine.
    """

    def __init__(self, url: str, stop: threading.Event, min_moves: int = 20) -> None:
        super().__init__(daemon=True)
        self.url, self.stop, self.min_moves = url, stop, min_moves
        self.frames: list[dict] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._rotate())
        except Exception as error:  # noqa: BLE001 - kept and reported by the test thread
            self.error = error

    async def _rotate(self) -> None:
        from tornado.websocket import websocket_connect

        ws = await websocket_connect(self.url)
        await ws.write_message(json.dumps({"op": "rotate", "phase": "start", "dx": 0, "dy": 0}))
        while not self.stop.is_set() or len(self.frames) < self.min_moves:
            await ws.write_message(json.dumps({"op": "rotate", "phase": "move", "dx": 0.02, "dy": 0.004}))
            while True:
                message = await asyncio.wait_for(ws.read_message(), HANG_S)
                if isinstance(message, bytes):
                    size = int.from_bytes(message[:4], "big")
                    self.frames.append(json.loads(message[4:4 + size]))
                    break
        await ws.write_message(json.dumps({"op": "rotate", "phase": "end", "dx": 0, "dy": 0}))
        ws.close()


def test_other_sessions_and_health_answer_while_a_big_scene_rotates(browser, demo) -> None:
    """While one session drags a 1M-triangle scene, another opens and turns its view, and /health answers.

    The event-loop latency and response times of this scenario are measured by
    ``benchmarks/render_event_loop.py``; the test asserts no timings.
    """
    big = open_viewer(browser, demo, triangles=1_000_000)
    health: list[int] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set() or not health:
            health.append(demo.get("health", timeout=HANG_S)[0])

    try:
        assert int(big.frame.get_attribute("data-triangles")) > 900_000
        view, key = big.render_key()
        rotator = Rotator(f"{demo.url.replace('http', 'ws')}render/{view}/ws?key={key}&width=1000&height=440", stop)
        poller = threading.Thread(target=poll, daemon=True)
        rotator.start()
        wait_until(lambda: rotator.frames or rotator.error, what="the first frame of the drag")
        poller.start()
        other = open_viewer(browser, demo)
        seq = other.seq()
        other.page.get_by_role("button", name="Right").click()
        other.wait_for_new_frame(seq, timeout=HANG_S)
        dragging = rotator.is_alive()  # the drag went on all the while: it only stops when told
        stop.set()
        rotator.join(HANG_S)
        poller.join(HANG_S)
        other.context.close()
    finally:
        stop.set()
        big.context.close()
    assert rotator.error is None and not rotator.is_alive() and dragging, rotator.error
    frames = rotator.frames
    assert len(frames) >= rotator.min_moves
    assert sum(not f["lod"] for f in frames) <= 2, frames  # decimated while dragging (a still frame on connect)
    assert health and set(health) == {200}, health


def test_killed_worker_shows_a_message_and_reload_restarts_it(browser, demo) -> None:
    demo.wait_for_workers(0)
    viewer = open_viewer(browser, demo)
    try:
        [pid] = demo.workers()
        os.kill(pid, signal.SIGKILL)
        viewer.page.wait_for_selector(".rh-rv[data-state=failed]")
        message = viewer.page.locator(".rh-rv-message").inner_text()
        assert "The 3D view stopped" in message and "Reload the page" in message
        assert demo.get("health")[0] == 200  # Panel keeps serving
        viewer.page.reload()
        viewer.page.wait_for_selector(".rh-rv[data-state=streaming]")
        assert viewer.frame.get_attribute("data-seq") is not None
        restarted = demo.workers()
        assert restarted and pid not in restarted
    finally:
        viewer.context.close()


def test_notebook_style_view_streams_from_the_processs_own_render_port(browser, demo) -> None:
    """What a notebook does (no Panel server routes): frames from a render server on another port."""
    viewer = open_viewer(browser, demo, standalone=True)
    try:
        render_socket = urlparse(next(s for s in viewer.sockets if "/render/" in s))
        assert render_socket.port != urlparse(demo.url).port
        seq = viewer.seq()
        viewer.page.get_by_role("button", name="Below").click()
        viewer.wait_for_new_frame(seq)
        with viewer.page.expect_download() as download:
            viewer.page.get_by_text("Screenshot").click()
        assert Path(download.value.path()).read_bytes()[:4] == b"\x89PNG"
    finally:
        viewer.context.close()
