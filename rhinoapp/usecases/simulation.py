"""Simulating the airflow through a geometry folder, as ``rhinoapp simulate``, the page and the job do.

:func:`load_domain` reads a geometry folder (what :func:`~rhinoapp.usecases.geometry.write_geometry`
wrote) into the flow domain; :func:`estimate_simulation` gives the run's expected cost for a
:class:`~rhinoapp.cfd.request.SimulationRequest`; :func:`run_simulation` runs it and writes
the files of a :class:`~rhinoapp.core.layout.SimulationFolder` (fields, wall surface, results,
convergence) into a folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rhinoapp.cfd.estimate import ResourceEstimate, estimate_run
from rhinoapp.cfd.inputs import airway_domain, read_geometry_dir
from rhinoapp.cfd.request import SimulationRequest
from rhinoapp.cfd.simulation import SimulationResult, simulate
from rhinoapp.core.layout import GeometryFolder
from rhinoapp.core.progress import ProgressCallback

__all__ = ["estimate_simulation", "load_domain", "run_simulation"]


def load_domain(geometry_dir: GeometryFolder | Path) -> Any:
    """The flow domain of a geometry folder (its label map and opening planes), with ambient air in front of the
    nostrils and a flow extension at the outlet (:func:`~rhinoapp.cfd.inputs.airway_domain`)."""
    path = geometry_dir.path if isinstance(geometry_dir, GeometryFolder) else Path(geometry_dir)
    labels, planes = read_geometry_dir(path)
    return airway_domain(labels, planes=planes)


def estimate_simulation(domain: Any, request: SimulationRequest, *, backend: str | None = None) -> ResourceEstimate:
    """Cells, steps, memory and run time of ``request`` on ``domain`` (``backend`` overrides the request's)."""
    return estimate_run(domain, request.physics(), request.run(backend=backend), resolution_mm=request.resolution_mm)


def run_simulation(domain: Any, request: SimulationRequest, out_dir: Path, *,
                   progress: ProgressCallback | None = None) -> SimulationResult:
    """Run ``request`` on ``domain`` and write its outputs (and checkpoints, if asked) into ``out_dir``."""
    return simulate(domain, request.physics(), request.run(), resolution_mm=request.resolution_mm,
                    out_dir=Path(out_dir), progress=progress)
