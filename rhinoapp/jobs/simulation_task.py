"""The simulation job: a stored airway geometry to a steady airflow solution.

Reads ``ProjectLayout.geometry(variant)`` (what the segmentation job wrote) and publishes the files
of ``ProjectLayout.simulation(run_id)`` (fields, wall surface, results, convergence). The parameters
are those of :class:`~rhinoapp.cfd.request.SimulationRequest` (all optional; ``run_id`` defaults
to ``run-`` and the job id's start); the work is :func:`rhinoapp.usecases.simulation.run_simulation`,
as for ``rhinoapp simulate``. With ``live_interval_s`` the run writes live checkpoints (wall pressure and
velocity while it runs) into ``ProjectLayout.live(job_id)``, which goes with the job's staging folder.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

from rhinoapp.core.errors import NotFoundError
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.jobs.progress import TaskContext
from rhinoapp.jobs.requests import JobRequest

__all__ = ["airflow_simulation", "stored_domain"]


def airflow_simulation(request: JobRequest, out: Path, ctx: TaskContext) -> dict[str, Any]:
    """Run the lattice-Boltzmann simulation of the project's stored geometry."""
    from rhinoapp.cfd.request import SimulationRequest
    from rhinoapp.usecases.simulation import run_simulation

    simulation = SimulationRequest.from_parameters(request.options)  # every rule of the request, before any work
    if simulation.run_id is None:
        simulation = dataclasses.replace(simulation, run_id=f"run-{request.job_id[:8]}")
    domain = stored_domain(request, simulation.variant, ctx)
    run_folder = ProjectLayout(out).simulation(str(simulation.run_id))
    live_dir = ProjectLayout(Path(request.project_dir)).live(request.job_id)  # read by the page while the job runs
    result = run_simulation(domain, simulation, run_folder.path, progress=ctx.report, live_dir=live_dir)
    shutil.rmtree(run_folder.checkpoints, ignore_errors=True)  # working files of this attempt, not results
    r = result.results
    flags = r.get("plausibility")  # what the plausibility checks doubt, in words
    return {"run_id": simulation.run_id, "pressure_drop_pa": r["pressure_drop_pa"],
            "flow_partition_left_pct": r["flow_partition_left_pct"], "converged": r["converged"], "mlups": r["mlups"],
            "plausibility": [flag["message"] for flag in flags] if isinstance(flags, list) else []}


def stored_domain(request: JobRequest, variant: str, ctx: TaskContext) -> Any:
    """The flow domain of the project's stored geometry ``variant`` (a simulation's or a sweep's)."""
    from rhinoapp.usecases.simulation import load_domain

    geometry_dir = ProjectLayout(Path(request.project_dir)).geometry(variant)
    if not geometry_dir.labels.exists():
        raise NotFoundError("This project has no airway geometry yet: run the segmentation first (Geometry page).")
    ctx.stage(0.0, "reading the geometry")
    return load_domain(geometry_dir)
