"""Segmenting a CT and writing its geometry folder, as ``rhinoapp segment`` and the segmentation job do.

:func:`write_geometry` segments the airway as a :class:`~rhinoapp.geometry.request.GeometryRequest`
says, builds the surface and writes the labels, the surface (STL and VTP) and
the report into a :class:`~rhinoapp.core.layout.GeometryFolder`, each atomically. The CLI gives
its ``--out`` folder; the job its staging folder's ``ProjectLayout.geometry(variant)``, which the
runner publishes.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from typing import Any

from rhinoapp.core.files import atomic_write
from rhinoapp.core.layout import GeometryFolder
from rhinoapp.core.progress import ProgressCallback, ProgressReport, part_of
from rhinoapp.core.volume import CTVolume
from rhinoapp.geometry import GeometryReport, build_geometry, stl_bytes, vtp_bytes
from rhinoapp.geometry.request import GeometryRequest
from rhinoapp.geometry.surface import SurfaceOptions
from rhinoapp.segmentation import AirwaySegmentation, segment_airway
from rhinoapp.volumes.nifti import to_nifti_image

__all__ = ["write_geometry", "write_segmentation"]


def write_geometry(volume: CTVolume, request: GeometryRequest, folder: GeometryFolder, *,
                   progress: ProgressCallback | None = None) -> GeometryReport:
    """Segment ``volume``, build the surface and write the geometry files into ``folder``.

    Returns the geometry report (metrics, options used, inlet and outlet planes).
    ``progress`` hears of the segmentation, the surface and the writing, as numbers.
    """
    segmentation = segment_airway(volume, request.segmentation.options(), progress=part_of(progress, 0.02, 0.6))
    return write_segmentation(segmentation, request.surface_options(), folder, progress=part_of(progress, 0.62, 1 - 0.62))


def write_segmentation(segmentation: AirwaySegmentation, options: SurfaceOptions, folder: GeometryFolder, *,
                       provenance: Mapping[str, Any] | None = None,
                       progress: ProgressCallback | None = None) -> GeometryReport:
    """Build the surface of ``segmentation`` and write the geometry files into ``folder``.

    ``provenance`` (where the airway came from, e.g. an imported file) is recorded in the report.
    """
    geometry = build_geometry(segmentation, options, progress=part_of(progress, 0.0, 0.85))
    if progress is not None:
        progress(ProgressReport(0.9, stage="writing labels, surface and metrics"))
    folder.path.mkdir(parents=True, exist_ok=True)
    labels = segmentation.labels
    image = to_nifti_image(CTVolume(labels.labels, labels.geometry))
    image.header["descrip"] = b"rhinoapp airway labels: 1 L, 2 R, 3 nasopharynx, 4 sinus"
    atomic_write(folder.labels, gzip.compress(image.to_bytes(), compresslevel=4, mtime=0))
    atomic_write(folder.stl, stl_bytes(geometry.surface))
    atomic_write(folder.vtp, vtp_bytes(geometry.surface))
    document = geometry.as_dict()
    if provenance is not None:
        document["provenance"] = dict(provenance)
    report = GeometryReport.from_document(document)
    atomic_write(folder.report, report.to_json())
    if progress is not None:
        progress(ProgressReport(1.0, stage="geometry written"))
    return report
