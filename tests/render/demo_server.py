"""A small Panel server with one RemoteView per page, for the browser tests (and for trying it).

``python -m tests.render.demo_server --port 5007`` serves ``/`` (``?triangles=N`` picks the size
of the synthetic airway; ``?standalone=1`` streams from the process's own render port, as a
notebook does). It mounts the render routes like ``rhinoapp serve`` does and adds two
test-only routes: ``/test/latency`` (lateness of a 20 ms timer on Panel's event loop: the
event-loop latency) and ``/test/latency/reset``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import time

import panel as pn
from tornado.web import RequestHandler

from rhinoapp.render.bridge import RenderService
from rhinoapp.render.spec import Colouring, SceneSpec, Synthetic
from rhinoapp.views.remote_view import RemoteView

TICK_S = 0.02


class LatencyProbe:
    """Measures how late a periodic timer fires on the loop (how long the loop was busy)."""

    def __init__(self) -> None:
        self.samples: collections.deque[float] = collections.deque(maxlen=20_000)

    async def run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(TICK_S)
            self.samples.append(max(0.0, time.perf_counter() - started - TICK_S))

    def summary(self) -> dict[str, float]:
        values = sorted(self.samples)
        if not values:
            return {"n": 0}
        pick = lambda q: values[min(len(values) - 1, int(q * len(values)))]  # noqa: E731
        return {"n": len(values), "p50_ms": 1e3 * pick(0.5), "p95_ms": 1e3 * pick(0.95), "max_ms": 1e3 * values[-1]}


class LatencyHandler(RequestHandler):
    def initialize(self, probe: LatencyProbe) -> None:
        self.probe = probe

    def get(self, reset: str | None = None) -> None:
        if reset:
            self.probe.samples.clear()
        self.finish(self.probe.summary())


def page(service: RenderService) -> pn.viewable.Viewable:
    triangles = int(pn.state.session_args.get("triangles", [b"60000"])[0])
    standalone = pn.state.session_args.get("standalone", [b""])[0] == b"1"  # as in a notebook: its own port
    spec = SceneSpec(synthetic=Synthetic(triangles), colouring=Colouring.PRESSURE, lod_triangles=30_000)
    view = RemoteView(spec, service=service, height=480, standalone=standalone, jupyter_proxy=False)
    return pn.Column(pn.pane.Markdown("## Remote view test page"), view, sizing_mode="stretch_width")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--idle-stop", type=float, default=2.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    service = RenderService(idle_stop_s=args.idle_stop)
    service.prepare()
    probe = LatencyProbe()
    server = pn.serve(
        {"/": lambda: page(service)}, address="127.0.0.1", port=args.port, show=False, start=False, threaded=False,
        print=False, websocket_origin=[f"127.0.0.1:{args.port}", f"localhost:{args.port}"],
        extra_patterns=[*service.routes(), (r"/test/latency(/reset)?", LatencyHandler, {"probe": probe})],
        unused_session_lifetime=2000, check_unused_sessions=1000,
    )
    server.start()
    task = None

    def start_probe() -> None:
        nonlocal task
        task = asyncio.get_running_loop().create_task(probe.run())

    server.io_loop.add_callback(start_probe)
    try:
        server.io_loop.start()
    finally:
        server.io_loop.run_sync(service.close, timeout=20)


if __name__ == "__main__":
    main()
