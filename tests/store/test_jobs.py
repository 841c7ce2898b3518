"""Job records: a finished job stays finished, whatever arrives late."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rhinoapp.config import Settings
from rhinoapp.core.access import Role
from rhinoapp.core.workflow import JobKind, JobState
from rhinoapp.store import open_store
from rhinoapp.store.database import Store
from rhinoapp.store.jobs import JobStore
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.store.sharing import SharingService


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


def test_jobs_over_a_users_limit_wait_and_are_admitted_oldest_first(tmp_path: Path) -> None:
    store = open_store(Settings(data_dir=tmp_path))
    project = ProjectRepository(store, owner="ana").create("Case 1")
    SharingService(ProjectRepository(store, owner="ana")).share(project.id, "bob", Role.EDITOR)
    jobs = JobStore(store)
    first, second, third, fourth = (jobs.create(owner="ana", project_id=project.id, kind=JobKind.SEGMENTATION,
                                                profile="local", limit=2) for _ in range(4))
    assert [j.waiting for j in (first, second, third, fourth)] == [False, False, True, True]
    assert third.state is JobState.QUEUED and third.message == "queued: you have 2 jobs running; it starts when one ends"
    assert third.progress_message == third.message and third.submitted_by == "ana"
    bobs = jobs.create(owner="bob", project_id=project.id, kind=JobKind.SEGMENTATION, profile="local", limit=2)
    assert not bobs.waiting and bobs.submitted_by == "bob"  # the limit is the submitter's, not the project owner's
    assert jobs.admit("ana", limit=2) == [] and jobs.waiting_users() == ["ana"]
    jobs.set_state(first.id, JobState.RUNNING)
    jobs.set_state(first.id, JobState.DONE)
    [admitted] = jobs.admit("ana", limit=2)
    assert admitted.id == third.id and not admitted.waiting and admitted.state is JobState.QUEUED
    jobs.set_state(fourth.id, JobState.CANCELLED, message="cancelled by ana")  # a waiting job can be cancelled
    jobs.set_state(second.id, JobState.ERROR)
    assert jobs.admit("ana", limit=2) == [] and jobs.waiting_users() == []
    store.close()


def test_concurrent_submissions_from_several_connections_never_start_more_than_the_limit(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    store = open_store(settings)
    project = ProjectRepository(store, owner="ana").create("Case 1")
    stores = [open_store(settings) for _ in range(6)]  # one engine each, as separate processes have
    start = threading.Barrier(len(stores))

    def submit(own: Store) -> bool:
        start.wait()
        return JobStore(own).create(owner="ana", project_id=project.id, kind=JobKind.SEGMENTATION,
                                    profile="local", limit=2).waiting

    with ThreadPoolExecutor(len(stores)) as pool:
        waiting = list(pool.map(submit, stores))
    assert sorted(waiting) == [False, False, True, True, True, True]
    admitted = [JobStore(s).admit("ana", limit=3) for s in stores[:3]]  # one slot more: one job, once
    assert sorted(len(a) for a in admitted) == [0, 0, 1]
    for own in (store, *stores):
        own.close()
