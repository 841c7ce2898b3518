"""TrameService with real trame processes: a pane served on 127.0.0.1, one process per session, stops."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import urllib.error
import urllib.request

import psutil
import pytest

from rhinoapp.render.offscreen import RenderError
from rhinoapp.render.spec import SceneSpec, Synthetic
from rhinoapp.render.trame_proxy import names_port
from rhinoapp.render.trame_service import PROCESS_KEY_HEADER, STOPPED_MESSAGE, TrameService
from tests.waiting import HANG_S, wait_until


def _get(url: str, key: str | None = None) -> tuple[int, bytes]:
    headers = {PROCESS_KEY_HEADER: key} if key is not None else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=HANG_S) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


def test_a_session_process_serves_its_panes_and_stops_with_the_session() -> None:
    async def scenario() -> None:
        service = TrameService()
        spec = SceneSpec(synthetic=Synthetic(2000))
        first, second = service.open_view("s1", spec), service.open_view("s1", spec)
        other = service.open_view("s2", spec)
        assert first.key == second.key != other.key
        ports = [await service.upstream_port(first.view_id), await service.upstream_port(second.view_id)]
        assert len(set(ports)) == 2 and len(service.process_ids) == 1  # two panes, one process
        loop = asyncio.get_running_loop()
        key = service.process_key(first.view_id)
        status, png = await loop.run_in_executor(None, _get, f"http://127.0.0.1:{ports[0]}/screenshot.png", key)
        assert status == 200 and png.startswith(b"\x89PNG")
        await service.upstream_port(other.view_id)
        assert len(service.process_ids) == 2  # another session, another process
        pids = service.process_ids
        service.end_session("s1")
        await service.close()
        assert service.process_ids == []
        await loop.run_in_executor(None, lambda: wait_until(
            lambda: not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in pids),
            what="the trame processes gone"))
        with pytest.raises(RenderError):
            await service.upstream_port(first.view_id)

    asyncio.run(asyncio.wait_for(scenario(), HANG_S))


def test_a_pane_without_a_scene_does_not_start_a_process() -> None:
    async def scenario() -> None:
        service = TrameService()
        ticket = service.open_view("s1", None)
        with pytest.raises(RenderError, match="nothing to show"):
            await service.upstream_port(ticket.view_id)
        assert service.process_ids == []

    asyncio.run(scenario())


@pytest.mark.parametrize("path", ["5006/", "localhost:5006/x", "user@host/", "%2e%2e/health", "..\\x", "/etc"])
def test_paths_that_name_a_port_or_a_host_are_refused(path: str) -> None:
    assert names_port(path, {})


def test_ordinary_paths_pass() -> None:
    assert not names_port("__trame_vtk_2.11.17/trame-vtk.js", {"v": [b"1"]})


def test_the_process_port_refuses_requests_without_the_process_key() -> None:
    async def scenario() -> None:
        service = TrameService()
        spec = SceneSpec(synthetic=Synthetic(2000))
        ticket, other = service.open_view("s1", spec), service.open_view("s2", spec)
        port = await service.upstream_port(ticket.view_id)
        await service.upstream_port(other.view_id)
        key, other_key = service.process_key(ticket.view_id), service.process_key(other.view_id)
        assert key and other_key and key != other_key and key != ticket.key
        loop = asyncio.get_running_loop()
        for path in ("index.html", "screenshot.png", "ws"):
            for wrong in (None, "guess", ticket.key, other_key):
                status, _ = await loop.run_in_executor(None, _get, f"http://127.0.0.1:{port}/{path}", wrong)
                assert status == 403, (path, wrong)
        assert (await loop.run_in_executor(None, _get, f"http://127.0.0.1:{port}/index.html", key))[0] == 200
        await service.close()

    asyncio.run(asyncio.wait_for(scenario(), HANG_S))


def test_a_killed_process_tells_its_panes_and_the_next_request_starts_a_new_one() -> None:
    async def scenario() -> None:
        service = TrameService()
        told: asyncio.Queue[str] = asyncio.Queue()
        ticket = service.open_view("s1", SceneSpec(synthetic=Synthetic(2000)), on_stopped=told.put_nowait)
        await service.upstream_port(ticket.view_id)
        [pid] = service.process_ids
        os.kill(pid, signal.SIGKILL)
        assert await told.get() == STOPPED_MESSAGE
        assert service.process_ids == []
        await service.upstream_port(ticket.view_id)
        assert service.process_ids and service.process_ids != [pid]
        await service.close()
        assert told.empty()  # a stop the service asked for is not a failure

    asyncio.run(asyncio.wait_for(scenario(), HANG_S))


def test_a_new_scene_for_a_pane_is_served_again_from_where_the_user_looked() -> None:
    from rhinoapp.render.spec import CameraPreset, Colouring
    from tests.render.conftest import png_pixels

    async def scenario() -> None:
        service = TrameService()
        ticket = service.open_view("s1", SceneSpec(synthetic=Synthetic(2000), colouring=Colouring.PRESSURE))
        loop = asyncio.get_running_loop()

        async def picture(view_id: str) -> bytes:
            port = await service.upstream_port(view_id)
            status, png = await loop.run_in_executor(None, _get, f"http://127.0.0.1:{port}/screenshot.png",
                                                     service.process_key(view_id))
            assert status == 200
            return png_pixels(png).astype(int)

        first = await picture(ticket.view_id)
        service.set_state(ticket.view_id, preset=CameraPreset.LEFT_LATERAL.value)  # as the preset button does
        turned = await picture(ticket.view_id)
        while abs(turned - first).mean() < 2:  # the process applies the state between two requests
            turned = await picture(ticket.view_id)
        wss = SceneSpec(synthetic=Synthetic(2000), colouring=Colouring.WALL_SHEAR_STRESS)
        service.update_view(ticket.view_id, wss)
        shown = await picture(ticket.view_id)
        while abs(turned - shown).mean() < 2:  # the process draws the new colouring into the open view
            shown = await picture(ticket.view_id)
        # the same scene seen from the left, in a pane of its own: what the updated pane must show
        left = service.open_view("s1", dataclasses.replace(wss, camera=CameraPreset.LEFT_LATERAL))
        expected = await picture(left.view_id)
        anterior = await picture(service.open_view("s1", wss).view_id)  # what a new pane would show
        assert abs(shown - expected).mean() < 0.25 * abs(anterior - expected).mean()
        assert len(service.process_ids) == 1
        await service.close()

    asyncio.run(asyncio.wait_for(scenario(), HANG_S))


def test_a_page_waiting_for_its_pane_gets_it_while_new_scenes_keep_arriving() -> None:
    """A live view: new checkpoints arrive while the first scene is still being built."""
    from rhinoapp.render.spec import Colouring

    async def scenario() -> None:
        service = TrameService()
        ticket = service.open_view("s1", SceneSpec(synthetic=Synthetic(2000)))
        waiting = asyncio.ensure_future(service.upstream_port(ticket.view_id))
        while ticket.view_id not in service._session_of(ticket.view_id).ports:  # the first scene was asked for
            await asyncio.sleep(0.05)
        for colouring in (Colouring.PRESSURE, Colouring.WALL_SHEAR_STRESS):
            service.update_view(ticket.view_id, SceneSpec(synthetic=Synthetic(2000), colouring=colouring))
        port = await waiting
        assert port == await service.upstream_port(ticket.view_id)
        await service.close()

    asyncio.run(asyncio.wait_for(scenario(), HANG_S))


def test_a_scene_whose_file_is_gone_is_told_to_its_pane_and_the_next_scene_mends_it() -> None:
    """The page asked for the running job's live checkpoint just as the job ended and removed it."""
    gone = SceneSpec(surface="/nonexistent/rhinoapp-live/surface-000000936.vtp")

    async def scenario() -> None:
        service = TrameService()
        told: asyncio.Queue[str | None] = asyncio.Queue()
        ticket = service.open_view("s1", gone, on_scene=told.put_nowait)
        with pytest.raises(RenderError, match="does not exist"):
            await service.upstream_port(ticket.view_id)
        assert "does not exist" in (await told.get() or "")
        service.update_view(ticket.view_id, SceneSpec(synthetic=Synthetic(2000)))  # the finished run's scene
        port = await service.upstream_port(ticket.view_id)
        assert await told.get() is None  # drawn after the failure: the pane loads again
        loop = asyncio.get_running_loop()
        status, png = await loop.run_in_executor(None, _get, f"http://127.0.0.1:{port}/screenshot.png",
                                                 service.process_key(ticket.view_id))
        assert status == 200 and png.startswith(b"\x89PNG")
        # a scene that fails while the pane shows a good one, then the next live checkpoint
        service.update_view(ticket.view_id, gone)
        assert "does not exist" in (await told.get() or "")
        service.update_view(ticket.view_id, SceneSpec(synthetic=Synthetic(3000)))
        assert await told.get() is None
        await service.close()
        assert told.empty()

    asyncio.run(asyncio.wait_for(scenario(), HANG_S))


def test_a_failing_scene_overtaken_by_a_good_one_still_mends_the_pane() -> None:
    """The good scene arrives while the page still waits for the failing one (both in flight)."""
    async def scenario() -> None:
        service = TrameService()
        told: asyncio.Queue[str | None] = asyncio.Queue()
        ticket = service.open_view("s1", SceneSpec(surface="/nonexistent/surface.vtp"), on_scene=told.put_nowait)
        # the session's process runs (its other pane's port): asking for a port then sends the scene at once
        await service.upstream_port(service.open_view("s1", SceneSpec(synthetic=Synthetic(2000))).view_id)
        waiting = asyncio.ensure_future(service.upstream_port(ticket.view_id))  # the failing scene asked for...
        asyncio.get_running_loop().call_soon(service.update_view, ticket.view_id,  # ...then the good one, in turn
                                             SceneSpec(synthetic=Synthetic(2000)))
        with pytest.raises(RenderError):
            await waiting  # the page's request for the failing scene: a 503
        assert (await told.get()) is not None and (await told.get()) is None  # failed, then mended: load again
        assert await service.upstream_port(ticket.view_id) > 0
        await service.close()

    asyncio.run(asyncio.wait_for(scenario(), HANG_S))
