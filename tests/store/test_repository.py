"""Projects, artifacts and jobs through the user-scoped repository, on a real SQLite file."""

from __future__ import annotations

import datetime as dt

import pytest

from rhinoapp.config import Settings
from rhinoapp.core.errors import ConflictError, NotFoundError, ValidationError
from rhinoapp.core.workflow import JobKind, JobState, Step, StepStatus
from rhinoapp.store import ProjectRepository, open_store, output_digest
from rhinoapp.store.jobs import JobStore


def test_round_trip_survives_reopening(settings: Settings) -> None:
    store = open_store(settings)
    repo = ProjectRepository(store, owner="dr-a")
    created = repo.create("Case 1", "deviated septum")
    art = repo.write_artifact(created.id, Step.DICOM, "volume/ct.json", b"{}")
    store.close()
    reopened = ProjectRepository(open_store(settings), owner="dr-a")
    [project] = reopened.list_projects()
    assert project == created
    assert project.created.tzinfo is not None
    [again] = reopened.artifacts(created.id)
    assert again == art and again.path.read_bytes() == b"{}"


def test_names_are_unique_per_owner_ignoring_case(store) -> None:
    a, b = ProjectRepository(store, owner="dr-a"), ProjectRepository(store, owner="dr-b")
    a.create("Case 1")
    with pytest.raises(ConflictError, match="already exists"):
        a.create("CASE  1")
    b.create("Case 1")  # another owner may use the same name
    with pytest.raises(ValidationError):
        a.create("")


def test_every_query_is_scoped_to_the_owner(store) -> None:
    mine, theirs = ProjectRepository(store, owner="dr-a"), ProjectRepository(store, owner="dr-b")
    jobs = JobStore(store)
    secret = theirs.create("Their case")
    job = jobs.create(owner="dr-b", project_id=secret.id, kind=JobKind.SEGMENTATION, profile="local")
    assert mine.list_projects() == []
    assert mine.statuses([secret.id])[secret.id][Step.DICOM].status is StepStatus.POSSIBLE
    assert theirs.statuses([secret.id])[secret.id][Step.GEOMETRY].status is StepStatus.IN_PROGRESS
    assert mine.statuses([secret.id])[secret.id][Step.GEOMETRY].status is not StepStatus.IN_PROGRESS
    assert mine.artifacts(secret.id) == [] and mine.last_activity([secret.id]) == {}
    for attempt in (
        lambda: mine.get(secret.id),
        lambda: mine.update(secret.id, name="Stolen"),
        lambda: mine.delete(secret.id),
        lambda: mine.write_artifact(secret.id, Step.DICOM, "volume/ct.json", b"x"),
        lambda: jobs.create(owner="dr-a", project_id=secret.id, kind=JobKind.SEGMENTATION, profile="local"),
        lambda: jobs.get(job.id, owner="dr-a"),
    ):
        with pytest.raises(NotFoundError):
            attempt()
    assert theirs.get(secret.id).name == "Their case"
    assert jobs.recent(owner="dr-a") == [] and jobs.get(job.id, owner="dr-b").state is JobState.QUEUED
    assert not (store.projects_dir / secret.id).exists()


def test_rename_and_search(repo) -> None:
    one = repo.create("Case 1", "septum deviated to the left")
    repo.create("Case 2", "turbinate hypertrophy")
    renamed = repo.update(one.id, name="Case 1 pre-op")
    assert renamed.updated >= one.updated and renamed.name == "Case 1 pre-op"
    assert [p.name for p in repo.list_projects(search="SEPTUM")] == ["Case 1 pre-op"]
    assert [p.name for p in repo.list_projects(search="case 2")] == ["Case 2"]
    with pytest.raises(ConflictError):
        repo.update(one.id, name="case 2")
    repo.update(one.id, name="case 1 PRE-OP")  # its own name in other case is fine


def test_delete_removes_records_and_files(repo, store) -> None:
    project = repo.create("Case 1")
    repo.write_artifact(project.id, Step.DICOM, "volume/ct.json", b"{}")
    JobStore(store).create(owner=repo.owner, project_id=project.id, kind=JobKind.SEGMENTATION, profile="local")
    repo.delete(project.id)
    assert repo.list_projects() == []
    assert list(store.projects_dir.iterdir()) == []
    with store.engine.connect() as connection:
        for table in ("artifacts", "jobs"):
            assert connection.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar() == 0


def test_status_follows_artifacts_and_jobs(repo, store) -> None:
    project = repo.create("Case 1")
    jobs = JobStore(store)

    def segmentation() -> str:
        return jobs.create(owner=repo.owner, project_id=project.id, kind=JobKind.SEGMENTATION, profile="local").id

    def status(step: Step) -> StepStatus:
        return repo.statuses([project.id])[project.id][step].status

    repo.write_artifact(project.id, Step.DICOM, "volume/ct.nii.gz", b"ct v1")
    assert (status(Step.DICOM), status(Step.GEOMETRY)) == (StepStatus.DONE, StepStatus.POSSIBLE)
    job = segmentation()
    assert status(Step.GEOMETRY) is StepStatus.IN_PROGRESS
    jobs.set_state(job, JobState.RUNNING)
    repo.write_artifact(project.id, Step.GEOMETRY, "geometry/default/labels.nii.gz", b"labels", job_id=job)
    jobs.set_state(job, JobState.DONE)
    assert status(Step.GEOMETRY) is StepStatus.DONE and status(Step.SIMULATION) is StepStatus.POSSIBLE
    [geometry] = repo.artifacts(project.id, Step.GEOMETRY)
    assert geometry.job_id == job
    assert geometry.inputs == {Step.DICOM: output_digest([("volume/ct.nii.gz", repo.artifacts(project.id)[-1].sha256)])}
    repo.write_artifact(project.id, Step.DICOM, "volume/ct.nii.gz", b"ct v2")  # a new CT
    state = repo.statuses([project.id])[project.id][Step.GEOMETRY]
    assert (state.status, state.outdated) == (StepStatus.POSSIBLE, True)
    failed = segmentation()
    jobs.set_state(failed, JobState.ERROR, message="No air found below -550 HU.")
    state = repo.statuses([project.id])[project.id][Step.GEOMETRY]
    assert (state.status, state.message) == (StepStatus.ERROR, "No air found below -550 HU.")
    # a worker's late "running" after the error does not make the step look busy again
    assert not jobs.set_state(failed, JobState.RUNNING)
    state = repo.statuses([project.id])[project.id][Step.GEOMETRY]
    assert (state.status, state.message) == (StepStatus.ERROR, "No air found below -550 HU.")


def test_partly_rewritten_output_is_outdated(repo) -> None:
    project = repo.create("Case 1")
    repo.write_artifact(project.id, Step.DICOM, "volume/ct.nii.gz", b"v1")
    repo.write_artifact(project.id, Step.GEOMETRY, "geometry/a", b"a")
    repo.write_artifact(project.id, Step.DICOM, "volume/ct.nii.gz", b"v2")
    repo.write_artifact(project.id, Step.GEOMETRY, "geometry/b", b"b")  # made from the new CT, "a" is not
    assert repo.statuses([project.id])[project.id][Step.GEOMETRY].outdated


def test_last_activity_and_job_times(repo, store) -> None:
    project = repo.create("Case 1")
    before = repo.last_activity([project.id])[project.id]
    jobs = JobStore(store)
    job = jobs.create(owner=repo.owner, project_id=project.id, kind=JobKind.SEGMENTATION, profile="local")
    jobs.set_state(job.id, JobState.DONE)
    after = repo.last_activity([project.id])[project.id]
    assert after >= before and after.tzinfo == dt.timezone.utc and after == jobs.get(job.id).finished_at


def test_bad_ids(repo) -> None:
    with pytest.raises(ValidationError):
        repo.project_dir("../escape")
    with pytest.raises(NotFoundError):
        repo.get("0" * 32)


def test_several_files_publish_all_or_nothing(repo) -> None:
    project = repo.create("Pair")
    repo.write_artifacts(project.id, Step.RHINOMANOMETRY, {"rhinomanometry/m1/recording.csv": b"old-a",
                                                          "rhinomanometry/m1/parameters.json": b"old-b"})

    def broken(handle) -> None:
        handle.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        repo.write_artifacts(project.id, Step.RHINOMANOMETRY, {"rhinomanometry/m1/recording.csv": b"new-a",
                                                              "rhinomanometry/m1/parameters.json": broken})
    folder = repo.project_dir(project.id) / "rhinomanometry" / "m1"
    assert (folder / "recording.csv").read_bytes() == b"old-a"
    assert (folder / "parameters.json").read_bytes() == b"old-b"
    assert sorted(p.name for p in folder.iterdir()) == ["parameters.json", "recording.csv"]
    infos = repo.write_artifacts(project.id, Step.RHINOMANOMETRY, {"rhinomanometry/m1/recording.csv": b"new-a",
                                                                  "rhinomanometry/m1/parameters.json": b"new-b"})
    assert [i.size_bytes for i in infos] == [5, 5]
    assert (folder / "parameters.json").read_bytes() == b"new-b"


def test_auxiliary_outputs_belong_to_no_step_and_change_no_digest(repo, store) -> None:
    from rhinoapp.core.layout import ProjectLayout
    from rhinoapp.core.workflow import JobKind
    from rhinoapp.store.jobs import JobStore

    layout = ProjectLayout()
    project = repo.create("Auxiliary")
    repo.write_artifact(project.id, Step.DICOM, str(layout.ct_volume), b"ct")
    repo.write_artifact(project.id, Step.GEOMETRY, str(layout.geometry().labels), b"labels")
    before = repo.step_outputs(project.id)
    info = repo.write_artifact(project.id, None, str(layout.volume_histogram), b"{}")
    assert info.step is None and info.inputs == {}
    repo.write_artifact(project.id, None, str(layout.logs_dir / "job.log"), b"log")
    assert repo.step_outputs(project.id) == before
    assert repo.statuses([project.id])[project.id][Step.GEOMETRY].status is StepStatus.DONE
    with pytest.raises(ValidationError, match="only auxiliary outputs"):
        repo.write_artifact(project.id, None, str(layout.ct_metadata), b"{}")
    JobStore(store).create(owner=repo.owner, project_id=project.id, kind=JobKind.VOLUME_HISTOGRAM, profile="local")
    assert repo.statuses([project.id])[project.id][Step.DICOM].status is StepStatus.DONE  # not "in progress"
