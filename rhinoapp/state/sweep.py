"""State of the Analysis page's flow-sweep part: a sweep's Rohrer fits beside the 4PR measurement.

Reads the project's published sweeps (``simulations/<sweep>/sweep.json``, see
:mod:`rhinoapp.analysis.sweep`) and compares the chosen one with the measurement the 4PR part shows
(:class:`~rhinoapp.state.rhinomanometry.RhinomanometryState`): R at 75 and 150 Pa per side, from the
sweep's fitted curve and from the measured breaths (matched pressure), with the doubts of the checks about the
runs behind the fits (:func:`~rhinoapp.analysis.sweep.sweep_doubts`).
"""

from __future__ import annotations

import logging

import param

from rhinoapp.analysis.sweep import (REFERENCE_PRESSURES_PA, MatchedRow, SweepDoubt, SweepResults,
                                     matched_pressure_rows, sweep_doubts)
from rhinoapp.core.errors import RhinoappError
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.core.workflow import Step
from rhinoapp.rhinomanometry.results import AnalysisResult
from rhinoapp.state.rhinomanometry import RhinomanometryState

__all__ = ["SweepState", "measured_resistances"]

_log = logging.getLogger(__name__)
NO_SWEEP = "No flow sweep yet: run one (rhinoapp sweep, or a sweep job) to compare CFD with 4PR at 75 and 150 Pa."


def measured_resistances(result: AnalysisResult | None) -> dict[tuple[str, float], float | None]:
    """R75 and R150 per side of a 4PR analysis (mean over the breaths; None where not reached).

    Examples
    --------
    >>> from rhinoapp.rhinomanometry import analyse, generate
    >>> found = measured_resistances(analyse(generate(duration_s=10, seed=1).measurement))
    >>> sorted(found)[:2], 0.1 < found[("left", 150.0)] < 1.0
    ([('left', 75.0), ('left', 150.0)], True)
    """
    if result is None:
        return {}
    found: dict[tuple[str, float], float | None] = {}
    for side in result.sides:
        for pressure in REFERENCE_PRESSURES_PA:
            found[(side.side.value, pressure)] = side.mean("r75" if pressure == 75.0 else "r150").value
    return found


class SweepState(param.Parameterized):
    """The current project's flow sweeps, the chosen one beside the 4PR measurement at matched pressure.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.state.session import SessionState
    >>> from rhinoapp.store import open_store, ProjectRepository
    >>> repo = ProjectRepository(open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))), owner="local")
    >>> session = SessionState(repository=repo)
    >>> session.open_project(repo.create("Case 1").id)
    >>> state = SweepState(rhinomanometry=RhinomanometryState(session=session))
    >>> state.sweeps, state.message == NO_SWEEP
    ([], True)
    """

    rhinomanometry = param.ClassSelector(class_=RhinomanometryState, constant=True,
                                         doc="The 4PR part: its measurement is the one compared.")
    sweep = param.Selector(default=None, objects=[], allow_None=True, label="Flow sweep",  # type: ignore[var-annotated]
                           doc="The sweep shown.")
    sweeps = param.List(default=[], doc="Sweep ids of the project, newest first.")
    results = param.ClassSelector(class_=SweepResults, default=None, allow_None=True, doc="The chosen sweep.")
    rows = param.List(default=[], item_type=MatchedRow, doc="R75 and R150 per side, CFD beside 4PR.")
    doubts = param.List(default=[], item_type=SweepDoubt, doc="The runs' plausibility flags, by kind.")
    message = param.String(default="", doc="What is missing, for the user.")

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self.rhinomanometry.session.param.watch(lambda _e: self.reload(), "current_project_id")
        self.rhinomanometry.param.watch(lambda _e: self._update(), "result")
        self.reload()

    def reload(self) -> None:
        """Re-read the project's sweeps (after a project change or a finished sweep)."""
        session = self.rhinomanometry.session
        project_id = session.current_project_id
        sweeps: list[str] = []
        if project_id is not None:
            try:
                artifacts = session.repository.artifacts(project_id, Step.SIMULATION)
            except RhinoappError as error:
                _log.warning("sweeps of project %s unreadable: %s", project_id, type(error).__name__)
                artifacts = []
            found = sorted(((a.created, s) for a in artifacts if (s := ProjectLayout.sweep_of(a.name))), reverse=True)
            sweeps = [s for _, s in found]
        new = [s for s in sweeps if s not in self.sweeps]
        self.param.sweep.objects = list(sweeps)
        self.sweeps = sweeps
        chosen = sweeps[0] if sweeps and (new or self.sweep not in sweeps) else self.sweep  # a new sweep shows first
        if chosen != self.sweep:
            self.sweep = chosen  # updates through the watcher
        else:
            self._update()

    @param.depends("sweep", watch=True)
    def _update(self) -> None:
        session = self.rhinomanometry.session
        project_id = session.current_project_id
        if project_id is None or self.sweep is None:
            self.param.update(results=None, rows=[], doubts=[], message=NO_SWEEP if project_id is not None else "")
            return
        path = session.repository.layout(project_id).simulation(self.sweep).sweep
        try:
            results = SweepResults.from_json(path.read_bytes())
        except (OSError, RhinoappError) as error:
            _log.warning("sweep %s unreadable: %s", self.sweep, type(error).__name__)
            self.param.update(results=None, rows=[], doubts=[],
                              message=f"The sweep {self.sweep} could not be read: run it again.")
            return
        measured = measured_resistances(self.rhinomanometry.result)
        message = "" if measured else "No 4PR measurement in this project: upload one above to compare."
        self.param.update(results=results, rows=matched_pressure_rows(results, measured),
                          doubts=sweep_doubts(results), message=message)
