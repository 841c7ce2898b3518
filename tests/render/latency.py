"""The lateness of a periodic timer on a server's event loop (how long the loop was busy), and a
test-only route that reports it: ``/test/latency`` (``/test/latency/reset`` starts afresh)."""

from __future__ import annotations

import asyncio
import collections
import time

from tornado.web import RequestHandler

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
