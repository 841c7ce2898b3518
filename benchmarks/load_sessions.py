"""Concurrent sessions against the real server: page and websocket latency, memory per session.

Starts ``<python> -m rhinoapp serve`` on a fresh data directory seeded with the demo project
(its CT and 4PR recording, no jobs running) and ``--projects`` more, in its own process group.
Each client then loads the app as a browser does, over and over for ``--seconds``:

1. ``GET /``: Bokeh builds the session's document (the app factory runs) and answers the page,
   which carries the session's token (signed by the server when sessions are signed);
2. opens ``/ws`` with that token, waits for the server's ``ACK``, sends ``PULL-DOC-REQ`` and
   waits for the ``PULL-DOC-REPLY`` holding the whole document (what the browser renders);
3. closes the websocket (the server discards the session after its unused-session lifetime);
4. waits ``--think`` seconds (default 5: people reading the page; the clients start spread over one
   think time); ``--hammer`` (``--think 0``) loads back to back, so the server never idles.

The token comes from the page, as in a browser, so the benchmark needs no secret and works the
same whether the server signs its session ids or not.

One *page load* is steps 1 and 2. Measured in the same run, in this order:

- ``held``: ``--clients`` sessions opened one after another and kept connected; the growth of the
  server's memory (resident set of the server and its child processes) divided by their number
  is the memory per session;
- ``single``: one client alone for a quarter of ``--seconds`` (the reference);
- ``concurrent``: ``--clients`` clients at once for ``--seconds``.

The output gives p50, p95 and max of the page, websocket and page-load times of each phase, the
ratio concurrent / single, the server's CPU time per page load, the requests completed and the
errors, and writes
``load_sessions.json`` and ``load_sessions.txt`` to ``--out`` (``benchmarks/results``).

Usage::

    .venv/bin/python benchmarks/load_sessions.py [--clients 20] [--seconds 60] [--think 5] [--hammer] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results"
TARGET_P95_S = 1.0
#: The token Bokeh writes into the page for the websocket (a JWT; signed when sessions are signed).
_TOKEN = re.compile(r'"token"\s*:\s*"([A-Za-z0-9_\-.]+)"')


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(data_dir: Path, projects: int) -> None:
    """The demo project (CT volume and 4PR recording, no jobs) and ``projects`` empty ones."""
    from rhinoapp.config import Settings
    from rhinoapp.jobs.demo import create_demo_project
    from rhinoapp.store import open_store
    from rhinoapp.store.repository import ProjectRepository

    store = open_store(Settings(data_dir=data_dir))
    try:
        repo = ProjectRepository(store, owner="local")
        create_demo_project(repo)
        for i in range(projects):
            repo.create(f"Load case {i + 1}", "created by benchmarks/load_sessions.py")
    finally:
        store.close()


@contextlib.contextmanager
def server(python: str, data_dir: Path, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``rhinoapp serve`` in a new process group; the whole group is killed on the way out."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RHINOAPP_")}
    env["RHINOAPP_LOG_LEVEL"] = "WARNING"
    command = [python, "-m", "rhinoapp", "serve", "--data-dir", str(data_dir), "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                                cwd=ROOT)
        try:
            yield proc
        finally:
            for sig, wait_s in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=wait_s)
                    break
                except subprocess.TimeoutExpired:
                    continue


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    """Poll ``url`` until it answers 200; fail with the server's log if it exits or times out."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"rhinoapp serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"no HTTP 200 from {url} within {timeout_s:.0f} s:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants (psutil when installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        return _proc_rss(pid)
    try:
        parent = psutil.Process(pid)
        total = parent.memory_info().rss
        for child in parent.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        return int(total)
    except psutil.Error:
        return 0


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) the process ``pid`` has used so far (psutil when installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def _proc_rss(pid: int) -> int:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int(Path(f"/proc/{current}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return total


@dataclasses.dataclass
class Samples:
    """Seconds of each completed page load, and the errors seen."""

    page: list[float] = dataclasses.field(default_factory=list)
    ws: list[float] = dataclasses.field(default_factory=list)
    total: list[float] = dataclasses.field(default_factory=list)
    doc_bytes: list[int] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)


class Client:
    """One browser-like client: the page over HTTP, then the document over Bokeh's websocket."""

    def __init__(self, base: str, samples: Samples, timeout_s: float, headers: dict[str, str] | None = None) -> None:
        from bokeh.protocol import Protocol
        from tornado.httpclient import AsyncHTTPClient

        self.base = base
        self.headers = dict(headers or {})  # e.g. the Cookie of a signed-in user (benchmarks/many_sessions.py)
        self.samples = samples
        self.timeout_s = timeout_s
        self.protocol = Protocol()
        self.http = AsyncHTTPClient(force_instance=True)

    async def page(self) -> str:
        response = await self.http.fetch(self.base, headers=self.headers, request_timeout=self.timeout_s,
                                         raise_error=True)
        body = response.body.decode()
        match = _TOKEN.search(body)
        if match is None:
            raise ValueError("the page carries no session token")
        return match.group(1)

    async def _receive(self, ws: Any, receiver: Any) -> Any:
        while True:
            fragment = await asyncio.wait_for(ws.read_message(), self.timeout_s)
            if fragment is None:
                raise ConnectionError(f"the websocket closed ({ws.close_code} {ws.close_reason})")
            message = await receiver.consume(fragment)
            if message is not None:
                return message

    async def connect(self, token: str) -> tuple[Any, int]:
        """Open the websocket of the session in ``token`` and pull its document; returns the socket."""
        from bokeh.client.websocket import WebSocketClientConnectionWrapper
        from bokeh.protocol.receiver import Receiver
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        ws_url = self.base.replace("http://", "ws://") + "ws"
        request = HTTPRequest(ws_url, headers={**self.headers, "Origin": self.base.rstrip("/")},
                              request_timeout=self.timeout_s)
        ws = await websocket_connect(request, subprotocols=["bokeh", token], max_message_size=1 << 30)
        try:
            receiver = Receiver(self.protocol)
            ack = await self._receive(ws, receiver)
            if ack.msgtype != "ACK":
                raise ValueError(f"expected ACK, got {ack.msgtype}")
            await self.protocol.create("PULL-DOC-REQ").send(WebSocketClientConnectionWrapper(ws))
            reply = await self._receive(ws, receiver)
            if reply.msgtype != "PULL-DOC-REPLY":
                raise ValueError(f"expected PULL-DOC-REPLY, got {reply.msgtype}: {reply.content}")
            size = len(reply.content_json) + sum(len(b.data) for b in reply.buffers)
            return ws, size
        except BaseException:
            ws.close()
            raise

    async def load(self, *, keep: bool = False) -> Any:
        """One page load, recorded in ``samples``; returns the open socket when ``keep``."""
        start = time.perf_counter()
        try:
            token = await self.page()
            got_page = time.perf_counter()
            ws, size = await self.connect(token)
        except Exception as exc:  # recorded and counted: a benchmark reports errors, it does not stop on them
            self.samples.errors.append(f"{type(exc).__name__}: {exc}"[:300])
            return None
        done = time.perf_counter()
        self.samples.page.append(got_page - start)
        self.samples.ws.append(done - got_page)
        self.samples.total.append(done - start)
        self.samples.doc_bytes.append(size)
        if keep:
            return ws
        ws.close()
        return None

    async def run_for(self, seconds: float, think_s: float = 0.0, start_s: float = 0.0) -> None:
        """Load the page over and over for ``seconds``, ``think_s`` apart, the first load after ``start_s``."""
        deadline = time.perf_counter() + seconds
        await asyncio.sleep(start_s)  # users arrive spread out, not all in the same instant
        while time.perf_counter() < deadline:
            await self.load()
            if think_s:
                # a user reading the page before loading it again (no waiting past the end of the phase)
                await asyncio.sleep(min(think_s, max(0.0, deadline - time.perf_counter())))

    def close(self) -> None:
        self.http.close()


def quantiles(values: Sequence[float]) -> dict[str, float | int | None]:
    """Count, p50, p95 and max in milliseconds (None when there are no values)."""
    if not values:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "max_ms": None}
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"n": len(ordered), "p50_ms": round(1e3 * statistics.median(ordered), 1),
            "p95_ms": round(1e3 * pick(0.95), 1), "max_ms": round(1e3 * ordered[-1], 1)}


def summary(samples: Samples, seconds: float, clients: int) -> dict[str, Any]:
    return {"clients": clients, "seconds": round(seconds, 2), "page_loads": len(samples.total),
            "loads_per_s": round(len(samples.total) / seconds, 2) if seconds else None,
            "errors": len(samples.errors), "error_examples": sorted(set(samples.errors))[:5],
            "page": quantiles(samples.page), "websocket": quantiles(samples.ws), "page_load": quantiles(samples.total),
            "document_kib": round(statistics.median(samples.doc_bytes) / 1024, 1) if samples.doc_bytes else None}


async def phase(base: str, clients: int, seconds: float, timeout_s: float, pid: int,
                think_s: float = 0.0) -> dict[str, Any]:
    samples = Samples()
    runners = [Client(base, samples, timeout_s) for _ in range(clients)]
    cpu, start = cpu_seconds(pid), time.perf_counter()
    try:
        # With think time, client i starts i/clients of a think time late: the loads are spread evenly.
        await asyncio.gather(*(c.run_for(seconds, think_s, think_s * i / clients) for i, c in enumerate(runners)))
    finally:
        for c in runners:
            c.close()
    result = summary(samples, time.perf_counter() - start, clients)
    loads = result["page_loads"]
    result["server_cpu_ms_per_load"] = round(1e3 * (cpu_seconds(pid) - cpu) / loads, 1) if loads else None
    return result


async def held(base: str, sessions: int, pid: int, timeout_s: float) -> dict[str, Any]:
    """Open ``sessions`` sessions one by one, keep them connected, and measure the memory growth."""
    samples = Samples()
    client = Client(base, samples, timeout_s)
    before = rss_bytes(pid)
    sockets = []
    try:
        for _ in range(sessions):
            ws = await client.load(keep=True)
            if ws is not None:
                sockets.append(ws)
        await asyncio.sleep(0.5)  # let the server finish the sessions' follow-up callbacks
        after = rss_bytes(pid)
    finally:
        for ws in sockets:
            ws.close()
        client.close()
    opened = len(sockets)
    return {"sessions": opened, "rss_before_mib": round(before / 2**20, 1), "rss_after_mib": round(after / 2**20, 1),
            "per_session_mib": round((after - before) / 2**20 / opened, 2) if opened else None,
            "errors": len(samples.errors), "error_examples": sorted(set(samples.errors))[:5],
            "page_load": quantiles(samples.total)}


def ratio(a: float | int | None, b: float | int | None) -> float | None:
    return round(a / b, 2) if a and b else None


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="rhinoapp-load-") as tmp:
        data_dir = Path(tmp) / "data"
        seed(data_dir, args.projects)
        port = free_port()
        base = f"http://127.0.0.1:{port}/"
        log = Path(tmp) / "serve.log"
        with server(args.python, data_dir, port, log) as proc:
            wait_ready(base, proc, log, args.timeout)
            rss_start = rss_bytes(proc.pid)
            asyncio.run(phase(base, 1, 0.0, args.timeout, proc.pid))  # one untimed load: first-use imports and caches
            memory = asyncio.run(held(base, args.clients, proc.pid, args.timeout))
            single = asyncio.run(phase(base, 1, max(2.0, args.seconds / 4), args.timeout, proc.pid))
            rss_before = rss_bytes(proc.pid)
            concurrent = asyncio.run(phase(base, args.clients, args.seconds, args.timeout, proc.pid, args.think))
            rss_after = rss_bytes(proc.pid)
            alive = proc.poll() is None
            log_tail = log.read_text(errors="replace")[-2000:]
    p95 = concurrent["page_load"]["p95_ms"]
    return {
        "benchmark": "load_sessions", "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_1m": round(os.getloadavg()[0], 2)},
        "options": {"clients": args.clients, "seconds": args.seconds, "think_s": args.think, "projects": args.projects},
        "memory": {"rss_at_start_mib": round(rss_start / 2**20, 1), "rss_before_load_mib": round(rss_before / 2**20, 1),
                   "rss_after_load_mib": round(rss_after / 2**20, 1), "held_sessions": memory},
        "single": single, "concurrent": concurrent,
        "ratios_concurrent_to_single": {k: {q: ratio(concurrent[k][q], single[k][q]) for q in ("p50_ms", "p95_ms")}
                                        for k in ("page", "websocket", "page_load")},
        "target_p95_ms": 1e3 * TARGET_P95_S, "meets_target": p95 is not None and p95 < 1e3 * TARGET_P95_S,
        "errors": concurrent["errors"] + single["errors"] + memory["errors"],
        "server_alive_at_end": alive, "server_log_tail": log_tail if not alive else "",
    }


def latency_table(result: dict[str, Any]) -> list[str]:
    """The lines of the p50/p95/max table of the single and concurrent phases (shared with many_sessions)."""
    head = f"{'phase':<12}{'what':<11}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}"
    lines = [head, "-" * len(head)]
    for name in ("single", "concurrent"):
        for key, label in (("page", "page"), ("websocket", "websocket"), ("page_load", "page load")):
            q = result[name][key]
            lines.append(f"{name:<12}{label:<11}{q['n']:>6}{q['p50_ms'] or '-':>10}{q['p95_ms'] or '-':>10}"
                         f"{q['max_ms'] or '-':>10}")
    return lines


def text(result: dict[str, Any]) -> str:
    lines = [f"load_sessions: {result['options']['clients']} clients for {result['options']['seconds']} s,"
             f" {result['options']['think_s']} s between a client's loads"
             f" ({result['machine']['cpus']} CPUs, load average {result['machine']['load_average_1m']})", ""]
    lines += latency_table(result)
    c, s, m = result["concurrent"], result["single"], result["memory"]
    ratios = result["ratios_concurrent_to_single"]["page_load"]
    lines += ["",
              f"page loads: concurrent {c['page_loads']} ({c['loads_per_s']}/s), single {s['page_loads']}"
              f" ({s['loads_per_s']}/s); document {c['document_kib']} KiB",
              f"server CPU per page load: single {s['server_cpu_ms_per_load']} ms,"
              f" concurrent {c['server_cpu_ms_per_load']} ms",
              f"concurrent / single page load: p50 x{ratios['p50_ms']}, p95 x{ratios['p95_ms']}",
              f"errors: {result['errors']}" + (f" e.g. {c['error_examples'][:2]}" if c["errors"] else ""),
              f"server memory: {m['rss_at_start_mib']} MiB at start, {m['rss_before_load_mib']} before the load,"
              f" {m['rss_after_load_mib']} after it",
              f"memory per session: {m['held_sessions']['per_session_mib']} MiB"
              f" ({m['held_sessions']['sessions']} sessions held open)",
              f"p95 page load {c['page_load']['p95_ms']} ms (target < {result['target_p95_ms']:.0f} ms):"
              f" {'met' if result['meets_target'] else 'NOT met'}"]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (default 20)")
    parser.add_argument("--seconds", type=float, default=60.0, help="duration of the concurrent phase (default 60)")
    parser.add_argument("--think", type=float, default=5.0,
                        help="seconds each client waits between its page loads (default 5: people reading the page)")
    parser.add_argument("--hammer", action="store_true",
                        help="no think time (--think 0): loads back to back; writes load_sessions_hammer.*")
    parser.add_argument("--projects", type=int, default=10, help="projects besides the demo (default 10)")
    parser.add_argument("--quick", action="store_true", help="2 clients for 4 s: checks that it works")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds for the server start and each request")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the JSON and text results")
    parser.add_argument("--python", default=sys.executable, help="interpreter with rhinoapp installed")
    args = parser.parse_args(argv)
    if args.quick:
        args.clients, args.seconds, args.think = 2, 4.0, 0.0
    if args.hammer:
        args.think = 0.0
    stem = "load_sessions_hammer" if args.hammer else "load_sessions"
    if args.clients < 1 or args.seconds <= 0 or args.think < 0:
        parser.error("--clients must be at least 1, --seconds above 0 and --think not negative")
    result = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    report = text(result)
    (args.out / f"{stem}.txt").write_text(report)
    sys.stdout.write(report)
    return 0 if result["server_alive_at_end"] else 1


if __name__ == "__main__":
    sys.exit(main())
