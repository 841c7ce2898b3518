"""Fixtures of the use-case tests: a data directory with a project, as the CLI and the pages use it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rhinoapp.config import Settings
from rhinoapp.core.volume import CTVolume, ImageGeometry
from rhinoapp.core.workflow import JobKind, Step
from rhinoapp.jobs.progress import TaskContext
from rhinoapp.jobs.requests import JobRequest, TaskResult
from rhinoapp.jobs.tasks import run_task
from rhinoapp.state.session import SessionState
from rhinoapp.store.database import Store, open_store
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.volumes import VolumeFormat, nifti_bytes, volume_metadata


def small_ct(slices: int = 8) -> CTVolume:
    """A small CT (air above tissue) of ``slices`` slices."""
    hu = np.full((slices, 16, 16), 40, dtype=np.int16)
    hu[:, :, :4] = -1000
    return CTVolume(hu, ImageGeometry(hu.shape, spacing_mm=(1.0, 1.0, 1.0)))


def store_ct(repo: ProjectRepository, project_id: str, volume: CTVolume) -> None:
    """Store ``volume`` as the project's CT, as the CT page does."""
    metadata = {**volume_metadata(volume, VolumeFormat.NIFTI), "modality": "CT"}
    repo.write_artifacts(project_id, Step.DICOM, {"volume/ct.nii.gz": nifti_bytes(volume),
                                                  "volume/ct.json": json.dumps(metadata).encode()})


def run_job_task(repo: ProjectRepository, project_id: str, kind: JobKind, parameters: dict) -> TaskResult:
    """One attempt of a job, as a worker runs it (the task function behind the job runner)."""
    request = JobRequest.create(job_id=f"{kind.value}-test", owner=repo.owner, project_id=project_id,
                                project_dir=str(repo.project_dir(project_id)), kind=kind, parameters=parameters)
    repo.project_dir(project_id).mkdir(exist_ok=True)  # as the runner does before it submits
    return run_task(request, context=TaskContext(request.job_id, publish=lambda _m: None, is_cancelled=lambda: False))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path) -> Iterator[Store]:
    opened = open_store(Settings(data_dir=data_dir))
    yield opened
    opened.close()


@pytest.fixture
def repo(store: Store) -> ProjectRepository:
    return ProjectRepository(store, owner="local")


@pytest.fixture
def project_id(repo: ProjectRepository) -> str:
    return repo.create("Case 1").id


@pytest.fixture
def session(repo: ProjectRepository, data_dir: Path, project_id: str) -> SessionState:
    session = SessionState(repository=repo, settings=Settings(data_dir=data_dir))
    session.open_project(project_id)
    return session
