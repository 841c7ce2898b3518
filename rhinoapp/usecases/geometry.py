"""Segmenting a CT and writing its geometry folder, as ``rhinoapp segment`` and the segmentation job do.

:func:`write_geometry` segments the airway as a :class:`~rhinoapp.geometry.request.GeometryRequest`
says, builds the surface and writes ``labels.nii.gz``, ``airway.stl``, ``airway.vtp`` and
``geometry.json`` into a folder, each atomically. The CLI gives its ``--out`` folder; the job its
staging folder's ``geometry/<variant>/``, which the runner publishes.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rhinoapp.core.files import atomic_write_bytes
from rhinoapp.core.volume import CTVolume
from rhinoapp.geometry import build_geometry, stl_bytes, vtp_bytes
from rhinoapp.geometry.request import GeometryRequest
from rhinoapp.segmentation import segment_airway
from rhinoapp.volumes.nifti import to_nifti_image

__all__ = ["Progress", "write_geometry"]

Progress = Callable[[float, str], None]


def _part(progress: Progress | None, offset: float, scale: float) -> Progress | None:
    if progress is None:
        return None
    return lambda fraction, message: progress(offset + scale * fraction, message)


def write_geometry(volume: CTVolume, request: GeometryRequest, folder: Path, *,
                   progress: Progress | None = None) -> dict[str, Any]:
    """Segment ``volume``, build the surface and write the four geometry files into ``folder``.

    Returns the ``geometry.json`` content (metrics, options used, inlet and outlet planes).
    ``progress(fraction, message)`` hears of the segmentation, the surface and the writing.
    """
    segmentation = segment_airway(volume, request.segmentation.options(), progress=_part(progress, 0.02, 0.6))
    geometry = build_geometry(segmentation, request.surface_options(), progress=_part(progress, 0.62, 0.33))
    if progress is not None:
        progress(0.96, "writing labels, surface and metrics")
    folder = Path(folder)
    labels = segmentation.labels
    image = to_nifti_image(CTVolume(labels.labels, labels.geometry))
    image.header["descrip"] = b"rhinoapp airway labels: 1 L, 2 R, 3 nasopharynx, 4 sinus"
    atomic_write_bytes(folder / "labels.nii.gz", gzip.compress(image.to_bytes(), compresslevel=4, mtime=0))
    atomic_write_bytes(folder / "airway.stl", stl_bytes(geometry.surface))
    atomic_write_bytes(folder / "airway.vtp", vtp_bytes(geometry.surface))
    report = geometry.as_dict()
    atomic_write_bytes(folder / "geometry.json", (json.dumps(report, indent=2) + "\n").encode())
    return report
