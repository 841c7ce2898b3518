"""Projects for the report tests: the phantom's CT, airway, a short simulation and a synthetic 4PR,
each published as the jobs and pages publish it (the step's files written together)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest

from rhinoapp.config import Settings
from rhinoapp.core.layout import GeometryFolder, ProjectLayout
from rhinoapp.core.volume import CTMetadata
from rhinoapp.core.workflow import Step
from rhinoapp.store.database import open_store
from rhinoapp.store.repository import ProjectRepository

#: A coarse, short run: enough for pictures and a results table in seconds.
QUICK_RUN = {"resolution_mm": 2.0, "max_steps": 600}


def _publish_folder(repo: ProjectRepository, project_id: str, step: Step, local: Path, relative: PurePosixPath) -> None:
    files = {str(relative / path.relative_to(local).as_posix()): path.read_bytes()
             for path in sorted(local.rglob("*")) if path.is_file() and "checkpoints" not in path.parts}
    repo.write_artifacts(project_id, step, files)


def add_ct(repo: ProjectRepository, project_id: str) -> None:
    from rhinoapp.phantom.generate import generate_phantom
    from rhinoapp.volumes import VolumeFormat, nifti_bytes, volume_metadata

    ct = generate_phantom(spacing_mm=1.0).ct
    layout: ProjectLayout[PurePosixPath] = ProjectLayout()
    metadata = {**volume_metadata(ct, VolumeFormat.NIFTI, description="phantom"), "modality": "CT", "source": "phantom"}
    repo.write_artifacts(project_id, Step.DICOM, {str(layout.ct_volume): nifti_bytes(ct),
                                                  str(layout.ct_metadata): CTMetadata.from_document(metadata).to_json()})


def add_geometry(repo: ProjectRepository, project_id: str) -> None:
    from rhinoapp.geometry.request import GeometryRequest
    from rhinoapp.usecases.geometry import write_geometry
    from rhinoapp.volumes import read_volume

    with tempfile.TemporaryDirectory() as scratch:
        write_geometry(read_volume(repo.layout(project_id).ct_volume), GeometryRequest(target_triangles=20_000),
                       GeometryFolder(Path(scratch)))
        _publish_folder(repo, project_id, Step.GEOMETRY, Path(scratch), ProjectLayout[PurePosixPath]().geometry().path)


def add_simulation(repo: ProjectRepository, project_id: str, run_id: str = "run-1") -> None:
    from rhinoapp.cfd.request import SimulationRequest
    from rhinoapp.usecases.simulation import load_domain, run_simulation

    with tempfile.TemporaryDirectory() as scratch:
        run_simulation(load_domain(repo.layout(project_id).geometry()), SimulationRequest(**QUICK_RUN), Path(scratch))
        _publish_folder(repo, project_id, Step.SIMULATION, Path(scratch),
                        ProjectLayout[PurePosixPath]().simulation(run_id).path)


def add_4pr(repo: ProjectRepository, project_id: str) -> None:
    from rhinoapp.rhinomanometry.io import write_csv
    from rhinoapp.rhinomanometry.request import FourPRImportRequest
    from rhinoapp.rhinomanometry.synthetic import generate
    from rhinoapp.usecases.rhinomanometry import import_4pr

    csv = write_csv(generate(duration_s=12.0, seed=7).measurement).encode()
    import_4pr(repo, project_id, FourPRImportRequest(filename="4pr.csv", content=csv))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("report-data")


@pytest.fixture(scope="module")
def repo(data_dir: Path) -> Iterator[ProjectRepository]:
    store = open_store(Settings(data_dir=data_dir))
    yield ProjectRepository(store, owner="local")
    store.close()


@pytest.fixture(scope="module")
def full_case(repo: ProjectRepository) -> str:
    """A project with every step done: CT, airway, a simulation run and a 4PR measurement."""
    project_id = repo.create("Full case").id
    add_ct(repo, project_id)
    add_geometry(repo, project_id)
    add_simulation(repo, project_id)
    add_4pr(repo, project_id)
    return project_id


@pytest.fixture(scope="module")
def airway_only(repo: ProjectRepository) -> str:
    """A project segmented but not simulated, without 4PR."""
    project_id = repo.create("Airway only").id
    add_ct(repo, project_id)
    add_geometry(repo, project_id)
    return project_id
