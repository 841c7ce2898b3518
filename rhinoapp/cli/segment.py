"""``rhinoapp segment VOLUME --out DIR``: airway labels, surface and metrics of a CT.

VOLUME is a DICOM folder, zip or file (de-identified in memory; nothing of it is written), a NIfTI
(.nii, .nii.gz) or an NRRD (.nrrd, .nhdr) file. Writes ``labels.nii.gz``, ``airway.stl`` (binary),
``airway.vtp`` (with the ``face`` cell data) and ``geometry.json``, each atomically.
"""

from __future__ import annotations

import argparse
import gzip
import secrets
from pathlib import Path
from typing import Any

from rhinoapp.cli._common import ProgressPrinter, out, settings_from

__all__ = ["register"]


def register(commands: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    """Add the ``segment`` command."""
    parser = commands.add_parser("segment", parents=[shared], help="segment the nasal airway of a CT",
                                 description=" ".join(__doc__.splitlines()[2:5]))
    parser.add_argument("volume", type=Path, metavar="VOLUME", help="DICOM folder/zip/file, NIfTI or NRRD file")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder (created if missing)")
    parser.add_argument("--series", help="DICOM series to use: its number in the list, or its SeriesInstanceUID")
    parser.add_argument("--threshold-hu", type=float, default=-550.0, help="air threshold (default -550 HU)")
    parser.add_argument("--no-partial-volume", action="store_true", help="plain threshold, no boundary voxels")
    parser.add_argument("--sinuses", choices=("exclude", "keep"), default="exclude",
                        help="exclude the paranasal sinuses (default) or keep them as label 4")
    parser.add_argument("--seed-left", type=float, nargs=3, metavar=("X", "Y", "Z"),
                        help="a point inside the left nostril, LPS mm (with --seed-right)")
    parser.add_argument("--seed-right", type=float, nargs=3, metavar=("X", "Y", "Z"), help="same for the right nostril")
    parser.add_argument("--outlet-z", type=float, metavar="MM", help="axial outlet plane at this LPS z (mm)")
    parser.add_argument("--outlet-depth-mm", type=float, default=10.0,
                        help="automatic outlet: this far below the nasal floor at the choanae (default 10)")
    parser.add_argument("--target-triangles", type=int, default=100_000, help="decimate the surface to about this many")
    parser.set_defaults(handler=_segment)


def _read(args: argparse.Namespace) -> Any:
    from rhinoapp.core.errors import ValidationError
    from rhinoapp.volumes import format_of, read_volume

    path = Path(args.volume)
    if not path.exists():
        raise ValidationError(f"{path} does not exist; give a DICOM folder, a NIfTI or an NRRD file")
    if path.is_file() and format_of(path) is not None:
        return read_volume(path)
    from rhinoapp.dicom import DeidentOptions, Deidentifier, TiltPolicy, UploadLimits, assemble_volume
    from rhinoapp.dicom import load_upload, read_upload, select_series

    key = secrets.token_bytes(32)  # UIDs are only mapped in memory here: a throw-away key
    blobs = read_upload([path], UploadLimits.from_megabytes(settings_from(args).max_upload_mb))
    loaded = load_upload(blobs, deidentifier=Deidentifier(key, DeidentOptions(), pseudonym="RHINO-SEGMENT"))
    return assemble_volume(select_series(loaded, args.series, secret=key), tilt=TiltPolicy.REFUSE).volume


def _options(args: argparse.Namespace) -> Any:
    from rhinoapp.core.errors import ValidationError
    from rhinoapp.segmentation import Plane, SegmentationOptions

    if (args.seed_left is None) != (args.seed_right is None):
        raise ValidationError("give both --seed-left and --seed-right, or neither")
    seeds = (tuple(args.seed_left), tuple(args.seed_right)) if args.seed_left is not None else None
    outlet = Plane((0.0, 0.0, args.outlet_z), (0.0, 0.0, -1.0)) if args.outlet_z is not None else None
    return SegmentationOptions(threshold_hu=args.threshold_hu, partial_volume=not args.no_partial_volume,
                               seeds_lps_mm=seeds, outlet_plane=outlet, outlet_depth_mm=args.outlet_depth_mm,
                               sinus_mode=args.sinuses)


def _segment(args: argparse.Namespace) -> int:
    from rhinoapp.core.files import atomic_write
    from rhinoapp.core.layout import GeometryFolder
    from rhinoapp.core.volume import CTVolume
    from rhinoapp.geometry import GeometryReport, SurfaceOptions, build_geometry, write_stl, write_vtp
    from rhinoapp.segmentation import segment_airway
    from rhinoapp.volumes.nifti import to_nifti_image

    options = _options(args)
    volume = _read(args)
    progress = ProgressPrinter()
    segmentation = segment_airway(volume, options, progress=progress.part(0.0, 0.6))
    geometry = build_geometry(segmentation, SurfaceOptions(target_triangles=args.target_triangles),
                              progress=progress.part(0.6, 0.4))
    progress.done()
    folder = GeometryFolder(Path(args.out))
    labels = segmentation.labels
    image = to_nifti_image(CTVolume(labels.labels, labels.geometry))
    image.header["descrip"] = b"rhinoapp airway labels: 1 L, 2 R, 3 nasopharynx, 4 sinus"
    atomic_write(folder.labels, gzip.compress(image.to_bytes(), compresslevel=4, mtime=0))
    write_stl(geometry.surface, folder.stl)
    write_vtp(geometry.surface, folder.vtp)
    report = GeometryReport.from_document(geometry.as_dict())
    atomic_write(folder.report, report.to_json())
    for side in ("left", "right"):
        metrics = report.side(side)
        out(f"{side:<5} volume {metrics['volume_ml']:.2f} ml, wall {metrics['surface_cm2']:.1f} cm2, "
            f"mCSA {metrics['mcsa_cm2']:.3f} cm2 at {metrics['mcsa_distance_mm']:.1f} mm")
    surface = report.document["surface"]
    out(f"surface: {surface['triangles']} triangles, watertight {surface['watertight']}, "
        f"manifold {surface['manifold']}; written to {folder.path} ({', '.join(p.name for p in folder.files)})")
    return 0
