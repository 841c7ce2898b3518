"""The segmentation and geometry requests' rules hold on the command line, the Geometry page and the job alike."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rhinoapp.cli import main
from rhinoapp.config import JobsSettings, Settings
from rhinoapp.config.jobs import LocalProfile
from rhinoapp.core.errors import ValidationError
from rhinoapp.core.workflow import JobKind, JobState
from rhinoapp.geometry.request import GEOMETRY_RANGES, GeometryRequest
from rhinoapp.jobs.runner import JobRunner
from rhinoapp.segmentation.request import SEGMENTATION_RANGES
from rhinoapp.state.geometry import GeometryState
from rhinoapp.state.session import SessionState
from rhinoapp.store.database import open_store
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.volumes import nifti_bytes
from tests.jobs.conftest import LoopThread
from tests.usecases.conftest import run_job_task, small_ct, store_ct

SAME_SEEDS = "nostril seeds are the same point"
FEW_TRIANGLES = "target_triangles must lie between 5000 and 2000000 triangles"


@pytest.fixture(scope="module")
def loop() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.stop()


@pytest.fixture(scope="module")
def runner(loop: LoopThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JobRunner]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("usecases-geometry"),
                        jobs=JobsSettings(profiles=(LocalProfile(n_workers=1),)))
    store = open_store(settings)
    started = JobRunner(settings, store, monitor_interval_s=0.5, persist_interval_s=0.2)
    loop.run(started.start())
    yield started
    loop.run(started.close())
    store.close()


def _ct_file(tmp_path: Path) -> Path:
    path = tmp_path / "ct.nii.gz"
    path.write_bytes(nifti_bytes(small_ct()))
    return path


def test_identical_nostril_seeds_are_refused_on_every_path(runner: JobRunner, loop: LoopThread, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    seeds = ["--seed-left", "1", "2", "3", "--seed-right", "1", "2", "3"]
    out = tmp_path / "out"
    assert main(["segment", str(_ct_file(tmp_path)), "--out", str(out), *seeds]) == 2
    assert SAME_SEEDS in capsys.readouterr().err and not out.exists()

    repo = ProjectRepository(runner.store, owner="local")
    project_id = repo.create("Seeds").id
    store_ct(repo, project_id, small_ct())
    session = SessionState(repository=repo, settings=runner.settings, runner=runner)
    session.open_project(project_id)
    state = GeometryState(session=session)
    loop.run(state.refresh())
    assert state.can_run
    state.param.update(manual_seeds=True, seed_left=(1.0, 2.0, 3.0), seed_right=(1.0, 2.0, 3.0))
    assert loop.run(state.run()) is False
    assert state.message_kind == "error" and SAME_SEEDS in state.message
    assert runner.records.recent(owner="local", project_id=project_id, limit=5) == []  # no job submitted

    record = loop.run(runner.submit(owner="local", project_id=project_id, kind=JobKind.SEGMENTATION,
                                    parameters={"seed_left": [1, 2, 3], "seed_right": [1, 2, 3]}))
    final = loop.run(runner.wait(record.id, timeout_s=60))
    assert final.state is JobState.ERROR and SAME_SEEDS in final.message
    assert repo.artifacts(project_id, None) and all(a.name.startswith("volume/") for a in repo.artifacts(project_id))


def test_geometry_writing_rules_are_refused_on_every_path(tmp_path: Path, repo: ProjectRepository, project_id: str,
                                                          session: SessionState,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["segment", str(_ct_file(tmp_path)), "--out", str(out), "--target-triangles", "10"]) == 2
    assert FEW_TRIANGLES in capsys.readouterr().err and not out.exists()

    store_ct(repo, project_id, small_ct())
    with pytest.raises(ValidationError, match=FEW_TRIANGLES):
        run_job_task(repo, project_id, JobKind.SEGMENTATION, {"target_triangles": 10})
    with pytest.raises(ValidationError, match="variant '../x'"):
        run_job_task(repo, project_id, JobKind.SEGMENTATION, {"variant": "../x"})

    state = GeometryState(session=session)
    assert state.param.target_triangles.bounds == GEOMETRY_RANGES["target_triangles"].bounds
    assert state.param.threshold_hu.bounds == SEGMENTATION_RANGES["threshold_hu"].bounds
    with pytest.raises(ValueError):
        state.target_triangles = 10
    state.variant = "../x"
    with pytest.raises(ValidationError, match="variant '../x'"):
        state.parameters()
    state.variant = "default"
    assert GeometryRequest.from_parameters(state.parameters()) == GeometryRequest()
    assert all(a.name.startswith("volume/") for a in repo.artifacts(project_id))
