"""``rhinoapp segment VOLUME --out DIR``: airway labels, surface and metrics of a CT.

VOLUME is a DICOM folder, zip or file (de-identified in memory; nothing of it is written), a NIfTI
(.nii, .nii.gz) or an NRRD (.nrrd, .nhdr) file. Writes ``labels.nii.gz``, ``airway.stl`` (binary),
``airway.vtp`` (with the ``face`` cell data) and ``geometry.json``, each atomically.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rhinoapp.cli._common import ProgressPrinter, out, settings_from

__all__ = ["register"]


def register(commands: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    """Add the ``segment`` command.

    Options left out take the defaults of :class:`~rhinoapp.geometry.request.GeometryRequest` and
    :class:`~rhinoapp.segmentation.request.SegmentationRequest`, which also check every value (the
    parser stays free of the domain packages, so that building it stays quick).
    """
    parser = commands.add_parser("segment", parents=[shared], help="segment the nasal airway of a CT",
                                 description=" ".join(__doc__.splitlines()[2:5]))
    parser.add_argument("volume", type=Path, metavar="VOLUME", help="DICOM folder/zip/file, NIfTI or NRRD file")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder (created if missing)")
    parser.add_argument("--series", help="DICOM series to use: its number in the list, or its SeriesInstanceUID")
    parser.add_argument("--threshold-hu", type=float, help="air threshold in HU (default: SegmentationRequest's)")
    parser.add_argument("--no-partial-volume", action="store_true", help="plain threshold, no boundary voxels")
    parser.add_argument("--sinuses", choices=("exclude", "keep"),
                        help="exclude the paranasal sinuses (default) or keep them as label 4")
    parser.add_argument("--seed-left", type=float, nargs=3, metavar=("X", "Y", "Z"),
                        help="a point inside the left nostril, LPS mm (with --seed-right)")
    parser.add_argument("--seed-right", type=float, nargs=3, metavar=("X", "Y", "Z"), help="same for the right nostril")
    parser.add_argument("--outlet-z", type=float, metavar="MM", help="axial outlet plane at this LPS z (mm)")
    parser.add_argument("--outlet-depth-mm", type=float,
                        help="automatic outlet: this far below the nasal floor at the choanae (default: the request's)")
    parser.add_argument("--target-triangles", type=int,
                        help="decimate the surface to about this many (default: GeometryRequest's)")
    parser.set_defaults(handler=_segment)


def _given(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def _request(args: argparse.Namespace) -> Any:
    from rhinoapp.geometry.request import GeometryRequest
    from rhinoapp.segmentation.request import SegmentationRequest

    segmentation = SegmentationRequest(partial_volume=not args.no_partial_volume, **_given(
        threshold_hu=args.threshold_hu, sinuses=args.sinuses, seed_left=args.seed_left, seed_right=args.seed_right,
        outlet_z_mm=args.outlet_z, outlet_depth_mm=args.outlet_depth_mm))
    return GeometryRequest(segmentation=segmentation, **_given(target_triangles=args.target_triangles))


def _segment(args: argparse.Namespace) -> int:
    from rhinoapp.core.layout import GeometryFolder
    from rhinoapp.dicom.request import CTImportRequest
    from rhinoapp.usecases.ct_import import read_ct
    from rhinoapp.usecases.geometry import write_geometry

    request = _request(args)  # every rule of the request, before reading the CT
    settings = settings_from(args)
    volume = read_ct(Path(args.volume), CTImportRequest(series=args.series), max_upload_mb=settings.max_upload_mb,
                     limits=settings.input_limits)
    folder = GeometryFolder(Path(args.out))
    progress = ProgressPrinter()
    report = write_geometry(volume, request, folder, progress=progress)
    progress.done()
    for warning in report.warnings:
        sys.stderr.write(f"rhinoapp: warning: {' '.join(warning.split())}\n")
    for side in ("left", "right"):
        metrics = report.side(side)
        out(f"{side:<5} volume {metrics['volume_ml']:.2f} ml, wall {metrics['surface_cm2']:.1f} cm2, "
            f"mCSA {metrics['mcsa_cm2']:.3f} cm2 at {metrics['mcsa_distance_mm']:.1f} mm")
    surface = report.document["surface"]
    out(f"surface: {surface['triangles']} triangles, watertight {surface['watertight']}, "
        f"manifold {surface['manifold']}; written to {folder.path} ({', '.join(p.name for p in folder.files)})")
    return 0
