"""The render worker pool: the server's cap and each user's limit, with a message instead of a new process."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from rhinoapp.render.pool import RenderLimitError, WorkerPool


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
