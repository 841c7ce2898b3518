"""The demo project: created on the first start of an empty installation.

It holds the synthetic nasal phantom as its CT and a synthetic four-phase rhinomanometry
recording, then runs the real segmentation (and, where the solver task is registered, the
airflow simulation) as jobs, so a new user sees every page filled without any patient data.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path, PurePosixPath

from rhinoapp.core.layout import ProjectLayout
from rhinoapp.core.volume import CTMetadata
from rhinoapp.core.workflow import JobKind, JobState, Step
from rhinoapp.jobs.runner import JobRunner
from rhinoapp.store.repository import ProjectRepository

__all__ = ["DEMO_NAME", "create_demo_project", "ensure_demo_project"]

_log = logging.getLogger(__name__)
DEMO_NAME = "Demo - synthetic nose"
_MARKER = ".demo-created"
#: Grid of the demo's simulation: 1 mm keeps it within a few minutes on a laptop.
DEMO_SIMULATION = {"flow_ml_s": 250.0, "direction": "inspiration", "resolution_mm": 1.0}


def create_demo_project(repo: ProjectRepository, *, spacing_mm: float = 0.5) -> str:
    """Create the demo project with its CT volume and 4PR measurement; returns its id."""
    from rhinoapp.phantom.generate import generate_phantom
    from rhinoapp.rhinomanometry import RhinomanometryParameters, analyse
    from rhinoapp.rhinomanometry.io import write_csv
    from rhinoapp.rhinomanometry.synthetic import generate
    from rhinoapp.volumes import VolumeFormat, nifti_bytes, volume_metadata

    project = repo.create(DEMO_NAME, "Synthetic phantom CT and 4PR recording: no patient data.")
    phantom = generate_phantom(spacing_mm=spacing_mm)
    metadata = {**volume_metadata(phantom.ct, VolumeFormat.NIFTI, description="Synthetic nasal phantom"),
                "modality": "CT", "source": "phantom"}
    layout: ProjectLayout[PurePosixPath] = ProjectLayout()
    repo.write_artifacts(project.id, Step.DICOM, {str(layout.ct_volume): nifti_bytes(phantom.ct),
                                                  str(layout.ct_metadata): CTMetadata.from_document(metadata).to_json()})
    measurement = generate(duration_s=12.0, seed=7).measurement
    folder = layout.measurement(f"demo-{uuid.uuid4().hex[:6]}")
    repo.write_artifacts(project.id, Step.RHINOMANOMETRY, {
        str(folder.recording): write_csv(measurement).encode(),
        str(folder.parameters): RhinomanometryParameters.from_analysis(analyse(measurement)).to_json()})
    return project.id


async def ensure_demo_project(runner: JobRunner, *, owner: str, simulate: bool = True) -> str | None:
    """On the first start of an empty data directory, create the demo and run its jobs.

    The segmentation always runs; the airflow simulation follows it when ``simulate`` is true.

    Returns the project id, or None when the installation already started once (a marker file in
    the data directory remembers it, so a deleted demo stays deleted).
    """
    data_dir = Path(runner.settings.data_dir)
    marker = data_dir / _MARKER
    repo = ProjectRepository(runner.store, owner=owner)
    if marker.exists() or repo.list_projects():
        marker.touch()
        return None
    marker.touch()
    project_id = await asyncio.to_thread(create_demo_project, repo)
    _log.info("demo project %s created", project_id)
    from rhinoapp.jobs.tasks import TASKS

    record = await runner.submit(owner=owner, project_id=project_id, kind=JobKind.SEGMENTATION)
    if simulate and JobKind.SIMULATION in TASKS:
        final = await runner.wait(record.id)
        if final.state is JobState.DONE:
            await runner.submit(owner=owner, project_id=project_id, kind=JobKind.SIMULATION,
                                parameters=DEMO_SIMULATION)
    return project_id
