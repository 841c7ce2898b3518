"""The simulation job: a stored airway geometry to a steady airflow solution.

Reads ``ProjectLayout.geometry(variant)`` (what the segmentation job wrote) and publishes the files
of ``ProjectLayout.simulation(run_id)`` (fields, wall surface, results, convergence). Options (all
optional): ``variant`` (default ``default``), ``run_id``, ``flow_ml_s`` (250), ``direction``
(``inspiration`` | ``expiration``), ``resolution_mm`` (the segmentation grid when absent),
``pressure_drop_pa`` (prescribed pressure drop instead of flow), ``backend`` (``auto``),
``max_steps``, ``checkpoint_every``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from rhinoapp.core.errors import NotFoundError, ValidationError
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.jobs.progress import TaskContext
from rhinoapp.jobs.requests import JobRequest

__all__ = ["airflow_simulation", "simulation_configs"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")


def simulation_configs(options: dict[str, Any]) -> tuple[Any, Any]:
    """``(PhysicsConfig, RunConfig)`` from a job's JSON parameters; bad values raise ValidationError.

    Examples
    --------
    >>> physics, run = simulation_configs({"flow_ml_s": 300, "direction": "expiration", "backend": "numpy"})
    >>> physics.flow_ml_s, physics.direction.value, run.backend.value
    (300.0, 'expiration', 'numpy')
    """
    from rhinoapp.cfd.config import Driving, PhysicsConfig, RunConfig

    pressure = options.get("pressure_drop_pa")
    physics = PhysicsConfig(flow_ml_s=float(options.get("flow_ml_s", 250.0)),
                            direction=str(options.get("direction", "inspiration")),
                            driving=Driving.CONSTANT_FLOW if pressure is None else Driving.PRESSURE_DROP,
                            pressure_drop_pa=None if pressure is None else float(pressure))
    max_steps = options.get("max_steps")
    run = RunConfig(backend=str(options.get("backend", "auto")), max_steps=None if max_steps is None else int(max_steps),
                    checkpoint_every=int(options.get("checkpoint_every", 0)))
    return physics, run


def airflow_simulation(request: JobRequest, out: Path, ctx: TaskContext) -> dict[str, Any]:
    """Run the lattice-Boltzmann simulation of the project's stored geometry."""
    from rhinoapp.cfd.inputs import domain_from_labels, read_geometry_dir
    from rhinoapp.cfd.simulation import simulate

    options = request.options
    variant = str(options.get("variant", "default"))
    run_id = str(options.get("run_id", f"run-{request.job_id[:8]}"))
    for what, value in (("variant", variant), ("run_id", run_id)):
        if not _NAME.match(value):
            raise ValidationError(f"{what} {value!r}: use letters, digits, '-' or '_' (at most 40).")
    geometry_dir = ProjectLayout(Path(request.project_dir)).geometry(variant)
    if not geometry_dir.labels.exists():
        raise NotFoundError("This project has no airway geometry yet: run the segmentation first (Geometry page).")
    physics, run = simulation_configs(options)
    ctx.stage(0.0, "reading the geometry")
    labels, planes = read_geometry_dir(geometry_dir.path)
    domain = domain_from_labels(labels, planes=planes)
    folder = ProjectLayout(out).simulation(run_id).path
    resolution = options.get("resolution_mm")
    result = simulate(domain, physics, run, resolution_mm=None if resolution is None else float(resolution),
                      out_dir=folder, progress=ctx.report)
    shutil.rmtree(ProjectLayout(out).simulation(run_id).checkpoints, ignore_errors=True)  # working files of this attempt, not results
    r = result.results
    return {"run_id": run_id, "pressure_drop_pa": r["pressure_drop_pa"],
            "flow_partition_left_pct": r["flow_partition_left_pct"], "converged": r["converged"], "mlups": r["mlups"]}
