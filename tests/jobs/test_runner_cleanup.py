"""Clean-up by the job runner on a real local dask cluster: project deletion with running jobs,
staging folders of ended jobs, and the start-up sweep."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import pytest

from rhinoapp.config import JobsSettings
from rhinoapp.config.jobs import LocalProfile
from rhinoapp.core.errors import ConflictError, NotFoundError
from rhinoapp.core.workflow import JobKind, JobState
from rhinoapp.jobs.events import JobEvent
from rhinoapp.jobs.runner import JobRunner
from rhinoapp.jobs.stopping import executing_keys
from rhinoapp.store.jobs import JobStore
from rhinoapp.store.repository import ProjectRepository
from tests.jobs.conftest import LoopThread, open_test_store, project_with_volume
from tests.waiting import HANG_S

SLOW = {"pace_s": 0.25, "slabs": 400}  # far longer than any test waits: it only ends when stopped


@pytest.fixture(scope="module")
def local(loop: LoopThread, tmp_path_factory: pytest.TempPathFactory):
    settings, store = open_test_store(tmp_path_factory.mktemp("jobs-cleanup"),
                                      jobs=JobsSettings(profiles=(LocalProfile(n_workers=2),)))
    runner = JobRunner(settings, store, monitor_interval_s=0.5, persist_interval_s=0.2)
    loop.run(runner.start())
    yield runner
    loop.run(runner.close())
    store.close()


async def _first_progress(runner: JobRunner, job_id: str) -> None:
    """Wait until the job's task reports progress (it runs on a worker); the ceiling only catches hangs."""
    changed = asyncio.Event()
    unsubscribe = runner.subscribe(lambda job: changed.set() if job == job_id else None)
    try:
        while not ((live := runner.live(job_id)) is not None and live.fraction > 0):
            await asyncio.wait_for(changed.wait(), HANG_S)
            changed.clear()
    finally:
        unsubscribe()


async def _executing(runner: JobRunner) -> list[str]:
    """Every key any worker executes now, asked of the workers themselves."""
    answers = await runner._clients["local"].run(executing_keys)
    return [key for keys in answers.values() for key in keys]


def _problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records
            if r.levelno >= logging.WARNING and r.name.startswith("rhinoapp")]


@pytest.mark.slow
def test_deleting_a_project_with_a_running_job_leaves_no_folder_and_no_running_job(
        local: JobRunner, loop: LoopThread, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    project_id = project_with_volume(local.store, name="Delete while running")
    repo = ProjectRepository(local.store, owner="local")
    heard: list[JobEvent] = []
    unsubscribe = local.events.subscribe(heard.append)
    said: list[str] = []

    async def scenario():
        running = await local.submit(owner="local", project_id=project_id, kind=JobKind.VOLUME_HISTOGRAM,
                                     parameters=SLOW)
        queued = [await local.submit(owner="local", project_id=project_id, kind=JobKind.VOLUME_HISTOGRAM,
                                     parameters=SLOW) for _ in range(2)]  # one runs on the second worker, one waits
        await _first_progress(local, running.id)
        key = local._running[running.id].request.key
        assert key in await _executing(local) and repo.layout(project_id).staging(running.id).is_dir()
        await local.delete_project(project_id, owner="local", on_progress=said.append)
        with pytest.raises(NotFoundError):  # its end came before the deletion; its record went with the project
            await local.wait(running.id, timeout_s=HANG_S)
        processing = await local._clients["local"].processing()  # the scheduler's view
        return running, queued, key, await _executing(local), processing

    running, queued, key, executing, processing = loop.run(scenario())
    unsubscribe()
    assert key not in executing and not any(project_id in k or running.id in k for k in executing)
    assert not repo.project_dir(project_id).exists()
    assert [p for p in local.store.projects_dir.iterdir() if project_id in p.name] == []
    assert not [r for r in JobStore(local.store).active() if r.project_id == project_id]
    assert not any(job in local._running for job in (running.id, *(q.id for q in queued)))
    with pytest.raises(NotFoundError):
        repo.get(project_id)
    ended = {e.job_id: e.state for e in heard if not e.state.is_active}
    assert ended == {job: JobState.CANCELLED for job in (running.id, *(q.id for q in queued))}
    assert said[0] == "Stopping 3 jobs of the project before deleting it…" and "Deleting" in said[-1]
    assert processing and not any(processing.values())
    assert not repo.project_dir(project_id).exists()  # nothing re-created it after the tasks ended
    assert _problems(caplog) == []


@pytest.mark.slow
def test_no_job_starts_on_a_project_being_deleted(local: JobRunner, loop: LoopThread) -> None:
    project_id = project_with_volume(local.store, name="No new jobs")

    async def scenario():
        running = await local.submit(owner="local", project_id=project_id, kind=JobKind.VOLUME_HISTOGRAM,
                                     parameters=SLOW)
        await _first_progress(local, running.id)
        deletion = asyncio.ensure_future(local.delete_project(project_id, owner="local"))
        await asyncio.sleep(0)  # let the deletion begin: it marks the project before its first await
        try:
            await local.submit(owner="local", project_id=project_id, kind=JobKind.VOLUME_HISTOGRAM)
        except (ConflictError, NotFoundError) as error:
            refused = error
        else:
            refused = None
        await deletion
        return refused

    refused = loop.run(scenario())
    assert refused is not None and ("being deleted" in str(refused) or "refresh the project list" in str(refused))
    assert not ProjectRepository(local.store, owner="local").project_dir(project_id).exists()
    assert loop.run(_executing(local)) == []


@pytest.mark.slow
def test_staging_folders_go_when_jobs_end_done_failed_or_cancelled(local: JobRunner, loop: LoopThread) -> None:
    repo = ProjectRepository(local.store, owner="local")
    project_id = project_with_volume(local.store, name="Staging")
    without_ct = repo.create("Staging without CT").id

    async def scenario():
        done = await local.submit(owner="local", project_id=project_id, kind=JobKind.VOLUME_HISTOGRAM,
                                  parameters={"slabs": 4})
        failed = await local.submit(owner="local", project_id=without_ct, kind=JobKind.VOLUME_HISTOGRAM)
        cancelled = await local.submit(owner="local", project_id=project_id, kind=JobKind.VOLUME_HISTOGRAM,
                                       parameters=SLOW)
        await _first_progress(local, cancelled.id)
        assert repo.layout(project_id).staging(cancelled.id).is_dir()
        stopping = await local._cancel(cancelled.id, "cancelled by local")  # what cancel() starts, awaited here
        await stopping
        return [await local.wait(job.id, timeout_s=HANG_S) for job in (done, failed, cancelled)]

    done, failed, cancelled = loop.run(scenario())
    assert (done.state, failed.state, cancelled.state) == (JobState.DONE, JobState.ERROR, JobState.CANCELLED)
    for project in (project_id, without_ct):
        assert not repo.layout(project).staging_root.exists()
    assert repo.layout(project_id).volume_histogram.is_file()
    assert loop.run(_executing(local)) == []


def test_start_up_sweep_removes_orphans_of_a_previous_run(loop: LoopThread, tmp_path: Path) -> None:
    settings, store = open_test_store(tmp_path)
    repo = ProjectRepository(store, owner="local")
    project_id = project_with_volume(store)
    orphan_job = JobStore(store).create(owner="local", project_id=project_id, kind=JobKind.SIMULATION,
                                        profile="local")
    JobStore(store).set_state(orphan_job.id, JobState.RUNNING)  # left running by a process that died
    staged = repo.layout(project_id).staging(orphan_job.id) / "attempt-0.tmp" / "simulations" / "run"
    staged.mkdir(parents=True)
    (staged / "fields.vti").write_bytes(b"\0" * 4096)
    gone = repo.create("Deleted meanwhile")
    folder = repo.project_dir(gone.id)
    repo.write_artifact(gone.id, None, "auxiliary/volume-histogram.json", b"{}")
    os.rename(folder, tmp_path / "aside")
    repo.delete(gone.id)
    os.rename(tmp_path / "aside", folder)  # re-created by a job that outlived its project
    runner = JobRunner(settings, store)
    loop.run(runner.start())
    try:
        assert JobStore(store).get(orphan_job.id).state is JobState.ERROR
        assert not repo.layout(project_id).staging_root.exists() and not folder.exists()
        assert repo.layout(project_id).ct_volume.is_file()
    finally:
        loop.run(runner.close())
        store.close()


@pytest.mark.slow
def test_the_projects_page_stops_the_jobs_and_says_so_while_it_waits(local: JobRunner, loop: LoopThread) -> None:
    from rhinoapp.state.projects import ProjectsState
    from rhinoapp.state.session import SessionState

    project_id = project_with_volume(local.store, name="Page deletes")
    page = ProjectsState(session=SessionState(repository=ProjectRepository(local.store, owner="local"), runner=local))
    shown: list[tuple[str, bool]] = []
    page.param.watch(lambda event: shown.append((event.new, page.deleting)), "feedback")

    async def scenario():
        record = await local.submit(owner="local", project_id=project_id, kind=JobKind.VOLUME_HISTOGRAM,
                                    parameters=SLOW)
        await _first_progress(local, record.id)
        page.session.open_project(project_id)
        page.request_delete(project_id)
        await page.confirm_delete()
        return await _executing(local)

    assert loop.run(scenario()) == []
    assert shown[:2] == [('"Page deletes": Stopping 1 job of the project before deleting it…', True),
                         ('"Page deletes": Deleting the project\'s records and files…', True)]
    assert (page.feedback, page.feedback_kind, page.deleting) == ('Project "Page deletes" deleted.', "success", False)
    assert page.rows == [] or project_id not in [r.project.id for r in page.rows]
    assert page.session.current_project_id is None
    assert not ProjectRepository(local.store, owner="local").project_dir(project_id).exists()


def test_a_task_never_creates_the_folder_of_a_deleted_project(tmp_path: Path) -> None:
    from rhinoapp.jobs.progress import TaskContext
    from rhinoapp.jobs.requests import JobRequest
    from rhinoapp.jobs.tasks import run_task

    request = JobRequest.create(job_id="j1", owner="local", project_id="p1", project_dir=str(tmp_path / "p1"),
                                kind=JobKind.VOLUME_HISTOGRAM)
    with pytest.raises(NotFoundError, match="no longer exists"):
        run_task(request, context=TaskContext("j1", publish=lambda _m: None, is_cancelled=lambda: False))
    assert list(tmp_path.iterdir()) == []
