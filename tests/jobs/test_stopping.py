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


async def _start_stubborn(client: Any, *, other_job: bool) -> tuple[Any, Any]:
    """The stubborn task running and cancelled, and (with ``other_job``) an innocent job held behind it."""
    release = distributed.Event("release", client=client)
    stubborn = client.submit(_stubborn, "release", key="stubborn-task")
    await _until(lambda: _worker_holds(client, "stubborn-task"))
    await client.cancel([stubborn], force=True)  # the scheduler forgets it; the worker's thread runs on
    other = client.submit(lambda: 42, key="innocent-job") if other_job else None
    if other is not None:
        await _until(lambda: _worker_holds(client, "innocent-job"))
    return release, other


async def _check(client: Any, other_job: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    release, other = await _start_stubborn(client, other_job=other_job)
    decisions: list[list[str]] = []  # what the worker held whenever it was seen executing the stubborn task
    real_ask = stopping._ask

    async def counted(client_: Any, key: str) -> dict[str, dict[str, list[str]]]:
        answers = await real_ask(client_, key)
        decisions.extend(tasks["held"] for tasks in answers.values() if key in tasks["executing"])
        return answers

    monkeypatch.setattr(stopping, "_ask", counted)
    restarted: list[str] = []

    async def restart(worker: str) -> None:  # stands in for the adapter: records, then lets the task end
        restarted.append(worker)
        await release.set()

    waiting = asyncio.ensure_future(wait_until_stopped(client, "stubborn-task", grace_s=0.0, give_up_s=_HANG_S,
                                                       restart=restart, poll_s=0.01))
    if other_job:
        await _until(lambda: asyncio.sleep(0, len(decisions) >= 2))  # asked twice while the innocent job was held
        assert all("innocent-job" in held for held in decisions)
        await release.set()  # the stubborn task finally returns at its "next progress report"
    assert await asyncio.wait_for(waiting, _HANG_S)
    if other_job:
        assert restarted == [] and await asyncio.wait_for(other, _HANG_S) == 42
    else:
        assert len(restarted) == 1 and decisions and decisions[0] == ["stubborn-task"]


class _EndsAfterFirstAnswer:
    """The real client, except that the task ends, and the innocent job finishes, right after the first answer.

    This is the moment that once restarted a worker in CI: the workers had said they ran the task
    and held another job; by the time they were asked again, separately, both had finished.
    """

    def __init__(self, client: Any, release: Any, other: Any) -> None:
        self._client, self._release, self._other, self.calls = client, release, other, 0

    async def run(self, function: Any, **kwargs: Any) -> Any:
        answers = await self._client.run(function, **kwargs)
        self.calls += 1
        if self.calls == 1:
            await self._release.set()
            assert await asyncio.wait_for(self._other, _HANG_S) == 42
        return answers


def test_a_task_that_ends_between_two_questions_has_no_worker_restarted() -> None:
    async def scenario() -> None:
        async with _client() as client:
            release, other = await _start_stubborn(client, other_job=True)
            proxy = _EndsAfterFirstAnswer(client, release, other)
            restarted: list[str] = []

            async def restart(worker: str) -> None:
                restarted.append(worker)

            assert await asyncio.wait_for(wait_until_stopped(proxy, "stubborn-task", grace_s=0.0, give_up_s=_HANG_S,
                                                             restart=restart, poll_s=0.01), _HANG_S)
            assert restarted == [] and proxy.calls >= 2

    asyncio.run(scenario())
