"""The job runner against a real single-node Slurm cluster (scripts/slurm-dev-cluster.sh).

``make test`` starts the cluster as root; without it these tests are skipped with the reason.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from rhinoapp.config import JobsSettings
from rhinoapp.config.jobs import LocalProfile, SlurmProfile
from rhinoapp.core.errors import ConfigurationError
from rhinoapp.core.workflow import JobKind, JobState
from rhinoapp.jobs.runner import JobRunner
from tests.jobs.conftest import LoopThread, open_test_store, project_with_volume

ROOT = Path(__file__).resolve().parents[2]


def _cluster_up() -> str:
    if shutil.which("sinfo") is None:
        return "Slurm is not installed (make test installs and starts it as root)"
    status = subprocess.run(["bash", str(ROOT / "scripts" / "slurm-dev-cluster.sh"), "status"],
                            capture_output=True, text=True, timeout=30)
    return "" if status.returncode == 0 else "the Slurm dev cluster is not running (scripts/slurm-dev-cluster.sh start)"


pytestmark = [pytest.mark.slurm,
              pytest.mark.skipif(bool(_cluster_up()), reason=_cluster_up() or "Slurm available")]


def _profile(**overrides) -> SlurmProfile:
    values = dict(name="slurm", partition="cpu", cores=1, memory="1GB", walltime="00:10:00", interface="lo",
                  max_jobs=2)
    values.update(overrides)
    return SlurmProfile(**values)


def _squeue() -> set[str]:
    out = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True, timeout=30).stdout
    return set(out.split())


async def _until(predicate, timeout_s: float = 60.0, what: str = "condition") -> None:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


@pytest.fixture(scope="module")
def slurm(loop: LoopThread, tmp_path_factory: pytest.TempPathFactory):
    jobs = JobsSettings(profile="slurm", profiles=(LocalProfile(n_workers=1), _profile(),
                                                   _profile(name="slurm-gpu", partition="gpu")),
                        kinds=((JobKind.SIMULATION, "slurm-gpu"),))
    settings, store = open_test_store(tmp_path_factory.mktemp("jobs-slurm"), jobs=jobs)
    runner = JobRunner(settings, store, monitor_interval_s=1.0, persist_interval_s=0.2)
    loop.run(runner.start())
    yield runner
    loop.run(runner.close())
    store.close()


def test_job_runs_inside_a_slurm_job_and_reports_progress(slurm: JobRunner, loop: LoopThread) -> None:
    project_id = project_with_volume(slurm.store, name="On Slurm")
    progress: list[float] = []

    async def scenario():
        record = await slurm.submit(owner="local", project_id=project_id, kind=JobKind.VOLUME_HISTOGRAM,
                                    parameters={"pace_s": 0.2, "slabs": 15})
        slurm.subscribe(lambda job: progress.append(slurm.live(job).fraction) if job == record.id and slurm.live(job) else None)
        await _until(lambda: slurm.placement(record.id) is not None, what="the worker to start the task")
        slurm_job = slurm.placement(record.id)[1]
        in_queue = slurm_job in _squeue()
        return await slurm.wait(record.id, timeout_s=120), slurm_job, in_queue

    final, slurm_job, in_queue = loop.run(scenario(), timeout=180)
    assert final.state is JobState.DONE, final.message
    assert slurm_job and final.slurm_job_id == slurm_job and in_queue
    assert "Slurm job" in final.where
    assert progress and progress[-1] == 1.0 and len(set(progress)) >= 3


def test_cancel_removes_the_slurm_job_and_marks_the_record(slurm: JobRunner, loop: LoopThread) -> None:
    project_id = project_with_volume(slurm.store, name="Cancel on Slurm")

    async def scenario():
        record = await slurm.submit(owner="local", project_id=project_id, kind=JobKind.VOLUME_HISTOGRAM,
                                    parameters={"pace_s": 0.3, "slabs": 100})
        await _until(lambda: slurm.placement(record.id) is not None, what="start")
        slurm_job = slurm.placement(record.id)[1]
        assert slurm_job in _squeue()
        cancelled = await slurm.cancel(record.id, owner="local")
        await _until(lambda: slurm_job not in _squeue(), timeout_s=30, what="scancel")
        return cancelled

    cancelled = loop.run(scenario(), timeout=180)
    assert cancelled.state is JobState.CANCELLED


def test_scancel_of_the_worker_turns_the_job_into_an_error(slurm: JobRunner, loop: LoopThread) -> None:
    project_id = project_with_volume(slurm.store, name="Scancelled")

    async def scenario():
        record = await slurm.submit(owner="local", project_id=project_id, kind=JobKind.VOLUME_HISTOGRAM,
                                    parameters={"pace_s": 0.3, "slabs": 100})
        await _until(lambda: slurm.placement(record.id) is not None, what="start")
        subprocess.run(["scancel", slurm.placement(record.id)[1]], check=True, timeout=30)
        return await slurm.wait(record.id, timeout_s=150)  # the job would run 30 s more: an error, not done

    final = loop.run(scenario(), timeout=180)
    assert final.state is JobState.ERROR
    assert "left the cluster" in final.message or "died" in final.message


def test_scancel_is_retried_when_configured(loop: LoopThread, tmp_path: Path) -> None:
    jobs = JobsSettings(profile="slurm", profiles=(LocalProfile(n_workers=1), _profile()), retries=1)
    settings, store = open_test_store(tmp_path, jobs=jobs)
    runner = JobRunner(settings, store, monitor_interval_s=1.0)
    loop.run(runner.start())
    try:
        project_id = project_with_volume(store)

        async def scenario():
            record = await runner.submit(owner="local", project_id=project_id, kind=JobKind.VOLUME_HISTOGRAM,
                                         parameters={"pace_s": 0.2, "slabs": 20})
            await _until(lambda: runner.placement(record.id) is not None, what="start")
            subprocess.run(["scancel", runner.placement(record.id)[1]], check=True, timeout=30)
            return await runner.wait(record.id, timeout_s=120)

        final = loop.run(scenario(), timeout=180)
        assert final.state is JobState.DONE and final.attempt == 1, final.message
    finally:
        loop.run(runner.close())
        store.close()


def test_gpu_kind_uses_its_own_partition(slurm: JobRunner) -> None:
    assert slurm.settings.jobs.profile_for(JobKind.SIMULATION).partition == "gpu"
    assert slurm.settings.jobs.profile_for(JobKind.SEGMENTATION).partition == "cpu"


def test_unknown_partition_is_refused_naming_the_setting(loop: LoopThread, tmp_path: Path) -> None:
    jobs = JobsSettings(profile="slurm", profiles=(LocalProfile(), _profile(partition="nonexistent")))
    settings, store = open_test_store(tmp_path, jobs=jobs)
    runner = JobRunner(settings, store)
    loop.run(runner.start())
    try:
        project_id = project_with_volume(store)
        with pytest.raises(ConfigurationError, match=r"jobs\.profiles\.slurm\.partition 'nonexistent' does not exist"):
            loop.run(runner.submit(owner="local", project_id=project_id, kind=JobKind.VOLUME_HISTOGRAM))
    finally:
        loop.run(runner.close())
        store.close()


def test_restart_marks_orphaned_slurm_records(loop: LoopThread, tmp_path: Path) -> None:
    from rhinoapp.store.jobs import JobStore

    jobs = JobsSettings(profile="slurm", profiles=(LocalProfile(), _profile()))
    settings, store = open_test_store(tmp_path, jobs=jobs)
    project_id = project_with_volume(store)
    records = JobStore(store)
    orphan = records.create(owner="local", project_id=project_id, kind=JobKind.VOLUME_HISTOGRAM, profile="slurm")
    records.update(orphan.id, slurm_job_id="999999", task_key="rhinoapp-volume-histogram-x-0")
    records.set_state(orphan.id, JobState.RUNNING)
    runner = JobRunner(settings, store)
    loop.run(runner.start())
    try:
        final = records.get(orphan.id)
        assert final.state is JobState.ERROR and "restart" in final.message
    finally:
        loop.run(runner.close())
        store.close()


def test_segmentation_runs_on_slurm(slurm: JobRunner, loop: LoopThread) -> None:
    from rhinoapp.core.workflow import Step
    from rhinoapp.store.repository import ProjectRepository
    from tests.jobs.conftest import project_with_phantom

    project_id = project_with_phantom(slurm.store, name="Segment on Slurm")
    record = loop.run(slurm.submit(owner="local", project_id=project_id, kind=JobKind.SEGMENTATION,
                                   parameters={"target_triangles": 20000}))
    final = loop.run(slurm.wait(record.id, timeout_s=150), timeout=180)
    assert final.state is JobState.DONE, final.message
    assert final.slurm_job_id
    names = {a.name for a in ProjectRepository(slurm.store, owner="local").artifacts(project_id, Step.GEOMETRY)}
    assert "geometry/default/airway.vtp" in names


def _slurm_job_id() -> str:
    import os

    return os.environ.get("SLURM_JOB_ID", "")


def test_an_outside_process_cannot_run_code_on_the_slurm_cluster(loop: LoopThread, tmp_path: Path) -> None:
    from rhinoapp.jobs.clusters import adapter_for
    from rhinoapp.jobs.credentials import SchedulerCredentials
    from tests.jobs.outsider import run_outsider
    from tests.jobs.test_clusters import assert_closed

    adapter = adapter_for(_profile(min_jobs=1, max_jobs=1), data_dir=tmp_path / "data")
    client = loop.run(adapter.start())
    try:
        async def first_worker() -> None:
            await client.wait_for_workers(1, timeout=120)

        loop.run(first_worker(), timeout=150)
        identity = loop.run(client.scheduler.identity())
        scheduler, worker = client.scheduler.address, next(iter(identity["workers"]))
        assert scheduler.startswith("tls://") and worker.startswith("tls://")
        async def slurm_job_of_worker() -> str:
            return str((await client.run(_slurm_job_id, workers=[worker]))[worker])

        slurm_job = loop.run(slurm_job_of_worker())
        assert slurm_job and slurm_job in _squeue()  # the worker runs in a Slurm job and joined with the app's files
        credentials = SchedulerCredentials.of(tmp_path / "data")
        outcomes = run_outsider(scheduler=scheduler, worker=worker, markers=tmp_path / "markers",
                                app_ca=credentials.ca_file, app_credentials=credentials.files)
        assert_closed(outcomes, tmp_path / "markers")
    finally:
        loop.run(adapter.close())
