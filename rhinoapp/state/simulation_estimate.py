"""What the Simulations page says before a run: the resolution it proposes and the run's estimate.

The page proposes the automatic resolution (:func:`rhinoapp.cfd.resolution.choose_resolution`:
cells across the narrowest passage, within what the machine where jobs run can hold) and the user
may override it with a spacing of their own. :func:`estimate_inputs` works out, in a worker thread,
the rule's choice and the estimate of cells, steps, memory and time (the time at this machine's
measured speed for a local profile: :mod:`rhinoapp.store.throughput`); :class:`EstimateView` holds
them with their wording. No Panel here.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from rhinoapp.cfd.config import DEFAULT_FLOW_MODEL, FlowModel
from rhinoapp.cfd.estimate import ResourceEstimate, SpeedSource
from rhinoapp.cfd.request import SimulationRequest
from rhinoapp.cfd.resolution import ResolutionChoice
from rhinoapp.config.jobs import Profile
from rhinoapp.jobs.placement import estimate_on, uses_gpu
from rhinoapp.state.job_summary import describe_estimate
from rhinoapp.usecases.simulation import resolution_for

__all__ = ["EstimateView", "SimulationInputs", "describe_resolution", "estimate_inputs", "proposed_resolution"]


@dataclasses.dataclass(frozen=True)
class SimulationInputs:
    """The page's inputs at one moment (``resolution_mm`` ``None``: the automatic resolution)."""

    flow_ml_s: float
    direction: str
    resolution_mm: float | None
    max_steps: int
    flow_model: str = DEFAULT_FLOW_MODEL.value


@dataclasses.dataclass(frozen=True)
class EstimateView:
    """The estimate of one set of inputs, with its wording, and the automatic resolution's choice."""

    estimate: ResourceEstimate | None
    problem: str = ""
    text: str = ""
    choice: ResolutionChoice | None = None
    resolution_text: str = ""


def describe_resolution(choice: ResolutionChoice, estimate: ResourceEstimate | None) -> str:
    """The automatic resolution as the page proposes it.

    Examples
    --------
    >>> choice = ResolutionChoice(0.9, 5.5, 6.11, True, "6 lattice cells across the narrowest passage")
    >>> describe_resolution(choice, None)
    'Automatic (0.9 mm from the narrowest passage, 5.5 mm wide: 6.1 cells across)'
    >>> e = ResourceEstimate(fluid_cells=123_456, grid_voxels=10**6, steps=1000, memory_bytes=10**8,
    ...                      device_memory_bytes=0, backend="numba", mlups=20.0, seconds=6.2)
    >>> describe_resolution(choice, e)
    'Automatic (0.9 mm from the narrowest passage, 5.5 mm wide: 6.1 cells across; 123,456 fluid cells)'
    """
    cells = f"; {estimate.fluid_cells:,} fluid cells" if estimate is not None else ""
    text = (f"Automatic ({choice.resolution_mm:g} mm from the narrowest passage, {choice.width_mm:g} mm wide: "
            f"{choice.cells_across:.1f} cells across{cells})")
    return text if choice.rule_met else f"{text}. {choice.message}"


def proposed_resolution(profile: Profile, domain: Any, request: SimulationRequest) -> ResolutionChoice:
    """The automatic resolution of ``domain`` where jobs of ``profile`` run (their backend's cell budget)."""
    automatic = dataclasses.replace(request, resolution_mm=None)
    return resolution_for(domain, automatic, backend="cupy" if uses_gpu(profile) else None)


def estimate_inputs(profile: Profile, domain: Any, request: SimulationRequest, *, data_dir: Path | None,
                    choice: ResolutionChoice | None = None) -> EstimateView:
    """The estimate of ``request`` on ``domain`` (a request without a resolution: at ``choice``, the automatic one).

    ``choice`` is the automatic resolution when already known (it costs a distance transform of the airway).
    """
    choice = choice if choice is not None else proposed_resolution(profile, domain, request)
    resolution = request.resolution_mm if request.resolution_mm is not None else choice.resolution_mm
    estimate, problem = estimate_on(profile, domain, dataclasses.replace(request, resolution_mm=resolution),
                                    data_dir=data_dir)
    text = ""
    if estimate is not None:
        text = describe_estimate(estimate, resolution_mm=resolution, flow_ml_s=request.flow_ml_s)
        if estimate.speed is SpeedSource.MEASURED:
            text = text[:-2] + " measured on this machine)."
        if request.flow_model is FlowModel.STANDARD:
            text = text[:-1] + ", with the standard flow model."
    return EstimateView(estimate, problem, text, choice, describe_resolution(choice, estimate))
