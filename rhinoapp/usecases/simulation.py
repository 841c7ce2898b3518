"""Simulating the airflow through a geometry folder, as ``rhinoapp simulate``, the page and the job do.

:func:`load_domain` reads a geometry folder (what :func:`~rhinoapp.usecases.geometry.write_geometry`
wrote) into the flow domain; :func:`estimate_simulation` gives the run's expected cost for a
:class:`~rhinoapp.cfd.request.SimulationRequest` (its time at this machine's measured speed, given a data
directory to keep the measurement in); :func:`run_simulation` runs it and writes
the files of a :class:`~rhinoapp.core.layout.SimulationFolder` (fields, wall surface, results,
convergence) into a folder, with the plausibility flags of
:func:`~rhinoapp.analysis.plausibility.check_results` as the ``plausibility`` list of ``results.json`` and what
the validation against an independent solver says about its pressure drop
(:func:`~rhinoapp.analysis.accuracy.accuracy_note`) as its ``accuracy``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from rhinoapp.analysis.accuracy import accuracy_note
from rhinoapp.analysis.plausibility import check_results, flags_document
from rhinoapp.cfd import io
from rhinoapp.cfd.config import RunConfig
from rhinoapp.cfd.estimate import ResourceEstimate, cell_budget, estimate_run
from rhinoapp.cfd.inputs import airway_domain, read_geometry_inputs
from rhinoapp.cfd.request import SimulationRequest
from rhinoapp.cfd.resolution import ResolutionChoice, choose_resolution, given_resolution
from rhinoapp.cfd.simulation import SimulationResult, simulate
from rhinoapp.core.layout import GeometryFolder, SimulationFolder
from rhinoapp.core.errors import RhinoappError
from rhinoapp.core.progress import ProgressCallback
from rhinoapp.store.throughput import measured_mlups

__all__ = ["estimate_simulation", "load_domain", "resolution_for", "rule_resolution", "run_simulation"]

_log = logging.getLogger(__name__)


def load_domain(geometry_dir: GeometryFolder | Path) -> Any:
    """The flow domain of a geometry folder (its label map and opening planes), with ambient air in front of the
    nostrils and a flow extension at the outlet (:func:`~rhinoapp.cfd.inputs.airway_domain`), and what an imported
    label map was like: its voxels, its ragged walls (:func:`~rhinoapp.cfd.inputs.read_geometry_inputs`)."""
    path = geometry_dir.path if isinstance(geometry_dir, GeometryFolder) else Path(geometry_dir)
    labels, planes, origin = read_geometry_inputs(path)
    return airway_domain(labels, planes=planes, label_origin=origin)


def resolution_for(domain: Any, request: SimulationRequest, *, backend: str | None = None) -> ResolutionChoice:
    """The lattice spacing of ``request`` on ``domain``: the one asked for (measured against the default rule,
    :func:`~rhinoapp.cfd.resolution.given_resolution`), or the default rule's
    (:func:`~rhinoapp.cfd.resolution.choose_resolution`) within the memory of this machine."""
    if request.resolution_mm is not None:
        return given_resolution(domain, float(request.resolution_mm))
    return rule_resolution(domain, request.run(backend=backend))


def rule_resolution(domain: Any, run: RunConfig) -> ResolutionChoice:
    """The default rule's spacing on ``domain`` (:func:`~rhinoapp.cfd.resolution.choose_resolution`) within the cell
    budget of ``run``'s backend on this machine (:func:`~rhinoapp.cfd.estimate.cell_budget`); also a flow sweep's."""
    return choose_resolution(domain, max_cells=cell_budget(run))


def estimate_simulation(domain: Any, request: SimulationRequest, *, backend: str | None = None,
                        data_dir: Path | None = None, resolution: ResolutionChoice | None = None) -> ResourceEstimate:
    """Cells, steps, memory and run time of ``request`` on ``domain`` (``backend`` overrides the request's).

    Given ``data_dir``, the time is at the speed measured on this machine for a run of that size
    (:func:`~rhinoapp.store.throughput.measured_mlups`: kept there, measured again when stale); without
    it, or when the measurement fails, at the backend's nominal speed (``estimate.speed`` says which).
    ``resolution`` is the spacing when the caller has chosen it already (:func:`resolution_for`).
    """
    if resolution is not None:  # the caller's choice (it costs a distance transform of the airway)
        spacing = resolution.resolution_mm
    elif request.resolution_mm is not None:
        spacing = float(request.resolution_mm)
    else:
        spacing = resolution_for(domain, request, backend=backend).resolution_mm
    run = request.run(backend=backend)
    estimate = estimate_run(domain, request.physics(), run, resolution_mm=spacing)
    if data_dir is None:
        return estimate
    try:
        mlups = measured_mlups(data_dir, run.backend, fluid_cells=estimate.fluid_cells, threads=run.threads,
                               flow_model=request.flow_model)
    except (RhinoappError, ImportError, RuntimeError) as error:
        _log.warning("the solver's speed could not be measured (%s): the estimate uses the nominal speed", error)
        return estimate
    return estimate.at_speed(mlups)


def run_simulation(domain: Any, request: SimulationRequest, out_dir: Path, *,
                   progress: ProgressCallback | None = None, live_dir: Path | None = None,
                   resolution: ResolutionChoice | None = None) -> SimulationResult:
    """Run ``request`` on ``domain`` and write its outputs (and checkpoints, if asked) into ``out_dir``.

    The resolution follows the geometry when the request gives none (:func:`resolution_for`; ``resolution`` when
    the caller has it already), and one given is measured against the rule (a coarser one is flagged). The results
    carry the run's plausibility flags (``results["plausibility"]``, also in ``results.json``). Live checkpoints
    (``request.live_interval_s``) go into ``live_dir``.
    """
    choice = resolution if resolution is not None else resolution_for(domain, request)
    result = simulate(domain, request.physics(), request.run(), resolution_mm=choice.resolution_mm,
                      out_dir=Path(out_dir), progress=progress, live_dir=live_dir,
                      notes={"resolution": {k: v for k, v in choice.as_dict().items() if v == v}})
    result.results["plausibility"] = flags_document(check_results(result.results))
    result.results["accuracy"] = accuracy_note(result.results).to_document()
    io.write_json(SimulationFolder(Path(out_dir)).results, result.results)
    return result
