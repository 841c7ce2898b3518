"""State of the Analysis page's simulation part: a simulation run beside the latest 4PR measurement.

Showing a comparison publishes it (``ProjectLayout.comparison``) as the Analysis step's output, made
from the current Simulation and 4PR outputs: the Analysis step is done until one of them changes.
"""

from __future__ import annotations

import hashlib
import logging

import param

from rhinoapp.analysis import Comparison, ComparisonRow, compare_with_rhinomanometry
from rhinoapp.cfd.results import SimulationResults
from rhinoapp.core.errors import RhinoappError
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.core.workflow import Step
from rhinoapp.rhinomanometry.parameters import RhinomanometryParameters
from rhinoapp.render import Colouring, SceneSpec
from rhinoapp.state.session import SessionState

__all__ = ["AnalysisState"]

_log = logging.getLogger(__name__)
_COLOURINGS = {"Wall shear stress (Pa)": Colouring.WALL_SHEAR_STRESS.value, "Pressure (Pa)": Colouring.PRESSURE.value}


class AnalysisState(param.Parameterized):
    """The current project's simulation runs, the chosen one compared with the latest 4PR measurement.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store import open_store, ProjectRepository
    >>> repo = ProjectRepository(open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))), owner="local")
    >>> session = SessionState(repository=repo)
    >>> session.open_project(repo.create("Case 1").id)
    >>> state = AnalysisState(session=session)
    >>> state.runs, state.message
    ([], 'No simulation yet: run one on the Simulations page.')
    """

    session = param.ClassSelector(class_=SessionState, constant=True)
    run = param.Selector(default=None, objects=[], allow_None=True, label="Simulation run", doc="The run shown.")
    colouring = param.Selector(objects=_COLOURINGS, default=Colouring.WALL_SHEAR_STRESS.value, label="Colour by")
    runs = param.List(default=[], doc="Run ids of the project that have results, newest first.")
    rows = param.List(default=[], item_type=ComparisonRow, doc="Simulation beside 4PR.")
    results = param.ClassSelector(class_=SimulationResults, default=None, allow_None=True,
                                  doc="The results of the chosen run.")
    scene = param.ClassSelector(class_=SceneSpec, default=None, allow_None=True, doc="3D scene of the run.")
    message = param.String(default="", doc="What is missing, for the user.")

    @param.depends("session.current_project_id", watch=True, on_init=True)
    def reload(self) -> None:
        """Re-read the project's runs (after a project change or a finished simulation)."""
        project_id = self.session.current_project_id
        runs: list[str] = []
        if project_id is not None:
            artifacts = self.session.repository.artifacts(project_id, Step.SIMULATION)
            found = sorted(((a.created, run) for a in artifacts if (run := ProjectLayout.results_run_of(a.name))),
                           reverse=True)
            runs = [run for _, run in found]
        self.param.run.objects = list(runs)
        self.runs = runs
        if self.run not in runs or self.run is None:
            self.run = runs[0] if runs else None
        self._update()

    @param.depends("run", "colouring", watch=True)
    def _update(self) -> None:
        project_id = self.session.current_project_id
        if project_id is None:
            self.param.update(rows=[], results=None, scene=None, message="Open a project to compare its simulation with its 4PR measurement.")
            return
        if self.run is None:
            self.param.update(rows=[], results=None, scene=None, message="No simulation yet: run one on the Simulations page.")
            return
        repo = self.session.repository
        folder = repo.layout(project_id).simulation(self.run)
        scene = SceneSpec(surface=str(folder.surface), flow=str(folder.fields),
                          colouring=Colouring(self.colouring), streamlines=False)
        try:
            results = SimulationResults.from_json(folder.results.read_bytes())
        except (OSError, RhinoappError) as error:
            _log.warning("results of run %s unreadable: %s", self.run, type(error).__name__)
            self.param.update(rows=[], results=None, scene=scene,
                              message=f"The results of run {self.run} could not be read: run the simulation again.")
            return
        measurement, parameters = self._latest_rhinomanometry(project_id)
        rows = compare_with_rhinomanometry(results, parameters)
        message = "" if parameters else "No 4PR measurement in this project: upload one above to compare."
        self._publish(project_id, Comparison(self.run, measurement, tuple(rows)))
        self.param.update(results=results, rows=rows, scene=scene, message=message)

    def _latest_rhinomanometry(self, project_id: str) -> tuple[str | None, RhinomanometryParameters | None]:
        artifacts = [a for a in self.session.repository.artifacts(project_id, Step.RHINOMANOMETRY)
                     if ProjectLayout.parameters_measurement_of(a.name)]
        if not artifacts:
            return None, None
        latest = max(artifacts, key=lambda a: a.created)
        try:
            return ProjectLayout.parameters_measurement_of(latest.name), RhinomanometryParameters.from_json(latest.path.read_bytes())
        except (OSError, RhinoappError) as error:
            _log.warning("4PR parameters %s unreadable: %s", latest.name, type(error).__name__)
            return None, None

    def _publish(self, project_id: str, comparison: Comparison) -> None:
        """Publish the comparison as the Analysis step's output, unless the same one is stored."""
        repo = self.session.repository
        name = str(ProjectLayout().comparison)
        content = comparison.to_json()
        inputs = repo.current_input_digests(project_id, Step.ANALYSIS)
        stored = next((a for a in repo.artifacts(project_id, Step.ANALYSIS) if a.name == name), None)
        if stored is not None and stored.sha256 == hashlib.sha256(content).hexdigest() and dict(stored.inputs) == inputs:
            return
        try:
            repo.write_artifact(project_id, Step.ANALYSIS, name, content, inputs=inputs)
        except (OSError, RhinoappError) as error:
            _log.warning("the comparison of project %s could not be stored: %s", project_id, type(error).__name__)
