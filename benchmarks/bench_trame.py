"""Frame time and bytes per frame of the trame panes, direct and through Panel's proxy.

Serves ``tests/render/trame_demo_server.py`` and drives it with Chromium (Playwright): for each
airway size it opens the pane through Panel's port (``/render/<view>/``, the proxy) and the same
trame application directly on its 127.0.0.1 port, drags across the view (interacting: frames
while the mouse moves) and releases it (still: the full-quality frame that follows). Frames are
the binary websocket messages the page receives.

Run: ``nice python benchmarks/bench_trame.py [--triangles 200000 1000000] [--out benchmarks/results/trame.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_app import free_port, wait_for_http  # noqa: E402
from tests.views.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402


def trame_port(server_pid: int) -> int:
    """The listening port of the (only) trame process of the server."""
    for child in psutil.Process(server_pid).children(recursive=True):
        if "rhinoapp.render.trame_app" in " ".join(child.cmdline()):
            ports = [c.laddr.port for c in child.net_connections("tcp") if c.status == psutil.CONN_LISTEN]
            if ports:
                return ports[0]
    raise RuntimeError("no trame process listening")


def measure(page, target, frames: list[tuple[float, int]], *, steps: int = 40) -> dict[str, float]:
    """Drag across ``target`` and return interacting and still frame times and sizes."""
    box = target.bounding_box()
    x, y = box["x"] + box["width"] / 2 - 150, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.wait_for_timeout(1000)  # Playwright delivers events only inside its own calls
    frames.clear()
    page.mouse.down()
    started = time.perf_counter()
    for step in range(1, steps + 1):
        page.mouse.move(x + 8 * step, y + 2 * step)
        page.wait_for_timeout(30)
    moving = list(frames)
    released = time.perf_counter()
    page.mouse.up()
    deadline = time.time() + 30
    while time.time() < deadline and not [f for f in frames if f[0] > released]:
        page.wait_for_timeout(20)
    page.wait_for_timeout(1500)  # the still frame follows the last interactive one
    after = [f for f in frames if f[0] > released]
    gaps = [b[0] - a[0] for a, b in zip(moving, moving[1:], strict=False)]
    return {
        "interacting_frames": len(moving),
        "interacting_fps": len(moving) / max(released - started, 1e-9),
        "interacting_frame_p50_ms": 1e3 * statistics.median(gaps) if gaps else float("nan"),
        "interacting_bytes_p50": statistics.median([f[1] for f in moving]) if moving else float("nan"),
        "still_ms": 1e3 * (after[-1][0] - released) if after else float("nan"),
        "still_bytes": after[-1][1] if after else float("nan"),
    }


def run(triangles: list[int]) -> dict[str, dict[str, float]]:
    from playwright.sync_api import sync_playwright

    port = free_port()
    log = open(os.devnull, "w")  # noqa: SIM115
    server = subprocess.Popen([sys.executable, "-m", "tests.render.trame_demo_server", "--port", str(port),
                               "--idle-stop", "60"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    results: dict[str, dict[str, float]] = {}
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", 120)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            for count in triangles:
                context = browser.new_context(viewport={"width": 1000, "height": 700})
                page = context.new_page()
                page.set_default_timeout(600_000)
                frames: list[tuple[float, int]] = []

                def watch(ws, frames=frames) -> None:
                    ws.on("framereceived", lambda payload: frames.append((time.perf_counter(), len(payload)))
                          if isinstance(payload, bytes) and len(payload) > 2000 else None)

                page.on("websocket", lambda ws, watch=watch: watch(ws) if "/ws" in ws.url and "render" in ws.url else None)
                page.goto(f"http://127.0.0.1:{port}/?triangles={count}")
                page.wait_for_selector(".rh-trame[data-state=loaded]")
                deadline = time.time() + 600
                while not frames and time.time() < deadline:
                    page.wait_for_timeout(100)
                results[f"{count}_proxy"] = measure(page, page.locator(".rh-trame"), frames)
                direct = context.new_page()
                direct_frames: list[tuple[float, int]] = []
                direct.on("websocket", lambda ws, sink=direct_frames: ws.on("framereceived", lambda payload: sink.append(
                    (time.perf_counter(), len(payload))) if isinstance(payload, bytes) and len(payload) > 2000 else None))
                direct.set_viewport_size({"width": 1000, "height": 480})
                direct.goto(f"http://127.0.0.1:{trame_port(server.pid)}/index.html")
                deadline = time.time() + 600
                while not direct_frames and time.time() < deadline:
                    direct.wait_for_timeout(100)
                results[f"{count}_direct"] = measure(direct, direct.locator("body"), direct_frames)
                context.close()
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--triangles", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "trame.json")
    args = parser.parse_args()
    results = run(args.triangles)
    for count in args.triangles:
        proxy, direct = results[f"{count}_proxy"], results[f"{count}_direct"]
        for mode, values in (("direct", direct), ("proxy", proxy)):
            print(f"{count:>9} {mode:6}  interacting p50 {values['interacting_frame_p50_ms']:7.1f} ms "
                  f"({values['interacting_fps']:5.1f} fps, {values['interacting_bytes_p50'] / 1024:7.1f} KiB/frame)  "
                  f"still {values['still_ms']:7.1f} ms ({values['still_bytes'] / 1024:7.1f} KiB)")
        ratio = {k: proxy[k] / direct[k] if direct[k] else float("nan") for k in
                 ("interacting_frame_p50_ms", "interacting_bytes_p50", "still_ms", "still_bytes")}
        results[f"{count}_ratio_proxy_over_direct"] = ratio
        print(f"{count:>9} ratio proxy/direct: " + ", ".join(f"{k} {v:.2f}" for k, v in ratio.items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
