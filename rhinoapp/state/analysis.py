"""State of the Analysis page's simulation part: a simulation run beside the latest 4PR measurement."""

from __future__ import annotations

import json
import logging
from typing import Any

import param

from rhinoapp.analysis import ComparisonRow, compare_with_rhinomanometry
from rhinoapp.core.workflow import Step
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
    results = param.Dict(default={}, doc="results.json of the chosen run.")
    scene = param.ClassSelector(class_=SceneSpec, default=None, allow_None=True, doc="3D scene of the run.")
    message = param.String(default="", doc="What is missing, for the user.")

    @param.depends("session.current_project_id", watch=True, on_init=True)
    def reload(self) -> None:
        """Re-read the project's runs (after a project change or a finished simulation)."""
        project_id = self.session.current_project_id
        runs: list[str] = []
        if project_id is not None:
            artifacts = self.session.repository.artifacts(project_id, Step.SIMULATION)
            found = sorted(((a.created, a.name.split("/")[1]) for a in artifacts if a.name.endswith("/results.json")),
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
            self.param.update(rows=[], results={}, scene=None, message="Open a project to compare its simulation with its 4PR measurement.")
            return
        if self.run is None:
            self.param.update(rows=[], results={}, scene=None, message="No simulation yet: run one on the Simulations page.")
            return
        folder = self.session.repository.project_dir(project_id) / "simulations" / self.run
        results = _read_json(folder / "results.json")
        parameters = self._latest_rhinomanometry(project_id)
        rows = compare_with_rhinomanometry(results, parameters or {})
        message = "" if parameters else "No 4PR measurement in this project: upload one above to compare."
        scene = SceneSpec(surface=str(folder / "surface.vtp"), flow=str(folder / "fields.vti"),
                          colouring=Colouring(self.colouring), streamlines=False)
        self.param.update(results=results, rows=rows, scene=scene, message=message)

    def _latest_rhinomanometry(self, project_id: str) -> dict[str, Any] | None:
        artifacts = [a for a in self.session.repository.artifacts(project_id, Step.RHINOMANOMETRY)
                     if a.name.endswith("/parameters.json")]
        if not artifacts:
            return None
        latest = max(artifacts, key=lambda a: a.created)
        return _read_json(self.session.repository.project_dir(project_id) / latest.name)


def _read_json(path: Any) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        _log.warning("could not read %s", path.name)
        return {}
