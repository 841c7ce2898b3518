"""Job requests and results: frozen, picklable values sent to the workers and back."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from rhinoapp.core.errors import ValidationError
from rhinoapp.core.workflow import JobKind

__all__ = ["JobRequest", "TaskResult"]


@dataclasses.dataclass(frozen=True)
class JobRequest:
    """Everything a task needs, and nothing that ties it to the app process.

    Parameters
    ----------
    job_id, owner, project_id
        The job record and whose project it works on.
    project_dir
        The project's artifact folder; on Slurm it must be on a filesystem the nodes share.
    kind
        What to run.
    parameters
        JSON-compatible options of the task, kept as sorted ``(name, value)`` pairs.
    attempt
        0 for the first run, then 1, 2, ... for retries.

    Examples
    --------
    >>> import pickle
    >>> request = JobRequest.create(job_id="j1", owner="ana", project_id="p1", project_dir="/data/p1",
    ...                             kind=JobKind.VOLUME_HISTOGRAM, parameters={"bins": 64})
    >>> pickle.loads(pickle.dumps(request)) == request, request.options["bins"]
    (True, 64)
    """

    job_id: str
    owner: str
    project_id: str
    project_dir: str
    kind: JobKind
    parameters: tuple[tuple[str, Any], ...] = ()
    attempt: int = 0

    @classmethod
    def create(cls, *, job_id: str, owner: str, project_id: str, project_dir: str, kind: JobKind,
               parameters: Mapping[str, Any] | None = None, attempt: int = 0) -> JobRequest:
        """A request with ``parameters`` checked to be JSON-compatible."""
        params = dict(parameters or {})
        try:
            json.dumps(params)
        except TypeError as error:
            raise ValidationError(f"job parameters must be JSON values (numbers, text, lists): {error}") from None
        return cls(job_id, owner, project_id, str(project_dir), kind, tuple(sorted(params.items())), attempt)

    @property
    def options(self) -> dict[str, Any]:
        """The parameters as a dictionary."""
        return dict(self.parameters)

    @property
    def key(self) -> str:
        """The dask key of this attempt: unique per job and attempt, readable in the dashboard."""
        return f"rhinoapp-{self.kind.value}-{self.job_id}-{self.attempt}"

    def retry(self) -> JobRequest:
        """The same request as the next attempt."""
        return dataclasses.replace(self, attempt=self.attempt + 1)


@dataclasses.dataclass(frozen=True)
class TaskResult:
    """What a finished task hands back: its staged output folder and the files in it.

    ``files`` are ``(artifact name, sha256)`` pairs; the runner publishes them into the store.
    """

    staged_dir: str
    files: tuple[tuple[str, str], ...]
    summary: tuple[tuple[str, Any], ...] = ()
