"""The render worker's loop in-process: frames, level of detail, coalescing, screenshots, errors."""

from __future__ import annotations

import queue
import threading
from typing import Any

import pytest

from rhinoapp.render.spec import SceneSpec, Synthetic
from rhinoapp.render.worker import RenderWorker
from tests.render.conftest import png_pixels
from tests.waiting import HANG_S

SPEC = SceneSpec(synthetic=Synthetic(20_000), lod_triangles=2_000).to_dict()


class Harness:
    """A worker on a thread; commands in through a queue, messages out into a list."""

    def __init__(self) -> None:
        self.inbox: queue.Queue[Any] = queue.Queue()
        self.sent: queue.Queue[tuple[dict[str, Any], bytes]] = queue.Queue()
        self.thread = threading.Thread(target=RenderWorker(lambda h, b: self.sent.put((h, b))).run, args=(self.inbox,))
        self.thread.start()

    def send(self, **header: Any) -> None:
        self.inbox.put((header, b""))

    def next(self, kind: str = "frame", timeout: float = HANG_S) -> tuple[dict[str, Any], bytes]:
        while True:
            header, body = self.sent.get(timeout=timeout)
            if header["kind"] == kind:
                return header, body
            if header["kind"] == "error":
                raise AssertionError(header["message"])

    def close(self) -> None:
        self.inbox.put(None)
        self.thread.join(30)


@pytest.fixture
def worker(offscreen):
    harness = Harness()
    yield harness
    harness.close()


def test_open_renders_a_still_frame_then_drag_uses_the_lod(worker) -> None:
    worker.send(op="open", view="v1", spec=SPEC, width=400, height=300)
    still, data = worker.next()
    assert (still["width"], still["height"], still["lod"]) == (400, 300, False)
    assert still["mime"] == "image/jpeg" and data[:2] == b"\xff\xd8"
    full_triangles = still["triangles"]
    worker.send(op="rotate", view="v1", phase="start", dx=0, dy=0)
    worker.send(op="rotate", view="v1", phase="move", dx=0.1, dy=0.0)
    moving, _ = worker.next()
    assert moving["lod"] is True and moving["triangles"] < full_triangles / 3
    assert moving["width"] < 400 and moving["quality"] < still["quality"]
    worker.send(op="rotate", view="v1", phase="end", dx=0.0, dy=0.0)
    settled, _ = worker.next()
    assert settled["lod"] is False and settled["width"] == 400


def test_commands_that_arrive_during_a_render_make_one_frame(worker) -> None:
    worker.send(op="open", view="v1", spec=SPEC, width=320, height=240)
    worker.next()
    worker.send(op="rotate", view="v1", phase="start")
    for _ in range(30):
        worker.send(op="rotate", view="v1", phase="move", dx=0.01, dy=0.0)
    frames = [worker.next(timeout=HANG_S)[0]]
    while True:  # then until the worker has been quiet for a while (a slow frame only means fewer frames)
        try:
            frames.append(worker.next(timeout=1.5)[0])
        except queue.Empty:
            break
    assert 1 <= len(frames) < 10  # 30 moves, a few frames at most
    assert all(f["lod"] for f in frames)  # a drag does not settle without its end


def test_wheel_zoom_settles_to_a_still_frame(worker) -> None:
    worker.send(op="open", view="v1", spec=SPEC, width=320, height=240)
    worker.next()
    worker.send(op="zoom", view="v1", factor=1.2)
    assert worker.next()[0]["lod"] is True
    assert worker.next()[0]["lod"] is False  # 250 ms after the last wheel event


def test_screenshot_is_a_full_size_png(worker) -> None:
    worker.send(op="open", view="v1", spec=SPEC, width=360, height=200)
    worker.next()
    worker.send(op="screenshot", view="v1", request=7)
    header, png = worker.next("screenshot")
    assert header["request"] == 7
    assert png_pixels(png).shape == (200, 360, 3)


def test_a_missing_file_is_reported_in_plain_words(worker) -> None:
    spec = SceneSpec(surface="/nonexistent/airway.vtp").to_dict()
    worker.send(op="open", view="v2", spec=spec, width=320, height=240)
    header, _ = worker.sent.get(timeout=HANG_S)
    assert header["kind"] == "error" and header["view"] == "v2"
    assert "/nonexistent/airway.vtp does not exist" in header["message"]


def test_new_content_keeps_the_camera(worker) -> None:
    worker.send(op="open", view="v1", spec=SPEC, width=320, height=240)
    worker.next()
    worker.send(op="camera", view="v1", preset="left")
    left, left_image = worker.next()
    revised = {**SPEC, "revision": "checkpoint 2"}
    worker.send(op="open", view="v1", spec=revised)
    worker.send(op="frame", view="v1")
    again, again_image = worker.next()
    assert again["width"] == 320
    assert abs(len(again_image) - len(left_image)) < 0.05 * len(left_image)  # the same view of the same shape
