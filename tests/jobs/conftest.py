"""Fixtures for the job runner: an event loop in a thread, a project with a CT volume."""

from __future__ import annotations

import asyncio
import gzip
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import nibabel
import numpy as np
import pytest

import rhinoapp.jobs.clusters as clusters
from rhinoapp.config import Settings
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.core.workflow import Step
from rhinoapp.store.database import Store, open_store
from rhinoapp.store.repository import ProjectRepository

clusters._import_jobqueue()  # dask_jobqueue must be imported on the main thread


class LoopThread:
    """An asyncio loop running in a thread, like the app server's loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="test-loop")
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 270) -> Any:
        """Run ``coroutine`` on the loop and return its result; the timeout only catches hangs (pytest stops a test at 300 s)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def loop() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.stop()


def volume_bytes(shape: tuple[int, int, int] = (48, 40, 64)) -> bytes:
    """A small NIfTI CT volume (gzip) with air, soft tissue and bone."""
    rng = np.random.default_rng(1)
    hu = np.full(shape, 40, dtype=np.int16)
    hu[:, :, : shape[2] // 4] = -1000
    hu[:4] = 700
    hu += rng.normal(0, 5, shape).astype(np.int16)
    return gzip.compress(nibabel.Nifti1Image(hu, np.diag([-0.5, -0.5, 0.5, 1.0])).to_bytes())


def project_with_volume(store: Store, owner: str = "local", name: str = "Case") -> str:
    repo = ProjectRepository(store, owner=owner)
    project = repo.create(name)
    repo.write_artifact(project.id, Step.DICOM, str(ProjectLayout().ct_volume), volume_bytes())
    return project.id


def open_test_store(data_dir: Path, **settings: Any) -> tuple[Settings, Store]:
    config = Settings(data_dir=data_dir, **settings)
    return config, open_store(config)


def project_with_phantom(store: Store, owner: str = "local", name: str = "Phantom", spacing_mm: float = 1.0) -> str:
    """A project whose CT volume is the synthetic nasal phantom."""
    from rhinoapp.phantom.generate import generate_phantom
    from rhinoapp.volumes import nifti_bytes

    repo = ProjectRepository(store, owner=owner)
    project = repo.create(name)
    repo.write_artifact(project.id, Step.DICOM, str(ProjectLayout().ct_volume), nifti_bytes(generate_phantom(spacing_mm=spacing_mm).ct))
    return project.id
