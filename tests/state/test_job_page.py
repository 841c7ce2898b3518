"""The shared skeleton of the job pages: job events, run, cancel, message kinds, hidden pages, close.

A small page over the CT volume check (the histogram job) stands for the Geometry and
Simulations pages. With a started runner, real worker processes run the job and the state
follows it through the runner's events alone; without one, the test itself plays the runner:
it writes the job record and publishes the events, so every step is one the test controls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rhinoapp.config import JobsSettings
from rhinoapp.config.jobs import LocalProfile
from rhinoapp.core.errors import ValidationError
from rhinoapp.core.progress import ProgressReport
from rhinoapp.core.workflow import JobKind, JobState
from rhinoapp.jobs.events import JobEvent
from rhinoapp.jobs.runner import JobRunner
from rhinoapp.state.job_page import JobPageState, MessageKind, loop_dispatch
from rhinoapp.state.session import Page, SessionState
from rhinoapp.store.repository import ProjectRepository
from tests.jobs.conftest import LoopThread, loop, open_test_store, project_with_volume  # noqa: F401
from tests.state.events import follow_job, wait_for


class CheckState(JobPageState):
    """A job page over the CT volume check: the latest check of the open project and what it says."""

    page = Page.CT
    follows = frozenset({JobKind.VOLUME_HISTOGRAM})
    job_kind = JobKind.VOLUME_HISTOGRAM
    noun = "volume check"
    submitted_text = "Volume check submitted."

    def __init__(self, **params: Any) -> None:
        self.options: dict[str, Any] = {"slabs": 8, "pace_s": 0.05}
        self.reads = 0  # store reads (refreshes)
        self.observed: list[JobEvent] = []
        super().__init__(**params)

    def parameters(self) -> dict[str, Any]:
        if self.options.get("slabs") == 0:
            raise ValidationError("slabs must be at least 1.")
        return dict(self.options)

    async def _read_and_show(self) -> None:
        self.reads += 1
        records = await asyncio.to_thread(self._latest_jobs, self.session.current_project_id)
        self._set_job(records[0] if records else None)
        self._update_message()

    def _observe(self, event: JobEvent) -> None:
        self.observed.append(event)

    def _update_can_run(self) -> None:
        self.can_run = (self.session.runner is not None and self.session.current_project_id is not None
                        and not self.running)

    def _update_message(self) -> None:
        job = self.job
        if job is None:
            self._say("No check yet.", MessageKind.INFO)
        elif job.state.is_active:
            self._say(f"Checking: {job.message}", MessageKind.INFO)
        elif job.state is JobState.DONE:
            self._say("Checked.", MessageKind.SUCCESS)
        elif job.state is JobState.CANCELLED:
            self._say("Cancelled.", MessageKind.WARNING)
        else:
            self._say(f"Failed: {job.message}", MessageKind.ERROR)


@pytest.fixture(scope="module")
def runner(loop: LoopThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JobRunner]:
    settings, store = open_test_store(tmp_path_factory.mktemp("job-page"),
                                      jobs=JobsSettings(profiles=(LocalProfile(n_workers=1),)))
    started = JobRunner(settings, store, monitor_interval_s=0.5, persist_interval_s=0.2)
    loop.run(started.start())
    yield started
    loop.run(started.close())
    store.close()


def _shown(runner: JobRunner, loop: LoopThread, project_id: str, *, follow: bool = True) -> CheckState:
    """The state of the shown page on ``project_id``; with ``follow``, it follows job events on ``loop``."""
    session = SessionState(repository=ProjectRepository(runner.store, owner="local"), runner=runner,
                           settings=runner.settings)
    state = CheckState(session=session)
    session.open_project(project_id, page=Page.CT)
    if follow:
        state.bind_dispatch(loop_dispatch(loop.loop))
        wait_for(state, lambda: state.updates >= 1)  # showing the page reads it
    else:
        loop.run(state.refresh())
    return state


def test_a_state_follows_its_job_to_the_end_through_events(runner: JobRunner, loop: LoopThread) -> None:
    state = _shown(runner, loop, project_with_volume(runner.store, name="Followed"), follow=False)
    assert state.message == "No check yet." and state.can_run
    assert loop.run(state.run())
    assert state.running and not state.can_run and state.message == "Volume check submitted."
    assert state.message_kind is MessageKind.INFO
    assert not loop.run(state.run())  # one at a time
    assert state.message == "A volume check of this project is already running: wait for it or cancel it."

    state.bind_dispatch(loop_dispatch(loop.loop))  # job events update the state from here on
    seen = follow_job(state, probe=lambda: (state.job.state, state.job.progress))
    assert state.job.state is JobState.DONE and state.job.progress == 1.0
    assert state.message == "Checked." and state.message_kind is MessageKind.SUCCESS and state.can_run
    order = [JobState.QUEUED, JobState.RUNNING, JobState.DONE]
    states = [order.index(s) for s, _ in seen]
    assert states == sorted(states)  # never back to an earlier state
    assert [e.state for e in state.observed][-1] is JobState.DONE
    assert {(e.owner, e.project_id, e.kind) for e in state.observed} == {
        ("local", state.session.current_project_id, JobKind.VOLUME_HISTOGRAM)}
    state.close()


def test_cancel_ends_the_job_and_the_message_says_so(runner: JobRunner, loop: LoopThread) -> None:
    state = _shown(runner, loop, project_with_volume(runner.store, name="Cancelled"))
    state.options = {"slabs": 40, "pace_s": 0.25}
    assert loop.run(state.run())
    wait_for(state, lambda: state.job.state is JobState.RUNNING and state.job.progress > 0)
    loop.run(state.cancel())
    follow_job(state)
    assert state.job.state is JobState.CANCELLED and not state.running and state.can_run
    assert state.message == "Cancelled." and state.message_kind is MessageKind.WARNING
    state.close()


@pytest.fixture
def played(loop: LoopThread, tmp_path: Path) -> Iterator[tuple[JobRunner, CheckState, str]]:
    """A state on a project whose check the test runs itself: it writes the record and publishes the events."""
    settings, store = open_test_store(tmp_path)
    runner = JobRunner(settings, store)  # never started: the test plays it
    project_id = project_with_volume(store)
    state = _shown(runner, loop, project_id)
    record = runner.records.create(owner="local", project_id=project_id, kind=JobKind.VOLUME_HISTOGRAM,
                                   profile="local")
    yield runner, state, record.id
    state.close()
    store.close()


def _event(state: CheckState, job_id: str, job_state: JobState) -> JobEvent:
    return JobEvent(job_id, state.session.current_project_id, "local", JobKind.VOLUME_HISTOGRAM, job_state)


def test_progress_updates_the_job_without_reading_the_store_and_a_change_reads_it(played) -> None:
    runner, state, job_id = played
    runner.records.set_state(job_id, JobState.RUNNING)
    runner.events.publish(_event(state, job_id, JobState.RUNNING))  # started: a change of state
    wait_for(state, lambda: state.job is not None and state.job.state is JobState.RUNNING)
    reads = state.reads
    for step in range(1, 4):  # progress reports of the followed job
        runner.records.update(job_id, progress_report=ProgressReport(step / 4, stage=f"part {step}"))
        updates = state.updates
        runner.events.publish(_event(state, job_id, JobState.RUNNING))
        wait_for(state, lambda before=updates: state.updates > before)
    assert state.reads == reads and state.job.state is JobState.RUNNING
    runner.records.set_state(job_id, JobState.DONE, message="air_fraction 0.25")
    runner.events.publish(_event(state, job_id, JobState.DONE))
    wait_for(state, lambda: state.job.state is JobState.DONE)
    assert state.reads == reads + 1 and state.message_kind is MessageKind.SUCCESS


def test_a_hidden_page_reads_nothing_and_catches_up_when_shown(played) -> None:
    runner, state, job_id = played
    state.session.page = Page.JOBS.value
    reads, updates = state.reads, state.updates
    for job_state in (JobState.RUNNING, JobState.DONE):
        runner.records.set_state(job_id, job_state)
        runner.events.publish(_event(state, job_id, job_state))
    assert [e.state for e in state.observed] == [JobState.RUNNING, JobState.DONE]  # heard, not read
    assert (state.reads, state.updates, state.job) == (reads, updates, None)
    runner.events.publish(JobEvent(job_id, "another-project", "local", JobKind.VOLUME_HISTOGRAM, JobState.DONE))
    runner.events.publish(JobEvent(job_id, state.session.current_project_id, "someone-else",
                                   JobKind.VOLUME_HISTOGRAM, JobState.DONE))
    assert len(state.observed) == 2  # other projects' and other users' jobs do not concern the page
    state.session.page = Page.CT.value
    wait_for(state, lambda: state.job is not None)
    assert state.reads == reads + 1 and state.job.state is JobState.DONE and state.message == "Checked."


def test_close_stops_listening(played) -> None:
    runner, state, job_id = played
    listeners = len(runner.events)
    state.close()
    assert len(runner.events) == listeners - 1
    runner.events.publish(_event(state, job_id, JobState.RUNNING))
    assert state.observed == []


def test_run_says_why_it_does_not_start(tmp_path: Path) -> None:
    settings, store = open_test_store(tmp_path)
    repo = ProjectRepository(store, owner="local")
    alone = CheckState(session=SessionState(repository=repo, settings=settings))  # no runner
    alone.session.open_project(repo.create("No runner").id)
    assert asyncio.run(alone.run()) is False and alone.message == "No check yet." and not alone.can_run

    session = SessionState(repository=repo, settings=settings, runner=JobRunner(settings, store))
    state = CheckState(session=session)
    assert asyncio.run(state.run()) is False and state.job is None  # no project open
    session.open_project(repo.create("Bad options").id)
    state.options = {"slabs": 0}
    assert asyncio.run(state.run()) is False
    assert state.message == "The volume check could not start: slabs must be at least 1."
    assert state.message_kind is MessageKind.ERROR and state.message_kind == "error"
    assert runner_jobs(session) == []
    store.close()


def runner_jobs(session: SessionState) -> list[str]:
    return [r.id for r in session.runner.records.recent(owner=session.user)]
