"""State of the Analysis page's simulation part: a simulation run beside the latest 4PR measurement.

Showing a comparison publishes it (``ProjectLayout.comparison``) as the Analysis step's output, made
from the current Simulation and 4PR outputs: the Analysis step is done until one of them changes.
"""

from __future__ import annotations

import logging

import param

from rhinoapp.analysis import ComparisonRow
from rhinoapp.cfd.results import SimulationResults
from rhinoapp.core.errors import NotFoundError, RhinoappError
from rhinoapp.render import Colouring, SceneSpec
from rhinoapp.state.session import SessionState
from rhinoapp.usecases.analysis import compare_run, publish_comparison, simulation_run_ids

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
        runs = simulation_run_ids(self.session.repository, project_id) if project_id is not None else []
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
            results, comparison = compare_run(repo, project_id, self.run)
        except NotFoundError as error:
            self.param.update(rows=[], results=None, scene=scene, message=str(error))
            return
        message = "" if comparison.measurement_id else "No 4PR measurement in this project: upload one above to compare."
        try:
            publish_comparison(repo, project_id, comparison)
        except (OSError, RhinoappError) as error:
            _log.warning("the comparison of project %s could not be stored: %s", project_id, type(error).__name__)
        self.param.update(results=results, rows=list(comparison.rows), scene=scene, message=message)
