"""Comparing a stored simulation run with the project's latest 4PR measurement, as the Analysis page,
the Python API and the report do.

:func:`simulation_run_ids` lists the runs that have results; :func:`latest_rhinomanometry` reads the
newest measurement's parameters; :func:`compare_run` puts a run beside it and
:func:`publish_comparison` stores the comparison as the Analysis step's output (unless the same
one is stored already, made from the same inputs).
"""

from __future__ import annotations

import hashlib
import logging

from rhinoapp.analysis import Comparison, compare_with_rhinomanometry
from rhinoapp.cfd.results import SimulationResults
from rhinoapp.core.errors import NotFoundError, RhinoappError
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.core.workflow import Step
from rhinoapp.rhinomanometry.parameters import RhinomanometryParameters
from rhinoapp.store.repository import ProjectRepository

__all__ = ["compare_run", "latest_rhinomanometry", "publish_comparison", "simulation_run_ids"]

_log = logging.getLogger(__name__)


def simulation_run_ids(repo: ProjectRepository, project_id: str) -> list[str]:
    """The ids of the project's simulation runs that have results, newest first.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store import open_store
    >>> repo = ProjectRepository(open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))), owner="local")
    >>> simulation_run_ids(repo, repo.create("Case 1").id)
    []
    """
    artifacts = repo.artifacts(project_id, Step.SIMULATION)
    found = sorted(((a.created, run) for a in artifacts if (run := ProjectLayout.results_run_of(a.name))), reverse=True)
    return [run for _, run in found]


def latest_rhinomanometry(repo: ProjectRepository,
                          project_id: str) -> tuple[str | None, RhinomanometryParameters | None]:
    """``(measurement id, parameters)`` of the project's newest 4PR measurement; ``(None, None)`` without one
    (or when its parameters cannot be read: the reason is logged).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store import open_store
    >>> repo = ProjectRepository(open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))), owner="local")
    >>> latest_rhinomanometry(repo, repo.create("Case 1").id)
    (None, None)
    """
    artifacts = [a for a in repo.artifacts(project_id, Step.RHINOMANOMETRY)
                 if ProjectLayout.parameters_measurement_of(a.name)]
    if not artifacts:
        return None, None
    latest = max(artifacts, key=lambda a: a.created)
    try:
        return (ProjectLayout.parameters_measurement_of(latest.name),
                RhinomanometryParameters.from_json(latest.path.read_bytes()))
    except (OSError, RhinoappError) as error:
        _log.warning("4PR parameters %s unreadable: %s", latest.name, type(error).__name__)
        return None, None


def compare_run(repo: ProjectRepository, project_id: str, run_id: str) -> tuple[SimulationResults, Comparison]:
    """The results of ``run_id`` and their comparison with the latest 4PR measurement (rows without
    measured values when the project has none).

    Raises
    ------
    NotFoundError
        When the run has no readable results; the message says to run the simulation again.
    """
    folder = repo.layout(project_id).simulation(run_id)
    try:
        results = SimulationResults.from_json(folder.results.read_bytes())
    except (OSError, RhinoappError) as error:
        _log.warning("results of run %s unreadable: %s", run_id, type(error).__name__)
        raise NotFoundError(f"The results of run {run_id} could not be read: run the simulation again.") from None
    measurement, parameters = latest_rhinomanometry(repo, project_id)
    rows = compare_with_rhinomanometry(results, parameters)
    return results, Comparison(run_id, measurement, tuple(rows))


def publish_comparison(repo: ProjectRepository, project_id: str, comparison: Comparison) -> bool:
    """Store ``comparison`` as the Analysis step's output, unless the same one (from the same inputs) is stored.

    Returns whether it was written.
    """
    name = str(ProjectLayout().comparison)
    content = comparison.to_json()
    inputs = repo.current_input_digests(project_id, Step.ANALYSIS)
    stored = next((a for a in repo.artifacts(project_id, Step.ANALYSIS) if a.name == name), None)
    if stored is not None and stored.sha256 == hashlib.sha256(content).hexdigest() and dict(stored.inputs) == inputs:
        return False
    repo.write_artifact(project_id, Step.ANALYSIS, name, content, inputs=inputs)
    return True
