"""Frame time and bytes per frame of the trame panes, direct and through Panel's proxy, and Panel's event loop.

Serves ``tests/render/trame_demo_server.py --bench`` and drives it with Debian's chromium (Playwright).
For each airway size:

* ``proxy``: the page's pane, through Panel's port (``/render/<view>/``); the mouse drags across the
  view (interacting: the frames that arrive while it moves) and lets go (still: the full-quality
  frame that follows). Frames are the binary websocket messages the pane receives.
* ``direct``: the same trame application on its own 127.0.0.1 port (the benchmark adds the process
  key the proxy would add), dragged the same way.
* ``hop``: ``GET index.html`` 200 times through the proxy and directly: the proxy hop is the
  difference of the medians.

``server``: the trame process's own cost per frame, without the browser, the proxy or the other
programs on the machine in the way: the demo scene built with PyVista, turned 2 degrees per frame,
rendered and JPEG-encoded as the remote view does (interacting: the decimated mesh at half size,
quality 50; still: the full mesh at full size, quality 94), one process, 30 frames each.

Last, Panel's event loop: the lateness of a 20 ms timer on Panel's loop (p50, p95, max) while one
session drags the 1,000,000-triangle pane for ``--seconds`` and a small route on Panel's loop is polled every 100 ms, against an
idle round of the same length.

``--backend paraview``: the panes drawn by ParaView's ``pvpython`` (the ``render_backend`` setting);
the proxy, direct and hop rows only (the ``server`` rows and the event loop measure the VTK process).

Run: ``nice -n 10 python benchmarks/bench_trame.py [--triangles 200000 1000000] [--backend vtk|paraview]
[--out benchmarks/results/trame.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rhinoapp.render.trame_service import KEY_COOKIE, PROCESS_KEY_HEADER  # noqa: E402
from tests.test_app import free_port, wait_for_http  # noqa: E402
from tests.views.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

GOALS = {"interacting_p50_ms_200k": 100.0, "proxy_hop_p50_ms": 5.0, "event_loop_p95_ms": 50.0}


def quantile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def get(url: str, headers: dict[str, str] | None = None) -> bytes:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=120) as response:
        return bytes(response.read())


class Frames:
    """Binary websocket messages (time, bytes) a page receives on its pane's socket."""

    def __init__(self, page: Any) -> None:
        self.items: list[tuple[float, int]] = []
        page.on("websocket", lambda ws: ws.on("framereceived", self._received) if ws.url.endswith("/ws") else None)

    def _received(self, payload: str | bytes) -> None:
        if isinstance(payload, bytes) and len(payload) > 2000:  # an image, not a state message
            self.items.append((time.perf_counter(), len(payload)))

    def wait_first(self, page: Any, ceiling_s: float = 900.0) -> None:
        deadline = time.monotonic() + ceiling_s
        while not self.items:
            if time.monotonic() > deadline:
                raise RuntimeError("no frame arrived")
            page.wait_for_timeout(100)


def drag(page: Any, box: dict[str, float], *, steps: int, pause_ms: int = 30) -> None:
    x, y = box["x"] + box["width"] / 2 - 150, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, steps + 1):
        page.mouse.move(x + 300 * ((step % 40) / 40), y + 2 * (step % 40))
        page.wait_for_timeout(pause_ms)
    page.mouse.up()


def measure(page: Any, box: dict[str, float], frames: Frames, *, steps: int = 60) -> dict[str, float]:
    """Drag across ``box``: interacting frame gaps and sizes, then the still frame's delay and size."""
    page.wait_for_timeout(1500)  # the first still frame has arrived
    frames.items.clear()
    started = time.perf_counter()
    drag(page, box, steps=steps)
    released = time.perf_counter()
    moving = [f for f in frames.items if f[0] <= released]
    deadline = time.monotonic() + 60
    while not [f for f in frames.items if f[0] > released] and time.monotonic() < deadline:
        page.wait_for_timeout(20)
    page.wait_for_timeout(2000)  # the still frame follows the last interactive one
    after = [f for f in frames.items if f[0] > released]
    gaps = [1e3 * (b[0] - a[0]) for a, b in zip(moving, moving[1:], strict=False)]
    return {
        "interacting_frames": len(moving),
        "interacting_fps": len(moving) / max(released - started, 1e-9),
        "interacting_frame_p50_ms": statistics.median(gaps) if gaps else float("nan"),
        "interacting_frame_p95_ms": quantile(gaps, 0.95),
        "interacting_bytes_p50": statistics.median([f[1] for f in moving]) if moving else float("nan"),
        "still_ms": 1e3 * (after[-1][0] - released) if after else float("nan"),
        "still_bytes": after[-1][1] if after else float("nan"),
    }


def hop(url: str, view_id: str, key: str, port: int, process_key: str, *, count: int = 200) -> dict[str, float]:
    """Median ``GET index.html`` through the proxy and directly, and their difference (the proxy hop)."""
    times: dict[str, list[float]] = {"proxy": [], "direct": []}
    targets = {"proxy": (f"{url}render/{view_id}/index.html", {"Cookie": f"{KEY_COOKIE}={key}"}),
               "direct": (f"http://127.0.0.1:{port}/index.html", {PROCESS_KEY_HEADER: process_key})}
    for _ in range(count):
        for name, (target, headers) in targets.items():
            started = time.perf_counter()
            get(target, headers)
            times[name].append(1e3 * (time.perf_counter() - started))
    proxy, direct = statistics.median(times["proxy"]), statistics.median(times["direct"])
    return {"proxy_get_p50_ms": proxy, "direct_get_p50_ms": direct, "hop_p50_ms": proxy - direct,
            "proxy_get_p95_ms": quantile(times["proxy"], 0.95), "direct_get_p95_ms": quantile(times["direct"], 0.95)}


def event_loop(url: str, page: Any, box: dict[str, float], frames: Frames, seconds: float, *, rotating: bool
               ) -> dict[str, Any]:
    """Panel's loop lateness (and ``/health``) while ``page``'s pane is dragged for ``seconds`` (or left idle)."""
    health: list[float] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            get(url + "test/latency")  # a round trip through Panel's loop
            health.append(1e3 * (time.perf_counter() - started))
            stop.wait(0.1)

    get(url + "test/latency/reset")
    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    frames.items.clear()
    started = time.perf_counter()
    if rotating:
        while time.perf_counter() - started < seconds:
            drag(page, box, steps=40)
    else:
        page.wait_for_timeout(1000 * seconds)
    stop.set()
    poller.join(60)
    latency = json.loads(get(url + "test/latency"))
    return {"loop": latency, "health_p50_ms": statistics.median(health) if health else float("nan"),
            "health_p95_ms": quantile(health, 0.95), "frames": len(frames.items),
            "seconds": time.perf_counter() - started}


def server_frames(count: int, *, frames: int = 30, width: int = 1000, height: int = 480) -> dict[str, float]:
    """Render and encode times of the trame process's scene, interacting and still (see the module's notes)."""
    from rhinoapp.render.frames import ImageFormat, encode
    from rhinoapp.render.loaders import load_scene_data
    from rhinoapp.render.pv_scenes import build_scene
    from rhinoapp.render.spec import Colouring, SceneSpec, Synthetic

    spec = SceneSpec(synthetic=Synthetic(count), colouring=Colouring.PRESSURE, lod_triangles=30_000)
    scene = build_scene(spec, load_scene_data(spec), width=width, height=height)
    found: dict[str, float] = {"triangles": scene.triangles[0], "lod_triangles": scene.triangles[1]}
    try:
        for mode, lod, ratio, quality in (("interacting", True, 0.5, 50), ("still", False, 1.0, 94)):
            scene.set_lod(lod)
            scene.plotter.window_size = [int(width * ratio), int(height * ratio)]
            times, sizes = [], []
            for _ in range(frames):
                scene.plotter.camera.Azimuth(2.0)
                started = time.perf_counter()
                scene.plotter.render()
                pixels = scene.plotter.screenshot(return_img=True)
                sizes.append(len(encode(pixels[..., :3], ImageFormat.JPEG, quality)))
                times.append(1e3 * (time.perf_counter() - started))
            found[f"{mode}_p50_ms"] = statistics.median(times)
            found[f"{mode}_p95_ms"] = quantile(times, 0.95)
            found[f"{mode}_bytes_p50"] = statistics.median(sizes)
    finally:
        scene.plotter.close()
    return found


def run(triangles: list[int], seconds: float, backend: str = "vtk") -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    server = subprocess.Popen([sys.executable, "-m", "tests.render.trame_demo_server", "--port", str(port),
                               "--idle-stop", "120", "--bench", "--backend", backend], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    from rhinoapp.render.offscreen import check_offscreen, offscreen_environment

    check = check_offscreen()  # render here as the trame processes do (their offscreen backend)
    os.environ.update(offscreen_environment(check.backend))
    results: dict[str, Any] = {"triangles": triangles, "seconds": seconds,
                               "load_average": os.getloadavg(), "cpus": os.cpu_count(),
                               "backend": check.backend.name, "render_backend": backend}
    for count in triangles if backend == "vtk" else []:
        results[f"{count}_server"] = server_frames(count)
    try:
        wait_for_http(url, 120)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            for count in triangles:
                context = browser.new_context(viewport={"width": 1000, "height": 700})
                page = context.new_page()
                page.set_default_timeout(900_000)
                frames = Frames(page)
                loaded = time.perf_counter()
                page.goto(f"{url}?triangles={count}")
                page.wait_for_selector(".rh-trame[data-state=loaded]")
                frames.wait_first(page)
                results[f"{count}_first_frame_s"] = time.perf_counter() - loaded
                box = page.locator(".rh-trame").bounding_box()
                results[f"{count}_proxy"] = measure(page, box, frames)
                view_id = urlparse(page.locator("iframe.rh-trame-frame").get_attribute("src")).path.split("/")[2]
                key = next(c["value"] for c in context.cookies() if c["name"] == KEY_COOKIE)
                upstream = json.loads(get(f"{url}test/upstream/{view_id}"))
                direct_context = browser.new_context(viewport={"width": 1000, "height": 480},
                                                     extra_http_headers={PROCESS_KEY_HEADER: upstream["key"]})
                direct = direct_context.new_page()
                direct.set_default_timeout(900_000)
                direct_frames = Frames(direct)
                direct.goto(f"http://127.0.0.1:{upstream['port']}/index.html")
                direct_frames.wait_first(direct)
                results[f"{count}_direct"] = measure(direct, {"x": 0, "y": 0, "width": 1000, "height": 480},
                                                     direct_frames)
                direct_context.close()
                results[f"{count}_hop"] = hop(url, view_id, key, upstream["port"], upstream["key"])
                if count == max(triangles) and backend == "vtk":
                    results["event_loop_idle"] = event_loop(url, page, box, frames, seconds, rotating=False)
                    results["event_loop_rotating"] = event_loop(url, page, box, frames, seconds, rotating=True)
                context.close()
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    return results


def report(results: dict[str, Any]) -> list[str]:
    lines = []
    for count in results["triangles"]:
        for mode in ("direct", "proxy"):
            v = results[f"{count}_{mode}"]
            lines.append(f"{count:>9} {mode:6} {results.get('render_backend', 'vtk'):8} interacting p50 "
                         f"{v['interacting_frame_p50_ms']:7.1f} ms, p95 "
                         f"{v['interacting_frame_p95_ms']:7.1f} ms ({v['interacting_fps']:5.1f} fps, "
                         f"{v['interacting_bytes_p50'] / 1024:6.1f} KiB/frame); still {v['still_ms']:7.1f} ms "
                         f"({v['still_bytes'] / 1024:6.1f} KiB)")
        v = results.get(f"{count}_server")
        if v is not None:  # the VTK backend's process alone (no server rows for ParaView)
            lines.append(f"{count:>9} server interacting (render+encode, {v['lod_triangles']:.0f} triangles) p50 "
                         f"{v['interacting_p50_ms']:.1f} ms, p95 {v['interacting_p95_ms']:.1f} ms "
                         f"({v['interacting_bytes_p50'] / 1024:.1f} KiB); still p50 {v['still_p50_ms']:.1f} ms, p95 "
                         f"{v['still_p95_ms']:.1f} ms ({v['still_bytes_p50'] / 1024:.1f} KiB)")
        h = results[f"{count}_hop"]
        lines.append(f"{count:>9} proxy hop (GET index.html) p50 {h['hop_p50_ms']:.2f} ms "
                     f"(proxy {h['proxy_get_p50_ms']:.2f}, direct {h['direct_get_p50_ms']:.2f})")
    for label in ("idle", "rotating"):
        found = results.get(f"event_loop_{label}")
        if found:
            loop = found["loop"]
            lines.append(f"event loop, {label:8}: lateness p50 {loop.get('p50_ms', 0):.1f} ms, p95 "
                         f"{loop.get('p95_ms', 0):.1f} ms, max {loop.get('max_ms', 0):.1f} ms; round trip p95 "
                         f"{found['health_p95_ms']:.1f} ms; {found['frames']} frames")
    small = results.get("200000_proxy", {}).get("interacting_frame_p50_ms", float("nan"))
    small_server = results.get("200000_server", {}).get("interacting_p50_ms", float("nan"))
    hops = [results[f"{c}_hop"]["hop_p50_ms"] for c in results["triangles"]]
    loop_p95 = results.get("event_loop_rotating", {}).get("loop", {}).get("p95_ms", float("nan"))
    lines.append(f"load average {results['load_average'][0]:.1f} on {results['cpus']} CPUs")
    lines.append(f"goals: 200k interacting p50 {small:.1f} ms in the browser, {small_server:.1f} ms in the trame "
                 f"process (<= {GOALS['interacting_p50_ms_200k']:.0f}); proxy hop "
                 f"p50 {max(hops):.2f} ms (<= {GOALS['proxy_hop_p50_ms']:.0f}); event loop p95 {loop_p95:.1f} ms "
                 f"(<= {GOALS['event_loop_p95_ms']:.0f})")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--triangles", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--seconds", type=float, default=12.0, help="how long the big pane is dragged")
    parser.add_argument("--backend", choices=["vtk", "paraview"], default="vtk", help="what renders the panes")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "trame.json")
    args = parser.parse_args()
    results = run(args.triangles, args.seconds, args.backend)
    lines = report(results)
    results["summary"] = lines
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
