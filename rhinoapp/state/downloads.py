"""What the download buttons of the Simulations and Analysis pages hand out: the files of the open project's
shown run or measurement, built by :mod:`rhinoapp.usecases.exports` for the session's user, and the
3D scene shown as a ParaView state with its data (:mod:`rhinoapp.render.paraview_export`).

The session's repository is bound to the signed-in user, so a download reads only that user's
projects, as every page does. Problems never raise: they come back as the ``problem`` text. No Panel here.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from rhinoapp.core.access import AuditAction
from rhinoapp.core.errors import RhinoappError
from rhinoapp.dicom.identity import project_pseudonym
from rhinoapp.render.paraview_export import paraview_state_zip
from rhinoapp.render.spec import SceneSpec
from rhinoapp.state.session import SessionState
from rhinoapp.usecases.exports import ExportFile, MeasurementFile, RunFile, measurement_export, run_export

__all__ = ["Download", "MeasurementFile", "RunFile", "measurement_download", "paraview_download", "run_download"]

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Download:
    """A file to hand out, or why there is none."""

    file: ExportFile | None
    problem: str = ""


def _fetch(session: SessionState, project_id: str, detail: str, what: str, build: Callable[[], ExportFile]) -> Download:
    """``build``'s file, recorded in the audit log as a download (``detail``: a fixed word), or why not."""
    try:
        found = Download(build())
        session.audit(AuditAction.DOWNLOAD, project_id, detail=detail)
        return found
    except (RhinoappError, OSError) as error:
        _log.warning("download of %s refused: %s", what, type(error).__name__)
        return Download(None, str(error) if isinstance(error, RhinoappError) else
                        f"The file could not be read ({type(error).__name__}): try again.")


def run_download(session: SessionState | None, run_id: str | None, kind: RunFile) -> Download:
    """One file of the open project's run ``run_id`` (see :class:`~rhinoapp.usecases.exports.RunFile`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store import open_store, ProjectRepository
    >>> repo = ProjectRepository(open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))), owner="local")
    >>> session = SessionState(repository=repo)
    >>> session.open_project(repo.create("Case 3").id)
    >>> run_download(session, "run-1", RunFile.ZIP).problem
    "No finished run 'run-1' in this project: pick one from the list of finished runs."
    """
    project_id, repository = (None, None) if session is None else (session.current_project_id, session.repository)
    if project_id is None or run_id is None or repository is None:
        return Download(None, "Open a project and choose a finished run to download its results.")
    jobs = session.runner.records if session is not None and session.runner is not None else None
    assert session is not None
    return _fetch(session, project_id, kind.name.lower(), f"run {run_id}", lambda: run_export(repository, project_id, run_id, kind, jobs=jobs))


def measurement_download(session: SessionState | None, measurement_id: str | None, kind: MeasurementFile,
                         **analysis: object) -> Download:
    """One file of the open project's 4PR measurement ``measurement_id`` (``analysis``: options of the analysis)."""
    project_id, repository = (None, None) if session is None else (session.current_project_id, session.repository)
    if project_id is None or measurement_id is None or repository is None:
        return Download(None, "Open a project and choose a 4PR measurement to download its parameters.")
    assert session is not None
    return _fetch(session, project_id, kind.name.lower(), f"measurement {measurement_id}", lambda: measurement_export(
        repository, project_id, measurement_id, kind, **analysis))


def paraview_download(session: SessionState | None, scene: SceneSpec | None) -> Download:
    """The 3D scene the open project's page shows, as a ParaView state (``.pvsm``) with its data files in a zip.

    Examples
    --------
    >>> paraview_download(None, None).problem
    'Open a project and show its airway in 3D to download the scene for ParaView.'
    """
    project_id = None if session is None else session.current_project_id
    if session is None or project_id is None or scene is None:
        return Download(None, "Open a project and show its airway in 3D to download the scene for ParaView.")
    return _fetch(session, project_id, "paraview", "the ParaView state", lambda: ExportFile(
        f"rhinoapp-paraview-{project_pseudonym(project_id)}.zip", paraview_state_zip(scene), "application/zip"))
