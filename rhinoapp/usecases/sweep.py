"""A flow sweep through a geometry folder, as ``rhinoapp sweep`` and the sweep job run it.

:func:`run_flow_sweep` simulates the flows of a :class:`~rhinoapp.cfd.sweep_request.SweepRequest` on a
flow domain at the request's spacing or, without one, the default resolution rule's (as a single simulation
chooses it, :func:`~rhinoapp.usecases.simulation.rule_resolution`), each run warm-started from the previous one,
fits Rohrer's law per side
(:func:`~rhinoapp.analysis.sweep.fit_sweep`) and writes the ``sweep.json`` document of a
:class:`~rhinoapp.core.layout.SimulationFolder` into a folder. Every run is checked as a single simulation is
(:func:`~rhinoapp.analysis.plausibility.check_results`, with how its spacing was chosen), and its flags stay with
its point, so that the fits' figures are never shown without the doubts about the runs behind them; the
validation's word on their pressure drops (:func:`~rhinoapp.analysis.accuracy.accuracy_note`) goes with the fits.
"""

from __future__ import annotations

import logging
from pathlib import Path
from collections.abc import Mapping
from typing import Any

from rhinoapp.analysis.accuracy import accuracy_note
from rhinoapp.analysis.plausibility import check_results, flags_document
from rhinoapp.analysis.sweep import SweepResults
from rhinoapp.cfd.config import PhysicsConfig
from rhinoapp.cfd.resolution import given_resolution
from rhinoapp.cfd.sweep import run_sweep
from rhinoapp.cfd.sweep_request import SweepRequest
from rhinoapp.core.files import atomic_write
from rhinoapp.core.layout import SimulationFolder
from rhinoapp.core.progress import ProgressCallback
from rhinoapp.usecases.simulation import rule_resolution

__all__ = ["run_flow_sweep"]

_log = logging.getLogger(__name__)


def run_flow_sweep(domain: Any, request: SweepRequest, out_dir: Path, *, sweep_id: str,
                   physics: PhysicsConfig | None = None, progress: ProgressCallback | None = None) -> SweepResults:
    """Run the sweep of ``request`` on ``domain``, fit it, and write ``out_dir/sweep.json``.

    ``physics`` overrides the air and the flow model of every run (default: the request's,
    :meth:`~rhinoapp.cfd.sweep_request.SweepRequest.physics`); ``sweep.json`` names the request's flow model
    only where no such override was given.
    """
    flow_model = request.flow_model.value if physics is None else None
    if request.resolution_mm is None:  # as a single run at one of these flows would be: the rule's, within the budget
        choice = rule_resolution(domain, request.run())
        _log.info("sweep %s: resolution %.3g mm from the narrowest passage", sweep_id, choice.resolution_mm)
    else:  # measured against the rule, so that a coarser spacing is flagged on every run
        choice = given_resolution(domain, float(request.resolution_mm))
    resolution_mm = choice.resolution_mm
    notes = {"resolution": {k: v for k, v in choice.as_dict().items() if v == v}}  # NaN: no width measured
    accuracy: list[str] = []  # the validation's word on the runs (the same settings and spacing for all)

    def checked(run_results: Mapping[str, Any]) -> list[dict[str, Any]]:
        if not accuracy:
            accuracy.append(accuracy_note(run_results).text)
        return flags_document(check_results(run_results))

    points = run_sweep(domain, request.plan(), request.run(), physics=physics or request.physics(),
                       resolution_mm=resolution_mm, progress=progress, notes=notes, check=checked)
    results = SweepResults.from_points(sweep_id, points, resolution_mm=resolution_mm, flow_model=flow_model,
                                       accuracy=accuracy[0] if accuracy else "")
    target = SimulationFolder(Path(out_dir)).sweep
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, results.to_json())
    _log.info("sweep %s: %d runs written to %s", sweep_id, len(points), target)
    return results

