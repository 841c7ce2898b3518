"""Importing a 4PR recording into a project, as ``rhinoapp rhinomanometry --project`` and the 4PR page do.

:func:`store_4pr` publishes a :class:`~rhinoapp.rhinomanometry.request.PreparedUpload` as the two
artifacts of the 4PR step, the files of ``ProjectLayout.measurement(<measurement-id>)``: the
recording (rhinoapp's open format, canonical units, inspiration positive) and its parameters;
:func:`import_4pr` prepares and stores in one call.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from pathlib import PurePosixPath

from rhinoapp.core.access import AuditAction
from rhinoapp.store.audit import AuditLog
from rhinoapp.core.layout import MeasurementFolder, ProjectLayout
from rhinoapp.core.workflow import Step
from rhinoapp.rhinomanometry.classification import DEFAULT_OBSTRUCTION_CLASSES, ObstructionClasses
from rhinoapp.rhinomanometry.request import FourPRImportRequest, PreparedUpload, prepare_import
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.usecases.outdating import check_replace

__all__ = ["import_4pr", "store_4pr"]

_log = logging.getLogger(__name__)

def _new_id() -> str:
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def store_4pr(repo: ProjectRepository, project_id: str, prepared: PreparedUpload, *, replace: bool = False) -> str:
    """Publish both files of ``prepared`` (both or neither) in the project; returns the measurement id.

    Where the project has a measurement, the new one becomes the latest (the one the analysis
    uses): that needs ``replace`` True (the user confirmed; see :mod:`rhinoapp.usecases.outdating`).
    The earlier measurements are kept.

    Raises
    ------
    ReplaceRefused
        When the project has a measurement and ``replace`` is False; the message says what would become outdated.
    """
    check_replace(repo, project_id, Step.RHINOMANOMETRY, replace=replace)
    mid = _new_id()
    folder: MeasurementFolder[PurePosixPath] = ProjectLayout().measurement(mid)
    repo.write_artifacts(project_id, Step.RHINOMANOMETRY, {str(folder.recording): prepared.recording_csv,
                                                          str(folder.parameters): prepared.parameters_json})
    AuditLog(repo.store).record(repo.owner, AuditAction.UPLOAD, project_id=project_id, detail=Step.RHINOMANOMETRY.value)
    _log.info("4PR measurement %s stored in project %s", mid, project_id)
    return mid


def import_4pr(repo: ProjectRepository, project_id: str, request: FourPRImportRequest, *,
               classes: ObstructionClasses = DEFAULT_OBSTRUCTION_CLASSES,
               replace: bool = False) -> tuple[str, PreparedUpload]:
    """Read, check, analyse and store an upload (``replace`` as in :func:`store_4pr`); returns its id and what was stored."""
    prepared = prepare_import(request, classes=classes)
    return store_4pr(repo, project_id, prepared, replace=replace), prepared
