"""The render worker pool: the server's cap and each user's limit, with a message instead of a new process."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from tornado.websocket import websocket_connect

from rhinoapp.render.bridge import RenderService
from rhinoapp.render.pool import RenderLimitError, WorkerPool
from tests.render.test_bridge import SPEC, next_message, run, serving
from tests.waiting import HANG_S


def test_the_pool_refuses_past_its_caps_and_reuses_a_freed_slot() -> None:
    pool = WorkerPool(size=3, per_user=1)
    ana = pool.acquire("s1", user="ana", label="/simulations")
    with pytest.raises(RenderLimitError, match=r"You already have 1 3D view drawing in another browser session "
                                               r"\(the session on /simulations opened at \d\d:\d\d\).*Close the 3D page"):
        pool.acquire("s2", user="ana")
    assert pool.acquire("s1", user="ana").session_id == "s1"  # the same session replacing its worker is not "another"
    bob = pool.acquire("s3", user="bob")
    with pytest.raises(RenderLimitError, match="The server runs 3 3D view processes already.*render_pool_size"):
        pool.acquire("s4", user="cleo")
    assert not pool.wait_free(0)
    pool.release(bob)
    pool.release(bob)  # twice: nothing more is freed
    assert pool.acquire("s4", user="cleo").user == "cleo"
    assert [lease.session_id for lease in pool.leases] == ["s1", "s1", "s4"]
    pool.release(ana)
    assert pool.wait_free(0) and len(pool.leases) == 2


def test_concurrent_acquires_never_exceed_the_cap() -> None:
    pool = WorkerPool(size=3, per_user=10)
    start = threading.Barrier(12)

    def take(number: int) -> bool:
        start.wait()
        try:
            pool.acquire(f"s{number}", user=f"user{number % 4}")
        except RenderLimitError:
            return False
        return True

    with ThreadPoolExecutor(12) as threads:
        granted = list(threads.map(take, range(12)))
    assert granted.count(True) == 3 and len(pool.leases) == 3


@pytest.mark.slow
def test_a_pane_over_the_cap_gets_a_message_and_a_freed_slot_is_reused(offscreen) -> None:
    async def scenario() -> None:
        service = RenderService(offscreen=offscreen, pool=WorkerPool(size=1, per_user=1))
        ana = service.open_view("session-a", SPEC, user="ana", label="/geometry")
        again = service.open_view("session-b", SPEC, user="ana")
        bob = service.open_view("session-c", SPEC, user="bob")
        async with serving(service) as host:
            first = await websocket_connect(f"ws://{host}/{ana.path()}")
            assert (await next_message(first))[0]["kind"] == "frame"
            [pid] = service.worker_pids
            refused = await websocket_connect(f"ws://{host}/{again.path()}")
            status, _ = await next_message(refused)
            assert status["kind"] == "failed" and "the session on /geometry opened at" in status["message"]
            refused = await websocket_connect(f"ws://{host}/{bob.path()}")
            status, _ = await next_message(refused)
            assert status["kind"] == "failed" and "The server runs 1 3D view process already" in status["message"]
            assert service.worker_pids == [pid]  # no process was started for them
            service.end_session("session-a")
            assert await asyncio.to_thread(service.pool.wait_free, HANG_S / 3)  # its worker exited: the slot is free
            reused = await websocket_connect(f"ws://{host}/{bob.path()}")
            assert (await next_message(reused))[0]["kind"] == "frame"
            assert [lease.user for lease in service.pool.leases] == ["bob"]
            reused.close()

    run(scenario())
