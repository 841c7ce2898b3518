"""Job records: a finished job stays finished, whatever arrives late."""

from __future__ import annotations

from pathlib import Path

import pytest

from rhinoapp.config import Settings
from rhinoapp.core.workflow import JobKind, JobState
from rhinoapp.store import open_store
from rhinoapp.store.jobs import JobStore
from rhinoapp.store.repository import ProjectRepository


@pytest.mark.parametrize("final", [JobState.CANCELLED, JobState.DONE, JobState.ERROR])
def test_a_late_running_does_not_reopen_a_finished_job(final: JobState, tmp_path: Path) -> None:
    store = open_store(Settings(data_dir=tmp_path))
    project = ProjectRepository(store, owner="ana").create("Case 1")
    jobs = JobStore(store)
    job = jobs.create(owner="ana", project_id=project.id, kind=JobKind.SEGMENTATION, profile="local")
    assert jobs.set_state(job.id, JobState.RUNNING)
    assert jobs.set_state(job.id, final, message="the end")
    # the worker's "started" write that raced the cancel arrives after it
    assert not jobs.set_state(job.id, JobState.RUNNING)
    assert not jobs.set_state(job.id, JobState.QUEUED)
    record = jobs.get(job.id)
    assert record.state is final and record.message == "the end" and record.finished_at is not None
    store.close()


def test_active_states_move_freely(tmp_path: Path) -> None:
    store = open_store(Settings(data_dir=tmp_path))
    project = ProjectRepository(store, owner="ana").create("Case 1")
    jobs = JobStore(store)
    job = jobs.create(owner="ana", project_id=project.id, kind=JobKind.SEGMENTATION, profile="local")
    assert jobs.set_state(job.id, JobState.RUNNING)
    assert jobs.set_state(job.id, JobState.QUEUED, message="retry 1 of 1")  # a retry after a lost worker
    assert jobs.get(job.id).state is JobState.QUEUED
    store.close()
