"""A flow sweep: one geometry simulated at several flows, each run starting from the previous one.

:func:`run_sweep` runs the items of a sweep's plan (:meth:`~rhinoapp.cfd.sweep_request.SweepRequest.plan`)
in order, each run warm-started from the previous converged field of the same direction
(:mod:`rhinoapp.cfd.warmstart`), and returns one :class:`~rhinoapp.cfd.sweep_request.SweepPoint`
per run. Progress is reported per flow: the fraction of the whole sweep, with the flow in words.
Each run's results go through the caller's ``check`` (the plausibility checks, which live in a later layer), and
its flags travel with the point.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rhinoapp.cfd.config import Direction, PhysicsConfig, RunConfig
from rhinoapp.cfd.domain import FlowDomain
from rhinoapp.cfd.simulation import SimulationResult, simulate
from rhinoapp.cfd.sweep_request import SweepPlanItem, SweepPoint
from rhinoapp.cfd.warmstart import InitialField
from rhinoapp.core.progress import ProgressCallback, part_of

__all__ = ["ResultsCheck", "run_sweep"]

_log = logging.getLogger(__name__)


#: The checks of one run's results: its plausibility flags as ``results.json`` documents
#: (:func:`rhinoapp.analysis.plausibility.check_results`, then :func:`~rhinoapp.analysis.plausibility.flags_document`).
ResultsCheck = Callable[[Mapping[str, Any]], Sequence[Mapping[str, Any]]]


def _point(item: SweepPlanItem, result: SimulationResult, elapsed: float, warm: bool,
           check: ResultsCheck | None) -> SweepPoint:
    r: dict[str, Any] = result.results
    sign = 1.0 if item.direction is Direction.INSPIRATION else -1.0
    flows = r["flow_ml_s"]
    return SweepPoint(flow_ml_s=sign * item.flow_ml_s, direction=item.direction,
                      pressure_drop_pa=sign * float(r["pressure_drop_pa"]),
                      flow_left_ml_s=sign * float(flows["left"]), flow_right_ml_s=sign * float(flows["right"]),
                      steps=int(r["steps"]), converged=bool(r["converged"]), elapsed_s=round(elapsed, 3),
                      warm_start=warm, flags=tuple(dict(flag) for flag in check(r)) if check is not None else ())


def run_sweep(domain: FlowDomain, plan: Sequence[SweepPlanItem], run: RunConfig, *,
              physics: PhysicsConfig | None = None, resolution_mm: float | None = None,
              progress: ProgressCallback | None = None, notes: Mapping[str, object] | None = None,
              check: ResultsCheck | None = None) -> list[SweepPoint]:
    """Simulate every item of ``plan`` on ``domain``; each run starts from the previous one of its direction.

    ``physics`` gives everything but the flow and the direction (default: air, :class:`PhysicsConfig`).
    ``notes`` go into every run's results (how the resolution was chosen, which the checks read); ``check`` gives a
    run's plausibility flags from its results (:data:`ResultsCheck`), kept in :attr:`SweepPoint.flags`.
    Progress: the fraction of the whole sweep, the stage naming the flow (``flow 2 of 4: 150 ml/s inspiration``).
    """
    template = physics or PhysicsConfig()
    points: list[SweepPoint] = []
    previous: dict[Direction, InitialField] = {}
    for index, item in enumerate(plan):
        stage = f"flow {index + 1} of {len(plan)}: {item.flow_ml_s:g} ml/s {item.direction.value}"
        physics_i = dataclasses.replace(template, flow_ml_s=item.flow_ml_s, direction=item.direction)
        warm = previous.get(item.direction)
        started = time.perf_counter()
        result = simulate(domain, physics_i, run, resolution_mm=resolution_mm,
                          progress=part_of(progress, index / len(plan), 1.0 / len(plan), stage=stage), initial=warm,
                          notes=dict(notes) if notes else None)
        elapsed = time.perf_counter() - started
        points.append(_point(item, result, elapsed, warm is not None, check))
        previous[item.direction] = InitialField(result.pressure_pa, result.velocity_m_s, item.flow_ml_s)
        _log.info("%s: %d steps, %.1f s, dp %.4g Pa", stage, points[-1].steps, elapsed, points[-1].pressure_drop_pa)
    return points
