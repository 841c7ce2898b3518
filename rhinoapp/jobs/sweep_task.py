"""The flow sweep job: a stored airway geometry simulated at several flows, with Rohrer's law fitted.

Reads ``ProjectLayout.geometry(variant)`` and publishes ``ProjectLayout.simulation(sweep_id).sweep``.
The parameters are those of :class:`~rhinoapp.cfd.sweep_request.SweepRequest` (``sweep_id`` defaults to
``sweep-`` and the job id's start); the work is :func:`rhinoapp.usecases.sweep.run_flow_sweep`, as
for ``rhinoapp sweep``. Progress: the share of the whole sweep, the flow in words, and the time left.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from rhinoapp.core.layout import ProjectLayout
from rhinoapp.jobs.progress import TaskContext
from rhinoapp.jobs.requests import JobRequest
from rhinoapp.jobs.simulation_task import stored_domain

__all__ = ["flow_sweep"]


def flow_sweep(request: JobRequest, out: Path, ctx: TaskContext) -> dict[str, Any]:
    """Run the flow sweep of the project's stored geometry."""
    from rhinoapp.analysis.sweep import sweep_doubts
    from rhinoapp.cfd.sweep_request import SweepRequest
    from rhinoapp.usecases.sweep import run_flow_sweep

    sweep = SweepRequest.from_parameters(request.options)  # every rule of the request, before any work
    if sweep.sweep_id is None:
        sweep = dataclasses.replace(sweep, sweep_id=f"sweep-{request.job_id[:8]}")
    domain = stored_domain(request, sweep.variant, ctx)
    folder = ProjectLayout(out).simulation(str(sweep.sweep_id))
    results = run_flow_sweep(domain, sweep, folder.path, sweep_id=str(sweep.sweep_id), progress=ctx.report)
    summary: dict[str, Any] = {"sweep_id": sweep.sweep_id, "runs": len(results.points),
                               "converged": all(p.converged for p in results.points),
                               # what the checks doubt, each kind once with its runs (as a single run's job says)
                               "plausibility": [doubt.text for doubt in sweep_doubts(results)]}
    total = results.fits.get("total")
    if total is not None:
        summary.update(k1=total.k1, k2=total.k2)
    return summary
