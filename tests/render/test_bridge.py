"""The render routes on a real tornado server with real worker processes (no browser)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application
from tornado.websocket import websocket_connect

from rhinoapp.render.bridge import RenderService
from rhinoapp.render.handlers import validate_interaction
from rhinoapp.render.spec import SceneSpec, Synthetic
from tests.render.conftest import png_pixels
from tests.waiting import HANG_S

SPEC = SceneSpec(synthetic=Synthetic(8_000), lod_triangles=2_000)


@contextlib.asynccontextmanager
async def serving(service: RenderService) -> AsyncIterator[str]:
    sockets = bind_sockets(0, "127.0.0.1")
    server = HTTPServer(Application(service.routes()))
    server.add_sockets(sockets)
    try:
        yield f"127.0.0.1:{sockets[0].getsockname()[1]}"
    finally:
        server.stop()
        await service.close()


async def next_message(ws: Any, timeout: float = 60.0) -> tuple[dict[str, Any], bytes]:
    """The next message: a frame (header, image) or a status (header, b"")."""
    message = await asyncio.wait_for(ws.read_message(), timeout)
    if message is None:
        return {"kind": "closed", "code": ws.close_code}, b""
    if isinstance(message, str):
        return json.loads(message), b""
    size = int.from_bytes(message[:4], "big")
    return json.loads(message[4:4 + size]), message[4 + size:]


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, HANG_S))  # only catches a hang


async def gone(pid: int) -> None:
    """Wait until process ``pid`` has exited; the ceiling only catches a worker that never stops."""
    deadline = time.monotonic() + HANG_S / 3  # below run()'s bound on the whole scenario
    while psutil.pid_exists(pid):
        assert time.monotonic() < deadline, f"render worker {pid} did not stop"
        await asyncio.sleep(0.05)


@pytest.mark.slow
def test_routes_refuse_requests_without_the_sessions_key(offscreen) -> None:
    async def scenario() -> None:
        service = RenderService(offscreen=offscreen)
        mine = service.open_view("session-a", SPEC)
        theirs = service.open_view("session-b", SPEC)
        async with serving(service) as host:
            client = AsyncHTTPClient()
            view = f"render/{mine.view_id}"
            for path in (f"{view}/ws", f"{view}/ws?key=wrong", f"{view}/ws?key={theirs.key}",
                         f"render/unknown-view/ws?key={mine.key}"):
                with pytest.raises(HTTPClientError) as refused:
                    await websocket_connect(f"ws://{host}/{path}")
                assert refused.value.code == 403, path
            for path in (f"{view}/screenshot.png", f"{view}/screenshot.png?key={theirs.key}"):
                with pytest.raises(HTTPClientError) as refused:
                    await client.fetch(f"http://{host}/{path}")
                assert refused.value.code == 403, path
            health = await client.fetch(f"http://{host}/health")
            assert json.loads(health.body) == {"status": "ok", "render_workers": 0}
            assert service.worker_pids == []  # refused requests start nothing

    run(scenario())


def test_a_page_gets_frames_interaction_and_a_screenshot(offscreen) -> None:
    async def scenario() -> None:
        service = RenderService(offscreen=offscreen)
        ticket = service.open_view("session-a", SPEC)
        async with serving(service) as host:
            ws = await websocket_connect(f"ws://{host}/{ticket.path()}&width=400&height=300")
            first, image = await next_message(ws)
            assert (first["kind"], first["width"], first["lod"]) == ("frame", 400, False) and image[:2] == b"\xff\xd8"
            await ws.write_message(json.dumps({"op": "camera", "preset": "below"}))
            below, below_image = await next_message(ws)
            assert below["seq"] > first["seq"] and below_image != image
            await ws.write_message(json.dumps({"op": "open", "spec": {"surface": "/etc/passwd"}}))
            refused, _ = await next_message(ws)
            assert refused["kind"] == "error" and "unknown command 'open'" in refused["message"]
            png = (await AsyncHTTPClient().fetch(f"http://{host}/{ticket.path('screenshot.png')}")).body
            assert png_pixels(png).shape == (300, 400, 3)
            assert len(service.worker_pids) == 1
            ws.close()

    run(scenario())


@pytest.mark.slow
def test_worker_stops_when_idle_and_when_the_session_ends(offscreen) -> None:
    async def scenario() -> None:
        service = RenderService(idle_stop_s=0.5, offscreen=offscreen)
        first = service.open_view("session-a", SPEC)
        second = service.open_view("session-b", SPEC)
        async with serving(service) as host:
            ws = await websocket_connect(f"ws://{host}/{first.path()}")
            await next_message(ws)
            [pid] = service.worker_pids
            ws.close()
            await gone(pid)  # after the idle time
            assert service.worker_pids == []
            ws = await websocket_connect(f"ws://{host}/{second.path()}")
            await next_message(ws)
            [pid] = service.worker_pids
            service.end_session("session-b")
            assert (await next_message(ws))[0] == {"kind": "closed", "code": 1001}
            await gone(pid)

    run(scenario())


def test_a_killed_worker_is_reported_and_not_restarted_for_that_session(offscreen) -> None:
    async def scenario() -> None:
        service = RenderService(offscreen=offscreen)
        ticket = service.open_view("session-a", SPEC)
        async with serving(service) as host:
            ws = await websocket_connect(f"ws://{host}/{ticket.path()}")
            await next_message(ws)
            [pid] = service.worker_pids
            os.kill(pid, signal.SIGKILL)
            failed, _ = await next_message(ws)
            assert failed["kind"] == "failed" and "SIGKILL" in failed["message"] and "Reload the page" in failed["message"]
            assert (await next_message(ws))[0]["code"] == 1011
            again = await websocket_connect(f"ws://{host}/{ticket.path()}")
            assert (await next_message(again))[0]["kind"] == "failed"
            assert service.worker_pids == []
            assert not [c for c in psutil.Process().children() if c.status() == psutil.STATUS_ZOMBIE]

    run(scenario())


@pytest.mark.slow
def test_workers_exit_when_the_server_process_dies(offscreen, tmp_path) -> None:
    """SIGKILL of the server closes the workers' sockets: the workers leave (no orphans)."""
    script = textwrap.dedent("""
        import asyncio, sys
        from tornado.websocket import websocket_connect
        from rhinoapp.render.bridge import RenderService
        from rhinoapp.render.spec import SceneSpec, Synthetic
        from tests.render.test_bridge import serving, next_message

        async def main():
            service = RenderService()  # checks offscreen rendering itself
            ticket = service.open_view("s", SceneSpec(synthetic=Synthetic(2000)))
            async with serving(service) as host:
                ws = await websocket_connect(f"ws://{host}/{ticket.path()}")
                await next_message(ws)
                print(service.worker_pids[0], flush=True)
                await asyncio.sleep(600)

        asyncio.run(main())
    """)
    server = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                              cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    try:
        worker_pid = int(server.stdout.readline())  # type: ignore[union-attr]
        assert psutil.pid_exists(worker_pid)
    finally:
        server.kill()
        server.wait(10)
    deadline = time.monotonic() + HANG_S
    while psutil.pid_exists(worker_pid) and psutil.Process(worker_pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the render worker outlived its server"
        time.sleep(0.05)


def test_page_commands_are_checked() -> None:
    assert validate_interaction({"op": "zoom", "factor": 100})["factor"] == 5
    assert validate_interaction({"op": "clip", "clip": {"axis": "y", "position": 0.2}})["clip"] == \
        {"axis": "y", "position": 0.2, "flip": False}
    assert validate_interaction({"op": "clip", "clip": None})["clip"] is None
    for bad in ({"op": "camera", "preset": "top"}, {"op": "rotate", "dx": float("nan")},
                {"op": "clip", "clip": {"axis": "w"}}, {"op": "screenshot"}):
        with pytest.raises(ValueError):
            validate_interaction(bad)


@pytest.mark.slow
def test_panel_serve_plugin_mounts_the_routes(tmp_path) -> None:
    """``panel serve rhinoapp/app.py --plugins rhinoapp.render.plugin``: the render routes on Panel's port."""
    from tests.test_app import free_port, wait_for_http

    port = free_port()
    root = Path(__file__).resolve().parents[2]
    panel = Path(sys.executable).with_name("panel")
    process = subprocess.Popen(
        [str(panel), "serve", str(root / "rhinoapp" / "app.py"), "--plugins", "rhinoapp.render.plugin",
         "--address", "127.0.0.1", "--port", str(port)],
        env={**os.environ, "RHINOAPP_DATA_DIR": str(tmp_path)}, cwd=root, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for_http(f"http://127.0.0.1:{port}/health", timeout=60) == 200
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/render/someview123/screenshot.png", timeout=10)
        assert refused.value.code == 403
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def test_a_closed_view_leaves_the_worker_and_tells_its_page(offscreen) -> None:
    async def scenario() -> None:
        service = RenderService(offscreen=offscreen)
        first = service.open_view("session-a", SPEC)
        empty = service.open_view("session-a", None)
        async with serving(service) as host:
            ws = await websocket_connect(f"ws://{host}/{first.path()}")
            await next_message(ws)
            service.close_view(first.view_id)
            closed, _ = await next_message(ws)
            assert closed == {"kind": "failed", "message": "This 3D view was closed."}
            assert not service.authorised(first.view_id, first.key)
            nothing = await websocket_connect(f"ws://{host}/{empty.path()}")
            assert (await next_message(nothing))[0]["message"] == "this 3D view has nothing to show yet"

    run(scenario())
