"""The render worker pool: the server's cap and each user's limit, with a message instead of a new process
(on its own, and on the trame service's real processes)."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from rhinoapp.render.pool import RenderLimitError, WorkerPool
from rhinoapp.render.spec import SceneSpec, Synthetic
from rhinoapp.render.trame_service import TrameService
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
def test_trame_processes_past_the_caps_give_a_message_and_a_freed_slot_is_reused() -> None:
    """Real trame processes: one per user and one on the server; the panes over a cap are told why, nothing starts."""
    async def scenario() -> None:
        service = TrameService(pool=WorkerPool(size=1, per_user=1))
        told: dict[str, asyncio.Queue[str]] = {name: asyncio.Queue() for name in ("ana", "again", "bob")}
        spec = SceneSpec(synthetic=Synthetic(2000))
        ana = service.open_view("session-a", spec, user="ana", label="/geometry", on_stopped=told["ana"].put_nowait)
        again = service.open_view("session-b", spec, user="ana", on_stopped=told["again"].put_nowait)
        bob = service.open_view("session-c", spec, user="bob", on_stopped=told["bob"].put_nowait)
        await service.upstream_port(ana.view_id)
        [pid] = service.process_ids
        with pytest.raises(RenderLimitError, match="the session on /geometry opened at"):
            await service.upstream_port(again.view_id)
        assert "the session on /geometry opened at" in await told["again"].get()  # what its pane shows
        with pytest.raises(RenderLimitError, match="The server runs 1 3D view process already"):
            await service.upstream_port(bob.view_id)
        assert "render_pool_size" in await told["bob"].get()
        assert service.process_ids == [pid]  # no process was started for them
        service.end_session("session-a")
        assert await asyncio.to_thread(service.pool.wait_free, HANG_S / 3)  # its process exited: the slot is free
        await service.upstream_port(bob.view_id)  # a reload of bob's page
        assert [lease.user for lease in service.pool.leases] == ["bob"] and len(service.process_ids) == 1
        assert service.process_ids != [pid] and told["ana"].empty()  # a stop the service asked for is no failure
        await service.close()
        assert await asyncio.to_thread(service.pool.wait_free, HANG_S / 3) and not service.pool.leases

    asyncio.run(asyncio.wait_for(scenario(), HANG_S))
