"""What a project's report shows, read from the store: the case, its CT, airway, latest run and 4PR.

:func:`gather_report` reads each step's published output once; a missing or unreadable one is left
``None`` and named in :attr:`ReportContent.missing` with what to do, so the report says what it lacks
instead of failing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from pathlib import Path

from rhinoapp.analysis import Comparison
from rhinoapp.core.errors import RhinoappError
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.core.project import Project
from rhinoapp.core.version import __version__
from rhinoapp.core.volume import CTMetadata, CTVolume
from rhinoapp.core.workflow import Step
from rhinoapp.dicom.identity import project_pseudonym
from rhinoapp.rhinomanometry.model import Measurement
from rhinoapp.rhinomanometry.parameters import RhinomanometryParameters
from rhinoapp.store.geometry_results import GeometryResult, read_result
from rhinoapp.store.jobs import JobStore
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.store.simulation_runs import SimulationRun, read_runs
from rhinoapp.usecases.analysis import compare_run, latest_rhinomanometry

__all__ = ["ReportContent", "gather_report"]

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, eq=False)
class ReportContent:
    """Everything one report shows; ``None`` where the project lacks the step (see :attr:`missing`)."""

    project: Project
    pseudonym: str
    made: dt.datetime
    ct_imported: dt.datetime | None
    ct: CTVolume | None
    ct_metadata: CTMetadata | None
    geometry: GeometryResult | None
    run: SimulationRun | None
    measurement_id: str | None
    measurement: Measurement | None
    parameters: RhinomanometryParameters | None
    comparison: Comparison | None
    version: str = __version__
    missing: tuple[str, ...] = ()

    @property
    def has_simulation(self) -> bool:
        """Whether the report has a simulation run to show."""
        return self.run is not None


def _read_ct(repo: ProjectRepository, project_id: str) -> tuple[CTVolume | None, CTMetadata | None, dt.datetime | None]:
    from rhinoapp.volumes import read_volume

    layout = repo.layout(project_id)
    stored = {a.name: a for a in repo.artifacts(project_id, Step.DICOM)}
    volume_info = stored.get(str(ProjectLayout().ct_volume))
    if volume_info is None:
        return None, None, None
    try:
        volume = read_volume(layout.ct_volume)
        metadata = CTMetadata.from_json(layout.ct_metadata.read_bytes()) if layout.ct_metadata.exists() else None
    except (OSError, ValueError, RhinoappError) as error:
        _log.warning("the CT of project %s is unreadable: %s", project_id, type(error).__name__)
        return None, None, volume_info.created
    return volume, metadata, volume_info.created


def _read_measurement(repo: ProjectRepository, project_id: str, measurement_id: str | None) -> Measurement | None:
    from rhinoapp.rhinomanometry.io import read_csv

    if measurement_id is None:
        return None
    path = repo.layout(project_id).measurement(measurement_id).recording
    try:
        return read_csv(Path(path).read_text(), source=path.name)
    except (OSError, ValueError, RhinoappError) as error:
        _log.warning("4PR recording %s unreadable: %s", measurement_id, type(error).__name__)
        return None


def gather_report(repo: ProjectRepository, project_id: str, *, jobs: JobStore | None = None,
                  run_id: str | None = None, now: dt.datetime | None = None) -> ReportContent:
    """The content of ``project_id``'s report: its newest run (or ``run_id``) and newest 4PR measurement.

    ``jobs`` (the job records) adds each run's job parameters to its methods.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store import open_store
    >>> repo = ProjectRepository(open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))), owner="local")
    >>> content = gather_report(repo, repo.create("Case 1").id)
    >>> content.has_simulation, len(content.missing)
    (False, 4)
    >>> content.missing[0]
    'CT: no CT volume yet; import one on the CT page or with `rhinoapp import`.'
    """
    project = repo.get(project_id)
    missing: list[str] = []
    ct, metadata, imported = _read_ct(repo, project_id)
    if ct is None:
        missing.append("CT: no CT volume yet; import one on the CT page or with `rhinoapp import`.")
    geometry = None
    folder = repo.layout(project_id).geometry("default")
    if folder.report.exists():
        try:
            geometry = read_result(folder.path, "default")
        except (OSError, ValueError, RhinoappError) as error:
            _log.warning("the geometry of project %s is unreadable: %s", project_id, type(error).__name__)
    if geometry is None:
        missing.append("Airway: no segmentation yet; run it on the Geometry page or with `rhinoapp segment`.")
    runs = read_runs(repo, jobs, project_id)
    run = next((r for r in runs if run_id in (None, r.run_id)), None)
    if run is None:
        missing.append("Simulation: no simulation run yet, so no pressure, wall shear stress or resistance; run one "
                       "on the Simulations page or with `rhinoapp simulate`.")
    measurement_id, parameters = latest_rhinomanometry(repo, project_id)
    if parameters is None:
        missing.append("4PR: no rhinomanometry measurement yet, so no measured loops nor comparison; import one on "
                       "the 4PR page or with `rhinoapp rhinomanometry FILE --project`.")
    comparison = None
    if run is not None and parameters is not None:
        try:
            comparison = compare_run(repo, project_id, run.run_id)[1]
        except RhinoappError as error:
            _log.warning("comparison of run %s failed: %s", run.run_id, type(error).__name__)
    return ReportContent(project=project, pseudonym=project_pseudonym(project.id),
                         made=now or dt.datetime.now(dt.UTC), ct_imported=imported, ct=ct, ct_metadata=metadata,
                         geometry=geometry, run=run, measurement_id=measurement_id,
                         measurement=_read_measurement(repo, project_id, measurement_id), parameters=parameters,
                         comparison=comparison, missing=tuple(missing))
