"""The segmentation job: the project's CT volume to airway labels, surface and metrics.

Outputs (the files of ``ProjectLayout.geometry(variant)``, published together): the labels, the
surface as STL and VTP, and the geometry report (the metrics, the options used, the inlet and
outlet planes). The parameters are those of :class:`~rhinoapp.geometry.request.GeometryRequest`
(all optional); the work is :func:`rhinoapp.usecases.geometry.write_geometry`, as for
``rhinoapp segment``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rhinoapp.core.errors import NotFoundError
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.jobs.progress import TaskContext
from rhinoapp.jobs.requests import JobRequest

__all__ = ["airway_segmentation"]


def airway_segmentation(request: JobRequest, out: Path, ctx: TaskContext) -> dict[str, Any]:
    """Segment the airway of the project's CT volume and build its surface and cross-sections."""
    from rhinoapp.dicom.request import check_ct_volume
    from rhinoapp.geometry.request import GeometryRequest
    from rhinoapp.usecases.geometry import write_geometry
    from rhinoapp.volumes import read_volume

    geometry = GeometryRequest.from_parameters(request.options)  # every rule of the request, before any work
    path = ProjectLayout(Path(request.project_dir)).ct_volume
    if not path.exists():
        raise NotFoundError("This project has no CT volume yet: import the CT first, then segment.")
    ctx.stage(0.0, "reading the CT volume")
    volume = check_ct_volume(read_volume(path))  # the rules of every import, also for a CT stored before them
    folder = ProjectLayout(out).geometry(geometry.variant)
    folder.path.mkdir(parents=True)
    report = write_geometry(volume, geometry, folder, progress=ctx.report)
    ctx.stage(1.0, "done")
    return {"left_volume_ml": report.volume_ml("left"), "right_volume_ml": report.volume_ml("right"),
            "left_mcsa_cm2": report.mcsa_cm2("left"), "right_mcsa_cm2": report.mcsa_cm2("right")}
