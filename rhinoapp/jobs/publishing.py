"""Publishing a finished task's staged files as the project's artifacts (run off the event loop)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from rhinoapp.jobs.requests import JobRequest, TaskResult
from rhinoapp.jobs.wording import describe_summary
from rhinoapp.store.cleanup import remove_staging
from rhinoapp.store.database import Store
from rhinoapp.store.repository import ProjectRepository

__all__ = ["publish_result"]


def _copier(source: Path) -> Callable[[BinaryIO], None]:
    def copy(handle: BinaryIO) -> None:
        with source.open("rb") as data:
            shutil.copyfileobj(data, handle, 1 << 20)
    return copy


def publish_result(store: Store, request: JobRequest, result: TaskResult) -> str:
    """Publish the files ``result`` staged, all or none, remove the staging folder; returns the summary in words.

    Raises
    ------
    NotFoundError
        When the project was deleted meanwhile (nothing is published).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.core.workflow import JobKind
    >>> from rhinoapp.store.database import open_store
    >>> from rhinoapp.store.jobs import JobStore
    >>> store = open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp())))
    >>> repo = ProjectRepository(store, owner="ana")
    >>> project = repo.create("Case 1")
    >>> job = JobStore(store).create(owner="ana", project_id=project.id, kind=JobKind.VOLUME_HISTOGRAM, profile="local")
    >>> request = JobRequest.create(job_id=job.id, owner="ana", project_id=project.id,
    ...                             project_dir=str(repo.project_dir(project.id)), kind=JobKind.VOLUME_HISTOGRAM)
    >>> staged = repo.project_dir(project.id) / ".staging" / job.id / "attempt-0"
    >>> staged.mkdir(parents=True)
    >>> (staged / "auxiliary").mkdir()
    >>> _ = (staged / "auxiliary" / "histogram.json").write_text("{}")
    >>> result = TaskResult(str(staged), (("auxiliary/histogram.json", ""),), (("bins", 64), ("mean", 1 / 3)))
    >>> publish_result(store, request, result)
    'Bins 64, mean 0.333.'
    >>> staged.exists()
    False
    """
    staged = Path(result.staged_dir)
    ProjectRepository(store, owner=request.owner).write_artifacts(  # NotFoundError once the project is gone
        request.project_id, request.kind.step, {name: _copier(staged / name) for name, _digest in result.files},
        job_id=request.job_id)
    remove_staging(request.project_dir, request.job_id)
    return describe_summary(result.summary)
