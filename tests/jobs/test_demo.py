"""The demo project of a first start: phantom CT, 4PR recording, segmentation run as a job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rhinoapp.config import JobsSettings
from rhinoapp.config.jobs import LocalProfile
from rhinoapp.core.workflow import JobKind, JobState, Step, StepStatus
from rhinoapp.jobs.demo import DEMO_NAME, ensure_demo_project
from rhinoapp.jobs.runner import JobRunner
from rhinoapp.store.database import open_store
from rhinoapp.store.repository import ProjectRepository
from tests.jobs.conftest import LoopThread, open_test_store
from tests.test_app import free_port, wait_for_http
from tests.waiting import HANG_S, wait_until


@pytest.mark.slow
def test_first_start_creates_the_demo_once(loop: LoopThread, tmp_path: Path) -> None:
    settings, store = open_test_store(tmp_path, jobs=JobsSettings(profiles=(LocalProfile(n_workers=1),)))
    runner = JobRunner(settings, store)
    try:
        project_id = loop.run(ensure_demo_project(runner, owner="local"))
        repo = ProjectRepository(store, owner="local")
        assert repo.get(project_id).name == DEMO_NAME
        statuses = repo.statuses([project_id])[project_id]
        assert statuses[Step.DICOM].status is StepStatus.DONE and statuses[Step.RHINOMANOMETRY].status is StepStatus.DONE
        job = next(r for r in runner.records.recent(owner="local") if r.kind is JobKind.SEGMENTATION)
        assert loop.run(runner.wait(job.id, timeout_s=240), timeout=300).state is JobState.DONE
        assert repo.statuses([project_id])[project_id][Step.GEOMETRY].status is StepStatus.DONE
        # the airflow simulation follows the segmentation (demo_simulation, on by default)
        assert [r.kind for r in runner.records.recent(owner="local") if r.kind is JobKind.SIMULATION]
        repo.delete(project_id)
        assert loop.run(ensure_demo_project(runner, owner="local")) is None  # a deleted demo stays deleted
        assert repo.list_projects() == []
    finally:
        loop.run(runner.close())
        store.close()


@pytest.mark.slow
def test_serve_on_an_empty_data_dir_shows_the_demo(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "rhinoapp", "serve", "--data-dir", str(tmp_path), "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", timeout=HANG_S)
        from rhinoapp.config import Settings

        def names() -> list[str]:
            store = open_store(Settings(data_dir=tmp_path))
            try:
                return [p.name for p in ProjectRepository(store, owner="local").list_projects()]
            finally:
                store.close()

        assert wait_until(names, what="the demo project", interval_s=0.5) == [DEMO_NAME]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
