"""Clean-up in the projects folder: staging of ended jobs, orphans of deleted projects, refused deletions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rhinoapp.core.workflow import JobKind, JobState, Step
from rhinoapp.store.cleanup import ProjectHasJobs, delete_stopped_project, remove_staging, sweep_orphans
from rhinoapp.store.database import Store
from rhinoapp.store.jobs import JobStore
from rhinoapp.store.repository import ProjectRepository


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def test_sweep_removes_orphans_and_only_them(store: Store, repo: ProjectRepository, tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    kept = repo.create("Kept")
    repo.write_artifact(kept.id, Step.DICOM, "volume/ct.nii.gz", b"ct")
    deleted = repo.create("Patient Doe")
    repo.write_artifact(deleted.id, Step.DICOM, "volume/ct.nii.gz", b"ct")
    orphan = repo.project_dir(deleted.id)
    (orphan / ".staging" / "job1" / "attempt-0.tmp").mkdir(parents=True)
    (orphan / ".staging" / "job1" / "attempt-0.tmp" / "big.bin").write_bytes(b"\0" * (1 << 20))
    os.replace(orphan, orphan.with_name("keep-aside"))
    repo.delete(deleted.id)  # the project is gone; a late job re-created its folder
    os.replace(orphan.with_name("keep-aside"), orphan)
    trash = store.projects_dir / f".deleted-{'ab' * 16}"  # a delete interrupted after its commit
    trash.mkdir()
    live_trash = store.projects_dir / f".deleted-{kept.id}"  # a delete in progress: its project still exists
    live_trash.mkdir()
    layout = repo.layout(kept.id)
    running = JobStore(store).create(owner="local", project_id=kept.id, kind=JobKind.SIMULATION, profile="local")
    JobStore(store).set_state(running.id, JobState.RUNNING)
    for job in ("failed-job", "cancelled-job", running.id, "in-memory-job"):
        (layout.staging(job) / "attempt-0.tmp").mkdir(parents=True)
    outside = tmp_path / "outside"
    (outside / "precious").mkdir(parents=True)
    (store.projects_dir / ("cd" * 16)).symlink_to(outside, target_is_directory=True)  # a link, never followed
    (store.projects_dir / "README.txt").write_text("not a project")
    (store.projects_dir / "uploads").mkdir()

    report = sweep_orphans(store, running_jobs={"in-memory-job"})

    assert report.projects == tuple(sorted((deleted.id, trash.name)))
    assert sorted(report.staging) == sorted(f"{kept.id}/.staging/{job}" for job in ("failed-job", "cancelled-job"))
    assert report.size_bytes >= 1 << 20
    assert not orphan.exists() and not trash.exists() and live_trash.is_dir()
    assert sorted(p.name for p in layout.staging_root.iterdir()) == sorted([running.id, "in-memory-job"])
    assert layout.ct_volume.read_bytes() == b"ct"
    assert (outside / "precious").is_dir() and (store.projects_dir / "README.txt").exists()
    assert (store.projects_dir / "uploads").is_dir()
    assert "Patient Doe" not in caplog.text and "Kept" not in caplog.text  # ids only, never names
    assert sweep_orphans(store, running_jobs={"in-memory-job"}).removed == 0


def test_remove_staging_leaves_other_jobs_and_creates_nothing(repo: ProjectRepository) -> None:
    project = repo.create("Case")
    layout = repo.layout(project.id)
    for job in ("a", "b"):
        (layout.staging(job) / "attempt-0").mkdir(parents=True)
    assert remove_staging(layout.root, "a") and not layout.staging("a").exists() and layout.staging("b").is_dir()
    assert remove_staging(layout.root, "b") and not layout.staging_root.exists()
    assert not remove_staging(layout.root, "b")
    repo.delete(project.id)
    assert not remove_staging(layout.root, "a") and not layout.root.exists()


def test_a_project_with_active_jobs_is_refused_unless_forced(store: Store, repo: ProjectRepository) -> None:
    project = repo.create("Case")
    repo.write_artifact(project.id, Step.DICOM, "volume/ct.nii.gz", b"ct")
    jobs = JobStore(store)
    queued = jobs.create(owner="local", project_id=project.id, kind=JobKind.SEGMENTATION, profile="local")
    with pytest.raises(ProjectHasJobs, match=r'"Case" has 1 job still queued or running \(segmentation\)'
                                             r".*Jobs page.*--force"):
        delete_stopped_project(store, owner="local", project_id=project.id)
    assert repo.get(project.id) and repo.layout(project.id).ct_volume.exists()  # nothing changed
    assert jobs.get(queued.id).state is JobState.QUEUED
    jobs.set_state(queued.id, JobState.CANCELLED)
    delete_stopped_project(store, owner="local", project_id=project.id)  # no active job: deleted
    assert repo.list_projects() == [] and not repo.project_dir(project.id).exists()
    other = repo.create("Stale")
    jobs.create(owner="local", project_id=other.id, kind=JobKind.SIMULATION, profile="local")
    delete_stopped_project(store, owner="local", project_id=other.id, force=True)
    assert repo.list_projects() == []
