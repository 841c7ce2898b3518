"""TrameService with real trame processes: a pane served on 127.0.0.1, one process per session, stops."""

from __future__ import annotations

import asyncio
import urllib.request

import psutil
import pytest

from rhinoapp.render.offscreen import RenderError
from rhinoapp.render.spec import SceneSpec, Synthetic
from rhinoapp.render.trame_proxy import names_port
from rhinoapp.render.trame_service import TrameService
from tests.waiting import HANG_S, wait_until


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=HANG_S) as response:
        return response.status, response.read()


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
        status, png = await loop.run_in_executor(None, _get, f"http://127.0.0.1:{ports[0]}/screenshot.png")
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
