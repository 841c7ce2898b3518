"""Per-user job limits in the runner, with real worker processes: a queue instead of an overload.

Jobs run until the test cancels them (an end the test controls); every wait is on a job event.
"""

from __future__ import annotations

import asyncio

import pytest

from rhinoapp.config import JobsSettings
from rhinoapp.config.jobs import LocalProfile
from rhinoapp.core.workflow import JobKind, JobState
from rhinoapp.jobs.events import JobEvent
from rhinoapp.jobs.runner import JobRunner
from rhinoapp.store.jobs import JobStore
from tests.jobs.conftest import LoopThread, open_test_store, project_with_volume
from tests.waiting import HANG_S

ENDLESS = {"pace_s": 0.2, "slabs": 10_000}  # half an hour: runs until cancelled


class Watch:
    """Job events as they are published, and a way to wait for a given one (on the runner's loop)."""

    def __init__(self, runner: JobRunner) -> None:
        self.events: list[JobEvent] = []
        self._changed = asyncio.Event()
        self.unsubscribe = runner.events.subscribe(self._seen)

    def _seen(self, event: JobEvent) -> None:
        self.events.append(event)
        self._changed.set()

    async def until(self, job_id: str, state: JobState) -> None:
        """Wait until ``job_id`` was published in ``state`` (the ceiling only catches a hang)."""
        async def seen() -> None:
            while not any(e.job_id == job_id and e.state is state for e in self.events):
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(seen(), HANG_S / 2)


@pytest.mark.slow
def test_a_users_third_job_waits_starts_when_one_ends_and_other_users_are_not_blocked(
        loop: LoopThread, tmp_path_factory: pytest.TempPathFactory) -> None:
    settings, store = open_test_store(tmp_path_factory.mktemp("jobs-limits"), max_jobs_per_user=2,
                                      jobs=JobsSettings(profiles=(LocalProfile(n_workers=3),)))
    runner = JobRunner(settings, store, persist_interval_s=0.2)
    ana, bob = project_with_volume(store, owner="ana", name="Ana 1"), project_with_volume(store, owner="bob", name="Bob 1")

    async def scenario() -> None:
        await runner.start()
        watch = Watch(runner)
        first, second, third = [await runner.submit(owner="ana", project_id=ana, kind=JobKind.VOLUME_HISTOGRAM,
                                                    parameters=ENDLESS) for _ in range(3)]
        assert [first.waiting, second.waiting, third.waiting] == [False, False, True]
        assert third.message == "queued: you have 2 jobs running; it starts when one ends"
        await watch.until(first.id, JobState.RUNNING)
        await watch.until(second.id, JobState.RUNNING)
        stored = await asyncio.to_thread(runner.records.get, third.id)
        assert stored.state is JobState.QUEUED and stored.waiting and not stored.task_key  # not on the cluster

        theirs = await runner.submit(owner="bob", project_id=bob, kind=JobKind.VOLUME_HISTOGRAM, parameters=ENDLESS)
        assert not theirs.waiting  # ana's queue does not hold bob back
        await watch.until(theirs.id, JobState.RUNNING)
        assert not any(e.job_id == third.id and e.state is JobState.RUNNING for e in watch.events)
        assert not any(e.job_id in (first.id, second.id) and not e.state.is_active for e in watch.events)

        await runner.cancel(first.id, owner="ana")  # one of ana's jobs ends: the queued one starts
        await watch.until(third.id, JobState.RUNNING)
        started = await asyncio.to_thread(runner.records.get, third.id)
        assert not started.waiting and started.task_key and started.message == ""
        for job in (second, third):
            await runner.cancel(job.id, owner="ana")
        await runner.cancel(theirs.id, owner="bob")
        finals = [await runner.wait(job.id, timeout_s=HANG_S / 2) for job in (first, second, third, theirs)]
        assert [f.state for f in finals] == [JobState.CANCELLED] * 4
        watch.unsubscribe()

    try:
        loop.run(scenario())
    finally:
        loop.run(runner.close())
        store.close()


@pytest.mark.slow
def test_a_job_left_waiting_by_a_previous_process_starts_after_a_restart(
        loop: LoopThread, tmp_path_factory: pytest.TempPathFactory) -> None:
    settings, store = open_test_store(tmp_path_factory.mktemp("jobs-limits-restart"), max_jobs_per_user=1)
    project = project_with_volume(store, owner="ana")
    # a previous process: one job started (its cluster is gone now) and one waiting behind it
    records = JobStore(store)
    gone = records.create(owner="ana", project_id=project, kind=JobKind.VOLUME_HISTOGRAM, profile="local", limit=1)
    waiting = records.create(owner="ana", project_id=project, kind=JobKind.VOLUME_HISTOGRAM, profile="local",
                                    limit=1, parameters={"pace_s": 0.0, "slabs": 2})
    assert waiting.waiting
    runner = JobRunner(settings, store)
    try:
        loop.run(runner.start())  # the lost one is closed as interrupted, so the waiting one starts
        final = loop.run(runner.wait(waiting.id, timeout_s=HANG_S / 2))
        assert final.state is JobState.DONE, final.message
        assert runner.records.get(gone.id).state is JobState.ERROR
    finally:
        loop.run(runner.close())
        store.close()
