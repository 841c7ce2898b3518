"""``rhinoapp import`` (a CT into a project) and ``rhinoapp deidentify`` (batch or stream, for data managers).

Both de-identify every DICOM object in memory right after reading it; original files are never
written. Only the volume and its metadata (``ProjectLayout.ct_volume``, ``ct_metadata``) are stored
by ``import``; ``deidentify`` writes de-identified DICOM files named by their new UIDs.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from rhinoapp.cli._common import repository, find_project, out, settings_from
from rhinoapp.core.errors import RhinoappError, ValidationError
from rhinoapp.core.files import atomic_write
from rhinoapp.dicom import (
    BurnedInAnnotationError,
    DateHandling,
    DeidentOptions,
    Deidentifier,
    TiltPolicy,
    UploadLimits,
    read_dataset,
    write_dataset,
)
from rhinoapp.dicom.profile import EDITIONS
from rhinoapp.dicom.request import CTImportRequest
from rhinoapp.dicom.upload import iter_upload
from rhinoapp.store.database import open_store
from rhinoapp.store.secrets import installation_secret, read_secret

__all__ = ["register"]

logger = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    """Add the ``import`` and ``deidentify`` commands."""
    imp = commands.add_parser(
        "import", parents=[shared], help="import a CT (DICOM folder, zip or files; NIfTI or NRRD) into a project",
        description="De-identify a DICOM CT in memory, assemble the chosen series and store it as the project's "
                    "volume; or import a NIfTI (.nii, .nii.gz) or NRRD (.nrrd, .nhdr) volume.")
    imp.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="folder, zip or DICOM files; or one volume file")
    imp.add_argument("--project", required=True, help="project name or id")
    imp.add_argument("--series", help="series to import: its number in the list, or its SeriesInstanceUID")
    imp.add_argument("--list", action="store_true", help="only list the candidate series; store nothing")
    imp.add_argument("--replace", action="store_true",
                     help="replace the project's CT (refused without it: its geometry and simulations become outdated)")
    imp.add_argument("--tilt", choices=[p.value for p in TiltPolicy], default=CTImportRequest().tilt.value,
                     help="gantry-tilted or unevenly spaced series: refuse (default) or resample onto a regular "
                          "orthogonal grid")
    imp.set_defaults(handler=_import)

    deid = commands.add_parser(
        "deidentify", parents=[shared], help="de-identify DICOM files (PS3.15 Basic Profile) into a folder",
        description="De-identify every DICOM object of IN (folder, zip or file; '-' for one object on stdin) into "
                    "OUT (a folder; '-' for stdout). Output files are named OUT/<study>/<series>/<instance>.dcm after "
                    "their new UIDs. Files that cannot be de-identified are reported and skipped (exit status 1).")
    deid.add_argument("input", help="folder, zip or DICOM file; '-' reads one object from stdin")
    deid.add_argument("output", help="output folder; '-' writes the one object to stdout")
    deid.add_argument("--pseudonym", help="PatientName and PatientID of every output (default: ANON-… per patient)")
    deid.add_argument("--dates", choices=[d.value for d in DateHandling], default=DateHandling.MODIFIED.value,
                      help="modified (shift per patient, default), full (keep) or remove")
    deid.add_argument("--no-patient-characteristics", action="store_true", help="remove sex, age, size, weight")
    deid.add_argument("--no-clean-descriptors", action="store_true", help="remove descriptions instead of cleaning")
    deid.add_argument("--retain-safe-private", action="store_true", help="keep the private elements of Table E.3.10-1")
    deid.add_argument("--edition", choices=list(EDITIONS), default="2024b", help="edition of Table E.1-1")
    deid.add_argument("--secret-file", type=Path, help="secret to key UIDs and shifts (default: DATA_DIR/secret.key)")
    deid.set_defaults(handler=_deidentify)


def _quiet_pydicom() -> None:
    # pydicom's warnings can quote element values (names, UIDs): keep them out of the log.
    logging.getLogger("pydicom").setLevel(logging.ERROR)


def _import(args: argparse.Namespace) -> int:
    from rhinoapp.core.workflow import Step
    from rhinoapp.usecases.ct_import import PendingUpload, assemble_series, open_ct_files, store_ct
    from rhinoapp.usecases.outdating import check_replace

    settings = settings_from(args)
    _quiet_pydicom()
    request = CTImportRequest(series=args.series, tilt=args.tilt)
    store = open_store(settings)
    try:
        repo = repository(store, settings)
        project_id = find_project(repo, args.project)
        if not args.list:  # refused before the upload is read; store_ct checks again when it stores
            check_replace(repo, project_id, Step.DICOM, replace=args.replace)
        found = open_ct_files(args.paths, settings=settings, project_id=project_id)
        if isinstance(found, PendingUpload):
            pending = found
            loaded = pending.loaded
            if loaded.patient_count > 1:
                out(f"warning: the upload holds files of {loaded.patient_count} patients; a project is one patient, "
                    "so check that you choose the right series.")
            if loaded.skipped:
                out(f"skipped {len(loaded.skipped)} of {loaded.file_count} file(s): {loaded.skipped_text()}")
            if args.list:
                out("candidate series (use --series N):")
                for summary in loaded.summaries():
                    out("  " + summary.line())
                return 0
            found = assemble_series(pending, request)
        volume, metadata = found
        typed = store_ct(repo, project_id, volume, metadata, request, replace=args.replace)
        size = "x".join(map(str, typed.dimensions_ijk))
        spacing = " x ".join(f"{v:.3g}" for v in typed.spacing_mm)
        out(f"imported {typed.source} volume {size} voxels, {spacing} mm into project {repo.get(project_id).name}")
        for note in typed.notes:
            out(f"  note: {note}")
        for warning in typed.warnings:
            out(f"  warning: {warning}")
        return 0
    finally:
        store.close()


def _options(args: argparse.Namespace) -> DeidentOptions:
    return DeidentOptions(dates=DateHandling(args.dates), retain_patient_characteristics=not args.no_patient_characteristics,
                          clean_descriptors=not args.no_clean_descriptors, retain_safe_private=args.retain_safe_private,
                          edition=args.edition)


def _deidentify(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    _quiet_pydicom()
    if args.secret_file is not None:
        secret = read_secret(args.secret_file)
    else:
        secret = installation_secret(settings.data_dir)
    deidentifier = Deidentifier(secret, _options(args), pseudonym=args.pseudonym)
    if args.input == "-":
        if args.output != "-":
            raise ValidationError("with input '-' (stdin) the output must be '-' (stdout).")
        sys.stdout.buffer.write(deidentifier.bytes(sys.stdin.buffer.read(), what="the input"))
        sys.stdout.buffer.flush()
        return 0
    if args.output == "-":
        raise ValidationError("output '-' (stdout) takes one object from stdin: use input '-' too, or name a folder.")
    target = Path(args.output)
    source = Path(args.input)
    if target.resolve() == source.resolve() or source.resolve() in target.resolve().parents:
        raise ValidationError("the output folder must not be the input or inside it; choose another folder.")
    done = skipped = 0
    for label, data in iter_upload([source], UploadLimits(max_bytes=1 << 62)):
        try:
            dataset = read_dataset(data, what=label)
            deidentifier.dataset(dataset)
            content = write_dataset(dataset)
        except (BurnedInAnnotationError, RhinoappError) as error:
            sys.stderr.write(f"skipped {label}: {error}\n")
            skipped += 1
            continue
        except Exception as error:  # a damaged element: report, go on with the next file
            sys.stderr.write(f"skipped {label}: damaged ({type(error).__name__})\n")
            skipped += 1
            continue
        name = Path(str(dataset.get("StudyInstanceUID", "unknown")), str(dataset.get("SeriesInstanceUID", "unknown")),
                    f"{dataset.get('SOPInstanceUID', f'object-{done + skipped}')}.dcm")
        atomic_write(target / name, content)
        done += 1
    if done + skipped == 0:
        raise ValidationError(f"no files found in {source}; give a folder, zip or DICOM file.")
    out(f"de-identified {done} file(s) into {target}" + (f"; skipped {skipped} (see above)" if skipped else ""))
    logger.info("deidentify: %d written, %d skipped", done, skipped)
    return 1 if skipped else 0
