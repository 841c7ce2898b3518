"""State of the Geometry page: segmentation options, the job that applies them, and its results.

The segmentation runs as a job (:data:`~rhinoapp.core.workflow.JobKind.SEGMENTATION`, see
:mod:`rhinoapp.jobs.geometry_task`) on the open project's CT. The job publishes
the files of ``ProjectLayout.geometry(variant)`` (labels, STL and VTP surface, report); this state
reads them back (:mod:`rhinoapp.store.geometry_results`: the label map for the slice overlay, the
metrics and area profiles, the files to download) whenever the project changes or a job ends.
:meth:`GeometryState.refresh` does all of this; job events and showing the page call it (see
:mod:`rhinoapp.state.job_page`). Problems never raise: they become ``message``.
No Panel here: the page (:mod:`rhinoapp.views.geometry`) only binds widgets to these parameters.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from pathlib import PurePosixPath
from typing import Any

import param

from rhinoapp.analysis.ranges import REFERENCE_RANGES, MetricRow, ReferenceRange
from rhinoapp.core.errors import RhinoappError
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.core.workflow import JobKind, JobState, Step
from rhinoapp.geometry.report import GeometryReport
from rhinoapp.geometry.request import GEOMETRY_RANGES, GeometryRequest
from rhinoapp.render.spec import Colouring, SceneSpec
from rhinoapp.segmentation.options import SinusMode
from rhinoapp.segmentation.request import SEGMENTATION_RANGES, SegmentationRequest
from rhinoapp.state.ct_import import CTImportState
from rhinoapp.state.job_page import JobPageState, MessageKind
from rhinoapp.state.session import Page
from rhinoapp.state.slice_viewer import SliceViewerState
from rhinoapp.store.geometry_results import GeometryFiles, GeometryResult, read_result
from rhinoapp.store.jobs import JobRecord

__all__ = ["REFERENCE_RANGES", "GeometryFiles", "GeometryResult", "GeometryState", "MetricRow", "Placement",
           "ReferenceRange", "read_result"]

_log = logging.getLogger(__name__)
_GEO = GeometryRequest()  # the defaults of the options
_SEG = _GEO.segmentation


class Placement(str, enum.Enum):
    """What a click on the Geometry page's slices does."""

    CROSSHAIR = "crosshair"
    LEFT_SEED = "left nostril seed"
    RIGHT_SEED = "right nostril seed"
    OUTLET = "outlet plane"


class GeometryState(JobPageState):
    """The open project's airway: options, the segmentation job, the results, without any widget.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store import open_store, ProjectRepository
    >>> from rhinoapp.state.session import SessionState
    >>> repo = ProjectRepository(open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))), owner="local")
    >>> state = GeometryState(session=SessionState(repository=repo))
    >>> state.session.open_project(repo.create("Case 7").id)
    >>> asyncio.run(state.refresh())
    >>> state.message_kind.value, state.message.split(":")[0]
    ('warning', 'This project has no CT yet')
    >>> state.threshold_hu = -500; state.parameters()["threshold_hu"]
    -500.0
    """

    page = Page.GEOMETRY
    follows = frozenset({JobKind.SEGMENTATION})
    job_kind = JobKind.SEGMENTATION
    noun = "segmentation"
    submitted_text = "Segmentation submitted: follow its progress below."

    ct = param.ClassSelector(class_=CTImportState, constant=True, doc="The project's CT (shared with the CT page).")
    variant = param.String(default="default", doc="Folder of the results under geometry/.")
    # -- segmentation options (job parameters) ----------------------------------------------
    threshold_hu = param.Number(default=_SEG.threshold_hu, bounds=SEGMENTATION_RANGES["threshold_hu"].bounds, step=10.0,
                                label="Air threshold (HU)",
                                doc="Voxels darker than this are air. -550 HU is the usual choice; a higher "
                                    "threshold gives a wider airway.")
    partial_volume = param.Boolean(default=_SEG.partial_volume, label="Include partial-volume voxels at the wall",
                                   doc="Adds the boundary voxels that are half air, half tissue (recommended).")
    sinuses = param.Selector(objects=[m.value for m in SinusMode], default=_SEG.sinuses.value,
                             label="Paranasal sinuses",
                             doc="Leave the sinuses out of the airway, or keep them as their own label (4).")
    manual_seeds = param.Boolean(default=False, label="Set the nostril seeds by hand",
                                 doc="Grow the airway from these two points instead of the nostrils found "
                                     "automatically.")
    seed_left = param.NumericTuple(default=(0.0, 0.0, 0.0), length=3, label="Left nostril seed (x, y, z mm)",
                                   doc="A point inside the patient's left nostril, LPS millimetres.")
    seed_right = param.NumericTuple(default=(0.0, 0.0, 0.0), length=3, label="Right nostril seed (x, y, z mm)",
                                    doc="A point inside the patient's right nostril, LPS millimetres.")
    manual_outlet = param.Boolean(default=False, label="Set the outlet plane by hand",
                                  doc="Cut the airway at an axial plane of your choice instead of the automatic one.")
    outlet_z_mm = param.Number(default=0.0, step=0.5, label="Outlet plane height z (mm)",
                               doc="Height (LPS z, superior positive) of the axial outlet plane in the nasopharynx.")
    outlet_depth_mm = param.Number(default=_SEG.outlet_depth_mm, bounds=SEGMENTATION_RANGES["outlet_depth_mm"].bounds,
                                   step=1.0, label="Automatic outlet: depth below the nasal floor (mm)",
                                   doc="Where the automatic outlet plane cuts the nasopharynx.")
    target_triangles = param.Integer(default=_GEO.target_triangles,
                                     bounds=tuple(int(v) for v in GEOMETRY_RANGES["target_triangles"].bounds),
                                     doc="Size of the surface after decimation (triangles).")
    # -- slices ------------------------------------------------------------------------------
    viewer = param.ClassSelector(class_=SliceViewerState, constant=True,
                                 doc="The slice views of the CT with the airway labels.")
    placing = param.Selector(objects=[p.value for p in Placement], default=Placement.CROSSHAIR.value,
                             label="A click on the slices places",
                             doc="What the next click on a slice places (then it moves the crosshair again).")
    # -- job and results ---------------------------------------------------------------------
    has_ct = param.Boolean(default=False, doc="The open project has a CT.")
    result = param.ClassSelector(class_=GeometryResult, default=None, allow_None=True, doc="The published airway.")
    outdated = param.Boolean(default=False, doc="The CT changed after the shown airway was segmented.")
    scene = param.ClassSelector(class_=SceneSpec, default=None, allow_None=True, doc="The 3D view's content.")

    def __init__(self, **params: Any) -> None:
        if params.get("ct") is None and params.get("session") is not None:
            params["ct"] = CTImportState(session=params["session"])
        params.setdefault("viewer", SliceViewerState())
        super().__init__(**params)
        self.viewer.on_click(self._clicked)
        self._loaded: tuple[Any, ...] | None = None  # (project, last finished job, its state) read for
        self._load_error = ""
        self._show_ct()

    # -- options -------------------------------------------------------------------------------
    def request(self) -> GeometryRequest:
        """The request of the current options; ValidationError (saying how to fix it) when a rule is broken."""
        seeds: dict[str, Any] = {}
        if self.manual_seeds:
            seeds = {"seed_left": tuple(self.seed_left), "seed_right": tuple(self.seed_right)}
        segmentation = SegmentationRequest(threshold_hu=self.threshold_hu, partial_volume=self.partial_volume,
                                           sinuses=self.sinuses, outlet_depth_mm=self.outlet_depth_mm,
                                           outlet_z_mm=float(self.outlet_z_mm) if self.manual_outlet else None, **seeds)
        return GeometryRequest(segmentation=segmentation, target_triangles=self.target_triangles, variant=self.variant)

    def parameters(self) -> dict[str, Any]:
        """The job parameters for the current options (JSON-ready; see :meth:`request`)."""
        return self.request().to_parameters()

    def _adopt_automatic(self, report: GeometryReport) -> None:
        """Show the seeds and outlet a run found, as the starting point for a manual correction."""
        updates: dict[str, Any] = {}
        seeds = report.seeds_lps_mm
        if not self.manual_seeds and len(seeds) == 2:
            updates.update(seed_left=seeds[0], seed_right=seeds[1])
        point = report.outlet_point_lps_mm
        if not self.manual_outlet and point:
            updates["outlet_z_mm"] = float(point[2])
        self.param.update(**updates)

    # -- slices --------------------------------------------------------------------------------
    @param.depends("ct.volume", watch=True)
    def _show_ct(self) -> None:
        volume = self.ct.volume if self.ct is not None else None
        self.viewer.volume = volume
        self.has_ct = volume is not None
        self._show_labels()
        self._show_marks()
        self._loaded = None  # a new CT may make the airway outdated: read the status again
        self._update_can_run()
        self._schedule(full=True)

    @param.depends("result", watch=True)
    def _show_labels(self) -> None:
        """The result's labels over the CT, when they lie on the CT's grid."""
        volume, result = self.viewer.volume, self.result
        fits = volume is not None and result is not None and result.labels.geometry.shape == volume.geometry.shape
        self.viewer.labels = result.labels.labels if fits else None

    @param.depends("placing", watch=True)
    def _choose_tool(self) -> None:
        self.viewer.tool = "" if self.placing == Placement.CROSSHAIR.value else self.placing

    def _clicked(self, _plane: str, lps: tuple[float, float, float], _ijk: tuple[int, int, int]) -> None:
        """A click on a slice places what ``placing`` names, in LPS millimetres of the voxel clicked."""
        placing = Placement(self.placing)
        if placing is Placement.LEFT_SEED:
            self.param.update(seed_left=lps, manual_seeds=True)
        elif placing is Placement.RIGHT_SEED:
            self.param.update(seed_right=lps, manual_seeds=True)
        elif placing is Placement.OUTLET:
            self.param.update(outlet_z_mm=lps[2], manual_outlet=True)
        else:
            return
        self.placing = Placement.CROSSHAIR.value

    @param.depends("seed_left", "seed_right", "manual_seeds", "outlet_z_mm", "manual_outlet", watch=True)
    def _show_marks(self) -> None:
        """Seeds and the outlet plane as marks on the slices (those set by hand, or found by the last run)."""
        found = self.result is not None
        seeds = {"left seed": tuple(self.seed_left), "right seed": tuple(self.seed_right)}
        self.viewer.param.update(markers=seeds if self.manual_seeds or found else {},
                                 levels={"outlet": self.outlet_z_mm} if self.manual_outlet or found else {})

    # -- job -----------------------------------------------------------------------------------
    @param.depends("session.current_project_id", watch=True)
    def _project_changed(self) -> None:
        self._loaded = None
        self._load_error = ""
        self.param.update(result=None, scene=None, job=None, running=False, outdated=False)
        self._update_can_run()
        self._update_message()

    def _update_can_run(self) -> None:
        self.can_run = (self.session.runner is not None and self.session.current_project_id is not None
                        and self.has_ct and not self.running)

    def _jobs(self, project_id: str | None) -> tuple[JobRecord | None, tuple[Any, ...]]:
        """The latest segmentation job and the key of what the results depend on.

        The key names the project and its latest finished segmentation job, so the files are read
        again when the project changes or a job ends, not while one runs.
        """
        records = self._latest_jobs(project_id)
        finished = next((r for r in records if not r.state.is_active), None)
        return (records[0] if records else None), (project_id, finished.id if finished else None,
                                                   finished.state if finished else None)

    async def _ready(self) -> bool:
        if not await super()._ready():
            return False
        if not self.has_ct:
            self._update_message()
        return self.has_ct

    # -- results -------------------------------------------------------------------------------
    async def _read_and_show(self) -> None:
        """Follow the latest job; read the results again when the project changed or a job ended."""
        project_id = self.session.current_project_id
        record, key = self._jobs(project_id)
        if key != self._loaded:
            found = await asyncio.to_thread(self._read, project_id)
            if project_id != self.session.current_project_id:
                return  # the project changed while reading; the next refresh reads the new one
            self._apply(key, *found)
        self._set_job(record)
        self._update_message()

    def reload(self) -> None:
        """Read the results of the open project now, on this thread (for notebooks and scripts)."""
        project_id = self.session.current_project_id
        record, key = self._jobs(project_id)
        self._apply(key, *self._read(project_id))
        self._set_job(record)
        self._update_message()

    def _read(self, project_id: str | None) -> tuple[GeometryResult | None, bool, str]:
        """(result, outdated, error text) of ``project_id``; runs in a worker thread."""
        if project_id is None:
            return None, False, ""
        repo = self.session.repository
        names = ProjectLayout().geometry(self.variant)
        try:
            artifacts = {a.name: a for a in repo.artifacts(project_id, Step.GEOMETRY)
                         if PurePosixPath(a.name).parent == names.path}
            if not artifacts:
                return None, False, ""
            vtp = artifacts.get(str(names.vtp))
            revision = vtp.sha256[:16] if vtp is not None else ""
            result = read_result(repo.layout(project_id).geometry(self.variant).path, self.variant, revision)
            outdated = repo.statuses([project_id])[project_id][Step.GEOMETRY].outdated
            return result, outdated, ""
        except RhinoappError as error:
            _log.warning("geometry of project %s could not be read: %s", project_id, type(error).__name__)
            return None, False, str(error)

    def _apply(self, key: tuple[Any, ...], result: GeometryResult | None, outdated: bool, error: str) -> None:
        self._loaded, self._load_error = key, error
        scene = None
        if result is not None:
            scene = SceneSpec(surface=result.files.vtp, colouring=Colouring.FACES, title="Airway",
                              revision=result.revision)
            self._adopt_automatic(result.report)
        self.param.update(result=result, outdated=outdated, scene=scene)
        self._show_marks()

    # -- messages ------------------------------------------------------------------------------
    def _update_message(self) -> None:
        job, result = self.job, self.result
        earlier = " The results shown are from an earlier run." if result is not None else ""
        if self.session.current_project_id is None:
            self._say(f"No project is open: open one on the {Page.PROJECTS.value} page to see its airway.",
                      MessageKind.WARNING)
        elif not self.has_ct and result is None:  # a label map imported alone shows without a CT
            self._say(f"This project has no CT yet: import one on the {Page.CT.value} page, then segment it here "
                      "(or import a segmentation made elsewhere).", MessageKind.WARNING)
        elif job is not None and job.state.is_active:
            self._say(f"Segmenting the airway: {job.message or job.state.value}.", MessageKind.INFO)
        elif job is not None and job.state is JobState.ERROR:
            self._say(f"The segmentation failed: {job.message}{earlier}", MessageKind.ERROR)
        elif job is not None and job.state is JobState.CANCELLED and result is None:
            self._say("The segmentation was cancelled. Press Run to start it again.", MessageKind.INFO)
        elif self._load_error:
            self._say(self._load_error, MessageKind.ERROR)
        elif result is None:
            hint = ("check the options and press Run." if self.session.runner is not None
                    else "segmentation runs in the served app (rhinoapp serve).")
            self._say(f"No airway segmented yet: {hint}", MessageKind.INFO)
        elif self.outdated:
            self._say("The CT changed after this airway was segmented: press Run to segment it again.",
                      MessageKind.WARNING)
        else:
            left, right = result.side("left"), result.side("right")
            warned = f" {len(self.warnings)} warning(s): see below." if self.warnings else ""
            self._say(f"Airway segmented: left {left['volume_ml']:.1f} ml, mCSA {left['mcsa_cm2']:.2f} cm²; "
                      f"right {right['volume_ml']:.1f} ml, mCSA {right['mcsa_cm2']:.2f} cm².{warned}",
                      MessageKind.WARNING if warned else MessageKind.SUCCESS)

    @property
    def warnings(self) -> tuple[str, ...]:
        """The shown airway's warnings (what the segmentation left out or doubted); empty without one."""
        return self.result.report.warnings if self.result is not None else ()
