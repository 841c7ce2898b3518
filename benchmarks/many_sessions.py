"""Many signed-in users on one server: page latency and server memory per session (issue 19).

Starts ``<python> -m rhinoapp serve`` on a fresh data directory holding ``--users`` local accounts
(so the server asks for a login), each with ``--projects`` projects of their own, in its own process
group. Every user signs in through the real login form (``GET /login`` for the XSRF token and
cookie, ``POST /login`` with the token, user name and password; the signed login cookie comes
back with the redirect). With that cookie a *page load* is what a browser does (see
``benchmarks/load_sessions.py``): ``GET /`` (Bokeh runs the app factory for the signed-in user,
who sees their own projects), then Bokeh's websocket with the page's token: ``ACK``,
``PULL-DOC-REQ`` and the ``PULL-DOC-REPLY`` holding the whole document. Measured in this order:

- ``single`` (the reference): one signed-in user alone, loading page after page for a quarter of
  ``--seconds`` (``--think`` apart);
- ``held``: each user opens one session and keeps it connected (a live Panel session per user);
  the growth of the server's resident memory (the server and its child processes, from ``/proc``)
  divided by the sessions is the memory per session;
- ``concurrent``: with those sessions still connected, every user loads pages for ``--seconds``,
  ``--think`` seconds apart (people reading a page), the users' starts spread over one think time.

The report gives p50, p95 and max of the page loads of both phases, their ratio, the memory per
session, the server's memory at each point, the page loads and errors, and writes
``many_sessions.json`` and ``many_sessions.txt`` to ``--out`` (``benchmarks/results``).

Usage::

    .venv/bin/python benchmarks/many_sessions.py [--users 20] [--seconds 60] [--think 5] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_sessions import (  # noqa: E402  (the sibling benchmark's client and server helpers)
    latency_table,
    Client,
    Samples,
    cpu_seconds,
    free_port,
    ratio,
    rss_bytes,
    server,
    summary,
    wait_ready,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results"
_XSRF = re.compile(r'name="_xsrf" value="([^"]+)"')


def seed(data_dir: Path, users: int, projects: int) -> dict[str, str]:
    """``users`` local accounts (``user01``...) with ``projects`` projects each; returns their passwords."""
    from rhinoapp.config import Settings
    from rhinoapp.store import open_store
    from rhinoapp.store.accounts import AccountStore
    from rhinoapp.store.repository import ProjectRepository

    passwords = {f"user{i + 1:02d}": f"benchmark password {i + 1:02d}" for i in range(users)}
    store = open_store(Settings(data_dir=data_dir))
    try:
        accounts = AccountStore(store)
        for name, password in passwords.items():
            accounts.add(name, password, admin=name == "user01")
            repo = ProjectRepository(store, owner=name)
            for p in range(projects):
                repo.create(f"Case {p + 1} of {name}", "created by benchmarks/many_sessions.py")
    finally:
        store.close()
    from rhinoapp.jobs.demo import _MARKER

    (data_dir / _MARKER).touch()  # as after a first start: no demo project, no demo jobs during the measurement
    return passwords


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def sign_in(base: str, user: str, password: str, timeout_s: float) -> str:
    """Sign in through the login form (with its XSRF token); returns the ``Cookie`` header of the session."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())
    with opener.open(base + "login", timeout=timeout_s) as response:
        page = response.read().decode()
    match = _XSRF.search(page)
    if match is None:
        raise RuntimeError("the login page carries no XSRF token")
    body = urllib.parse.urlencode({"_xsrf": match.group(1), "username": user, "password": password}).encode()
    try:
        opener.open(base + "login", data=body, timeout=timeout_s).close()
        status = 200
    except urllib.error.HTTPError as error:
        status = error.code
    if status != 302:
        raise RuntimeError(f"signing in {user} answered {status}, not the redirect to the app")
    with opener.open(base, timeout=timeout_s) as response:  # signed in: the app itself, not a redirect to the login
        if response.status != 200 or '"token"' not in response.read().decode():
            raise RuntimeError(f"{user} does not get the app after signing in")
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


async def single(base: str, cookie: str, seconds: float, think_s: float, timeout_s: float, pid: int) -> dict[str, Any]:
    samples = Samples()
    client = Client(base, samples, timeout_s, headers={"Cookie": cookie})
    cpu, start = cpu_seconds(pid), time.perf_counter()
    try:
        await client.run_for(seconds, think_s)
    finally:
        client.close()
    result = summary(samples, time.perf_counter() - start, 1)
    result["server_cpu_ms_per_load"] = round(1e3 * (cpu_seconds(pid) - cpu) / max(1, result["page_loads"]), 1)
    return result


async def held_and_concurrent(base: str, cookies: dict[str, str], seconds: float, think_s: float, timeout_s: float,
                              pid: int) -> tuple[dict[str, Any], dict[str, Any], int]:
    """Open one kept session per user (memory per session), then load pages as all users at once."""
    kept, held_samples = [], Samples()
    holders = [Client(base, held_samples, timeout_s, headers={"Cookie": c}) for c in cookies.values()]
    before = rss_bytes(pid)
    try:
        for holder in holders:  # one after another: the growth is the sessions', not a burst's
            ws = await holder.load(keep=True)
            if ws is not None:
                kept.append(ws)
        await asyncio.sleep(0.5)  # let the server finish the sessions' follow-up callbacks
        after = rss_bytes(pid)
        memory = {"sessions": len(kept), "rss_before_mib": round(before / 2**20, 1),
                  "rss_after_mib": round(after / 2**20, 1),
                  "per_session_mib": round((after - before) / 2**20 / len(kept), 2) if kept else None,
                  "errors": len(held_samples.errors), "error_examples": sorted(set(held_samples.errors))[:5]}
        samples = Samples()
        users = [Client(base, samples, timeout_s, headers={"Cookie": c}) for c in cookies.values()]
        cpu, start = cpu_seconds(pid), time.perf_counter()
        try:
            await asyncio.gather(*(u.run_for(seconds, think_s, think_s * i / len(users)) for i, u in enumerate(users)))
        finally:
            for user in users:
                user.close()
        concurrent = summary(samples, time.perf_counter() - start, len(users))
        concurrent["server_cpu_ms_per_load"] = round(1e3 * (cpu_seconds(pid) - cpu) / max(1, concurrent["page_loads"]), 1)
        rss_end = rss_bytes(pid)
    finally:
        for ws in kept:
            ws.close()
        for holder in holders:
            holder.close()
    return memory, concurrent, rss_end


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="rhinoapp-many-") as tmp:
        data_dir = Path(tmp) / "data"
        passwords = seed(data_dir, args.users, args.projects)
        port = free_port()
        base = f"http://127.0.0.1:{port}/"
        log = Path(tmp) / "serve.log"
        with server(args.python, data_dir, port, log) as proc:
            wait_ready(base + "login", proc, log, args.timeout)
            cookies = {user: sign_in(base, user, password, args.timeout) for user, password in passwords.items()}
            rss_start = rss_bytes(proc.pid)
            first = next(iter(cookies.values()))
            asyncio.run(single(base, first, 0.0, 0.0, args.timeout, proc.pid))  # untimed: first-use imports
            reference = asyncio.run(single(base, first, max(2.0, args.seconds / 4), args.think, args.timeout,
                                           proc.pid))
            memory, concurrent, rss_end = asyncio.run(held_and_concurrent(
                base, cookies, args.seconds, args.think, args.timeout, proc.pid))
            alive = proc.poll() is None
            log_tail = log.read_text(errors="replace")[-2000:]
    return {
        "benchmark": "many_sessions", "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_1m_at_end": round(os.getloadavg()[0], 2),
                    "load_average_1m_at_start": args.load_at_start},
        "options": {"users": args.users, "seconds": args.seconds, "think_s": args.think, "projects": args.projects},
        "memory": {"rss_signed_in_mib": round(rss_start / 2**20, 1), "held_sessions": memory,
                   "rss_after_load_mib": round(rss_end / 2**20, 1)},
        "single": reference, "concurrent": concurrent,
        "ratio_concurrent_to_single": {q: ratio(concurrent["page_load"][q], reference["page_load"][q])
                                       for q in ("p50_ms", "p95_ms")},
        "errors": reference["errors"] + memory["errors"] + concurrent["errors"],
        "server_alive_at_end": alive, "server_log_tail": log_tail if not alive else "",
    }


def text(result: dict[str, Any]) -> str:
    o, m = result["options"], result["machine"]
    lines = [f"many_sessions: {o['users']} signed-in users (login form + XSRF, one kept Panel session each) for"
             f" {o['seconds']} s, {o['think_s']} s between a user's page loads ({m['cpus']} CPUs, load average"
             f" {m['load_average_1m_at_start']} before, {m['load_average_1m_at_end']} after; {result['when']})", ""]
    lines += latency_table(result)
    c, s, mem = result["concurrent"], result["single"], result["memory"]
    held = mem["held_sessions"]
    lines += ["",
              f"page load (GET / + the session's document over the websocket): p50 {c['page_load']['p50_ms']} ms,"
              f" p95 {c['page_load']['p95_ms']} ms with {o['users']} users; one user alone (reference, same run):"
              f" p50 {s['page_load']['p50_ms']} ms, p95 {s['page_load']['p95_ms']} ms"
              f" (x{result['ratio_concurrent_to_single']['p50_ms']}, x{result['ratio_concurrent_to_single']['p95_ms']})",
              f"page loads: {c['page_loads']} with {o['users']} users ({c['loads_per_s']}/s), {s['page_loads']} alone;"
              f" server CPU per load {c['server_cpu_ms_per_load']} ms ({s['server_cpu_ms_per_load']} ms alone)",
              f"server memory per session: {held['per_session_mib']} MiB ({held['sessions']} sessions held:"
              f" {held['rss_before_mib']} -> {held['rss_after_mib']} MiB); {mem['rss_signed_in_mib']} MiB after the"
              f" logins, {mem['rss_after_load_mib']} MiB after the load",
              f"errors: {result['errors']}" + (f" e.g. {c['error_examples'][:2]}" if c["errors"] else ""),
              f"server alive at the end: {result['server_alive_at_end']}"]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20, help="signed-in users, one kept session each (default 20)")
    parser.add_argument("--seconds", type=float, default=60.0, help="duration of the concurrent phase (default 60)")
    parser.add_argument("--think", type=float, default=5.0,
                        help="seconds each user waits between page loads (default 5: people reading the page)")
    parser.add_argument("--projects", type=int, default=3, help="projects of each user (default 3)")
    parser.add_argument("--quick", action="store_true", help="2 users for 4 s: checks that it works")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds for the server start and each request")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the JSON and text results")
    parser.add_argument("--python", default=sys.executable, help="interpreter with rhinoapp installed")
    args = parser.parse_args(argv)
    if args.quick:
        args.users, args.seconds, args.think = 2, 4.0, 0.5
    if args.users < 1 or args.seconds <= 0 or args.think < 0:
        parser.error("--users must be at least 1, --seconds above 0 and --think not negative")
    args.load_at_start = round(os.getloadavg()[0], 2)
    result = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "many_sessions.json").write_text(json.dumps(result, indent=2) + "\n")
    report = text(result)
    (args.out / "many_sessions.txt").write_text(report)
    sys.stdout.write(report)
    return 0 if result["server_alive_at_end"] and not result["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
