"""``rhinoapp segment VOLUME --out DIR``: airway labels, surface and metrics of a CT.

VOLUME is a DICOM folder, zip or file (de-identified in memory; nothing of it is written), a NIfTI
(.nii, .nii.gz) or an NRRD (.nrrd, .nhdr) file. Writes ``labels.nii.gz``, ``airway.stl`` (binary),
``airway.vtp`` (with the ``face`` cell data) and ``geometry.json``, each atomically.

With ``--from-labels FILE --map 4:left,3:right,5:nasopharynx,1:sinus`` the airway is imported from a
label map (NIfTI or NRRD) instead, resampled onto the CT (``--map 1:airway`` for a map that labels the
whole airway as one, split into sides from its nostrils; without ``--map``, a 3D Slicer segmentation's
segment names say the mapping where they can, else where the labels lie
(:func:`~rhinoapp.segmentation.label_anatomy.mapping_from_anatomy`)); with ``--from-surface FILE`` from a closed
STL or VTP surface. Nostrils and outlet are found as for the automatic segmentation, or the
nostrils are picked with ``--nostril-left``/``--nostril-right``. Without VOLUME, ``--from-labels``
imports the label map alone, on its own grid: each opening is where its label ends.
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
    parser.add_argument("volume", type=Path, metavar="VOLUME", nargs="?",
                        help="DICOM folder/zip/file, NIfTI or NRRD file; may be left out with --from-labels (the label "
                             "map alone, on its own grid, its openings where its labels end)")
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
    imported = parser.add_argument_group("import an existing segmentation instead of segmenting")
    sources = imported.add_mutually_exclusive_group()
    sources.add_argument("--from-labels", type=Path, metavar="FILE",
                         help="a label map (NIfTI .nii/.nii.gz or NRRD .nrrd) made on this CT, e.g. in 3D Slicer, or "
                              "without VOLUME a label map alone")
    sources.add_argument("--from-surface", type=Path, metavar="FILE", help="a closed airway surface (STL or VTP), LPS mm")
    imported.add_argument("--map", metavar="LABEL:TARGET,...",
                          help="with --from-labels: its labels as left, right, nasopharynx or sinus, e.g. "
                               "4:left,3:right,5:nasopharynx,1:sinus,2:sinus; or a whole-airway label as airway "
                               "(split into sides from its nostrils), e.g. 1:airway; default: what the segment "
                               "names of a 3D Slicer segmentation (.seg.nrrd) say or, without names, where the "
                               "labels lie (two cavities side by side at the front, the nasopharynx behind both); "
                               "the mapping used is printed")
    imported.add_argument("--nostril-left", type=float, nargs=3, metavar=("X", "Y", "Z"),
                          help="with an import: a point at the left nostril opening, LPS mm (with --nostril-right)")
    imported.add_argument("--nostril-right", type=float, nargs=3, metavar=("X", "Y", "Z"),
                          help="same for the right nostril")
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


def _named_mapping(path: Path, limits: Any) -> Any:
    """The mapping the label map's segment names (a 3D Slicer segmentation) or, failing them, its labels' places
    say, printed; or a clear error listing its labels."""
    from rhinoapp.core.errors import ValidationError
    from rhinoapp.usecases.geometry_import import survey_labels

    limits.check_bytes(path.stat().st_size, "the imported file")
    survey = survey_labels(path.read_bytes(), path.name, limits=limits)
    if survey.mapping is None or survey.source is None:
        raise ValidationError(f"--from-labels needs --map to say what its labels are (labels found: "
                              f"{survey.found_text()}; neither names nor places say it clearly); e.g. "
                              "--map 4:left,3:right,5:nasopharynx,1:sinus, or --map 1:airway for a label map that "
                              "labels the whole airway as one")
    sys.stderr.write(f"rhinoapp: the labels mapped from {survey.source.value}: --map {survey.mapping.text()} (check it; "
                     "give --map to choose otherwise)\n")
    return survey.mapping


def _import_request(args: argparse.Namespace, mapping: Any = None) -> Any:
    from rhinoapp.core.errors import ValidationError
    from rhinoapp.segmentation.label_import import LabelMapping
    from rhinoapp.usecases.geometry_import import ImportRequest

    source = args.from_labels or args.from_surface
    if args.from_surface is not None and args.map:
        raise ValidationError("--map is for --from-labels; a surface has no labels to map")
    if (args.nostril_left is None) != (args.nostril_right is None):
        raise ValidationError("give both --nostril-left and --nostril-right, or neither")
    nostrils = None if args.nostril_left is None else (tuple(args.nostril_left), tuple(args.nostril_right))
    mapping = LabelMapping.parse(args.map) if args.map else mapping
    return ImportRequest(filename=source.name, mapping=mapping, nostrils=nostrils,
                         **_given(target_triangles=args.target_triangles))


def _segment(args: argparse.Namespace) -> int:
    from rhinoapp.core.layout import GeometryFolder
    from rhinoapp.dicom.request import CTImportRequest
    from rhinoapp.usecases.ct_import import read_ct
    from rhinoapp.usecases.geometry import write_geometry

    source = args.from_labels or args.from_surface
    named = args.from_labels is not None and not args.map  # the mapping from the file's segment names
    # every rule of the request, before reading
    request = None if named else _import_request(args) if source is not None else _request(args)
    settings = settings_from(args)
    if source is not None and not Path(source).is_file():
        from rhinoapp.core.errors import ValidationError

        raise ValidationError(f"{source} does not exist or is not a file; give the label map or surface to import")
    if args.volume is None and args.from_labels is None:
        from rhinoapp.core.errors import ValidationError

        if args.from_surface is not None:
            raise ValidationError("a surface is imported onto the CT it was made on: give the CT before --from-surface "
                                  "(rhinoapp segment CT --from-surface FILE --out DIR)")
        raise ValidationError("give the CT to segment (VOLUME: a DICOM folder, zip or file, NIfTI or NRRD), or "
                              "--from-labels FILE to import a label map alone")
    if request is None:
        request = _import_request(args, _named_mapping(Path(source), settings.input_limits))
    volume = None if args.volume is None else read_ct(
        Path(args.volume), CTImportRequest(series=args.series), max_upload_mb=settings.max_upload_mb,
        limits=settings.input_limits)
    folder = GeometryFolder(Path(args.out))
    progress = ProgressPrinter()
    if source is not None:
        from rhinoapp.usecases.geometry_import import write_import

        limits = settings.input_limits
        limits.check_bytes(Path(source).stat().st_size, "the imported file")
        report = write_import(volume, Path(source).read_bytes(), request, folder, limits=limits, progress=progress)
    else:
        assert volume is not None  # checked above: no VOLUME only with --from-labels
        report = write_geometry(volume, request, folder, progress=progress)
    progress.done()
    provenance = report.document.get("provenance") or {}
    # each once: the import's warnings are in the report and in its provenance
    for warning in dict.fromkeys((*report.warnings, *provenance.get("warnings", ()))):
        sys.stderr.write(f"rhinoapp: warning: {' '.join(str(warning).split())}\n")
    for side in ("left", "right"):
        metrics = report.side(side)
        out(f"{side:<5} volume {metrics['volume_ml']:.2f} ml, wall {metrics['surface_cm2']:.1f} cm2, "
            f"mCSA {metrics['mcsa_cm2']:.3f} cm2 at {metrics['mcsa_distance_mm']:.1f} mm")
    surface = report.document["surface"]
    out(f"surface: {surface['triangles']} triangles, watertight {surface['watertight']}, "
        f"manifold {surface['manifold']}; written to {folder.path} ({', '.join(p.name for p in folder.files)})")
    return 0
