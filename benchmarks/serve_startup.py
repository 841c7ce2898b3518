"""How long ``rhinoapp serve`` takes from process start until ``GET /`` answers HTTP 200.

Each run starts ``<python> -m rhinoapp serve --data-dir <fresh temp dir> --port <free port>``
in its own process group, polls ``http://127.0.0.1:<port>/`` every 50 ms and stops the server
(the whole group) as soon as the page answered, or on any error. As references, measured in the
same run on the same machine, interleaved with the server runs: ``python -c "import panel"``
(the import floor no Panel app can go below) and ``python -c pass`` (the interpreter start).

Usage::

    .venv/bin/python benchmarks/serve_startup.py [--repeats 3] [--timeout 60]
"""

from __future__ import annotations

import argparse
import contextlib
import os
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

POLL_S = 0.05
TARGET_S = 5.0


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def process_group(command: Sequence[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``command`` in a new session; kill its whole process group on the way out."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RHINOAPP_")}
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            yield proc
        finally:
            for sig, wait_s in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=wait_s)
                    break
                except subprocess.TimeoutExpired:
                    continue


def answers_200(url: str) -> bool:
    """True when ``GET url`` answers HTTP 200."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            response.read()
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def time_serve(python: str, timeout_s: float) -> float:
    """Seconds from starting ``rhinoapp serve`` until ``GET /`` answers 200."""
    with tempfile.TemporaryDirectory(prefix="rhinoapp-bench-") as tmp:
        port = free_port()
        command = [python, "-m", "rhinoapp", "serve", "--data-dir", str(Path(tmp) / "data"), "--port", str(port)]
        url = f"http://127.0.0.1:{port}/"
        log = Path(tmp) / "serve.log"
        start = time.perf_counter()
        with process_group(command, log) as proc:
            while True:
                if answers_200(url):
                    return time.perf_counter() - start
                if proc.poll() is not None:
                    raise RuntimeError(f"rhinoapp serve exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
                if time.perf_counter() - start > timeout_s:
                    raise TimeoutError(f"no HTTP 200 from {url} within {timeout_s:.1f} s:\n{log.read_text()[-2000:]}")
                time.sleep(POLL_S)


def time_command(command: Sequence[str]) -> float:
    """Wall-clock seconds of a command run to completion (it must succeed)."""
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each measurement (default 3)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for one server (default 60)")
    parser.add_argument("--python", default=sys.executable, help="interpreter with rhinoapp installed")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    time_command([args.python, "-c", "import panel, rhinoapp"])  # warm the OS file cache once, untimed
    serve: list[float] = []
    panel: list[float] = []
    bare: list[float] = []
    for _ in range(args.repeats):  # interleaved, so drifting machine load affects all alike
        serve.append(time_serve(args.python, args.timeout))
        panel.append(time_command([args.python, "-c", "import panel"]))
        bare.append(time_command([args.python, "-c", "pass"]))

    rows = [
        ("rhinoapp serve -> GET / 200", serve),
        ('python -c "import panel"', panel),
        ("python -c pass", bare),
    ]
    print(f"serve startup, {args.repeats} run(s) each, median seconds (python {sys.version.split()[0]})")
    print(f"{'measurement':<30} {'median s':>9} {'min s':>7} {'max s':>7}")
    for label, times in rows:
        print(f"{label:<30} {statistics.median(times):>9.2f} {min(times):>7.2f} {max(times):>7.2f}")
    ratio = statistics.median(serve) / statistics.median(panel)
    print(f"ratio serve / import panel: {ratio:.2f}")
    print(f"make run serves the page in {statistics.median(serve):.2f} s after install (target: < {TARGET_S:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
