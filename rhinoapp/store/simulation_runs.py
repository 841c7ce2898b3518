"""Reading a project's finished simulations: the ``ProjectLayout.simulation(run_id)`` folders and their job parameters.

A run is listed when its folder has all of its files (fields, wall surface, results, convergence);
an unreadable run is logged and skipped.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any

from rhinoapp.analysis.accuracy import AccuracyNote, accuracy_note
from rhinoapp.analysis.plausibility import PlausibilityFlag, annotate_rows, plausibility_flags
from rhinoapp.analysis.ranges import HEALTHY_RANGES, HealthyRange, ResultRow, result_rows
from rhinoapp.cfd.results import SimulationResults
from rhinoapp.core.errors import NotFoundError
from rhinoapp.core.jsonable import finite_or_none as _number
from rhinoapp.core.layout import ProjectLayout, SimulationFolder
from rhinoapp.core.progress import ProgressReport
from rhinoapp.core.workflow import Step
from rhinoapp.store.jobs import JobStore
from rhinoapp.store.repository import ArtifactInfo, ProjectRepository

__all__ = ["ConvergencePoint", "SimulationRun", "convergence_point", "read_convergence", "read_runs"]

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ConvergencePoint:
    """Pressure drop (Pa) and total flow (ml/s, positive along the breath) at one time step."""

    step: int
    pressure_drop_pa: float
    flow_ml_s: float


def convergence_point(report: ProgressReport | None, *, expiration: bool = False) -> ConvergencePoint | None:
    """The convergence sample of a simulation job's progress report, or ``None`` if it has none.

    Only the report's numbers are read, never its words. The solver reports the nostril flow,
    which is negative while breathing out: ``expiration`` turns it positive along the breath, as
    ``convergence.csv`` has it.

    Examples
    --------
    >>> convergence_point(ProgressReport(0.22, step=4730, total=21570, pressure_drop_pa=19.76, flow_ml_s=249.8))
    ConvergencePoint(step=4730, pressure_drop_pa=19.76, flow_ml_s=249.8)
    >>> convergence_point(ProgressReport(1.0, step=300, steady=True, pressure_drop_pa=4.1, flow_ml_s=-99.5),
    ...                   expiration=True).flow_ml_s
    99.5
    >>> convergence_point(ProgressReport(0.0, stage="reading the geometry")) is None
    True
    """
    if report is None or report.step is None or report.pressure_drop_pa is None or report.flow_ml_s is None:
        return None
    sign = -1.0 if expiration else 1.0
    return ConvergencePoint(report.step, report.pressure_drop_pa, sign * report.flow_ml_s)


def read_convergence(path: Path) -> tuple[ConvergencePoint, ...]:
    """The history in a run's ``convergence.csv`` (columns ``step``, ``pressure_drop_pa``, ``flow_ml_s``).

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "convergence.csv"
    >>> _ = path.write_text("step,time_s,pressure_drop_pa,flow_ml_s\\n100,0.004,3.5,120\\n200,0.008,9.25,240\\n")
    >>> [point.pressure_drop_pa for point in read_convergence(path)]
    [3.5, 9.25]
    """
    with Path(path).open(newline="", encoding="utf-8") as stream:
        return tuple(ConvergencePoint(int(float(row["step"])), float(row["pressure_drop_pa"]), float(row["flow_ml_s"]))
                     for row in csv.DictReader(stream))


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


@dataclasses.dataclass(frozen=True, eq=False)
class SimulationRun:
    """One finished simulation of the project: its folder, results document, history and job parameters.

    ``revision`` names the content of its files (the 3D view reloads when it changes); ``outdated``
    says the geometry changed after this run.
    """

    run_id: str
    folder: Path
    created: dt.datetime
    job_id: str | None
    results: Mapping[str, Any]
    convergence: tuple[ConvergencePoint, ...]
    parameters: Mapping[str, Any]
    revision: str
    outdated: bool = False

    @property
    def flow_ml_s(self) -> float | None:
        """The requested flow (the job's parameter), else the simulated total flow."""
        flow = _number(self.parameters.get("flow_ml_s"))
        return flow if flow is not None else _number((self.results.get("flow_ml_s") or {}).get("total"))

    @property
    def direction(self) -> str:
        """``inspiration`` or ``expiration``."""
        return str(self.parameters.get("direction", "inspiration"))

    @property
    def resolution_mm(self) -> float | None:
        """The lattice spacing the run used."""
        return _number((self.results.get("lattice") or {}).get("dx_mm")) or _number(self.parameters.get("resolution_mm"))

    @property
    def label(self) -> str:
        """How the run is listed: when, flow, direction, resolution."""
        when = self.created.astimezone().strftime("%Y-%m-%d %H:%M")
        return (f"{when} · {_fmt(self.flow_ml_s, 'g')} ml/s {self.direction} · {_fmt(self.resolution_mm, 'g')} mm"
                f" · {self.run_id}")

    @property
    def flags(self) -> list[PlausibilityFlag]:
        """The figures the software doubts (the ``plausibility`` list of ``results.json``; checked anew for
        runs written before the checks existed)."""
        return plausibility_flags(self.results)

    @property
    def accuracy(self) -> AccuracyNote:
        """What the validation against an independent solver says about this run's pressure drop (worked out
        anew from the run's settings, so runs written before the note existed carry it too)."""
        return accuracy_note(self.results)

    def rows(self, references: Mapping[str, HealthyRange] = HEALTHY_RANGES) -> list[ResultRow]:
        """The results table (see :func:`result_rows`), each doubted row with its flag."""
        return annotate_rows(result_rows(self.results, references), self.flags)


def read_runs(repository: ProjectRepository, jobs: JobStore | None, project_id: str,
              artifacts: list[ArtifactInfo] | None = None) -> list[SimulationRun]:
    """The finished runs of ``project_id``, newest first, each with its job's parameters when ``jobs`` has them.

    ``artifacts`` (the project's, when the caller has them already) saves reading them again.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store import open_store
    >>> repo = ProjectRepository(open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))), owner="local")
    >>> project = repo.create("No runs")
    >>> read_runs(repo, None, project.id)
    []
    """
    artifacts = repository.artifacts(project_id) if artifacts is None else artifacts
    outputs = repository.step_outputs(project_id)
    geometry_digest = outputs[Step.GEOMETRY].digest if Step.GEOMETRY in outputs else None
    folders: dict[str, dict[str, ArtifactInfo]] = {}
    for artifact in artifacts:
        run_id = ProjectLayout.simulation_run_of(artifact.name)
        if artifact.step is Step.SIMULATION and run_id is not None:
            folders.setdefault(run_id, {})[artifact.name] = artifact
    runs = []
    for run_id, files in folders.items():
        names: SimulationFolder[PurePosixPath] = ProjectLayout().simulation(run_id)
        if not all(str(name) in files for name in names.files):
            continue
        info = files[str(names.results)]
        try:
            results = SimulationResults.from_json(info.path.read_bytes()).document
            convergence = read_convergence(files[str(names.convergence)].path)
        except (OSError, ValueError, KeyError) as error:  # ValidationError is a ValueError
            _log.warning("run %s of project %s is unreadable (%s); skipped", run_id, project_id, type(error).__name__)
            continue
        parameters: Mapping[str, Any] = {}
        if jobs is not None and info.job_id:
            try:
                parameters = jobs.get(info.job_id, owner=repository.owner).parameters
            except NotFoundError:
                pass
        used = info.inputs.get(Step.GEOMETRY)
        revision = "-".join(files[str(name)].sha256[:8] for name in (names.surface, names.fields))
        runs.append(SimulationRun(run_id, info.path.parent, info.created, info.job_id, MappingProxyType(dict(results)),
                                  convergence, MappingProxyType(dict(parameters)), revision,
                                  outdated=used is not None and used != geometry_digest))
    return sorted(runs, key=lambda run: run.created, reverse=True)
