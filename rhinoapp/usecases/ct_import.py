"""Importing a CT into a project: de-identify an upload, pick a series, check and store the volume.

``rhinoapp import`` and the CT page both go through these functions: the upload is de-identified
with the installation's secret and the project's pseudonym, the series is chosen and assembled as
:class:`~rhinoapp.dicom.request.CTImportRequest` says, and :func:`store_ct` checks the volume
against the request's rules before it writes the CT volume and its metadata together
(step DICOM). :func:`read_ct` reads a CT for one-off use (``rhinoapp segment``) with a throw-away key.
"""

from __future__ import annotations

import logging
import secrets
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from rhinoapp.core.access import AuditAction
from rhinoapp.store.audit import AuditLog
from rhinoapp.config import Settings
from rhinoapp.core.errors import RhinoappError, ValidationError
from rhinoapp.core.limits import DEFAULT_LIMITS, DEFAULT_MAX_VOXELS, InputLimits
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.core.volume import CTMetadata, CTVolume
from rhinoapp.core.workflow import Step
from rhinoapp.dicom import (
    DeidentOptions,
    Deidentifier,
    LoadedUpload,
    UploadLimits,
    assemble_volume,
    load_upload,
    read_upload,
    select_series,
    volume_metadata,
)
from rhinoapp.dicom.identity import project_pseudonym
from rhinoapp.dicom.request import CTImportRequest
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.store.secrets import installation_secret
from rhinoapp.usecases.outdating import check_replace
from rhinoapp.volumes import VolumeFormat, format_of, nifti_bytes, read_nifti_bytes, read_nrrd_bytes, read_volume
from rhinoapp.volumes import volume_metadata as research_metadata

__all__ = ["PendingUpload", "assemble_series", "open_ct_files", "open_upload", "read_ct", "research_volume", "store_ct"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class PendingUpload:
    """A de-identified upload waiting for its series to be chosen, with the de-identifier that read it."""

    loaded: LoadedUpload
    deidentifier: Deidentifier
    max_voxels: int = DEFAULT_MAX_VOXELS


def open_upload(blobs: Sequence[bytes], *, settings: Settings, project_id: str,
                progress: Callable[[int], None] | None = None) -> PendingUpload:
    """De-identify DICOM ``blobs`` for ``project_id`` (installation secret, project pseudonym) and group them."""
    secret = installation_secret(settings.data_dir)
    deidentifier = Deidentifier(secret, DeidentOptions(), pseudonym=project_pseudonym(project_id))
    loaded = load_upload(blobs, deidentifier=deidentifier, progress=progress, max_voxels=settings.max_voxels)
    return PendingUpload(loaded, deidentifier, settings.max_voxels)


def research_volume(source: Path | bytes, *, filename: str | Path | None = None,
                    limits: InputLimits = DEFAULT_LIMITS) -> tuple[CTVolume, dict[str, Any]] | None:
    """``(volume, metadata)`` when ``source`` (a path, or bytes named ``filename``) is a NIfTI or NRRD file, or None.

    The file is read within ``limits`` (``Settings.input_limits``), checked from its header first.
    """
    kind = format_of(filename if filename is not None else source)  # type: ignore[arg-type]
    if kind is None:
        return None
    if not isinstance(source, bytes) and (kind is VolumeFormat.NIFTI or Path(source).suffix.lower() == ".nrrd"):
        path = Path(source)
        if not path.is_file():
            raise ValidationError(f"{path} does not exist or is not a file; give the volume file.")
        limits.check_bytes(path.stat().st_size, "the volume file")
        source = path.read_bytes()  # the same reader as an upload: the same checks (e.g. the gzip checksum)
    try:
        if isinstance(source, bytes):
            reader = read_nifti_bytes if kind is VolumeFormat.NIFTI else read_nrrd_bytes
            volume = reader(source, limits=limits)
        else:
            volume = read_volume(Path(source), limits=limits)  # a detached NRRD header (.nhdr) and its data file
    except RhinoappError:
        raise
    except (ValueError, TypeError, OverflowError, EOFError, zlib.error) as error:  # a header the readers missed
        raise ValidationError(f"the {kind.value.upper()} file cannot be read ({type(error).__name__}: "
                              f"{str(error)[:200]}); it is damaged or not a CT volume: check it or export it again."
                              ) from None
    return volume, research_metadata(volume, kind)


def open_ct_files(paths: Sequence[Path], *, settings: Settings, project_id: str,
                  progress: Callable[[int], None] | None = None) -> tuple[CTVolume, dict[str, Any]] | PendingUpload:
    """What ``rhinoapp import`` and the Python API read from ``paths``: one NIfTI or NRRD file as
    ``(volume, metadata)``; DICOM files, folders or zips as a de-identified :class:`PendingUpload`
    whose series is then chosen (:func:`assemble_series`).

    ``progress`` hears how many DICOM files were read.
    """
    paths = [Path(p) for p in paths]
    found = research_volume(paths[0], limits=settings.input_limits) if len(paths) == 1 else None
    if found is not None:
        return found
    return open_upload(read_upload(paths, UploadLimits.of(settings.input_limits)), settings=settings,
                       project_id=project_id, progress=progress)


def assemble_series(pending: PendingUpload, request: CTImportRequest) -> tuple[CTVolume, dict[str, Any]]:
    """The chosen series of ``pending`` as a volume with its metadata document."""
    series = select_series(pending.loaded, request.series, secret=pending.deidentifier.secret,
                           min_slices=request.min_slices)
    assembled = assemble_volume(series, tilt=request.tilt, max_voxels=pending.max_voxels)
    return assembled.volume, volume_metadata(series, assembled, pending.deidentifier)


def store_ct(repo: ProjectRepository, project_id: str, volume: CTVolume, metadata: dict[str, Any],
             request: CTImportRequest, *, replace: bool = False) -> CTMetadata:
    """Check ``volume`` against ``request`` and store it with its metadata as the project's CT (step DICOM).

    A project that already has a CT keeps it unless ``replace`` is True (the user confirmed; see
    :mod:`rhinoapp.usecases.outdating`). The volume and its metadata are written together, or
    neither. Returns the stored metadata as its typed document.

    Raises
    ------
    ReplaceRefused
        When the project has a CT and ``replace`` is False; the message says what would become outdated.
    """
    request.check_volume(volume)
    check_replace(repo, project_id, Step.DICOM, replace=replace)
    typed = CTMetadata.from_document(metadata)
    layout: ProjectLayout[PurePosixPath] = ProjectLayout()
    files = {str(layout.ct_volume): nifti_bytes(volume), str(layout.ct_metadata): typed.to_json()}
    repo.write_artifacts(project_id, Step.DICOM, files)
    AuditLog(repo.store).record(repo.owner, AuditAction.UPLOAD, project_id=project_id, detail=Step.DICOM.value)
    _log.info("project %s: stored a CT volume of %s voxels", project_id, "x".join(map(str, typed.dimensions_ijk)))
    return typed


def read_ct(path: Path, request: CTImportRequest, *, max_upload_mb: int, limits: InputLimits | None = None) -> CTVolume:
    """A CT read from a DICOM folder, zip or file (de-identified with a throw-away key) or a NIfTI/NRRD file.

    Nothing is stored; the volume is checked against ``request`` as an import would check it.
    ``limits`` (``Settings.input_limits``) bound the reading; by default the default limits with
    ``max_upload_mb``.
    """
    limits = limits or InputLimits(max_bytes=int(max_upload_mb) * 1024 * 1024)
    path = Path(path)
    if not path.exists():
        raise ValidationError(f"{path} does not exist; give a DICOM folder, a NIfTI or an NRRD file")
    found = research_volume(path, limits=limits) if path.is_file() else None
    if found is not None:
        return request.check_volume(found[0])
    key = secrets.token_bytes(32)  # UIDs are only mapped in memory here: a throw-away key
    blobs = read_upload([path], UploadLimits.of(limits))
    deidentifier = Deidentifier(key, DeidentOptions(), pseudonym="RHINO-SEGMENT")
    pending = PendingUpload(load_upload(blobs, deidentifier=deidentifier, max_voxels=limits.max_voxels), deidentifier,
                            limits.max_voxels)
    return request.check_volume(assemble_series(pending, request)[0])
