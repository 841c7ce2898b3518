"""A small Panel server with one trame pane per page, for the browser tests (and for trying it).

``python -m tests.render.trame_demo_server --port 5007`` serves ``/`` (``?triangles=N`` picks the
size of the synthetic airway; ``?missing=1`` starts with a scene whose file does not exist and a
button that gives the pane the airway) with the trame routes mounted as ``rhinoapp serve`` mounts them
(``--backend paraview``: the panes drawn by ParaView's ``pvpython``),
and ``/test/latency`` (the lateness of a 20 ms timer on Panel's event loop; ``/test/latency/reset``).
With ``--bench`` only (the benchmark's direct measurements), ``/test/upstream/<view>`` answers the
view's process port and key, which no browser ever gets otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

import panel as pn
from tornado.web import RequestHandler

from rhinoapp.config import RenderBackend
from rhinoapp.render.spec import Colouring, SceneSpec, Synthetic
from rhinoapp.render.trame_service import TrameService
from rhinoapp.views.trame_view import TrameView
from tests.render.latency import LatencyHandler, LatencyProbe


class UpstreamHandler(RequestHandler):
    """``/test/upstream/<view>``: the view's process port and key (``--bench`` only)."""

    def initialize(self, service: TrameService) -> None:
        self.service = service

    async def get(self, view_id: str) -> None:
        port = await self.service.upstream_port(view_id)
        self.finish({"port": port, "key": self.service.process_key(view_id)})


def page(service: TrameService) -> pn.viewable.Viewable:
    triangles = int(pn.state.session_args.get("triangles", [b"60000"])[0])
    spec = SceneSpec(synthetic=Synthetic(triangles), colouring=Colouring.PRESSURE, lod_triangles=30_000)
    if pn.state.session_args.get("missing"):  # ?missing=1: the first scene's file is gone (a job's removed live file)
        gone = SceneSpec(surface="/nonexistent/rhinoapp-live/surface-000000936.vtp", title="gone")
        view = TrameView(gone, service=service, height=480)
        show = pn.widgets.Button(name="Show the airway", css_classes=["rh-demo-show"])
        show.on_click(lambda _event: setattr(view, "scene", spec))
        return pn.Column(pn.pane.Markdown("## Trame pane test page"), show, view, sizing_mode="stretch_width")
    view = TrameView(spec, service=service, height=480)
    return pn.Column(pn.pane.Markdown("## Trame pane test page"), view, sizing_mode="stretch_width")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--idle-stop", type=float, default=2.0)
    parser.add_argument("--slurm-partition", help="render workers as Slurm jobs in this partition (the relay)")
    parser.add_argument("--spool", help="the render jobs' folder (with --slurm-partition)")
    parser.add_argument("--backend", choices=[b.value for b in RenderBackend], default="vtk",
                        help="what renders the panes: VTK (pip) or ParaView (pvpython)")
    parser.add_argument("--bench", action="store_true", help="serve /test/upstream/<view> (benchmarks only)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    service = TrameService(idle_stop_s=args.idle_stop, backend=RenderBackend(args.backend))
    if args.slurm_partition:
        from pathlib import Path

        from rhinoapp.config.render import RenderProfile
        from rhinoapp.render.trame_relay import SlurmRelay

        profile = RenderProfile(mode="slurm", partition=args.slurm_partition, walltime="00:10:00", memory="2G")  # type: ignore[arg-type]
        service.relay = SlurmRelay(service, profile, spool=Path(args.spool), relay_url=f"http://127.0.0.1:{args.port}")
    probe = LatencyProbe()
    test_routes = [(r"/test/latency(/reset)?", LatencyHandler, {"probe": probe})]
    if args.bench:
        test_routes.append((r"/test/upstream/(t[0-9a-f]{24})", UpstreamHandler, {"service": service}))
    server = pn.serve(
        {"/": lambda: page(service)}, address="127.0.0.1", port=args.port, show=False, start=False, threaded=False,
        print=False, websocket_origin=[f"127.0.0.1:{args.port}", f"localhost:{args.port}"],
        extra_patterns=[*service.routes(), *test_routes], unused_session_lifetime=2000, check_unused_sessions=1000,
        static_dirs={"assets": str(__import__("rhinoapp.views.assets", fromlist=["x"]).assets_dir())},
    )
    server.start()
    tasks: list[asyncio.Task[None]] = []  # held: the loop keeps only weak references to tasks
    server.io_loop.add_callback(lambda: tasks.append(asyncio.get_running_loop().create_task(probe.run())))
    try:
        server.io_loop.start()
    finally:
        server.io_loop.run_sync(service.close, timeout=15)


if __name__ == "__main__":
    main()
