"""State of the Simulations page: inputs and estimate, the simulation job, its convergence, the results.

The simulation runs as a job (:data:`~rhinoapp.core.workflow.JobKind.SIMULATION`, see
:mod:`rhinoapp.jobs.simulation_task`) on the open project's airway geometry and publishes
the files of ``ProjectLayout.simulation(run_id)`` (fields, wall surface, results, convergence). Before a run,
the page proposes the automatic resolution (cells across the narrowest passage; the user may give
a spacing instead) and shows the steps, run time (at this machine's measured speed) and memory
that :mod:`rhinoapp.state.simulation_estimate` expects, and refuses a run that
:func:`~rhinoapp.cfd.estimate.check_resources` says would not fit. While a
job runs, the numbers of its progress reports (:class:`~rhinoapp.core.progress.ProgressReport`:
step, pressure drop, flow) give the live convergence history, whatever their wording; a finished
run's history is its convergence file (read by :mod:`rhinoapp.store.simulation_runs`).
:meth:`SimulationsState.refresh` does all reading in a worker thread; job events and showing the
page call it (see :mod:`rhinoapp.state.job_page`). Problems never raise: they become ``message``.
No Panel here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

import param

from rhinoapp.analysis.accuracy import ValidatedModel, times_range
from rhinoapp.analysis.plausibility import PlausibilityFlag
from rhinoapp.analysis.ranges import HEALTHY_RANGES, HealthyRange, ResultRow, result_rows
from rhinoapp.cfd.config import Direction, FlowModel
from rhinoapp.cfd.estimate import ResourceEstimate
from rhinoapp.cfd.request import PAGE_RESOLUTION_MM, SIMULATION_RANGES, SimulationRequest
from rhinoapp.cfd.resolution import ResolutionChoice
from rhinoapp.config.jobs import Profile
from rhinoapp.core.errors import NotFoundError, RhinoappError
from rhinoapp.core.layout import ProjectLayout, SimulationFolder
from rhinoapp.core.progress import ProgressReport
from rhinoapp.core.workflow import JobKind, Step
from rhinoapp.jobs.events import JobEvent
from rhinoapp.jobs.placement import describe_placement
from rhinoapp.render.spec import Colouring, SceneSpec
from rhinoapp.state.job_page import JobPageState, MessageKind
from rhinoapp.state.job_summary import describe_estimate
from rhinoapp.state.live_view import LiveFlow
from rhinoapp.state.session import Page
from rhinoapp.state.simulation_messages import simulations_message
from rhinoapp.state.simulation_estimate import EstimateView, SimulationInputs, estimate_inputs, proposed_resolution
from rhinoapp.store.jobs import JobRecord
from rhinoapp.store.simulation_runs import (
    ConvergencePoint,
    SimulationRun,
    convergence_point,
    read_convergence,
    read_runs,
)
from rhinoapp.usecases.geometry_edit import geometry_variants
from rhinoapp.usecases.simulation import load_domain

__all__ = ["HEALTHY_RANGES", "ConvergencePoint", "HealthyRange", "PlausibilityFlag", "ResultRow", "SimulationRun",
           "SimulationsState", "convergence_point", "describe_estimate", "read_convergence", "result_rows"]

_log = logging.getLogger(__name__)
_DEFAULT = SimulationRequest()  # the defaults of the inputs


@dataclasses.dataclass
class _Snapshot:
    """What one refresh read from the store (in a worker thread)."""

    project_id: str | None
    record: JobRecord | None = None
    geometry: str | None = None  # revision of the geometry's labels, None without geometry
    runs: list[SimulationRun] | None = None  # None: unchanged since the last read
    runs_key: tuple[Any, ...] | None = None
    estimate: EstimateView | None = None  # None: unchanged
    estimate_key: tuple[Any, ...] | None = None
    error: str = ""
    variants: list[str] | None = None  # the complete geometry variants; None: not read


class SimulationsState(JobPageState):
    """The open project's airflow simulations: inputs, estimate, the job, its convergence, the results.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store import open_store, ProjectRepository
    >>> from rhinoapp.state.session import SessionState
    >>> repo = ProjectRepository(open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))), owner="local")
    >>> state = SimulationsState(session=SessionState(repository=repo))
    >>> state.session.open_project(repo.create("Case 9").id)
    >>> asyncio.run(state.refresh())
    >>> state.message_kind.value, state.message.split(":")[0]
    ('warning', 'This project has no airway geometry yet')
    >>> state.automatic_resolution, "resolution_mm" in state.parameters()  # the job applies the rule
    (True, False)
    >>> state.resolution_mm = 2.0; state.parameters()["resolution_mm"], state.automatic_resolution
    (2.0, False)
    """

    page = Page.SIMULATIONS
    follows = frozenset({JobKind.SIMULATION, JobKind.SEGMENTATION})  # a new airway changes the estimate
    job_kind = JobKind.SIMULATION
    noun = "simulation"
    submitted_text = "Simulation submitted: follow its progress and convergence below."

    variant = param.Selector(objects=["default"], default="default", check_on_set=False, label="Geometry variant",
                             doc="The geometry (geometry/<variant>/) to simulate: one of the project's complete "
                                 "variants (automatic, edited or imported).")
    references = param.Dict(default=dict(HEALTHY_RANGES), doc="Healthy ranges of the results, by row key.")
    # -- inputs (job parameters) ---------------------------------------------------------------
    flow_ml_s = param.Number(default=_DEFAULT.flow_ml_s, bounds=SIMULATION_RANGES["flow_ml_s"].bounds, step=10.0,
                             label="Flow rate (ml/s)",
                             doc="Total volume flow through both nostrils; quiet breathing at rest is about 250 ml/s.")
    direction = param.Selector(objects=[d.value for d in Direction], default=_DEFAULT.direction.value,
                               label="Direction",
                               doc="Air enters at the nostrils (inspiration) or at the nasopharynx (expiration).")
    automatic_resolution = param.Boolean(default=True, label="Automatic resolution",
                                         doc="Choose the grid spacing from the geometry: 6 cells across the narrowest "
                                             "passage, within the memory. Off: the spacing given below.")
    resolution_mm = param.Number(default=None, allow_None=True, bounds=SIMULATION_RANGES["resolution_mm"].bounds,
                                 step=0.25, label="Resolution (mm)",
                                 doc="Grid spacing of the simulation (empty: automatic). Finer is more accurate; memory "
                                     "grows with the cube and run time with the fourth power of 1/resolution.")
    flow_model = param.Selector(objects={"Smooth walls": FlowModel.SMOOTH_WALLS.value,
                                         "Standard": FlowModel.STANDARD.value},
                                default=_DEFAULT.flow_model.value, label="Flow model",
                                doc="Smooth walls (the default): the walls where the airway has them; its pressure "
                                    "drop came closest to an independent solver's "
                                    f"({times_range(ValidatedModel.SMOOTH_WALLS)} times it). Standard: half-way walls, "
                                    "the fastest per step, a pressure drop further above the reference's "
                                    f"({times_range(ValidatedModel.STANDARD)} times it). The estimate below follows "
                                    "the choice.")
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
    colour_low = param.Number(default=None, allow_None=True, label="Wall colours from (Pa)",
                              doc="Lowest value of the wall's colour scale (empty: the 2nd percentile).")
    colour_high = param.Number(default=None, allow_None=True, label="to (Pa)",
                               doc="Highest value of the wall's colour scale (empty: the 98th percentile).")
    velocity_low = param.Number(default=None, allow_None=True, label="Velocity colours from (m/s)",
                                doc="Lowest speed of the streamlines' colour scale (empty: the 2nd percentile).")
    velocity_high = param.Number(default=None, allow_None=True, label="to (m/s)",
                                 doc="Highest speed of the streamlines' colour scale (empty: the 98th percentile).")
    range_problem = param.String(default="", doc="Why a colour range the user set is not used, if it is not.")
    # -- estimate ------------------------------------------------------------------------------
    has_geometry = param.Boolean(default=False, doc="The open project has an airway geometry to simulate.")
    estimate = param.ClassSelector(class_=ResourceEstimate, default=None, allow_None=True,
                                   doc="Expected cells, steps, memory and run time for the current inputs.")
    estimate_text = param.String(default="", doc="The estimate in words.")
    resolution_text = param.String(default="", doc="The automatic resolution in words (what the rule proposes).")
    proposed_resolution_mm = param.Number(default=None, allow_None=True,
                                          doc="The automatic resolution of the geometry (None: not known yet).")
    estimate_problem = param.String(default="", doc="Why the run would not fit, if it would not.")
    where = param.String(default="", doc="Where simulation jobs run.")
    # -- job -----------------------------------------------------------------------------------
    history = param.List(default=[], item_type=ConvergencePoint,
                         doc="Convergence: live while a job runs, else the selected run's convergence.csv.")
    # -- results -------------------------------------------------------------------------------
    runs = param.List(default=[], item_type=SimulationRun, doc="Finished runs of the project, newest first.")
    selected = param.String(default=None, allow_None=True, doc="Run id of the run shown.")
    result = param.ClassSelector(class_=SimulationRun, default=None, allow_None=True, doc="The run shown.")
    rows = param.List(default=[], item_type=ResultRow, doc="The shown run's results beside their healthy ranges.")
    flags = param.List(default=[], item_type=PlausibilityFlag,
                       doc="The shown run's figures that the plausibility checks doubt, each with what to do.")
    accuracy = param.String(default="", doc="What the validation against an independent solver says about the "
                                            "shown run's pressure drop (empty when no run is shown).")
    scene = param.ClassSelector(class_=SceneSpec, default=None, allow_None=True, doc="The 3D view's content.")

    def __init__(self, **params: Any) -> None:
        self._live_job: str | None = None  # the job whose convergence is collected (before events can arrive)
        super().__init__(**params)
        self._runs_key: tuple[Any, ...] | None = None
        self._estimate_key: tuple[Any, ...] | None = None
        self._domain: tuple[tuple[str, str], Any] | None = None  # ((project, geometry revision), FlowDomain)
        self._choice: tuple[tuple[str, str], ResolutionChoice] | None = None  # the automatic resolution of it
        self._load_error = ""
        self._live_expiration = False
        self._live_points: list[ConvergencePoint] = []
        self._live_flow = LiveFlow()  # the running job's live checkpoints, for the 3D view
        self._live_step: int | None = None
        profile = self.session.settings.jobs.profile_for(JobKind.SIMULATION)
        self.where = (describe_placement(profile) if self.session.runner is not None
                      else "Simulations run as jobs of the served app (rhinoapp serve); here you see the estimate.")
        self.automatic_resolution = self.resolution_mm is None

    # -- inputs --------------------------------------------------------------------------------
    @param.depends("resolution_mm", watch=True)
    def _resolution_given(self) -> None:
        self.automatic_resolution = self.resolution_mm is None

    @param.depends("automatic_resolution", watch=True)
    def _automatic_changed(self) -> None:
        """Automatic clears the spacing; off starts from the automatic one (or the page's) for the user to change."""
        if self.automatic_resolution:
            self.resolution_mm = None
        elif self.resolution_mm is None:
            self.resolution_mm = self.proposed_resolution_mm or PAGE_RESOLUTION_MM

    @param.depends("flow_ml_s", "direction", "resolution_mm", "max_steps", "flow_model", "variant", watch=True)
    def _inputs_changed(self) -> None:
        self._schedule(full=True)  # a new estimate

    def _inputs(self) -> SimulationInputs:
        resolution = None if self.resolution_mm is None else float(self.resolution_mm)
        return SimulationInputs(float(self.flow_ml_s), str(self.direction), resolution, int(self.max_steps),
                                str(self.flow_model))

    def request(self, inputs: SimulationInputs | None = None) -> SimulationRequest:
        """The request of the current inputs; ValidationError (saying how to fix it) when a rule is broken."""
        inputs = inputs or self._inputs()
        return SimulationRequest(flow_ml_s=inputs.flow_ml_s, direction=inputs.direction,
                                 resolution_mm=inputs.resolution_mm, max_steps=inputs.max_steps or None,
                                 flow_model=inputs.flow_model, variant=self.variant,
                                 live_interval_s=self.session.settings.live_view_interval_s)

    def parameters(self) -> dict[str, Any]:
        """The job parameters for the current inputs (JSON-ready; the backend is chosen where it runs)."""
        return self.request().to_parameters()

    def _profile(self) -> Profile:
        return self.session.settings.jobs.profile_for(JobKind.SIMULATION)

    def _estimate(self, project_id: str, geometry: str, inputs: SimulationInputs) -> EstimateView:
        """The automatic resolution and the estimate of ``inputs``; runs in a worker thread."""
        try:
            domain = self._flow_domain(project_id, geometry)
            request = self.request(inputs)
            key = (project_id, f"{geometry}/{self.variant}")
            if self._choice is None or self._choice[0] != key:
                self._choice = (key, proposed_resolution(self._profile(), domain, request))
        except RhinoappError as error:
            return EstimateView(None, f"No estimate for these inputs: {error}.")
        return estimate_inputs(self._profile(), domain, request, data_dir=self.session.settings.data_dir,
                               choice=self._choice[1])

    def _flow_domain(self, project_id: str, geometry: str) -> Any:
        key = (project_id, geometry)
        if self._domain is None or self._domain[0] != key:
            self._domain = (key, load_domain(self.session.repository.layout(project_id).geometry(self.variant)))
        return self._domain[1]

    # -- reading (worker thread) ---------------------------------------------------------------
    def _gather(self, project_id: str | None, inputs: SimulationInputs) -> _Snapshot:
        snapshot = _Snapshot(project_id)
        if project_id is None:
            return snapshot
        runner, repo = self.session.runner, self.session.repository
        try:
            snapshot.record = next(iter(self._latest_jobs(project_id)), None)
            snapshot.variants = geometry_variants(repo, project_id)
            artifacts = repo.artifacts(project_id)
            labels_name = str(ProjectLayout().geometry(self.variant).labels)
            labels = next((a for a in artifacts if a.name == labels_name), None)
            snapshot.geometry = labels.sha256[:16] if labels is not None else None
            results = sorted((a.name, a.sha256) for a in artifacts
                             if a.step is Step.SIMULATION and ProjectLayout.results_run_of(a.name))
            geometry_files = sorted((a.name, a.sha256) for a in artifacts if a.step is Step.GEOMETRY)
            runs_key = (project_id, tuple(geometry_files), tuple(results))  # any airway change may outdate a run
            if runs_key != self._runs_key:
                snapshot.runs = read_runs(repo, runner.records if runner is not None else None, project_id, artifacts)
                snapshot.runs_key = runs_key
            estimate_key = (project_id, snapshot.geometry, inputs)
            if estimate_key != self._estimate_key:
                snapshot.estimate_key = estimate_key
                snapshot.estimate = EstimateView(None) if snapshot.geometry is None else self._estimate(
                    project_id, snapshot.geometry, inputs)
        except RhinoappError as error:
            _log.warning("simulations of project %s could not be read: %s", project_id, type(error).__name__)
            snapshot.error = str(error)
        return snapshot

    # -- refresh -------------------------------------------------------------------------------
    async def _read_and_show(self) -> None:
        """Follow the latest job; read runs and estimate again when something they depend on changed."""
        self._apply(await asyncio.to_thread(self._gather, self.session.current_project_id, self._inputs()))

    def reload(self) -> None:
        """Read everything for the open project now, on this thread (for notebooks and scripts)."""
        self._apply(self._gather(self.session.current_project_id, self._inputs()))

    def _apply(self, snapshot: _Snapshot) -> None:
        if snapshot.project_id != self.session.current_project_id:
            return  # the project changed while reading; the next refresh reads the new one
        self._load_error = snapshot.error
        if snapshot.variants is not None:
            self._show_variants(snapshot.variants)
        if snapshot.estimate is not None:
            self._estimate_key = snapshot.estimate_key
            self._show_estimate(snapshot.estimate)
        self.has_geometry = snapshot.geometry is not None
        self._set_job(snapshot.record)
        if snapshot.runs is not None:
            self._runs_key = snapshot.runs_key
            self._show_runs(snapshot.runs, snapshot.record)
        self._update_history()
        self._update_message()

    def _show_variants(self, variants: list[str]) -> None:
        """Offer the complete variants; a variant that is gone (or none chosen yet) falls back to the first."""
        self.param.variant.objects = variants or ["default"]
        if self.variant not in self.param.variant.objects:
            self.variant = self.param.variant.objects[0]

    def _show_estimate(self, view: EstimateView) -> None:
        choice = view.choice
        self.param.update(estimate=view.estimate, estimate_text=view.text, estimate_problem=view.problem,
                          resolution_text=view.resolution_text,
                          proposed_resolution_mm=None if choice is None else choice.resolution_mm)
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
        self.param.update(result=run, rows=run.rows(self.references) if run else [], flags=run.flags if run else [],
                          accuracy=run.accuracy.text if run else "")
        self._show_scene()
        self._update_history()
        self._update_message()

    @param.depends("colouring", watch=True)
    def _new_quantity(self) -> None:
        self.param.update(colour_low=None, colour_high=None)  # another quantity, another unit: automatic again

    def _range(self, low: float | None, high: float | None, what: str) -> tuple[float, float] | None:
        if low is None and high is None:
            return None
        if low is None or high is None or not low < high:
            self.range_problem += (f"The {what} colour range needs both values, the first below the second: "
                                   "the automatic range (2nd to 98th percentile) is shown. ")
            return None
        return float(low), float(high)

    @param.depends("colouring", "streamlines", "colour_low", "colour_high", "velocity_low", "velocity_high", watch=True)
    def _show_scene(self) -> None:
        run = self.result
        files = None if run is None else SimulationFolder(run.folder)
        self.range_problem = ""
        live = self._live_flow.scene() if self.running and self._live_job is not None else None
        if live is not None:  # the running job's latest live checkpoint (its wall has the pressure only)
            self.scene = dataclasses.replace(
                live, streamlines=self.streamlines, colour_range=self._range(self.colour_low, self.colour_high, "wall"),
                velocity_range=self._range(self.velocity_low, self.velocity_high, "velocity") if self.streamlines else None)
            return
        self.scene = None if run is None or files is None else SceneSpec(
            surface=files.surface, flow=files.fields, streamlines=self.streamlines,
            colouring=Colouring(self.colouring), title=run.run_id, revision=run.revision,
            colour_range=self._range(self.colour_low, self.colour_high, "wall"),
            velocity_range=self._range(self.velocity_low, self.velocity_high, "velocity") if self.streamlines else None)

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
        self.param.variant.objects = ["default"]
        self.param.update(variant="default", runs=[], selected=None, result=None, rows=[], flags=[], accuracy="",
                          scene=None, job=None, running=False, history=[], has_geometry=False, estimate=None, estimate_text="",
                          estimate_problem="", resolution_text="", proposed_resolution_mm=None)
        self._update_can_run()
        self._update_message()

    def _update_can_run(self) -> None:
        self.can_run = (self.session.runner is not None and self.session.current_project_id is not None
                        and self.has_geometry and not self.running and not self.estimate_problem)

    async def _ready(self) -> bool:
        runner, project_id = self.session.runner, self.session.current_project_id
        if runner is None:
            self._say("Simulations run as jobs of the served app: start it with `rhinoapp serve`.", MessageKind.WARNING)
            return False
        if project_id is None:
            self._update_message()
            return False
        self._apply(await asyncio.to_thread(self._gather, project_id, self._inputs()))  # geometry, jobs, estimate now
        if self._already_running() or not self.has_geometry:
            return False  # without geometry, the message points to the Geometry page
        if self.estimate_problem:
            self._say(self.estimate_problem, MessageKind.ERROR)
            return False
        return True

    def _submitted(self) -> None:
        self._update_history()

    def close(self) -> None:
        """Stop listening to job events and following the convergence (when the page's session ends)."""
        self._follow(None)
        super().close()

    def _set_job(self, record: JobRecord | None) -> None:
        super()._set_job(record)
        if record is not None and record.state.is_active:
            if self._live_job != record.id:
                self._follow(record)
            self._collect(record.id)
        else:
            live = self._live_job is not None
            self._live_job = None
            self._live_flow.follow(None)
            if live:  # the job's live files go with it: show the selected run (the new one once the runs load)
                self._show_scene()

    def _progressed(self) -> None:
        super()._progressed()
        self._update_history()

    # -- convergence ---------------------------------------------------------------------------
    def _follow(self, record: JobRecord | None) -> None:
        """Collect the convergence of ``record`` from every progress message (``None``: stop)."""
        self._live_job = None if record is None else record.id
        self._live_expiration = record is not None and record.parameters.get("direction") == "expiration"
        self._live_points = []
        self._live_step = None
        project_dir = None if record is None else self.session.repository.project_dir(record.project_id)
        self._live_flow.follow(None if project_dir is None else ProjectLayout(project_dir).live(record.id))
        if record is not None:
            self._add_point(record.progress_report)  # what the store has, for a page opened mid-run

    def _observe(self, event: JobEvent) -> None:
        if event.job_id == self._live_job:
            self._collect(event.job_id)

    def _collect(self, job_id: str) -> None:
        """Keep the sample of the job's latest progress report (on job events, shown or not)."""
        runner = self.session.runner
        live = runner.live(job_id) if runner is not None and job_id == self._live_job else None
        if live is not None:
            self._add_point(live.report)

    def _add_point(self, report: ProgressReport) -> None:
        if report.live_step is not None:
            self._live_step = report.live_step
        point = convergence_point(report, expiration=self._live_expiration)
        if point is not None and (not self._live_points or point.step > self._live_points[-1].step):
            self._live_points.append(point)

    def _update_history(self) -> None:
        if self.running and self.job is not None and self.job.id == self._live_job:
            points = list(self._live_points)
            if self._live_flow.update(self._live_step):  # a new live checkpoint: the 3D view shows it
                self._show_scene()
        else:
            points = list(self.result.convergence) if self.result is not None else []
        if points != self.history:
            self.history = points

    # -- messages ------------------------------------------------------------------------------
    def _update_message(self) -> None:
        self._say(*simulations_message(project_open=self.session.current_project_id is not None,
                                       has_geometry=self.has_geometry, has_runs=bool(self.runs), job=self.job,
                                       result=self.result, flags=self.flags, load_error=self._load_error,
                                       served=self.session.runner is not None))
