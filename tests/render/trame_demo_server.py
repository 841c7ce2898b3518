"""A small Panel server with one trame pane per page, for the browser tests (and for trying it).

``python -m tests.render.trame_demo_server --port 5007`` serves ``/`` (``?triangles=N`` picks the
size of the synthetic airway) with the trame routes mounted as ``rhinoapp serve`` mounts them.
"""

from __future__ import annotations

import argparse
import logging

import panel as pn

from rhinoapp.render.spec import Colouring, SceneSpec, Synthetic
from rhinoapp.render.trame_service import TrameService
from rhinoapp.views.trame_view import TrameView


def page(service: TrameService) -> pn.viewable.Viewable:
    triangles = int(pn.state.session_args.get("triangles", [b"60000"])[0])
    spec = SceneSpec(synthetic=Synthetic(triangles), colouring=Colouring.PRESSURE, lod_triangles=30_000)
    view = TrameView(spec, service=service, height=480)
    return pn.Column(pn.pane.Markdown("## Trame pane test page"), view, sizing_mode="stretch_width")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--idle-stop", type=float, default=2.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    service = TrameService(idle_stop_s=args.idle_stop)
    server = pn.serve(
        {"/": lambda: page(service)}, address="127.0.0.1", port=args.port, show=False, start=False, threaded=False,
        print=False, websocket_origin=[f"127.0.0.1:{args.port}", f"localhost:{args.port}"],
        extra_patterns=service.routes(), unused_session_lifetime=2000, check_unused_sessions=1000,
        static_dirs={"assets": str(__import__("rhinoapp.views.assets", fromlist=["x"]).assets_dir())},
    )
    server.start()
    try:
        server.io_loop.start()
    finally:
        server.io_loop.run_sync(service.close, timeout=15)


if __name__ == "__main__":
    main()
