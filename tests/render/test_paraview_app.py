"""The ParaView backend's process (pvpython) behind TrameService: a pane served on 127.0.0.1 with the process key."""

from __future__ import annotations

import asyncio

import pytest

from rhinoapp.config import RenderBackend
from rhinoapp.render.paraview_launch import pvpython_path
from rhinoapp.render.spec import Colouring, SceneSpec, Synthetic
from rhinoapp.render.trame_service import TrameService
from tests.render.conftest import png_pixels
from tests.render.test_trame_service import _get
from tests.waiting import HANG_S, wait_until

pytestmark = pytest.mark.skipif(pvpython_path() is None, reason="ParaView's pvpython is not installed "
                                "(Debian's paraview and python3-paraview: scripts/install-system-deps.sh)")


def test_a_paraview_process_draws_the_airway_and_its_presets_and_needs_the_key() -> None:
    async def scenario() -> None:
        service = TrameService(backend=RenderBackend.PARAVIEW)
        ticket = service.open_view("s1", SceneSpec(synthetic=Synthetic(8000), colouring=Colouring.PRESSURE))
        port = await service.upstream_port(ticket.view_id)
        loop = asyncio.get_running_loop()
        key, url = service.process_key(ticket.view_id), f"http://127.0.0.1:{port}/screenshot.png"
        assert (await loop.run_in_executor(None, _get, url))[0] == 403
        assert (await loop.run_in_executor(None, _get, url, "wrong"))[0] == 403
        status, png = await loop.run_in_executor(None, _get, url, key)
        front = png_pixels(png)
        assert status == 200 and front.std() > 20, "the ParaView pane is blank"
        service.set_state(ticket.view_id, preset="left")

        def turned() -> list[object] | None:  # the preset arrives on the process's stdin
            left = png_pixels(_get(url, key)[1])
            return [left] if abs(left.astype(int) - front.astype(int)).mean() > 4 else None

        await loop.run_in_executor(None, lambda: wait_until(turned, what="the left preset's ParaView picture"))
        await service.close()
        assert service.process_ids == []

    asyncio.run(asyncio.wait_for(scenario(), HANG_S))
