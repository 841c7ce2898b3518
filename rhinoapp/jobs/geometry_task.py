"""The segmentation job: the project's CT volume to airway labels, surface and metrics.

Outputs (the files of ``ProjectLayout.geometry(variant)``, published together): the labels, the
surface as STL and VTP, and the geometry report (the metrics, the options used, the inlet and
outlet planes).
Options (all optional): ``variant`` (folder name, default ``default``), ``threshold_hu``,
``partial_volume``, ``sinuses`` (``exclude`` | ``keep``), ``seed_left`` and ``seed_right``
(LPS mm), ``outlet_z_mm``, ``outlet_depth_mm``, ``target_triangles``.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Any

from rhinoapp.core.errors import NotFoundError, ValidationError
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.core.volume import CTVolume
from rhinoapp.jobs.progress import TaskContext
from rhinoapp.jobs.requests import JobRequest

__all__ = ["airway_segmentation", "segmentation_options"]

_VARIANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")


def segmentation_options(options: dict[str, Any]) -> Any:
    """``SegmentationOptions`` from a job's JSON parameters; bad values raise ValidationError.

    Examples
    --------
    >>> segmentation_options({"threshold_hu": -500, "sinuses": "keep"}).sinus_mode.value
    'keep'
    """
    from rhinoapp.segmentation import Plane, SegmentationOptions

    left, right = options.get("seed_left"), options.get("seed_right")
    if (left is None) != (right is None):
        raise ValidationError("Give both nostril seeds (left and right) or neither.")
    seeds = (tuple(map(float, left)), tuple(map(float, right))) if left is not None else None
    outlet_z = options.get("outlet_z_mm")
    outlet = Plane((0.0, 0.0, float(outlet_z)), (0.0, 0.0, -1.0)) if outlet_z is not None else None
    return SegmentationOptions(threshold_hu=float(options.get("threshold_hu", -550.0)),
                               partial_volume=bool(options.get("partial_volume", True)), seeds_lps_mm=seeds,
                               outlet_plane=outlet, outlet_depth_mm=float(options.get("outlet_depth_mm", 10.0)),
                               sinus_mode=str(options.get("sinuses", "exclude")))


def airway_segmentation(request: JobRequest, out: Path, ctx: TaskContext) -> dict[str, Any]:
    """Segment the airway of the project's CT volume and build its surface and cross-sections."""
    from rhinoapp.geometry import GeometryReport, SurfaceOptions, build_geometry, stl_bytes, vtp_bytes
    from rhinoapp.segmentation import segment_airway
    from rhinoapp.volumes import read_volume
    from rhinoapp.volumes.nifti import to_nifti_image

    path = ProjectLayout(Path(request.project_dir)).ct_volume
    if not path.exists():
        raise NotFoundError("This project has no CT volume yet: import the CT first, then segment.")
    options = request.options
    variant = str(options.get("variant", "default"))
    if not _VARIANT.match(variant):
        raise ValidationError(f"variant {variant!r}: use letters, digits, '-' or '_' (at most 40).")
    ctx.stage(0.0, "reading the CT volume")
    volume = read_volume(path)
    segmentation = segment_airway(volume, segmentation_options(options), progress=ctx.callback(0.02, 0.6))
    geometry = build_geometry(segmentation, SurfaceOptions(target_triangles=int(options.get("target_triangles", 100_000))),
                              progress=ctx.callback(0.62, 0.33))
    ctx.stage(0.96, "writing labels, surface and metrics")
    folder = ProjectLayout(out).geometry(variant)
    folder.path.mkdir(parents=True)
    labels = segmentation.labels
    image = to_nifti_image(CTVolume(labels.labels, labels.geometry))
    image.header["descrip"] = b"rhinoapp airway labels: 1 L, 2 R, 3 nasopharynx, 4 sinus"
    folder.labels.write_bytes(gzip.compress(image.to_bytes(), compresslevel=4, mtime=0))
    folder.stl.write_bytes(stl_bytes(geometry.surface))
    folder.vtp.write_bytes(vtp_bytes(geometry.surface))
    report = GeometryReport.from_document(geometry.as_dict())
    folder.report.write_bytes(report.to_json())
    ctx.stage(1.0, "done")
    return {"left_volume_ml": report.volume_ml("left"), "right_volume_ml": report.volume_ml("right"),
            "left_mcsa_cm2": report.mcsa_cm2("left"), "right_mcsa_cm2": report.mcsa_cm2("right")}
