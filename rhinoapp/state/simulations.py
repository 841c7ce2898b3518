"""State of the Simulations page: inputs and estimate, the simulation job, its convergence, the results.

The simulation runs as a job (:data:`~rhinoapp.core.workflow.JobKind.SIMULATION`, see
:mod:`rhinoapp.jobs.simulation_task`) on the open project's airway geometry and publishes
``simulations/<run-id>/{fields.vti, surface.vtp, results.json, convergence.csv}``. Before a run,
the page shows the run time and memory that :func:`rhinoapp.cfd.estimate.estimate_run` expects
and refuses a run that :func:`~rhinoapp.cfd.estimate.check_resources` says would not fit. While a
job runs, the numbers of its progress reports (:class:`~rhinoapp.core.progress.ProgressReport`:
step, pressure drop, flow) give the live convergence history, whatever their wording; a finished
run's history is its ``convergence.csv``. :meth:`SimulationsState.refresh` does all reading in a worker thread; the
page calls it twice a second. Problems never raise: they become ``message``. No Panel here.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import datetime as dt
import logging
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import param

from rhinoapp.cfd.estimate import ResourceEstimate, check_resources
from rhinoapp.cfd.results import SimulationResults
from rhinoapp.cfd.config import Direction
from rhinoapp.cfd.request import PAGE_RESOLUTION_MM, SIMULATION_RANGES, SimulationRequest
from rhinoapp.config.jobs import LocalProfile, Profile, SchedulerProfile, SlurmProfile
from rhinoapp.core.errors import NotFoundError, RhinoappError
from rhinoapp.core.jsonable import finite_or_none as _number
from rhinoapp.core.layout import ProjectLayout, SimulationFolder
from rhinoapp.core.progress import ProgressReport, format_duration
from rhinoapp.core.workflow import JobKind, JobState, Step
from rhinoapp.render.spec import Colouring, SceneSpec
from rhinoapp.state.jobs import JobSummary, cancel_job, current_summary
from rhinoapp.state.session import Page, SessionState
from rhinoapp.store.jobs import JobRecord
from rhinoapp.store.repository import ArtifactInfo
from rhinoapp.usecases.simulation import estimate_simulation, load_domain

__all__ = ["HEALTHY_RANGES", "ConvergencePoint", "HealthyRange", "ResultRow", "SimulationRun", "SimulationsState",
           "convergence_point", "describe_estimate", "read_convergence", "result_rows"]

_log = logging.getLogger(__name__)
_DEFAULT = SimulationRequest()  # the defaults of the inputs


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


@dataclasses.dataclass(frozen=True)
class HealthyRange:
    """A healthy (or acceptable) range of one result, where it comes from, and the flow it applies at.

    Examples
    --------
    >>> dp = HEALTHY_RANGES["pressure_drop_pa"]
    >>> dp.text, dp.verdict(15.0, flow_ml_s=250.0), dp.verdict(35.0, flow_ml_s=240.0), dp.verdict(35.0, flow_ml_s=500.0)
    ('10-20', 'within', 'above', 'other flow')
    """

    low: float
    high: float
    source: str
    at_flow_ml_s: float | None = None

    @property
    def text(self) -> str:
        """The range as people write it."""
        return f"{self.low:g}-{self.high:g}"

    def applies(self, flow_ml_s: float | None) -> bool:
        """Whether the range applies at ``flow_ml_s`` (within 10 % of the flow it was measured at)."""
        if self.at_flow_ml_s is None:
            return True
        return flow_ml_s is not None and abs(flow_ml_s - self.at_flow_ml_s) <= 0.1 * self.at_flow_ml_s

    def verdict(self, value: float | None, *, flow_ml_s: float | None = None) -> str:
        """``below``, ``within``, ``above``, ``other flow`` (range not applicable) or ``unknown``."""
        if value is None or not math.isfinite(value):
            return "unknown"
        if not self.applies(flow_ml_s):
            return "other flow"
        return "below" if value < self.low else "above" if value > self.high else "within"


_AT_REST = "typical CFD of healthy noses at rest, 250 ml/s (domain notes)"
#: Healthy ranges from the domain notes ("Airflow simulation practice"). Pressure drop and resistance grow
#: with flow, so their ranges apply only near 250 ml/s. The unilateral resistance range is derived (two equal
#: sides in parallel have twice the total resistance each); the mass conservation bound is the solver's
#: acceptance criterion, not a clinical range. Pass other ranges as ``SimulationsState(references=...)``.
HEALTHY_RANGES: Mapping[str, HealthyRange] = MappingProxyType({
    "pressure_drop_pa": HealthyRange(10.0, 20.0, _AT_REST, 250.0),
    "resistance_total": HealthyRange(0.04, 0.07, _AT_REST, 250.0),
    "resistance_left": HealthyRange(0.08, 0.14, "derived: twice the total range (two equal sides in parallel)", 250.0),
    "resistance_right": HealthyRange(0.08, 0.14, "derived: twice the total range (two equal sides in parallel)", 250.0),
    "flow_partition_left_pct": HealthyRange(24.0, 76.0, "healthy left-right flow partition (domain notes)"),
    "mass_conservation_error_pct": HealthyRange(0.0, 0.5, "solver acceptance: inflow against outflow at steady state"),
})


@dataclasses.dataclass(frozen=True)
class ResultRow:
    """One line of the results table: a clinical output, its value as text, and its healthy range."""

    key: str
    label: str
    unit: str
    value: float | None
    text: str
    reference: HealthyRange | None = None
    verdict: str = ""


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def result_rows(results: Mapping[str, Any], references: Mapping[str, HealthyRange] = HEALTHY_RANGES) -> list[ResultRow]:
    """The results table of a run's ``results.json``, each value beside its healthy range.

    Examples
    --------
    >>> results = {"pressure_drop_pa": 14.2, "flow_ml_s": {"total": 250.0, "left": 124.0, "right": 126.0},
    ...            "resistance_pa_s_per_ml": {"total": 0.0568, "left": 0.115, "right": 0.113},
    ...            "flow_partition_left_pct": 49.6, "mass_conservation_error": 0.0004, "converged": True}
    >>> [(row.label, row.text, row.verdict) for row in result_rows(results)][:2]
    [('Pressure drop, nostrils to nasopharynx', '14.2', 'within'), ('Resistance, both sides', '0.0568', 'within')]
    >>> next(row for row in result_rows(results) if row.key == "mass_conservation_error_pct").text
    '0.04'
    """
    flows = results.get("flow_ml_s") or {}
    resistance = results.get("resistance_pa_s_per_ml") or {}
    total = _number(flows.get("total"))
    mass = _number(results.get("mass_conservation_error"))
    converged = results.get("converged")
    specs: list[tuple[str, str, str, float | None, str]] = [
        ("pressure_drop_pa", "Pressure drop, nostrils to nasopharynx", "Pa", _number(results.get("pressure_drop_pa")), ".3g"),
        ("resistance_total", "Resistance, both sides", "Pa·s/ml", _number(resistance.get("total")), ".3g"),
        ("resistance_left", "Resistance, left side", "Pa·s/ml", _number(resistance.get("left")), ".3g"),
        ("resistance_right", "Resistance, right side", "Pa·s/ml", _number(resistance.get("right")), ".3g"),
        ("flow_total", "Flow, total", "ml/s", total, ".1f"),
        ("flow_partition_left_pct", "Flow partition, left side", "%", _number(results.get("flow_partition_left_pct")), ".1f"),
        ("max_velocity_m_s", "Maximum velocity", "m/s", _number(results.get("max_velocity_m_s")), ".2f"),
        ("wss_mean_pa", "Wall shear stress, area-weighted mean", "Pa", _number(results.get("wss_mean_pa")), ".3g"),
        ("wss_max_pa", "Wall shear stress, maximum", "Pa", _number(results.get("wss_max_pa")), ".3g"),
        ("mass_conservation_error_pct", "Mass conservation error", "%", None if mass is None else 100.0 * mass, ".2g"),
    ]
    rows = []
    for key, label, unit, value, spec in specs:
        text = _fmt(value, spec)
        if key == "flow_total" and value is not None:
            text += f" (left {_fmt(_number(flows.get('left')), '.1f')}, right {_fmt(_number(flows.get('right')), '.1f')})"
        reference = references.get(key)
        verdict = reference.verdict(value, flow_ml_s=total) if reference is not None else ""
        rows.append(ResultRow(key, label, unit, value, text, reference, verdict))
    steps, mlups = _number(results.get("steps")), _number(results.get("mlups"))
    rows += [
        ResultRow("converged", "Steady state reached", "", None,
                  "yes" if converged else "no: stopped at the step limit" if converged is not None else "—"),
        ResultRow("steps", "Time steps", "", steps, "—" if steps is None else f"{int(steps):,}"),
        ResultRow("backend", "Backend", "", None, str(results.get("backend") or "—")),
        ResultRow("mlups", "Speed", "MLUPS", mlups, _fmt(mlups, ".1f")),
    ]
    return rows


@dataclasses.dataclass(frozen=True, eq=False)
class SimulationRun:
    """One finished simulation of the project: its folder, ``results.json``, history and job parameters.

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

    def rows(self, references: Mapping[str, HealthyRange] = HEALTHY_RANGES) -> list[ResultRow]:
        """The results table (see :func:`result_rows`)."""
        return result_rows(self.results, references)

    def scene(self, colouring: Colouring = Colouring.PRESSURE, *, streamlines: bool = True) -> SceneSpec:
        """The 3D view: the wall coloured by pressure (or wall shear stress), with streamlines of the flow."""
        files = SimulationFolder(self.folder)
        return SceneSpec(surface=files.surface, flow=files.fields, streamlines=streamlines,
                         colouring=Colouring(colouring), title=self.run_id, revision=self.revision)


def _size(size_bytes: int) -> str:
    return f"{size_bytes / 1e6:.0f} MB" if size_bytes < 1e9 else f"{size_bytes / 1e9:.1f} GB"


def describe_estimate(estimate: ResourceEstimate, *, resolution_mm: float, flow_ml_s: float) -> str:
    """The estimate as one sentence.

    Examples
    --------
    >>> e = ResourceEstimate(fluid_cells=40_081, grid_voxels=604_656, steps=23_124, memory_bytes=55_344_152,
    ...                      device_memory_bytes=0, backend="numba", mlups=40.0, seconds=23.2)
    >>> describe_estimate(e, resolution_mm=1.0, flow_ml_s=250.0)
    'At 1 mm and 250 ml/s: about 23 s and 55 MB of memory (40,081 fluid cells, 23,124 steps, numba at 40 MLUPS).'
    """
    memory = f"{_size(estimate.memory_bytes)} of memory"
    if estimate.device_memory_bytes:
        memory += f" and {_size(estimate.device_memory_bytes)} of GPU memory"
    duration = "under a second" if estimate.seconds < 1 else format_duration(estimate.seconds)
    return (f"At {resolution_mm:g} mm and {flow_ml_s:g} ml/s: about {duration} and {memory} ({estimate.fluid_cells:,} "
            f"fluid cells, {estimate.steps:,} steps, {estimate.backend} at {estimate.mlups:g} MLUPS).")


def _where(profile: Profile) -> str:
    if isinstance(profile, SlurmProfile):
        gpu = f", {profile.gres}" if profile.gres else ""
        return f"Runs on the cluster: Slurm profile {profile.name} (partition {profile.partition or 'default'}{gpu})."
    if isinstance(profile, SchedulerProfile):
        return f"Runs on the dask cluster of profile {profile.name} ({profile.address})."
    return f"Runs on this machine ({profile.name} profile)."


def _uses_gpu(profile: Profile) -> bool:
    return isinstance(profile, SlurmProfile) and "gpu" in profile.gres.lower()


def _memory_limit(profile: Profile) -> int | None:
    """The memory a job of ``profile`` may use; ``None``: what this machine has available."""
    if isinstance(profile, SlurmProfile):
        from dask.utils import parse_bytes

        return int(parse_bytes(profile.memory))
    if isinstance(profile, LocalProfile) and profile.memory_limit not in ("auto", "", "0"):
        from dask.utils import parse_bytes

        return int(parse_bytes(profile.memory_limit))
    return None


@dataclasses.dataclass(frozen=True)
class _Inputs:
    flow_ml_s: float
    direction: str
    resolution_mm: float
    max_steps: int


@dataclasses.dataclass
class _Snapshot:
    """What one refresh read from the store (in a worker thread)."""

    project_id: str | None
    record: JobRecord | None = None
    geometry: str | None = None  # revision of the geometry's labels, None without geometry
    runs: list[SimulationRun] | None = None  # None: unchanged since the last read
    runs_key: tuple[Any, ...] | None = None
    estimate: tuple[ResourceEstimate | None, str] | None = None  # None: unchanged
    estimate_key: tuple[Any, ...] | None = None
    error: str = ""


class SimulationsState(param.Parameterized):
    """The open project's airflow simulations: inputs, estimate, the job, its convergence, the results.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store import open_store, ProjectRepository
    >>> repo = ProjectRepository(open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))), owner="local")
    >>> state = SimulationsState(session=SessionState(repository=repo))
    >>> state.session.open_project(repo.create("Case 9").id)
    >>> asyncio.run(state.refresh())
    >>> state.message_kind, state.message.split(":")[0]
    ('warning', 'This project has no airway geometry yet')
    >>> state.resolution_mm = 2.0; state.parameters()["resolution_mm"]
    2.0
    """

    session = param.ClassSelector(class_=SessionState, constant=True, doc="The session whose project is used.")
    variant = param.String(default="default", doc="The geometry (geometry/<variant>/) to simulate.")
    references = param.Dict(default=dict(HEALTHY_RANGES), doc="Healthy ranges of the results, by row key.")
    # -- inputs (job parameters) ---------------------------------------------------------------
    flow_ml_s = param.Number(default=_DEFAULT.flow_ml_s, bounds=SIMULATION_RANGES["flow_ml_s"].bounds, step=10.0,
                             label="Flow rate (ml/s)",
                             doc="Total volume flow through both nostrils; quiet breathing at rest is about 250 ml/s.")
    direction = param.Selector(objects=[d.value for d in Direction], default=_DEFAULT.direction.value,
                               label="Direction",
                               doc="Air enters at the nostrils (inspiration) or at the nasopharynx (expiration).")
    resolution_mm = param.Number(default=PAGE_RESOLUTION_MM, bounds=SIMULATION_RANGES["resolution_mm"].bounds,
                                 step=0.25, label="Resolution (mm)",
                                 doc="Grid spacing of the simulation. Finer is more accurate; memory grows with the "
                                     "cube and run time with the fourth power of 1/resolution.")
    max_steps = param.Integer(default=0, bounds=(0, int(SIMULATION_RANGES["max_steps"].high)),
                              label="Step limit (0: until steady)",
                              doc="Stop after this many time steps even if the flow is not steady yet (0: no limit).")
    # -- 3D view -------------------------------------------------------------------------------
    colouring = param.Selector(objects={"Wall pressure": Colouring.PRESSURE.value,
                                        "Wall shear stress": Colouring.WALL_SHEAR_STRESS.value},
                               default=Colouring.PRESSURE.value, label="Colour the wall by",
                               doc="What the colours of the airway wall show in the 3D view.")
    streamlines = param.Boolean(default=True, label="Streamlines",
                                doc="Show streamlines from the nostrils (the wall then becomes translucent).")
    # -- estimate ------------------------------------------------------------------------------
    has_geometry = param.Boolean(default=False, doc="The open project has an airway geometry to simulate.")
    estimate = param.ClassSelector(class_=ResourceEstimate, default=None, allow_None=True,
                                   doc="Expected cells, steps, memory and run time for the current inputs.")
    estimate_text = param.String(default="", doc="The estimate in words.")
    estimate_problem = param.String(default="", doc="Why the run would not fit, if it would not.")
    where = param.String(default="", doc="Where simulation jobs run.")
    # -- job -----------------------------------------------------------------------------------
    job = param.ClassSelector(class_=JobSummary, default=None, allow_None=True,
                              doc="The project's latest simulation job, with live progress.")
    running = param.Boolean(default=False, doc="A simulation of this project is queued or running.")
    can_run = param.Boolean(default=False, doc="Run applies: geometry, a runner, an estimate that fits, nothing running.")
    history = param.List(default=[], item_type=ConvergencePoint,
                         doc="Convergence: live while a job runs, else the selected run's convergence.csv.")
    # -- results -------------------------------------------------------------------------------
    runs = param.List(default=[], item_type=SimulationRun, doc="Finished runs of the project, newest first.")
    selected = param.String(default=None, allow_None=True, doc="Run id of the run shown.")
    result = param.ClassSelector(class_=SimulationRun, default=None, allow_None=True, doc="The run shown.")
    rows = param.List(default=[], item_type=ResultRow, doc="The shown run's results beside their healthy ranges.")
    scene = param.ClassSelector(class_=SceneSpec, default=None, allow_None=True, doc="The 3D view's content.")
    message = param.String(default="", doc="What the page says about the simulations now.")
    message_kind = param.Selector(objects=["info", "success", "warning", "error"], default="info")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._refreshing = False
        self._runs_key: tuple[Any, ...] | None = None
        self._estimate_key: tuple[Any, ...] | None = None
        self._domain: tuple[tuple[str, str], Any] | None = None  # ((project, geometry revision), FlowDomain)
        self._load_error = ""
        self._live_job: str | None = None
        self._live_expiration = False
        self._live_points: list[ConvergencePoint] = []
        self._unsubscribe: Callable[[], None] | None = None
        profile = self.session.settings.jobs.profile_for(JobKind.SIMULATION)
        self.where = (_where(profile) if self.session.runner is not None
                      else "Simulations run as jobs of the served app (rhinoapp serve); here you see the estimate.")

    # -- inputs --------------------------------------------------------------------------------
    def _inputs(self) -> _Inputs:
        return _Inputs(float(self.flow_ml_s), str(self.direction), float(self.resolution_mm), int(self.max_steps))

    def request(self, inputs: _Inputs | None = None) -> SimulationRequest:
        """The request of the current inputs; ValidationError (saying how to fix it) when a rule is broken."""
        inputs = inputs or self._inputs()
        return SimulationRequest(flow_ml_s=inputs.flow_ml_s, direction=inputs.direction,
                                 resolution_mm=inputs.resolution_mm, max_steps=inputs.max_steps or None,
                                 variant=self.variant)

    def parameters(self) -> dict[str, Any]:
        """The job parameters for the current inputs (JSON-ready; the backend is chosen where it runs)."""
        return self.request().to_parameters()

    def _profile(self) -> Profile:
        return self.session.settings.jobs.profile_for(JobKind.SIMULATION)

    def _estimate(self, project_id: str, geometry: str, inputs: _Inputs) -> tuple[ResourceEstimate | None, str]:
        """(estimate, why it would not fit); runs in a worker thread."""
        profile = self._profile()
        try:
            domain = self._flow_domain(project_id, geometry)
            estimate = estimate_simulation(domain, self.request(inputs), backend="cupy" if _uses_gpu(profile) else None)
        except RhinoappError as error:
            return None, f"No estimate for these inputs: {error}."
        try:
            check_resources(estimate, memory_limit_bytes=_memory_limit(profile))
        except RhinoappError as error:
            return estimate, f"This run would not fit: {error}."
        return estimate, ""

    def _flow_domain(self, project_id: str, geometry: str) -> Any:
        key = (project_id, geometry)
        if self._domain is None or self._domain[0] != key:
            self._domain = (key, load_domain(self.session.repository.layout(project_id).geometry(self.variant)))
        return self._domain[1]

    # -- reading (worker thread) ---------------------------------------------------------------
    def _gather(self, project_id: str | None, inputs: _Inputs) -> _Snapshot:
        snapshot = _Snapshot(project_id)
        if project_id is None:
            return snapshot
        runner, repo = self.session.runner, self.session.repository
        try:
            if runner is not None:
                snapshot.record = next((r for r in runner.records.recent(owner=self.session.user, project_id=project_id,
                                                                        limit=25) if r.kind is JobKind.SIMULATION), None)
            artifacts = repo.artifacts(project_id)
            labels_name = str(ProjectLayout().geometry(self.variant).labels)
            labels = next((a for a in artifacts if a.name == labels_name), None)
            snapshot.geometry = labels.sha256[:16] if labels is not None else None
            results = sorted((a.name, a.sha256) for a in artifacts
                             if a.step is Step.SIMULATION and ProjectLayout.results_run_of(a.name))
            geometry_files = sorted((a.name, a.sha256) for a in artifacts if a.step is Step.GEOMETRY)
            runs_key = (project_id, tuple(geometry_files), tuple(results))  # any airway change may outdate a run
            if runs_key != self._runs_key:
                snapshot.runs, snapshot.runs_key = self._read_runs(project_id, artifacts), runs_key
            estimate_key = (project_id, snapshot.geometry, inputs)
            if estimate_key != self._estimate_key:
                snapshot.estimate_key = estimate_key
                snapshot.estimate = (None, "") if snapshot.geometry is None else self._estimate(
                    project_id, snapshot.geometry, inputs)
        except RhinoappError as error:
            _log.warning("simulations of project %s could not be read: %s", project_id, type(error).__name__)
            snapshot.error = str(error)
        return snapshot

    def _read_runs(self, project_id: str, artifacts: list[ArtifactInfo]) -> list[SimulationRun]:
        repo, runner = self.session.repository, self.session.runner
        outputs = repo.step_outputs(project_id)
        geometry_digest = outputs[Step.GEOMETRY].digest if Step.GEOMETRY in outputs else None
        folders: dict[str, dict[str, ArtifactInfo]] = {}
        for artifact in artifacts:
            run_id = ProjectLayout.simulation_run_of(artifact.name)
            if artifact.step is Step.SIMULATION and run_id is not None:
                folders.setdefault(run_id, {})[artifact.name] = artifact
        runs = []
        for run_id, files in folders.items():
            names = ProjectLayout().simulation(run_id)
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
            if runner is not None and info.job_id:
                try:
                    parameters = runner.records.get(info.job_id, owner=self.session.user).parameters
                except NotFoundError:
                    pass
            used = info.inputs.get(Step.GEOMETRY)
            revision = "-".join(files[str(name)].sha256[:8] for name in (names.surface, names.fields))
            runs.append(SimulationRun(run_id, info.path.parent, info.created, info.job_id, MappingProxyType(dict(results)),
                                      convergence, MappingProxyType(dict(parameters)), revision,
                                      outdated=used is not None and used != geometry_digest))
        return sorted(runs, key=lambda run: run.created, reverse=True)

    # -- refresh -------------------------------------------------------------------------------
    async def refresh(self) -> None:
        """Follow the latest job; read runs and estimate again when something they depend on changed."""
        if self._refreshing:
            return
        self._refreshing = True
        try:
            project_id = self.session.current_project_id
            snapshot = await asyncio.to_thread(self._gather, project_id, self._inputs())
            self._apply(snapshot)
        finally:
            self._refreshing = False

    def reload(self) -> None:
        """Read everything for the open project now, on this thread (for notebooks and scripts)."""
        self._apply(self._gather(self.session.current_project_id, self._inputs()))

    def _apply(self, snapshot: _Snapshot) -> None:
        if snapshot.project_id != self.session.current_project_id:
            return  # the project changed while reading; the next refresh reads the new one
        self._load_error = snapshot.error
        if snapshot.estimate is not None:
            self._estimate_key = snapshot.estimate_key
            self._show_estimate(*snapshot.estimate)
        self.has_geometry = snapshot.geometry is not None
        self._set_job(snapshot.record)
        if snapshot.runs is not None:
            self._runs_key = snapshot.runs_key
            self._show_runs(snapshot.runs, snapshot.record)
        self._update_history()
        self._update_message()

    def _show_estimate(self, estimate: ResourceEstimate | None, problem: str) -> None:
        key = self._estimate_key
        inputs: _Inputs | None = key[2] if key else None
        text = "" if estimate is None or inputs is None else describe_estimate(
            estimate, resolution_mm=inputs.resolution_mm, flow_ml_s=inputs.flow_ml_s)
        self.param.update(estimate=estimate, estimate_text=text, estimate_problem=problem)
        self._update_can_run()

    def _show_runs(self, runs: list[SimulationRun], record: JobRecord | None) -> None:
        before = {run.run_id for run in self.runs}
        self.runs = runs
        ids = [run.run_id for run in runs]
        new = [run for run in runs if run.run_id not in before]
        from_job = next((run for run in new if record is not None and run.job_id == record.id), None)
        if from_job is not None or (new and self.selected not in ids):
            self.selected = (from_job or new[0]).run_id
        elif self.selected not in ids:
            self.selected = ids[0] if ids else None
        self._show_selected()

    @param.depends("selected", watch=True)
    def _show_selected(self) -> None:
        run = next((r for r in self.runs if r.run_id == self.selected), None)
        if run is self.result:
            return
        self.param.update(result=run, rows=run.rows(self.references) if run else [])
        self._show_scene()
        self._update_history()
        self._update_message()

    @param.depends("colouring", "streamlines", watch=True)
    def _show_scene(self) -> None:
        run = self.result
        self.scene = run.scene(Colouring(self.colouring), streamlines=self.streamlines) if run is not None else None

    def select(self, run_id: str) -> None:
        """Show the run ``run_id`` (one of :attr:`runs`)."""
        if run_id not in {run.run_id for run in self.runs}:
            raise NotFoundError(f"No finished run {run_id!r} in this project: pick one from the list.")
        self.selected = run_id

    # -- job -----------------------------------------------------------------------------------
    @param.depends("session.current_project_id", watch=True)
    def _project_changed(self) -> None:
        self._follow(None)
        self._runs_key = self._estimate_key = None
        self._load_error = ""
        self.param.update(runs=[], selected=None, result=None, rows=[], scene=None, job=None, running=False,
                          history=[], has_geometry=False, estimate=None, estimate_text="", estimate_problem="")
        self._update_can_run()
        self._update_message()

    def _update_can_run(self) -> None:
        self.can_run = (self.session.runner is not None and self.session.current_project_id is not None
                        and self.has_geometry and not self.running and not self.estimate_problem)

    async def run(self) -> bool:
        """Submit a simulation of the open project with the current inputs; ``False`` if it did not start."""
        runner, project_id = self.session.runner, self.session.current_project_id
        if runner is None:
            self._say("Simulations run as jobs of the served app: start it with `rhinoapp serve`.", "warning")
            return False
        if project_id is None:
            self._update_message()
            return False
        self._apply(await asyncio.to_thread(self._gather, project_id, self._inputs()))  # geometry, jobs, estimate now
        if self.running:
            self._say("A simulation of this project is already running: wait for it or cancel it.", "info")
            return False
        if not self.has_geometry:
            return False  # the message points to the Geometry page
        if self.estimate_problem:
            self._say(self.estimate_problem, "error")
            return False
        try:
            record = await runner.submit(owner=self.session.user, project_id=project_id, kind=JobKind.SIMULATION,
                                         parameters=self.parameters())
        except RhinoappError as error:
            self._say(f"The simulation could not start: {error}", "error")
            return False
        self._set_job(record)
        self._update_history()
        self._say("Simulation submitted: follow its progress and convergence below.", "info")
        return True

    async def cancel(self) -> None:
        """Cancel the running simulation of this project."""
        problem = await cancel_job(self.session, self.job)
        if problem:
            self._say(problem, "error")
        await self.refresh()

    def close(self) -> None:
        """Stop listening to the job runner (when the page's session ends)."""
        self._follow(None)

    def _set_job(self, record: JobRecord | None) -> None:
        summary = current_summary(self.session, record)
        if summary != self.job:
            self.job = summary
        self.running = bool(summary and summary.state.is_active)
        if summary is not None and summary.state.is_active:
            if self._live_job != record.id:
                self._follow(record)
            self._collect(record.id)
        elif self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._update_can_run()

    # -- convergence ---------------------------------------------------------------------------
    def _follow(self, record: JobRecord | None) -> None:
        """Collect the convergence of ``record`` from every progress message (``None``: stop)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._live_job = None if record is None else record.id
        self._live_expiration = record is not None and record.parameters.get("direction") == "expiration"
        self._live_points = []
        if record is not None and self.session.runner is not None:
            self._add_point(record.progress_report)  # what the store has, for a page opened mid-run
            self._unsubscribe = self.session.runner.subscribe(self._collect)

    def _collect(self, job_id: str) -> None:
        """Runner listener (on the app's loop): keep the sample of the job's latest progress report."""
        runner = self.session.runner
        live = runner.live(job_id) if runner is not None and job_id == self._live_job else None
        if live is not None:
            self._add_point(live.report)

    def _add_point(self, report: ProgressReport) -> None:
        point = convergence_point(report, expiration=self._live_expiration)
        if point is not None and (not self._live_points or point.step > self._live_points[-1].step):
            self._live_points.append(point)

    def _update_history(self) -> None:
        if self.running and self.job is not None and self.job.id == self._live_job:
            points = list(self._live_points)
        else:
            points = list(self.result.convergence) if self.result is not None else []
        if points != self.history:
            self.history = points

    # -- messages ------------------------------------------------------------------------------
    def _say(self, text: str, kind: str) -> None:
        self.param.update(message=text, message_kind=kind)

    def _update_message(self) -> None:
        job, result = self.job, self.result
        earlier = " The results shown are from an earlier run." if result is not None else ""
        if self.session.current_project_id is None:
            self._say(f"No project is open: open one on the {Page.PROJECTS.value} page to simulate its airflow.",
                      "warning")
        elif not self.has_geometry and not self.runs:
            self._say(f"This project has no airway geometry yet: segment the airway on the {Page.GEOMETRY.value} "
                      "page first, then simulate it here.", "warning")
        elif job is not None and job.state.is_active:
            self._say(f"Simulating the airflow: {job.message or job.state.value}.", "info")
        elif job is not None and job.state is JobState.ERROR:
            self._say(f"The simulation failed: {job.message}{earlier}", "error")
        elif job is not None and job.state is JobState.CANCELLED and (result is None or result.job_id != job.id):
            self._say(f"The simulation was cancelled. Press Run to start it again.{earlier}", "info")
        elif self._load_error:
            self._say(self._load_error, "error")
        elif result is None:
            hint = "choose the flow and resolution and press Run." if self.session.runner is not None else \
                "simulations run in the served app (rhinoapp serve)."
            self._say(f"No simulation yet: {hint}", "info")
        elif result.outdated:
            self._say("The airway geometry changed after this run: press Run to simulate it again.", "warning")
        else:
            r = result.results
            dp = _number(r.get("pressure_drop_pa"))
            resistance = _number((r.get("resistance_pa_s_per_ml") or {}).get("total"))
            partition = _number(r.get("flow_partition_left_pct"))
            steady = "steady state reached" if r.get("converged") else "not steady yet (step limit)"
            self._say(f"Run {result.run_id}: pressure drop {_fmt(dp, '.3g')} Pa, resistance {_fmt(resistance, '.3g')} "
                      f"Pa·s/ml, {_fmt(partition, '.0f')} % of the flow through the left side; {steady}.", "success")
