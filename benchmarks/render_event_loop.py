"""How the web server answers while one session rotates a 1M-triangle scene (server-side rendering).

Serves the RemoteView test page (``tests/render/demo_server.py``, run from the source checkout: it
mounts the render routes as ``rhinoapp serve`` does and adds ``/test/latency``, the lateness of a
20 ms timer on Panel's event loop) and opens it in Debian's chromium. Then, twice:

* ``rotating``: session A (1M triangles) is dragged through its websocket for ``--seconds`` (one
  move in flight, as the page does) while ``/health`` is polled every 100 ms and a second session
  opens and turns its view with the "Right" preset;
* ``idle``: reference, same run, same server: the same polling and second session, nothing rotating.

Printed for each: the loop lateness (p50, p95, max), the ``/health`` round trip (p50, p95, max), the
time until the second session streams and until its preset frame arrives; for the rotation the
frames and the worker's render time; last, the rotating p95 loop lateness against the idle one.
The goal is a p95 lateness under 50 ms while another session rotates: rendering runs in worker
processes, so the loop should hardly notice it.

Usage::

    .venv/bin/python benchmarks/render_event_loop.py [--seconds 12]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str, timeout: float = 60.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return bytes(response.read())


def wait_http(url: str, ceiling_s: float = 120.0) -> None:
    deadline = time.monotonic() + ceiling_s
    while True:
        try:
            get(url, timeout=5)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def open_view(browser: Any, url: str, triangles: int) -> tuple[Any, str, str]:
    """A new page with the view; returns (context, view id, session key) once it streams."""
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    page = context.new_page()
    page.set_default_timeout(240_000)
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(f"{url}?triangles={triangles}")
    page.wait_for_selector(".rh-rv[data-state=streaming]")
    socket_url = urlparse(next(s for s in sockets if "/render/" in s))
    return context, socket_url.path.split("/")[2], parse_qs(socket_url.query)["key"][0]


async def rotate(url: str, seconds: float, frames: list[dict[str, Any]]) -> None:
    """Drag a view through its websocket for ``seconds``, one move in flight."""
    from tornado.websocket import websocket_connect

    ws = await websocket_connect(url)
    await ws.write_message(json.dumps({"op": "rotate", "phase": "start", "dx": 0, "dy": 0}))
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        await ws.write_message(json.dumps({"op": "rotate", "phase": "move", "dx": 0.02, "dy": 0.004}))
        while True:
            message = await asyncio.wait_for(ws.read_message(), 120)
            if isinstance(message, bytes):
                size = int.from_bytes(message[:4], "big")
                frames.append(json.loads(message[4:4 + size]))
                break
    await ws.write_message(json.dumps({"op": "rotate", "phase": "end", "dx": 0, "dy": 0}))
    ws.close()


def scenario(browser: Any, url: str, seconds: float, *, rotating: bool) -> dict[str, Any]:
    """One round: optionally rotate the big view while polling /health and using a second session."""
    big, view, key = open_view(browser, url, 1_000_000) if rotating else (None, "", "")
    health: list[float] = []
    frames: list[dict[str, Any]] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            get(url + "health")
            health.append(1e3 * (time.perf_counter() - started))
            time.sleep(0.1)

    try:
        get(url + "test/latency/reset")
        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        rotator = None
        if rotating:
            socket_url = f"{url.replace('http', 'ws')}render/{view}/ws?key={key}&width=1000&height=440"
            rotator = threading.Thread(target=lambda: asyncio.run(rotate(socket_url, seconds, frames)), daemon=True)
            rotator.start()
        started = time.perf_counter()
        other, _view, _key = open_view(browser, url, 60_000)
        ready_s = time.perf_counter() - started
        page = other.pages[0]
        frame = page.locator(".rh-rv-frame")
        seq = int(frame.get_attribute("data-seq") or 0)
        clicked = time.perf_counter()
        page.get_by_role("button", name="Right").click()
        deadline = time.monotonic() + 240
        while int(frame.get_attribute("data-seq") or 0) <= seq:  # the view lives in a shadow root: poll it
            if time.monotonic() > deadline:
                raise RuntimeError("the second session's preset frame did not arrive within 240 s")
            time.sleep(0.02)
        preset_ms = 1e3 * (time.perf_counter() - clicked)
        if rotator is not None:
            rotator.join(seconds + 240)
        else:
            time.sleep(max(0.0, seconds - (time.perf_counter() - started)))  # the same span as the rotation
        stop.set()
        poller.join(120)
        latency = json.loads(get(url + "test/latency"))
        other.close()
    finally:
        stop.set()
        if big is not None:
            big.close()
    return {"latency": latency, "health": sorted(health), "ready_s": ready_s, "preset_ms": preset_ms, "frames": frames}


def quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=12.0, help="how long session A rotates (default 12)")
    args = parser.parse_args(argv)
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not os.path.exists(chromium):
        print("render_event_loop: skipped, it needs Playwright and Debian's chromium (make install-dev system-deps)")
        return 0

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    server = subprocess.Popen([sys.executable, "-m", "tests.render.demo_server", "--port", str(port)], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_http(url + "health")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
            try:
                idle = scenario(browser, url, args.seconds, rotating=False)
                busy = scenario(browser, url, args.seconds, rotating=True)
            finally:
                browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    print(f"Panel server while one session rotates a 1M-triangle scene for {args.seconds:.0f} s (CPU rendering)")
    print(f"{'round':<10} {'loop p50':>9} {'p95':>7} {'max ms':>7} {'health p50':>11} {'p95':>7} {'max ms':>7} "
          f"{'2nd ready s':>12} {'preset ms':>10}")
    for label, found in (("rotating", busy), ("idle", idle)):
        loop, health = found["latency"], found["health"]
        print(f"{label:<10} {loop.get('p50_ms', 0):>9.1f} {loop.get('p95_ms', 0):>7.1f} {loop.get('max_ms', 0):>7.1f} "
              f"{statistics.median(health) if health else 0:>11.1f} {quantile(health, 0.95):>7.1f} "
              f"{health[-1] if health else 0:>7.1f} {found['ready_s']:>12.1f} {found['preset_ms']:>10.0f}")
    frames = busy["frames"]
    render_ms = sorted(f["render_ms"] for f in frames)
    print(f"rotating session: {len(frames)} frames, {sum(f['lod'] for f in frames)} decimated, "
          f"worker render p50 {quantile(render_ms, 0.5):.0f} ms")
    ratio = busy["latency"].get("p95_ms", 0) / max(idle["latency"].get("p95_ms", 0), 1e-3)
    print(f"p95 loop lateness while another session rotates: {busy['latency'].get('p95_ms', 0):.1f} ms "
          f"(goal < 50 ms), {ratio:.1f}x the idle server's")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
