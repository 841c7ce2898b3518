"""What to simulate (physics), how to run it (hardware and run control), and the lattice units.

:class:`PhysicsConfig` holds physical inputs (flow in ml/s, pressure in Pa, air properties) and
the flow model; :class:`RunConfig` holds where and how long to run. Both are frozen values.
The lattice units that follow from them are in :mod:`rhinoapp.cfd.units`.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace
from typing import Any

from rhinoapp.core.errors import ValidationError

__all__ = [
    "COARSE_START_MIN_CELLS",
    "DEFAULT_FLOW_MODEL",
    "BackendName",
    "CoarseStart",
    "Direction",
    "Driving",
    "FlowModel",
    "PhysicsConfig",
    "Regularization",
    "RunConfig",
    "SubgridModel",
    "WallBoundary",
]


#: Convergence checks per flow-through time (at least 10 steps, at most 500 apart).
CHECKS_PER_FLOW_THROUGH = 0.03
#: Checks per convergence window (:attr:`RunConfig.window`).
DEFAULT_WINDOW = 20
#: Checks per convergence window of a run that starts from a converged field (:attr:`RunConfig.warm_window`):
#: its flow is already developed, so the windows average the flow's own unsteadiness rather than guard against a
#: slowly developing one. On the straight phantom at 0.7 mm after a coarse start, the pressure drop was within
#: 0.4 % of its mean over 2.5 flow-through times when two windows of 8 (0.5 flow-through times) stopped the
#: run, against 0.9 % with windows of 20.
WARM_START_WINDOW = 8


class Direction(enum.Enum):
    """Breathing direction: air enters at the nostrils (inspiration) or at the nasopharynx."""

    INSPIRATION = "inspiration"
    EXPIRATION = "expiration"


class Driving(enum.Enum):
    """What the outlet prescribes: the volume flow, or the pressure drop to the nostrils."""

    CONSTANT_FLOW = "constant_flow"
    PRESSURE_DROP = "pressure_drop"


class SubgridModel(enum.Enum):
    """Eddy-viscosity model: Smagorinsky, or shear-improved Smagorinsky (none in steady laminar shear)."""

    SMAGORINSKY = "smagorinsky"
    SHEAR_IMPROVED = "shear_improved"


class Regularization(enum.Enum):
    """What the regularized collision rebuilds: the momentum flux (projected), or also the third moments
    from it (recursive, Malaspinas 2015), which keeps the collision stable closer to ``tau = 1/2``."""

    PROJECTED = "projected"
    RECURSIVE = "recursive"


class WallBoundary(enum.Enum):
    """No-slip walls: bounce-back half-way between a fluid and a wall cell (a staircase), or interpolated at
    the wall's distance along each link (Bouzidi, Firdaouss and Lallemand 2001; :mod:`rhinoapp.cfd.walls`),
    plain or with each cell's mass balance kept (the mass the interpolation takes goes to the rest population)."""

    HALFWAY = "halfway"
    INTERPOLATED = "interpolated"
    INTERPOLATED_CONSERVING = "interpolated_conserving"

    @property
    def interpolated(self) -> bool:
        """True for the interpolated walls."""
        return self is not WallBoundary.HALFWAY


class FlowModel(enum.Enum):
    """The flow model people choose: a named set of :class:`PhysicsConfig` settings (see ``docs/validation.md``).

    ``standard``: half-way walls and Smagorinsky 0.15 (the fastest). ``smooth_walls``: the walls where the airway has
    them (mass-conserving interpolated bounce-back), the shear-improved subgrid model and a bulk relaxation rate of 1;
    against OpenFOAM on the same domain its pressure drop was 1.0-1.7 times the reference's (within 0.5-3.1 % of the
    reference's finest solution from 0.512 mm on) where the standard model's was 1.9-3.0 times (over the reference's
    meshes and schemes), at about 1.5 times the cost per step.

    Examples
    --------
    >>> FlowModel("smooth_walls").physics_fields()["wall_boundary"]
    <WallBoundary.INTERPOLATED_CONSERVING: 'interpolated_conserving'>
    >>> FlowModel.STANDARD.physics_fields()
    {}
    >>> FlowModel.STANDARD.physics(flow_ml_s=150.0) == PhysicsConfig(flow_ml_s=150.0)
    True
    """

    STANDARD = "standard"
    SMOOTH_WALLS = "smooth_walls"

    def physics_fields(self) -> dict[str, Any]:
        """The :class:`PhysicsConfig` fields this model sets (none: the defaults)."""
        if self is FlowModel.SMOOTH_WALLS:
            return {"wall_boundary": WallBoundary.INTERPOLATED_CONSERVING, "subgrid_model": SubgridModel.SHEAR_IMPROVED,
                    "bulk_relaxation_time": 1.0}
        return {}

    def physics(self, **fields: Any) -> PhysicsConfig:
        """The :class:`PhysicsConfig` of this model, with ``fields`` (flow, direction, ...) for the rest."""
        return PhysicsConfig(**fields, **self.physics_fields())


#: The flow model of a simulation or a sweep unless people choose another: the one closest to the reference
#: solver (``docs/validation.md``, issue 16's tenth follow-up).
DEFAULT_FLOW_MODEL = FlowModel.SMOOTH_WALLS


#: Fluid cells of the fine lattice from which :attr:`CoarseStart.AUTO` starts from a coarse solution: its
#: coarse lattice then has at least 25,000 cells (3 across the narrowest passage at the default spacing),
#: enough for the flow's large-scale structure, and a cold run would take over about 10 minutes on 2 cores.
COARSE_START_MIN_CELLS = 200_000


class CoarseStart(enum.Enum):
    """Whether a run first solves the same geometry at twice the spacing (1/16 of the cost per flow-through
    time) and starts from that field without the start-up ramp (grid sequencing; see
    :func:`rhinoapp.cfd.simulation.simulate`). ``auto``: from :data:`COARSE_START_MIN_CELLS` fine cells.

    Examples
    --------
    >>> CoarseStart.AUTO.wanted(50_000), CoarseStart.AUTO.wanted(400_000), CoarseStart.ON.wanted(1_000)
    (False, True, True)
    """

    AUTO = "auto"
    ON = "on"
    OFF = "off"

    def wanted(self, fluid_cells: int) -> bool:
        """Whether a run of ``fluid_cells`` starts from a coarse solution."""
        return self is CoarseStart.ON or (self is CoarseStart.AUTO and fluid_cells >= COARSE_START_MIN_CELLS)


class BackendName(enum.Enum):
    """Compute backends; ``auto`` picks the fastest one installed."""

    AUTO = "auto"
    NUMPY = "numpy"
    NUMBA = "numba"
    CUPY = "cupy"


@dataclass(frozen=True, kw_only=True)
class PhysicsConfig:
    """Physical inputs and flow model.

    Parameters
    ----------
    flow_ml_s
        Total volume flow through both nostrils (constant-flow driving).
    direction
        Inspiration or expiration.
    driving
        Constant flow (prescribed at the outlet) or a prescribed pressure drop.
    pressure_drop_pa
        Pressure difference between nostrils and outlet for pressure-drop driving.
    kinematic_viscosity_m2_s, density_kg_m3
        Air properties (defaults: air at about 20-25 degrees C).
    smagorinsky_constant
        Smagorinsky subgrid constant; 0 switches the subgrid model off.
    subgrid_model, strain_average_flow_throughs
        ``smagorinsky``: eddy viscosity ``(C h)^2 |S|``. ``shear_improved`` (Leveque et al. 2007):
        ``(C h)^2 max(|S| - |<S>|, 0)``, ``<S>`` the strain rate averaged per cell over about this many
        flow-through times (exponential running mean), so a steady laminar shear gets no eddy viscosity. A run
        that starts from a developed flow (a coarse start, a sweep's next flow, a resumed run) starts the mean
        from its own first steps rather than from zero (:func:`rhinoapp.cfd.backends.base.strain_mean_rates`).
    max_lattice_velocity
        Target peak velocity in lattice units (Mach number times sqrt(3)); at most 0.1.
    trt_magic
        TRT "magic" parameter. None chooses 3/16 (bounce-back walls exactly half-way in straight
        channels) unless that relaxes the antisymmetric moments slower than once per step, as it does
        at physiological viscosity (``tau`` near 1/2); then ``(tau - 1/2) / 2`` (``omega- = 1``).
    bulk_relaxation_time
        Lattice relaxation time of the trace (bulk) part of the non-equilibrium momentum flux; None
        relaxes it with the shear part's ``tau``. Larger values raise the bulk viscosity, which damps
        acoustic waves (which are otherwise hardly damped at ``tau`` near 1/2) and leaves a steady,
        nearly incompressible flow unchanged (Dellar 2001).
    regularization
        ``projected``: the regularized collision (used with a subgrid model or a sponge) rebuilds the
        non-equilibrium momentum flux and relaxes the odd moments with TRT. ``recursive``: the odd
        moments are rebuilt too, from the equilibrium with its third-order terms and the third moments
        of the regularized flux (recursive regularization, Malaspinas 2015; Coreixas et al. 2017).
    wall_boundary
        ``halfway``: the walls lie half-way between fluid and wall cells (a staircase). ``interpolated``:
        each wall link bounces back where the airway's smooth wall crosses it (the 0.5 level of its air mask
        on the voxels the domain was given on, before resampling, blurred by 0.75 voxels; see
        :mod:`rhinoapp.cfd.walls`), by linear interpolation (Bouzidi et al. 2001), which does not conserve
        mass; ``interpolated_conserving`` gives each cell's rest population what its links take.
    sponge_cells, sponge_viscosity_factor
        Over this many cells next to each opening the base viscosity rises smoothly up to this factor,
        to absorb waves and vortices at the open boundaries (0 cells: no sponge).
    flow_throughs
        Expected number of flow-through times (airway volume over flow) from the end of the start-up ramp to
        steady state (sets the step estimate). Calibrated on ten runs from rest (``docs/validation.md``,
        twenty-fifth follow-up): the phantoms at 1.5 mm and the clinical phantom's heads at 0.75 mm took
        0.59-1.04 of the steps of 2.3 flow-through times; with 1.85 they take 0.71-1.26 of the estimate.

    Examples
    --------
    >>> PhysicsConfig(flow_ml_s=250).direction
    <Direction.INSPIRATION: 'inspiration'>
    >>> PhysicsConfig(flow_ml_s=0)
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ValidationError: the flow must be positive ml/s, got 0.0...
    """

    flow_ml_s: float = 250.0
    direction: Direction = Direction.INSPIRATION
    driving: Driving = Driving.CONSTANT_FLOW
    pressure_drop_pa: float | None = None
    kinematic_viscosity_m2_s: float = 1.5e-5
    density_kg_m3: float = 1.2
    smagorinsky_constant: float = 0.15
    subgrid_model: SubgridModel = SubgridModel.SMAGORINSKY
    strain_average_flow_throughs: float = 0.25
    max_lattice_velocity: float = 0.1
    trt_magic: float | None = None
    bulk_relaxation_time: float | None = None
    regularization: Regularization = Regularization.PROJECTED
    wall_boundary: WallBoundary = WallBoundary.HALFWAY
    sponge_cells: int = 6
    sponge_viscosity_factor: float = 30.0
    flow_throughs: float = 1.85

    def steadier(self) -> PhysicsConfig | None:
        """These settings with the recursive collision, to run again after a divergence; None if they have it.

        Where a passage is only two or three cells wide, the projected collision can diverge at the air's
        relaxation time near 1/2 (the shear-improved model gives its steady shear no eddy viscosity); the
        recursive one, which rebuilds the third moments from the regularized flux, stays stable there
        (``docs/validation.md``, "A steadier collision after a divergence").

        Examples
        --------
        >>> PhysicsConfig().steadier().regularization
        <Regularization.RECURSIVE: 'recursive'>
        >>> PhysicsConfig(regularization="recursive").steadier() is None
        True
        """
        regularized = self.smagorinsky_constant > 0 or self.sponge_cells > 0  # the collision that has the choice
        if self.regularization is Regularization.RECURSIVE or not regularized:
            return None
        return replace(self, regularization=Regularization.RECURSIVE)

    def __post_init__(self) -> None:
        object.__setattr__(self, "direction", Direction(self.direction))
        object.__setattr__(self, "driving", Driving(self.driving))
        object.__setattr__(self, "subgrid_model", SubgridModel(self.subgrid_model))
        object.__setattr__(self, "regularization", Regularization(self.regularization))
        object.__setattr__(self, "wall_boundary", WallBoundary(self.wall_boundary))
        flow = float(self.flow_ml_s)
        object.__setattr__(self, "flow_ml_s", flow)
        if self.driving is Driving.CONSTANT_FLOW and not (math.isfinite(flow) and flow > 0):
            raise ValidationError(f"the flow must be positive ml/s, got {flow}; choose the breathing direction with "
                                  "direction (inspiration or expiration) rather than a sign")
        if self.driving is Driving.PRESSURE_DROP:
            dp = self.pressure_drop_pa
            if dp is None or not (math.isfinite(dp) and dp > 0):
                raise ValidationError(f"pressure-drop driving needs a positive pressure_drop_pa, got {dp}")
        for name in ("kinematic_viscosity_m2_s", "density_kg_m3", "flow_throughs", "strain_average_flow_throughs"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValidationError(f"{name} must be positive, got {value}")
        if not 0 < self.max_lattice_velocity <= 0.1:
            raise ValidationError(f"max_lattice_velocity must lie in (0, 0.1], got {self.max_lattice_velocity}")
        if not 0 <= self.smagorinsky_constant <= 0.5:
            raise ValidationError(f"the Smagorinsky constant must lie in [0, 0.5], got {self.smagorinsky_constant}")
        if self.trt_magic is not None and not self.trt_magic > 0:
            raise ValidationError("the TRT magic parameter must be positive (3/16 or 1/4 are usual)")
        if self.bulk_relaxation_time is not None and not self.bulk_relaxation_time > 0.5:
            raise ValidationError("the bulk relaxation time must exceed 1/2 (1 is usual), or be None")
        if self.sponge_cells < 0 or not self.sponge_viscosity_factor >= 1:
            raise ValidationError("sponge_cells must be >= 0 and sponge_viscosity_factor >= 1")


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Hardware and run control.

    Parameters
    ----------
    backend
        ``auto``, ``numpy``, ``numba`` or ``cupy``.
    threads
        CPU threads for Numba (default: all).
    max_steps
        Upper bound on time steps (default: three times the estimate).
    check_every
        Steps between convergence checks and progress reports (default: about 1 % of the estimate).
    tolerance, window
        Steady state: the means of pressure drop and flows over the last ``window`` checks differ from
        those over the ``window`` checks before by less than ``tolerance`` (relative) plus the standard
        error of that difference (:func:`rhinoapp.cfd.solver.steady_in_mean`).
    warm_window
        ``window`` of a run that starts from a converged field (a coarse start, the next flow of a sweep),
        if smaller (:data:`WARM_START_WINDOW`).
    divergence_velocity
        Lattice speed taken as divergence (the stable range ends well below it).
    checkpoint_every
        Steps between checkpoints (0: none); ``resume`` restarts from the last one.
    memory_limit_bytes
        Refuse runs estimated above this (default: the machine's available memory).
    live_interval_s
        Least seconds between two live checkpoints (wall pressure and a downsampled velocity field for the
        live 3D view, :mod:`rhinoapp.cfd.live`); 0: none. They need a folder (``simulate(live_dir=...)``).
    coarse_start
        Solve at twice the spacing first and start from that field (:class:`CoarseStart`; default off here,
        automatic in :class:`~rhinoapp.cfd.request.SimulationRequest`).

    Examples
    --------
    >>> RunConfig(backend="numpy").backend
    <BackendName.NUMPY: 'numpy'>
    """

    backend: BackendName = BackendName.AUTO
    threads: int | None = None
    max_steps: int | None = None
    check_every: int | None = None
    tolerance: float = 5e-3
    window: int = DEFAULT_WINDOW
    warm_window: int = WARM_START_WINDOW
    divergence_velocity: float = 0.35
    checkpoint_every: int = 0
    resume: bool = False
    memory_limit_bytes: int | None = None
    live_interval_s: float = 0.0
    coarse_start: CoarseStart = CoarseStart.OFF

    def __post_init__(self) -> None:
        object.__setattr__(self, "backend", BackendName(self.backend))
        object.__setattr__(self, "coarse_start", CoarseStart(self.coarse_start))
        if not self.live_interval_s >= 0:
            raise ValidationError(f"live_interval_s must be 0 (no live view) or a positive number of seconds, "
                                  f"got {self.live_interval_s}")
        for name in ("max_steps", "check_every", "threads"):
            value = getattr(self, name)
            if value is not None and int(value) < 1:
                raise ValidationError(f"{name} must be a positive integer, got {value}")
        if min(self.window, self.warm_window) < 2 or not self.tolerance > 0 or self.checkpoint_every < 0:
            raise ValidationError("window and warm_window must be at least 2, tolerance positive, checkpoint_every "
                                  "non-negative")

    def window_for(self, *, warm: bool) -> int:
        """Checks per convergence window of a run that starts from rest or (``warm``) from a converged field.

        Examples
        --------
        >>> RunConfig().window_for(warm=False), RunConfig().window_for(warm=True), RunConfig(window=4).window_for(warm=True)
        (20, 8, 4)
        """
        return min(self.window, self.warm_window) if warm else self.window

    def starts_coarse(self, fluid_cells: int) -> bool:
        """Whether a run of ``fluid_cells`` starts from a coarse solution: ``coarse_start`` on, or ``auto`` at that
        size and without a step limit (a capped run is a quick look, which a coarse run to steady state would not be).

        Examples
        --------
        >>> RunConfig(coarse_start="auto").starts_coarse(500_000), RunConfig(coarse_start="auto", max_steps=200).starts_coarse(500_000)
        (True, False)
        """
        return self.coarse_start.wanted(fluid_cells) and (self.coarse_start is CoarseStart.ON or not self.max_steps)
