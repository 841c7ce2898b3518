"""Server-side frame time of the 3D views: render plus encode, and bytes per frame, at 1024x768.

For synthetic airways of 100k, 200k and 1M triangles, two ways of drawing a frame, as the render
worker does them (:mod:`rhinoapp.render.worker`):

* ``still``: the full mesh at full size, JPEG quality 88;
* ``interacting``: the decimated mesh (level of detail, 40k triangles) at 0.75 of the size, JPEG
  quality 65 (the browser stretches it back); ``inter. WebP``: the same as WebP.

The camera turns 3 degrees before every frame. Each line gives the median (p50) and p90 over
``--frames`` frames (after two untimed ones) of: render and pixel read-back, encode, the sum, and
the bytes per frame. Reference, same run, same windows: a plain ``Render()`` of the full mesh
waited for until drawn, without reading pixels back or encoding (the floor of drawing the
scene at all).

Finally ``--round-trip`` times the whole path through a real render worker process: a rotate
command sent over its socket until the JPEG is back (200k triangles, interacting).

Usage::

    .venv/bin/python benchmarks/bench_render.py [--frames 15] [--sizes 100000 200000 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import statistics
import sys
import time

from rhinoapp.render.offscreen import check_offscreen

WIDTH, HEIGHT = 1024, 768


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_size(triangles: int, frames: int, lod: int) -> list[str]:
    from rhinoapp.render.frames import INTERACTING, STILL, ImageFormat, encode
    from rhinoapp.render.loaders import load_scene_data
    from rhinoapp.render.spec import Colouring, SceneSpec, Synthetic
    from rhinoapp.render.view import SceneView

    spec = SceneSpec(synthetic=Synthetic(triangles), colouring=Colouring.PRESSURE, lod_triangles=lod)
    started = time.perf_counter()
    view = SceneView(spec, load_scene_data(spec), width=WIDTH, height=HEIGHT)
    build_s = time.perf_counter() - started
    lines = [f"{view.triangles[0]:>10,} triangles (LOD {view.triangles[1]:,}; scene built in {build_s:.2f} s)"]
    webp = dataclasses.replace(INTERACTING, image_format=ImageFormat.WEBP)
    for name, quality in (("still", STILL), ("interacting", INTERACTING), ("inter. WebP", webp)):
        render_ms, encode_ms, sizes = [], [], []
        for i in range(frames + 2):
            view.rotate(3.0, 0.5)
            t0 = time.perf_counter()
            pixels = view.render(quality)
            t1 = time.perf_counter()
            data = encode(pixels, quality.image_format, quality.quality)
            t2 = time.perf_counter()
            if i >= 2:
                render_ms.append(1e3 * (t1 - t0))
                encode_ms.append(1e3 * (t2 - t1))
                sizes.append(len(data))
        total = [r + e for r, e in zip(render_ms, encode_ms, strict=True)]
        lines.append(f"  {name:<12} {pixels.shape[1]}x{pixels.shape[0]}  render {statistics.median(render_ms):6.1f} ms"
                     f"  encode {statistics.median(encode_ms):5.1f} ms  total p50 {statistics.median(total):6.1f} ms"
                     f" (p90 {percentile(total, 0.9):6.1f})  {statistics.median(sizes) / 1024:6.1f} KiB/frame")
    view.set_lod(False)
    plain = []
    view.render()  # full size again
    for i in range(frames + 2):
        view.rotate(3.0, 0.5)
        view.renderer.ResetCameraClippingRange()
        t0 = time.perf_counter()
        view.window.Render()
        view.window.WaitForCompletion()  # llvmpipe draws asynchronously: wait until it has finished
        if i >= 2:
            plain.append(1e3 * (time.perf_counter() - t0))
    lines.append(f"  {'reference':<12} {WIDTH}x{HEIGHT}  plain render of the full mesh (finished), no read-back or encode:"
                 f" p50 {statistics.median(plain):6.1f} ms")
    view.close()
    return lines


async def round_trip(frames: int) -> str:
    import json

    from tornado.httpserver import HTTPServer
    from tornado.netutil import bind_sockets
    from tornado.web import Application
    from tornado.websocket import websocket_connect

    from rhinoapp.render.bridge import RenderService
    from rhinoapp.render.spec import Colouring, SceneSpec, Synthetic

    service = RenderService()
    ticket = service.open_view("bench", SceneSpec(synthetic=Synthetic(200_000), colouring=Colouring.PRESSURE))
    sockets = bind_sockets(0, "127.0.0.1")
    server = HTTPServer(Application(service.routes()))
    server.add_sockets(sockets)
    host = f"127.0.0.1:{sockets[0].getsockname()[1]}"
    try:
        ws = await websocket_connect(f"ws://{host}/{ticket.path()}&width={WIDTH}&height={HEIGHT}")
        await ws.read_message()
        await ws.write_message(json.dumps({"op": "rotate", "phase": "start"}))
        times, sizes = [], []
        for i in range(frames + 2):
            t0 = time.perf_counter()
            await ws.write_message(json.dumps({"op": "rotate", "phase": "move", "dx": 0.01, "dy": 0.002}))
            message = await ws.read_message()
            if i >= 2 and isinstance(message, bytes):
                times.append(1e3 * (time.perf_counter() - t0))
                sizes.append(len(message))
        ws.close()
    finally:
        server.stop()
        await service.close()
    return (f"round trip through a render worker (200k triangles, interacting, nice 10): p50 "
            f"{statistics.median(times):.1f} ms (p90 {percentile(times, 0.9):.1f}), {statistics.median(sizes) / 1024:.1f} KiB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=15)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 200_000, 1_000_000])
    parser.add_argument("--lod", type=int, default=40_000, help="triangles of the level-of-detail mesh")
    parser.add_argument("--no-round-trip", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    check = check_offscreen()
    os.environ["VTK_DEFAULT_OPENGL_WINDOW"] = check.backend.window_class
    out = sys.stdout.write
    out(f"3D view frames at {WIDTH}x{HEIGHT}, {check.backend.value.upper()} on {check.renderer}, "
        f"{os.cpu_count()} CPUs, {args.frames} frames each\n")
    results = {}
    for triangles in args.sizes:
        lines = bench_size(triangles, args.frames, args.lod)
        results[triangles] = lines
        out("\n".join(lines) + "\n")
    if not args.no_round_trip:
        out(asyncio.run(round_trip(args.frames)) + "\n")
    if 200_000 in results:
        interacting = next(line for line in results[200_000] if " interacting " in line)
        p50 = float(interacting.split("total p50")[1].split("ms")[0])
        out(f"200k-triangle airway while interacting: p50 {p50:.1f} ms per frame (goal <= 100 ms on CPU)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
