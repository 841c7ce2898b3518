"""Idempotent task functions run on the workers.

:func:`run_task` is what the runner submits. It gives the task a fresh staging folder
``<project>/.staging/<job>/attempt-N.tmp``, and when the task succeeds renames it to
``attempt-N`` in one atomic step; the runner then publishes the files into the store. A retried
or cancelled attempt leaves nothing half-written where the app reads artifacts.

A task never creates its project's folder: when the project was deleted before the task started,
it stops with :class:`~rhinoapp.core.errors.NotFoundError`; when it is deleted while the task runs,
the staging folder goes with it and the task stops at its next progress report.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rhinoapp.core.errors import NotFoundError, ValidationError
from rhinoapp.core.files import file_sha256
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.core.workflow import JobKind
from rhinoapp.jobs.geometry_task import airway_segmentation
from rhinoapp.jobs.progress import TaskContext
from rhinoapp.jobs.simulation_task import airflow_simulation
from rhinoapp.jobs.sweep_task import flow_sweep
from rhinoapp.jobs.requests import JobRequest, TaskResult

__all__ = ["TASKS", "run_task", "volume_histogram", "staging_dir"]

_log = logging.getLogger(__name__)
TaskFunction = Callable[[JobRequest, Path, TaskContext], dict[str, Any]]


def staging_dir(project_dir: str | Path, job_id: str) -> Path:
    """The folder under which the attempts of ``job_id`` stage their outputs."""
    return ProjectLayout(Path(project_dir)).staging(job_id)


def _make_staging(project: Path, tmp: Path) -> None:
    """Create ``tmp`` below ``project`` without ever creating ``project`` itself."""
    try:
        for folder in (*reversed(tmp.relative_to(project).parents[:-1]), tmp.relative_to(project)):
            (project / folder).mkdir(exist_ok=True)
    except FileNotFoundError:
        raise NotFoundError("The project of this job no longer exists (it was deleted): nothing to do. "
                            "Refresh the project list.") from None


def volume_histogram(request: JobRequest, out: Path, ctx: TaskContext) -> dict[str, Any]:
    """Histogram of the project's CT volume in Hounsfield units, slab by slab.

    A small real task that exercises the whole job path. Options: ``bins`` (default 128),
    ``slabs`` (default 16), ``pace_s`` (seconds to pause per slab, for demonstrations; default 0).
    Writes the auxiliary ``ProjectLayout.volume_histogram``: a diagnostics output, part of no step.
    """
    import nibabel

    path = ProjectLayout(Path(request.project_dir)).ct_volume
    if not path.exists():
        raise NotFoundError("This project has no CT volume yet: import the CT (DICOM step) first, then run again.")
    options = request.options
    bins, slabs, pace = int(options.get("bins", 128)), int(options.get("slabs", 16)), float(options.get("pace_s", 0.0))
    if not 2 <= bins <= 10000 or not 1 <= slabs <= 10000 or not 0 <= pace <= 60:
        raise ValidationError("histogram options out of range: bins 2-10000, slabs 1-10000, pace_s 0-60.")
    image = nibabel.load(str(path))
    if not isinstance(image, nibabel.spatialimages.SpatialImage):
        raise ValidationError(f"{path} is not a volume image: import the CT (DICOM step) again.")
    data = np.asanyarray(image.dataobj)  # nibabel keeps (i, j, k) order; the last axis is k
    edges = np.linspace(-1100.0, 2100.0, bins + 1)
    counts = np.zeros(bins, dtype=np.int64)
    ranges = np.array_split(np.arange(data.shape[-1]), min(slabs, data.shape[-1]))
    for index, ks in enumerate(ranges):
        slab = np.asarray(data[..., ks[0]:ks[-1] + 1], dtype=np.float64)
        counts += np.histogram(np.clip(slab, edges[0], edges[-1]), bins=edges)[0]
        if pace:
            time.sleep(pace)
        ctx.stage((index + 1) / len(ranges), f"slab {index + 1} of {len(ranges)}")
    total = int(counts.sum())
    centres = (edges[:-1] + edges[1:]) / 2
    summary = {
        "voxels": total,
        "air_fraction": float(counts[centres < -400].sum() / max(total, 1)),
        "bone_fraction": float(counts[centres > 300].sum() / max(total, 1)),
        "mean_hu": float((counts * centres).sum() / max(total, 1)),
    }
    document = {"edges_hu": edges.tolist(), "counts": counts.tolist(), **summary}
    target = ProjectLayout(out).volume_histogram
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document, indent=1))
    return summary


#: The task function of each kind of job.
TASKS: dict[JobKind, TaskFunction] = {JobKind.VOLUME_HISTOGRAM: volume_histogram,
                                      JobKind.SEGMENTATION: airway_segmentation,
                                      JobKind.SIMULATION: airflow_simulation, JobKind.SWEEP: flow_sweep}


def run_task(request: JobRequest, *, context: TaskContext | None = None) -> TaskResult:
    """Run one attempt of a job on a worker and stage its outputs atomically.

    Examples
    --------
    >>> import tempfile
    >>> request = JobRequest.create(job_id="j1", owner="ana", project_id="p", project_dir=tempfile.mkdtemp(),
    ...                             kind=JobKind.VOLUME_HISTOGRAM)
    >>> ctx = TaskContext("j1", publish=lambda message: None, is_cancelled=lambda: False)
    >>> run_task(request, context=ctx)
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.NotFoundError: This project has no CT volume yet: import the CT (DICOM step) first, then run again.
    """
    ctx = context or TaskContext(request.job_id, attempt=request.attempt)
    ctx.started()
    function = TASKS.get(request.kind)
    if function is None:
        raise ValidationError(f"No task is registered for jobs of kind {request.kind.value!r}.")
    base = staging_dir(request.project_dir, request.job_id)
    tmp, final = base / f"attempt-{request.attempt}.tmp", base / f"attempt-{request.attempt}"
    for stale in (tmp, final):  # a retried attempt starts from nothing
        shutil.rmtree(stale, ignore_errors=True)
    _make_staging(Path(request.project_dir), tmp)
    ctx.stop_when_removed(tmp)
    try:
        summary = function(request, tmp, ctx)
        files = tuple(sorted((p.relative_to(tmp).as_posix(), file_sha256(p)) for p in tmp.rglob("*") if p.is_file()))
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _log.info("job %s attempt %d staged %d file(s)", request.job_id, request.attempt, len(files))
    return TaskResult(str(final), files, tuple(sorted(summary.items())))
