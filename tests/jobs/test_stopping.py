"""Waiting for a cancelled task to leave the workers, on a real in-process dask cluster.

A task that ignores its cancellation has its worker restarted only when the worker holds nothing
else; a job placed there once the scheduler forgot the cancelled task must not go down with it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from rhinoapp.jobs import stopping
from rhinoapp.jobs.stopping import held_keys, wait_until_stopped

distributed = pytest.importorskip("distributed")

_HANG_S = 240.0


def _stubborn(name: str) -> str:
    """Run until the test releases it, whatever the scheduler says (a task between progress reports)."""
    distributed.Event(name).wait(_HANG_S)
    return "done"


@contextlib.asynccontextmanager
async def _client() -> AsyncIterator[Any]:
    async with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, asynchronous=True,
                                        dashboard_address=None) as cluster:
        async with distributed.Client(cluster, asynchronous=True) as connected:
            yield connected


async def _until(condition: Any) -> None:
    async def wait() -> None:
        while not await condition():
            await asyncio.sleep(0.01)
    await asyncio.wait_for(wait(), _HANG_S)


async def _worker_holds(client: Any, key: str) -> bool:
    answers = await client.run(held_keys)
    return any(key in keys for keys in answers.values())


@pytest.mark.parametrize("other_job", [False, True], ids=["alone", "with-another-job"])
def test_a_worker_is_restarted_only_when_it_holds_nothing_else(other_job: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    asyncio.run(_scenario(other_job, monkeypatch))


async def _scenario(other_job: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    async with _client() as client:
        await _check(client, other_job, monkeypatch)


async def _check(client: Any, other_job: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    release = distributed.Event("release", client=client)
    stubborn = client.submit(_stubborn, "release", key="stubborn-task")
    await _until(lambda: _worker_holds(client, "stubborn-task"))
    await client.cancel([stubborn], force=True)  # the scheduler forgets it; the worker's thread runs on
    other = client.submit(lambda: 42, key="innocent-job") if other_job else None
    if other is not None:
        await _until(lambda: _worker_holds(client, "innocent-job"))

    decisions: list[list[str] | None] = []
    real_held = stopping._held

    async def counted(client_: Any, worker: str) -> list[str] | None:
        decisions.append(await real_held(client_, worker))
        return decisions[-1]

    monkeypatch.setattr(stopping, "_held", counted)
    restarted: list[str] = []

    async def restart(worker: str) -> None:  # stands in for the adapter: records, then lets the task end
        restarted.append(worker)
        await release.set()

    waiting = asyncio.ensure_future(wait_until_stopped(client, "stubborn-task", grace_s=0.0, give_up_s=_HANG_S,
                                                       restart=restart, poll_s=0.01))
    if other_job:
        await _until(lambda: asyncio.sleep(0, len(decisions) >= 2))  # asked twice while the innocent job was held
        assert all(held is not None and "innocent-job" in held for held in decisions)
        await release.set()  # the stubborn task finally returns at its "next progress report"
    assert await asyncio.wait_for(waiting, _HANG_S)
    if other_job:
        assert restarted == [] and await asyncio.wait_for(other, _HANG_S) == 42
    else:
        assert len(restarted) == 1 and decisions and decisions[0] == ["stubborn-task"]
