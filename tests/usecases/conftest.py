"""Fixtures of the use-case tests: a data directory with a project, as the CLI and the pages use it."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rhinoapp.config import Settings
from rhinoapp.core.layout import ProjectLayout
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


RESULTS = {"pressure_drop_pa": 20.0, "flow_ml_s": {"total": 250.0, "left": 130.0, "right": 120.0},
           "flow_partition_left_pct": 52.0, "resistance_pa_s_per_ml": {"total": 0.08, "left": 0.154, "right": 0.167},
           "max_velocity_m_s": 4.2, "wss_mean_pa": 0.2, "wss_max_pa": 3.1, "mass_conservation_error": 0.001,
           "converged": True, "steps": 4000,
           "pressure_profile": {"distance_mm": [1.0, 3.0, 5.0], "pressure_pa": [-1.0, -8.0, -19.5]}}
GEOMETRY = {side: {"volume_ml": 8.1, "surface_cm2": 80.2, "mcsa_cm2": 0.55, "mcsa_distance_mm": 21.0,
                   "profile": {"distance_mm": [0.0, 2.0, 4.0], "area_cm2": [1.2, 0.8, 0.55]}}
            for side in ("left", "right")}


def _vtk_xml(data: object) -> bytes:
    from vtkmodules.vtkIOXML import vtkXMLImageDataWriter, vtkXMLPolyDataWriter

    writer = vtkXMLPolyDataWriter() if data.IsA("vtkPolyData") else vtkXMLImageDataWriter()  # type: ignore[attr-defined]
    writer.SetInputData(data)
    writer.WriteToOutputStringOn()
    writer.Write()
    return writer.GetOutputString().encode("latin-1") if isinstance(writer.GetOutputString(), str) else \
        bytes(writer.GetOutputString())


#: The fields of :func:`publish_run`: a small lattice, LPS, written by the solver's own writer.
FIELDS_GEOMETRY = ImageGeometry((6, 8, 10), spacing_mm=(2.0, 1.5, 1.0), origin_mm=(-10.0, 20.0, -5.0))


def field_arrays() -> dict[str, np.ndarray]:
    """The pressure, velocity and fluid arrays of :func:`publish_run`'s ``fields.vti`` (``[k, j, i]`` order)."""
    k, j, i = np.meshgrid(*(np.arange(n, dtype=np.float32) for n in FIELDS_GEOMETRY.shape), indexing="ij")
    velocity = np.stack([0.1 * i, 0.2 * j, np.full_like(k, 3.0)], axis=-1)
    return {"pressure_pa": -(2.0 * k + 0.1 * j + 0.01 * i), "velocity_m_s": velocity,
            "fluid": np.ones(FIELDS_GEOMETRY.shape, np.uint8)}


def publish_run(repo: ProjectRepository, project_id: str, run_id: str = "run-0001") -> str:
    """Publish a finished run as the simulation job does: its four files, with the geometry it ran on."""
    from rhinoapp.cfd.io import write_image
    from rhinoapp.render import synthetic

    with tempfile.TemporaryDirectory() as scratch:
        fields = write_image(Path(scratch) / "fields.vti", FIELDS_GEOMETRY, field_arrays()).read_bytes()
    layout = ProjectLayout()
    repo.write_artifacts(project_id, Step.GEOMETRY, {str(layout.geometry("default").report):
                                                     json.dumps(GEOMETRY).encode()})
    folder = layout.simulation(run_id)
    repo.write_artifacts(project_id, Step.SIMULATION, {
        str(folder.results): json.dumps(RESULTS).encode(),
        str(folder.convergence): b"step,time_s,pressure_drop_pa,flow_ml_s\n100,0.004,5.0,200.0\n200,0.008,20.0,250.0\n",
        str(folder.fields): fields,
        str(folder.surface): _vtk_xml(synthetic.airway_surface(2_000)),
    })
    return run_id


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
