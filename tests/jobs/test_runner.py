"""The job runner with the ``local`` profile: real worker processes, real progress events."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import pytest

from rhinoapp.config import JobsSettings
from rhinoapp.config.jobs import LocalProfile, SchedulerProfile
from rhinoapp.core.errors import ConfigurationError, NotFoundError
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.core.workflow import JobKind, JobState, Step, StepStatus
from rhinoapp.jobs.events import JobEvent
from rhinoapp.jobs.runner import JobRunner
from rhinoapp.jobs.tasks import staging_dir
from rhinoapp.store.jobs import JobStore
from rhinoapp.store.repository import ProjectRepository
from tests.jobs.conftest import LoopThread, open_test_store, project_with_volume
from tests.waiting import HANG_S

SLOW = {"pace_s": 0.25, "slabs": 40}  # about 10 s: long enough to watch, cancel or kill


@pytest.fixture(scope="module")
def local(loop: LoopThread, tmp_path_factory: pytest.TempPathFactory):
    settings, store = open_test_store(tmp_path_factory.mktemp("jobs-local"),
                                      jobs=JobsSettings(profiles=(LocalProfile(n_workers=2),)))
    runner = JobRunner(settings, store, monitor_interval_s=0.5, persist_interval_s=0.2)
    loop.run(runner.start())
    yield runner
    loop.run(runner.close())
    store.close()


async def _until(predicate, timeout_s: float = HANG_S, what: str = "condition") -> None:
    """Poll ``predicate`` on the loop until it holds; the ceiling only catches hangs."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.mark.slow
def test_job_runs_streams_progress_and_publishes(local: JobRunner, loop: LoopThread) -> None:
    project_id = project_with_volume(local.store, name="Histogram")
    seen: list[tuple[float, str]] = []

    async def scenario():
        record = await local.submit(owner="local", project_id=project_id, kind=JobKind.VOLUME_HISTOGRAM,
                                    parameters={"pace_s": 0.05, "slabs": 8})
        unsubscribe = local.subscribe(lambda job: seen.append((local.live(job).fraction, local.live(job).message))
                                      if job == record.id and local.live(job) else None)
        final = await local.wait(record.id, timeout_s=HANG_S)
        unsubscribe()
        return record, final

    record, final = loop.run(scenario())
    assert record.state is JobState.QUEUED
    assert final.state is JobState.DONE, final.message
    assert final.worker_host and final.started_at and final.finished_at >= final.started_at
    assert final.progress == 1.0 and "% air" in final.message
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(set(fractions)) >= 3
    repo = ProjectRepository(local.store, owner="local")
    artifact = next(a for a in repo.artifacts(project_id) if a.name == str(ProjectLayout().volume_histogram))
    assert artifact.step is None  # an auxiliary output, part of no step
    document = json.loads(repo.layout(project_id).volume_histogram.read_text())
    assert sum(document["counts"]) == 48 * 40 * 64 and 0.2 < document["air_fraction"] < 0.3
    assert not repo.layout(project_id).staging(record.id).exists()
    assert repo.statuses([project_id])[project_id][Step.DICOM].status is StepStatus.DONE


@pytest.mark.slow
def test_every_change_of_a_job_is_published_with_its_owner_project_kind_and_state(local: JobRunner,
                                                                                 loop: LoopThread) -> None:
    project_id = project_with_volume(local.store, name="Events")
    heard: list[JobEvent] = []
    unsubscribe = local.events.subscribe(heard.append)

    async def scenario():
        record = await local.submit(owner="local", project_id=project_id, kind=JobKind.VOLUME_HISTOGRAM,
                                    parameters={"slabs": 4})
        return await local.wait(record.id, timeout_s=HANG_S)

    final = loop.run(scenario())
    unsubscribe()
    mine = [event for event in heard if event.job_id == final.id]
    assert final.state is JobState.DONE, final.message
    assert {(e.owner, e.project_id, e.kind) for e in mine} == {("local", project_id, JobKind.VOLUME_HISTOGRAM)}
    assert mine[0].state is JobState.QUEUED and mine[-1].state is JobState.DONE
    assert {e.state for e in mine[1:-1]} == {JobState.RUNNING}  # started, then progress reports


@pytest.mark.slow
def test_task_error_is_recorded_with_its_message(local: JobRunner, loop: LoopThread) -> None:
    project = ProjectRepository(local.store, owner="local").create("No volume")

    async def scenario():
        record = await local.submit(owner="local", project_id=project.id, kind=JobKind.VOLUME_HISTOGRAM)
        return await local.wait(record.id, timeout_s=HANG_S)

    final = loop.run(scenario())
    assert final.state is JobState.ERROR and "import the CT" in final.message
    dicom = ProjectRepository(local.store, owner="local").statuses([project.id])[project.id][Step.DICOM]
    assert dicom.status is StepStatus.POSSIBLE  # a failed diagnostics job colours no step


def test_histogram_job_changes_no_steps_status(local: JobRunner, loop: LoopThread) -> None:
    repo = ProjectRepository(local.store, owner="local")
    project_id = project_with_volume(local.store, name="Histogram keeps Geometry done")
    for path in ProjectLayout().geometry().files:  # a geometry made from the current CT
        repo.write_artifact(project_id, Step.GEOMETRY, str(path), path.name.encode())
    before = repo.statuses([project_id])[project_id]
    assert before[Step.GEOMETRY].status is StepStatus.DONE and before[Step.SIMULATION].status is StepStatus.POSSIBLE

    async def scenario():
        record = await local.submit(owner="local", project_id=project_id, kind=JobKind.VOLUME_HISTOGRAM,
                                    parameters={"slabs": 4})
        while_queued = repo.statuses([project_id])[project_id]  # the record exists: it colours no step
        return while_queued, await local.wait(record.id, timeout_s=60)

    while_queued, final = loop.run(scenario())
    assert final.state is JobState.DONE, final.message
    assert repo.layout(project_id).volume_histogram.is_file()
    after = repo.statuses([project_id])[project_id]
    assert while_queued == before and after == before
    assert not after[Step.GEOMETRY].outdated
    assert {a.name for a in repo.artifacts(project_id, Step.DICOM)} == {str(ProjectLayout().ct_volume)}


@pytest.mark.slow
def test_cancel_stops_the_work_and_marks_the_record(local: JobRunner, loop: LoopThread) -> None:
    project_id = project_with_volume(local.store, name="Cancel")

    async def scenario():
        record = await local.submit(owner="local", project_id=project_id, kind=JobKind.VOLUME_HISTOGRAM,
                                    parameters=SLOW)
        await _until(lambda: (local.live(record.id) or None) is not None and local.live(record.id).fraction > 0,
                     what="first progress")
        worker = local.placement(record.id)[0]
        with pytest.raises(NotFoundError):
            await local.cancel(record.id, owner="someone-else")
        cancelled = await local.cancel(record.id, owner="local")
        client = local._clients["local"]
        while (await client.processing([worker]))[worker]:  # until the worker lets go of the task
            await asyncio.sleep(0.05)
        return record, cancelled

    record, cancelled = loop.run(scenario(), timeout=HANG_S)
    assert cancelled.state is JobState.CANCELLED and cancelled.finished_at is not None
    staged = staging_dir(ProjectRepository(local.store, owner="local").project_dir(project_id), record.id)
    assert not (staged / "attempt-0").exists()  # the worker stopped the task before it finished
    names = [a.name for a in ProjectRepository(local.store, owner="local").artifacts(project_id)]
    assert str(ProjectLayout().volume_histogram) not in names


def _kill_worker_of(runner: JobRunner, job_id: str, loop: LoopThread) -> None:
    worker = runner.placement(job_id)[0]
    async def pids_of_workers():
        return await runner._clients["local"].run(os.getpid, workers=[worker])

    pids = loop.run(pids_of_workers())
    os.kill(pids[worker], signal.SIGKILL)


@pytest.mark.slow
def test_killed_worker_turns_the_job_into_an_error(local: JobRunner, loop: LoopThread) -> None:
    project_id = project_with_volume(local.store, name="Killed")
    record = loop.run(local.submit(owner="local", project_id=project_id, kind=JobKind.VOLUME_HISTOGRAM,
                                   parameters=SLOW))
    loop.run(_until(lambda: local.placement(record.id) is not None, what="start"), timeout=HANG_S)
    _kill_worker_of(local, record.id, loop)
    final = loop.run(local.wait(record.id, timeout_s=HANG_S), timeout=HANG_S)
    assert final.state is JobState.ERROR and "worker running this job was lost" in final.message


@pytest.mark.slow
def test_killed_worker_is_retried_when_configured(loop: LoopThread, tmp_path: Path) -> None:
    settings, store = open_test_store(tmp_path, jobs=JobsSettings(profiles=(LocalProfile(n_workers=1),), retries=1))
    runner = JobRunner(settings, store, monitor_interval_s=0.5)
    loop.run(runner.start())
    try:
        project_id = project_with_volume(store)
        record = loop.run(runner.submit(owner="local", project_id=project_id, kind=JobKind.VOLUME_HISTOGRAM,
                                        parameters={"pace_s": 0.2, "slabs": 15}))
        loop.run(_until(lambda: runner.placement(record.id) is not None, what="start"))
        _kill_worker_of(runner, record.id, loop)
        final = loop.run(runner.wait(record.id, timeout_s=HANG_S))
        assert final.state is JobState.DONE, final.message
        assert final.attempt == 1
    finally:
        loop.run(runner.close())
        store.close()


def test_restart_marks_orphaned_running_records(loop: LoopThread, tmp_path: Path) -> None:
    settings, store = open_test_store(tmp_path)
    project_id = project_with_volume(store)
    records = JobStore(store)
    orphan = records.create(owner="local", project_id=project_id, kind=JobKind.VOLUME_HISTOGRAM, profile="local")
    records.set_state(orphan.id, JobState.RUNNING)
    runner = JobRunner(settings, store)
    loop.run(runner.start())
    try:
        final = records.get(orphan.id)
        assert final.state is JobState.ERROR and "interrupted by a restart" in final.message.lower()
        assert final.finished_at is not None
    finally:
        loop.run(runner.close())
        store.close()


@pytest.mark.slow
def test_unreachable_scheduler_is_a_clear_error_and_the_runner_goes_on(loop: LoopThread, tmp_path: Path) -> None:
    jobs = JobsSettings(profiles=(LocalProfile(n_workers=1), SchedulerProfile(name="hpc", address="tls://127.0.0.1:9")),
                        kinds=((JobKind.SIMULATION, "hpc"),))
    settings, store = open_test_store(tmp_path, jobs=jobs)
    runner = JobRunner(settings, store)
    loop.run(runner.start())
    try:
        project_id = project_with_volume(store)
        with pytest.raises(ConfigurationError, match=r"jobs\.profiles\.hpc\.address.*tls://127\.0\.0\.1:9"):
            loop.run(runner.submit(owner="local", project_id=project_id, kind=JobKind.SIMULATION))
        failed = JobStore(store).recent(owner="local")[0]
        assert failed.state is JobState.ERROR and "no dask scheduler answers" in failed.message
        ok = loop.run(runner.submit(owner="local", project_id=project_id, kind=JobKind.VOLUME_HISTOGRAM))
        assert loop.run(runner.wait(ok.id, timeout_s=HANG_S)).state is JobState.DONE
    finally:
        loop.run(runner.close())
        store.close()


@pytest.mark.slow
def test_pages_refreshing_on_the_loop_follow_a_job_that_streams_progress(local: JobRunner, loop: LoopThread) -> None:
    """Three Jobs pages refresh on the app's loop while a job reports progress many times a second.

    How late the loop's timers fire meanwhile is measured by ``benchmarks/jobs_event_loop.py``
    (tests assert no timings); here every page follows the job to its end.
    """
    from rhinoapp.state.jobs import JobsState
    from rhinoapp.state.session import SessionState

    project_id = project_with_volume(local.store, name="Streaming")
    sessions = [JobsState(session=SessionState(repository=ProjectRepository(local.store, owner="local"),
                                               runner=local)) for _ in range(3)]
    shown: list[float] = []

    async def scenario():
        record = await local.submit(owner="local", project_id=project_id, kind=JobKind.VOLUME_HISTOGRAM,
                                    parameters={"pace_s": 0.02, "slabs": 200})
        changed = asyncio.Event()
        unsubscribe = local.subscribe(lambda job: changed.set() if job == record.id else None)
        try:
            while local.records.get(record.id).state.is_active or local.live(record.id) is not None:
                await changed.wait()
                changed.clear()
                for page in sessions:
                    page.refresh()
                if sessions[0].rows and sessions[0].rows[0].state is JobState.RUNNING:
                    shown.append(sessions[0].rows[0].progress)
        finally:
            unsubscribe()
        for page in sessions:
            page.refresh()
        return await local.wait(record.id, timeout_s=HANG_S), record

    final, record = loop.run(scenario(), timeout=HANG_S)
    assert final.state is JobState.DONE
    assert all(page.rows[0].id == record.id and page.rows[0].state is JobState.DONE for page in sessions)
    assert shown and shown == sorted(shown) and 0 < shown[-1] <= 1, shown  # the pages followed the progress


@pytest.mark.slow
def test_segmentation_job_publishes_the_geometry(local: JobRunner, loop: LoopThread) -> None:
    from tests.jobs.conftest import project_with_phantom

    project_id = project_with_phantom(local.store, name="Segment locally")
    record = loop.run(local.submit(owner="local", project_id=project_id, kind=JobKind.SEGMENTATION,
                                   parameters={"target_triangles": 20000}))
    final = loop.run(local.wait(record.id, timeout_s=HANG_S))
    assert final.state is JobState.DONE, final.message
    repo = ProjectRepository(local.store, owner="local")
    names = {a.name for a in repo.artifacts(project_id, Step.GEOMETRY)}
    assert names == {str(p) for p in ProjectLayout().geometry("default").files}
    report = json.loads(repo.layout(project_id).geometry("default").report.read_text())
    assert 0.2 < report["left"]["mcsa_cm2"] < 1.5 and report["surface"]["watertight"]
    assert repo.statuses([project_id])[project_id][Step.GEOMETRY].status is StepStatus.DONE


@pytest.mark.slow
def test_simulation_job_publishes_the_flow(local: JobRunner, loop: LoopThread) -> None:
    from tests.jobs.conftest import project_with_phantom

    project_id = project_with_phantom(local.store, name="Simulate locally")
    segmented = loop.run(local.submit(owner="local", project_id=project_id, kind=JobKind.SEGMENTATION,
                                      parameters={"target_triangles": 20000}))
    assert loop.run(local.wait(segmented.id, timeout_s=HANG_S)).state is JobState.DONE
    record = loop.run(local.submit(owner="local", project_id=project_id, kind=JobKind.SIMULATION,
                                   parameters={"resolution_mm": 2.0, "max_steps": 400, "run_id": "quick"}))
    final = loop.run(local.wait(record.id, timeout_s=240), timeout=300)
    assert final.state is JobState.DONE, final.message
    repo = ProjectRepository(local.store, owner="local")
    names = {a.name for a in repo.artifacts(project_id, Step.SIMULATION)}
    assert {str(p) for p in ProjectLayout().simulation("quick").files} <= names
    assert not any("checkpoints" in n for n in names)
    results = json.loads(repo.layout(project_id).simulation("quick").results.read_text())
    assert results["steps"] <= 400 and results["flow_ml_s"]["total"] > 0
    assert repo.statuses([project_id])[project_id][Step.SIMULATION].status is StepStatus.DONE


@pytest.mark.slow
def test_simulation_without_geometry_says_what_to_do(local: JobRunner, loop: LoopThread) -> None:
    project_id = project_with_volume(local.store, name="No geometry")
    record = loop.run(local.submit(owner="local", project_id=project_id, kind=JobKind.SIMULATION))
    final = loop.run(local.wait(record.id, timeout_s=HANG_S))
    assert final.state is JobState.ERROR and "run the segmentation first" in final.message
