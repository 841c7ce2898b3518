"""The request of a flow sweep and the values it yields (free of the solver, so light to import).

:class:`SweepRequest` holds what people choose (the flows, whether expiration is simulated too,
resolution and run control); :meth:`SweepRequest.plan` gives the runs in order, inspiration from
the lowest flow up, then expiration. :class:`SweepPoint` holds one run's steady figures
(:func:`rhinoapp.cfd.sweep.run_sweep` makes them).

Examples
--------
>>> request = SweepRequest(flows_ml_s=(150, 75), expiration=True, backend="numpy")
>>> [(p.flow_ml_s, p.direction.value) for p in request.plan()]
[(75.0, 'inspiration'), (150.0, 'inspiration'), (75.0, 'expiration'), (150.0, 'expiration')]
>>> request.physics().wall_boundary.value  # the smooth-walls flow model, as a single simulation's default
'interpolated_conserving'
>>> SweepRequest.from_parameters(request.to_parameters()) == request
True
>>> SweepRequest(flows_ml_s=(75,))
Traceback (most recent call last):
...
rhinoapp.core.errors.ValidationError: a sweep needs at least 2 different flows, got [75.0]; give for example 75,150,250,400 ml/s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from rhinoapp.cfd.config import DEFAULT_FLOW_MODEL, BackendName, Direction, FlowModel, PhysicsConfig, RunConfig
from rhinoapp.cfd.request import SIMULATION_RANGES
from rhinoapp.core.errors import ValidationError
from rhinoapp.core.requests import check_choice, check_name

__all__ = ["DEFAULT_SWEEP_FLOWS_ML_S", "SweepPlanItem", "SweepPoint", "SweepRequest"]

#: The flows of a sweep unless chosen otherwise (ml/s, both nostrils together).
DEFAULT_SWEEP_FLOWS_ML_S = (75.0, 150.0, 250.0, 400.0)
_MAX_FLOWS = 12


@dataclasses.dataclass(frozen=True)
class SweepPlanItem:
    """One run of a sweep: the flow magnitude and the direction."""

    flow_ml_s: float
    direction: Direction


@dataclasses.dataclass(frozen=True)
class SweepPoint:
    """The steady figures of one run of a sweep; flows and pressure drop signed (inspiration positive).

    ``pressure_drop_pa`` is the drop from the nostrils (ambient) to the outlet, the same for both
    sides since both nostrils are open to ambient air. ``flags`` are the run's plausibility flags as a single
    run's ``results.json`` lists them (its ``plausibility`` entries, checked by the caller of
    :func:`~rhinoapp.cfd.sweep.run_sweep`); empty where nothing was doubted, or in sweeps of older versions.
    """

    flow_ml_s: float
    direction: Direction
    pressure_drop_pa: float
    flow_left_ml_s: float
    flow_right_ml_s: float
    steps: int
    converged: bool
    elapsed_s: float
    warm_start: bool
    flags: tuple[Mapping[str, Any], ...] = dataclasses.field(default=(), hash=False)

    @property
    def flag_kinds(self) -> tuple[str, ...]:
        """The kinds of the run's flags, each once, sorted (empty: nothing doubted)."""
        return tuple(sorted({str(flag.get("kind")) for flag in self.flags}))

    @property
    def flow_total_ml_s(self) -> float:
        """Simulated total flow through both nostrils (signed)."""
        return self.flow_left_ml_s + self.flow_right_ml_s

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {**dataclasses.asdict(self), "direction": self.direction.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SweepPoint:
        """The point of :meth:`to_dict`'s output."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        flags = tuple(dict(flag) for flag in values.get("flags") or ())
        return cls(**{**values, "direction": Direction(values["direction"]), "flags": flags})


@dataclasses.dataclass(frozen=True, kw_only=True)
class SweepRequest:
    """A flow sweep: flows (magnitudes, ml/s), expiration too or not, resolution, run control, where.

    Parameters
    ----------
    flows_ml_s
        At least two different flows; run in increasing order.
    expiration
        Also simulate every flow breathing out (after all inspiration runs).
    resolution_mm, backend, max_steps, threads, flow_model
        As for :class:`~rhinoapp.cfd.request.SimulationRequest`, for every run (the smooth-walls flow model by
        default).
    variant, sweep_id
        The geometry folder ``geometry/<variant>/`` and the sweep's folder name (``None``: chosen by the job).
    """

    flows_ml_s: tuple[float, ...] = DEFAULT_SWEEP_FLOWS_ML_S
    expiration: bool = False
    resolution_mm: float | None = None
    backend: BackendName = BackendName.AUTO
    max_steps: int | None = None
    threads: int | None = None
    flow_model: FlowModel = DEFAULT_FLOW_MODEL
    variant: str = "default"
    sweep_id: str | None = None

    def __post_init__(self) -> None:
        try:
            flows = tuple(sorted({float(f) for f in self.flows_ml_s}))
        except (TypeError, ValueError):
            raise ValidationError(f"flows_ml_s must be numbers, got {self.flows_ml_s!r}.") from None
        if len(flows) < 2:
            raise ValidationError(f"a sweep needs at least 2 different flows, got {list(flows)}; "
                                  "give for example 75,150,250,400 ml/s.")
        if len(flows) > _MAX_FLOWS:
            raise ValidationError(f"a sweep takes at most {_MAX_FLOWS} flows, got {len(flows)}; choose fewer.")
        for flow in flows:
            SIMULATION_RANGES["flow_ml_s"].check("flows_ml_s", flow)
        object.__setattr__(self, "flows_ml_s", flows)
        object.__setattr__(self, "expiration", bool(self.expiration))
        for name, kind in (("backend", BackendName), ("flow_model", FlowModel)):
            object.__setattr__(self, name, check_choice(name, getattr(self, name), kind))
        for name in ("resolution_mm", "max_steps"):
            value = getattr(self, name)
            if value is not None:
                number = SIMULATION_RANGES[name].check(name, value)
                object.__setattr__(self, name, int(number) if name == "max_steps" else number)
        object.__setattr__(self, "variant", check_name("variant", self.variant))
        if self.sweep_id is not None:
            object.__setattr__(self, "sweep_id", check_name("sweep_id", self.sweep_id))
        self.run()

    def plan(self) -> tuple[SweepPlanItem, ...]:
        """The runs in order: inspiration from the lowest flow up, then expiration likewise."""
        directions = (Direction.INSPIRATION, Direction.EXPIRATION) if self.expiration else (Direction.INSPIRATION,)
        return tuple(SweepPlanItem(flow, direction) for direction in directions for flow in self.flows_ml_s)

    def physics(self) -> PhysicsConfig:
        """The physics of every run (air, the flow model's settings); each run sets its own flow and direction."""
        return self.flow_model.physics()

    def run(self, *, backend: BackendName | str | None = None) -> RunConfig:
        """The solver's run control of every run."""
        return RunConfig(backend=self.backend if backend is None else BackendName(backend), max_steps=self.max_steps,
                         threads=self.threads)

    def to_parameters(self) -> dict[str, Any]:
        """JSON-ready job parameters (optional values only when set)."""
        parameters: dict[str, Any] = {"variant": self.variant, "flows_ml_s": list(self.flows_ml_s),
                                      "expiration": self.expiration, "flow_model": self.flow_model.value}
        optional = {"resolution_mm": self.resolution_mm, "max_steps": self.max_steps, "threads": self.threads,
                    "sweep_id": self.sweep_id, "backend": None if self.backend is BackendName.AUTO else self.backend.value}
        parameters.update({name: value for name, value in optional.items() if value is not None})
        return parameters

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, Any]) -> SweepRequest:
        """The request of a job's parameters (other keys are ignored); bad values raise ValidationError."""
        names = [field.name for field in dataclasses.fields(cls)]
        values = {name: parameters[name] for name in names if name in parameters}
        if "flows_ml_s" in values:
            flows = values["flows_ml_s"]
            values["flows_ml_s"] = tuple(flows) if isinstance(flows, (list, tuple)) else (flows,)
        return cls(**values)
