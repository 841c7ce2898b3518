"""JobsState without a display: submit errors become plain-language messages; rows merge live progress."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from rhinoapp.config import JobsSettings, Settings
from rhinoapp.config.jobs import LocalProfile, SchedulerProfile
from rhinoapp.core.workflow import JobKind, JobState
from rhinoapp.jobs.runner import JobRunner
from rhinoapp.state.jobs import JobsState
from rhinoapp.state.session import SessionState
from rhinoapp.store.database import open_store
from rhinoapp.store.repository import ProjectRepository


@pytest.mark.slow
def test_bad_profile_is_reported_and_the_page_keeps_working(tmp_path: Path) -> None:
    jobs = JobsSettings(profile="hpc", profiles=(LocalProfile(), SchedulerProfile(name="hpc", address="tls://127.0.0.1:9")))
    settings = Settings(data_dir=tmp_path, jobs=jobs)
    store = open_store(settings)
    repo = ProjectRepository(store, owner="local")
    runner = JobRunner(settings, store)
    session = SessionState(repository=repo, runner=runner)
    page = JobsState(session=session)

    async def scenario():
        await page.submit(JobKind.VOLUME_HISTOGRAM)
        first = (page.message, page.message_kind)
        session.open_project(repo.create("Case").id)
        await page.submit(JobKind.VOLUME_HISTOGRAM)
        await runner.close()
        return first

    first = asyncio.run(scenario())
    assert first == ("Open a project on the Projects page first; jobs run on the open project.", "error")
    assert page.message_kind == "error" and "jobs.profiles.hpc.address" in page.message
    assert [row.state for row in page.rows] == [JobState.ERROR]
    assert page.rows[0].what == "CT volume check" and "no dask scheduler answers" in page.rows[0].message
    store.close()


def test_can_submit_follows_the_open_project(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    store = open_store(settings)
    repo = ProjectRepository(store, owner="local")
    session = SessionState(repository=repo, runner=JobRunner(settings, store))
    page = JobsState(session=session)
    assert not page.can_submit
    session.open_project(repo.create("Case").id)
    assert page.can_submit
    assert not JobsState(session=SessionState(repository=repo)).can_submit  # no runner: no jobs
    store.close()


def test_a_job_over_the_users_limit_is_queued_and_the_page_says_so(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, max_jobs_per_user=1)
    store = open_store(settings)
    repo = ProjectRepository(store, owner="local")
    runner = JobRunner(settings, store)
    session = SessionState(repository=repo, runner=runner)
    page = JobsState(session=session)
    session.open_project(repo.create("Case").id)

    async def scenario() -> None:
        await runner.start()
        started = runner.records.create(owner="local", project_id=session.current_project_id,
                                        kind=JobKind.VOLUME_HISTOGRAM, profile="local", limit=1)
        runner.records.set_state(started.id, JobState.RUNNING)  # one job of this user runs (in another process)
        await page.submit(JobKind.VOLUME_HISTOGRAM)
        await runner.close()

    asyncio.run(scenario())
    assert page.message_kind == "info"
    assert page.message == "CT volume check for Case queued: you have 1 job running; it starts when one ends."
    assert sorted(row.state.value for row in page.rows) == ["queued", "running"]
    store.close()
