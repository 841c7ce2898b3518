"""The request of the simulation step, shared by ``rhinoapp simulate``, the Simulations page and the job.

:class:`SimulationRequest` holds what people choose (flow or pressure drop, direction, resolution,
backend, step limit) and where the run's inputs and outputs go (geometry variant, run id); its
defaults and :data:`SIMULATION_RANGES` are the only ones. It turns into the solver's
:class:`~rhinoapp.cfd.config.PhysicsConfig` and :class:`~rhinoapp.cfd.config.RunConfig`, which
are built (and so checked) as soon as a request is made.

Examples
--------
>>> request = SimulationRequest(flow_ml_s=300, direction="expiration", backend="numpy")
>>> request.physics().direction.value, request.run().backend.value
('expiration', 'numpy')
>>> SimulationRequest.from_parameters(request.to_parameters()) == request
True
>>> SimulationRequest().physics().wall_boundary.value  # the smooth-walls flow model by default
'interpolated_conserving'
>>> SimulationRequest(flow_model="standard").to_parameters()["flow_model"]
'standard'
>>> SimulationRequest(resolution_mm=0.1)
Traceback (most recent call last):
...
rhinoapp.core.errors.ValidationError: resolution_mm must lie between 0.25 and 4 mm, got 0.1; choose a value in that range.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from rhinoapp.cfd.config import (DEFAULT_FLOW_MODEL, BackendName, CoarseStart, Direction, Driving, FlowModel,
                                 PhysicsConfig, RunConfig)
from rhinoapp.core.requests import Range, check_choice, check_name

__all__ = ["PAGE_RESOLUTION_MM", "SIMULATION_RANGES", "SimulationRequest"]

#: Bounds of the numbers people choose (optional ones are checked when given).
SIMULATION_RANGES: Mapping[str, Range] = MappingProxyType({
    "flow_ml_s": Range(10.0, 2000.0, "ml/s"),
    "resolution_mm": Range(0.25, 4.0, "mm"),
    "max_steps": Range(1, 10_000_000, "steps"),
})
#: The spacing the page offers when the automatic resolution is switched off before the geometry's is known
#: (without a resolution, the run uses the automatic one: :func:`rhinoapp.cfd.resolution.choose_resolution`).
PAGE_RESOLUTION_MM = 1.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class SimulationRequest:
    """One simulation: physics, resolution, run control, the geometry it reads and the run's name.

    Parameters
    ----------
    flow_ml_s, direction
        Total flow through both nostrils and the breathing direction.
    pressure_drop_pa
        Drive by this pressure drop instead of the flow (``None``: constant flow).
    resolution_mm
        Lattice spacing; ``None``: the automatic resolution (cells across the narrowest passage, see
        :mod:`rhinoapp.cfd.resolution`), chosen where the run happens.
    backend, max_steps, threads, checkpoint_every, resume, live_interval_s
        Run control (see :class:`~rhinoapp.cfd.config.RunConfig`); ``live_interval_s`` > 0 makes a job write live
        checkpoints for the live 3D view (the page sets it from the ``live_view_interval_s`` setting).
    coarse_start
        Solve at twice the spacing first and start from that field (:class:`~rhinoapp.cfd.config.CoarseStart`).
        Default ``auto``: on for lattices of :data:`~rhinoapp.cfd.config.COARSE_START_MIN_CELLS` fluid cells
        or more without ``max_steps`` (:meth:`~rhinoapp.cfd.config.RunConfig.starts_coarse`), where the fine
        run's start-up (the ramp and the first flow-through times) is the longest part of the wait and the
        coarse lattice still has enough cells to carry the flow's structure.
    flow_model
        The flow model (:class:`~rhinoapp.cfd.config.FlowModel`): ``smooth_walls`` (default: the walls where the
        airway has them, the pressure drop closest to the reference solver's) or ``standard`` (half-way walls, the
        fastest per step, a pressure drop further above the reference's; see ``docs/validation.md``).
    variant, run_id
        The geometry folder ``geometry/<variant>/`` and the run's folder name (``None``: chosen by the job).
    """

    flow_ml_s: float = 250.0
    direction: Direction = Direction.INSPIRATION
    pressure_drop_pa: float | None = None
    resolution_mm: float | None = None
    backend: BackendName = BackendName.AUTO
    max_steps: int | None = None
    threads: int | None = None
    checkpoint_every: int = 0
    resume: bool = False
    live_interval_s: float = 0.0
    coarse_start: CoarseStart = CoarseStart.AUTO
    flow_model: FlowModel = DEFAULT_FLOW_MODEL
    variant: str = "default"
    run_id: str | None = None

    def __post_init__(self) -> None:
        for name, kind in (("direction", Direction), ("backend", BackendName), ("coarse_start", CoarseStart),
                           ("flow_model", FlowModel)):
            object.__setattr__(self, name, check_choice(name, getattr(self, name), kind))
        if self.pressure_drop_pa is not None:
            object.__setattr__(self, "pressure_drop_pa", float(self.pressure_drop_pa))
        self.physics()  # the solver's own rules first: they say more (a negative flow: use the direction)
        for name, bounds in SIMULATION_RANGES.items():
            value = getattr(self, name)
            if value is not None:
                number = bounds.check(name, value)
                object.__setattr__(self, name, int(number) if name == "max_steps" else number)
        object.__setattr__(self, "checkpoint_every", int(self.checkpoint_every))
        object.__setattr__(self, "variant", check_name("variant", self.variant))
        if self.run_id is not None:
            object.__setattr__(self, "run_id", check_name("run_id", self.run_id))
        self.run()

    def physics(self) -> PhysicsConfig:
        """The solver's physics for this request."""
        driving = Driving.CONSTANT_FLOW if self.pressure_drop_pa is None else Driving.PRESSURE_DROP
        return self.flow_model.physics(flow_ml_s=self.flow_ml_s, direction=self.direction, driving=driving,
                                       pressure_drop_pa=self.pressure_drop_pa)

    def run(self, *, backend: BackendName | str | None = None, memory_limit_bytes: int | None = None) -> RunConfig:
        """The solver's run control (``backend`` overrides the requested one, e.g. where the job runs)."""
        return RunConfig(backend=self.backend if backend is None else BackendName(backend), max_steps=self.max_steps,
                         threads=self.threads, checkpoint_every=self.checkpoint_every, resume=self.resume,
                         memory_limit_bytes=memory_limit_bytes, live_interval_s=float(self.live_interval_s),
                         coarse_start=self.coarse_start)

    def to_parameters(self) -> dict[str, Any]:
        """JSON-ready job parameters (optional values only when set)."""
        parameters: dict[str, Any] = {"variant": self.variant, "flow_ml_s": self.flow_ml_s,
                                      "direction": self.direction.value}
        optional = {"resolution_mm": self.resolution_mm, "pressure_drop_pa": self.pressure_drop_pa,
                    "max_steps": self.max_steps, "threads": self.threads, "run_id": self.run_id,
                    "backend": None if self.backend is BackendName.AUTO else self.backend.value,
                    "checkpoint_every": self.checkpoint_every or None, "resume": self.resume or None,
                    "live_interval_s": self.live_interval_s or None,
                    "coarse_start": None if self.coarse_start is CoarseStart.AUTO else self.coarse_start.value,
                    "flow_model": self.flow_model.value}
        parameters.update({name: value for name, value in optional.items() if value is not None})
        return parameters

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, Any]) -> SimulationRequest:
        """The request of a job's parameters (other keys are ignored); bad values raise ValidationError."""
        names = [field.name for field in dataclasses.fields(cls)]
        return cls(**{name: parameters[name] for name in names if name in parameters})
