"""The segmentation job: the project's CT volume to airway labels, surface and metrics.

Outputs (under ``geometry/<variant>/``, published together): ``labels.nii.gz``, ``airway.stl``,
``airway.vtp`` and ``geometry.json`` (the metrics, the options used, the inlet and outlet planes).
The parameters are those of :class:`~rhinoapp.geometry.request.GeometryRequest` (all optional);
the work is :func:`rhinoapp.usecases.geometry.write_geometry`, as for ``rhinoapp segment``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rhinoapp.core.errors import NotFoundError
from rhinoapp.jobs.progress import TaskContext
from rhinoapp.jobs.requests import JobRequest

__all__ = ["airway_segmentation"]


def airway_segmentation(request: JobRequest, out: Path, ctx: TaskContext) -> dict[str, Any]:
    """Segment the airway of ``volume/ct.nii.gz`` and build its surface and cross-sections."""
    from rhinoapp.geometry.request import GeometryRequest
    from rhinoapp.usecases.geometry import write_geometry
    from rhinoapp.volumes import read_volume

    geometry = GeometryRequest.from_parameters(request.options)  # every rule of the request, before any work
    path = Path(request.project_dir) / "volume" / "ct.nii.gz"
    if not path.exists():
        raise NotFoundError("This project has no CT volume yet: import the CT first, then segment.")
    ctx.report(0.0, "reading the CT volume")
    volume = read_volume(path)
    folder = out / "geometry" / geometry.variant
    report = write_geometry(volume, geometry, folder, progress=ctx.report)
    ctx.report(1.0, "done")
    return {"left_volume_ml": report["left"]["volume_ml"], "right_volume_ml": report["right"]["volume_ml"],
            "left_mcsa_cm2": report["left"]["mcsa_cm2"], "right_mcsa_cm2": report["right"]["mcsa_cm2"]}
