"""Lattice units: the time step, relaxation time and run length that a physics configuration and a domain give.

:func:`choose_lattice_parameters` turns a :class:`~rhinoapp.cfd.config.PhysicsConfig` and a domain into
:class:`LatticeParameters`: the time step is chosen so that the estimated peak velocity is
``max_lattice_velocity`` (at most 0.1, for small compressibility errors).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage

from rhinoapp.cfd.config import CHECKS_PER_FLOW_THROUGH, DEFAULT_WINDOW, WARM_START_WINDOW, Driving, PhysicsConfig, SubgridModel, \
    Regularization
from rhinoapp.cfd.domain import FlowDomain, link_structure
from rhinoapp.cfd.openings import PLANE_CHOANA_LEFT, PLANE_CHOANA_RIGHT, PLANE_NOSTRIL_LEFT, PLANE_NOSTRIL_RIGHT, \
    PLANE_OUTLET, PLANE_SURROUNDINGS
from rhinoapp.core.errors import ValidationError

__all__ = [
    "LatticeParameters",
    "airway_volume_mm3",
    "choose_lattice_parameters",
    "lattice_parameters",
    "narrowest_section_mm2",
    "coarse_run_steps",
    "expected_steps",
    "least_steps",
    "warm_start_steps",
]


@dataclass(frozen=True)
class LatticeParameters:
    """Lattice units of one run and their conversion to physical units.

    Examples
    --------
    >>> p = LatticeParameters(dx_m=1e-3, dt_s=2e-5, tau=0.5009, density_kg_m3=1.2)
    >>> round(p.velocity_scale_m_s, 3), round(p.pressure_scale_pa, 1)
    (50.0, 3000.0)
    """

    dx_m: float
    dt_s: float
    tau: float
    density_kg_m3: float
    smagorinsky_constant: float = 0.0
    trt_magic: float = 3.0 / 16.0
    peak_velocity_lattice: float = 0.0
    peak_velocity_m_s: float = 0.0
    steps_estimate: int = 0
    ramp_steps: int = 0
    reynolds: float = 0.0
    check_steps: int = 0
    flow_through_steps: float = 0.0
    strain_average: float = 0.0
    bulk_omega: float = 0.0
    recursive: bool = False

    @property
    def velocity_scale_m_s(self) -> float:
        """Metres per second of one lattice velocity unit."""
        return self.dx_m / self.dt_s

    @property
    def pressure_scale_pa(self) -> float:
        """Pascal of one lattice pressure unit (``rho * (dx/dt)^2``)."""
        return self.density_kg_m3 * self.velocity_scale_m_s**2

    @property
    def flow_scale_ml_s(self) -> float:
        """Millilitres per second of one lattice volume flow unit (cell^3 per step)."""
        return self.dx_m**3 / self.dt_s * 1e6

    @property
    def nu_lattice(self) -> float:
        """Kinematic viscosity in lattice units."""
        return (self.tau - 0.5) / 3.0

    def as_dict(self) -> dict[str, float | int]:
        """JSON-ready description, with the derived scales."""
        data: dict[str, float | int] = asdict(self)
        data.update(dx_mm=self.dx_m * 1e3, nu_lattice=self.nu_lattice, velocity_scale_m_s=self.velocity_scale_m_s,
                    pressure_scale_pa=self.pressure_scale_pa)
        return data


def narrowest_section_mm2(domain: FlowDomain) -> float:
    """Smallest cross-section of the airway between its nostrils and its outlet, across the main flow axis.

    An airway with ambient chambers, an outlet extension and choanae (:func:`~rhinoapp.cfd.inputs.airway_domain`)
    is cut across the nose's own axis, from between the nostrils to between the choanae, whichever way the head
    lies in the scanner (:func:`_narrowest_across_the_nose`). Other domains are cut across the grid axis from the
    inlets to the outlet, their chambers and extension left out.

    Examples
    --------
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> narrowest_section_mm2(square_duct(4, 10, spacing_mm=0.5))
    4.0
    """
    across_the_nose = _narrowest_across_the_nose(domain)
    if across_the_nose is not None:
        return across_the_nose
    geometry = domain.geometry
    surroundings = domain.planes.get(PLANE_SURROUNDINGS)
    air = domain.fluid if surroundings is None else domain.fluid & ~surroundings
    inlets = domain.inlet_left | domain.inlet_right
    if inlets.any() and domain.outlet.any():
        start = np.array([index.mean() for index in np.nonzero(inlets)])
        end = np.array([index.mean() for index in np.nonzero(domain.outlet)])
        axis = int(np.argmax(np.abs(end - start)))  # in (k, j, i) order
        low, high = sorted((int(round(start[axis])), int(round(end[axis]))))
    else:  # periodic verification flows: across the periodic axis, else the longest one
        periodic = [2 - a for a in range(3) if domain.periodic[a]]
        axis = periodic[0] if periodic else int(np.argmax(geometry.shape))
        low, high = 0, geometry.shape[axis] - 1
    counts = air.sum(axis=tuple(a for a in range(3) if a != axis))[low:high + 1]
    area_voxel = geometry.voxel_volume_mm3 / geometry.spacing_mm[2 - axis]
    return float(counts[counts > 0].min() * area_voxel)


def _narrowest_across_the_nose(domain: FlowDomain) -> float | None:
    """The narrowest section of an airway with nostril, choana and outlet planes, cut across the nose's axis (from
    the nostrils' centre to the choanae's): each cavity's narrowest section between its nostril and its choana,
    added up, or the nasopharynx's between the choanae and the outlet plane if that is less; ``None`` where the
    planes are missing.

    Cut across a grid axis, a head tilted in the scanner showed its valves obliquely, and yawed, the two valves in
    different sections: 319 mm² on the clinical phantom tilted 15, 10 and 10 degrees (its chambers under the nostrils
    counted too), 114 mm² straight. The time step, chosen for the flow through that section, was twice too long and
    every run diverged. Across the nose's axis: 109 mm² straight, 107 askew, 108 and 107 tilted 20 degrees forward
    and back (at 0.5 mm; on the lattice of the rule's 0.75 mm, 108, 106, 103 and 108).
    """
    planes = domain.planes
    nostril = {"left": PLANE_NOSTRIL_LEFT, "right": PLANE_NOSTRIL_RIGHT}
    choana = {"left": PLANE_CHOANA_LEFT, "right": PLANE_CHOANA_RIGHT}
    names = (*nostril.values(), *choana.values(), PLANE_OUTLET, PLANE_SURROUNDINGS)
    if not all(name in planes and planes[name].any() for name in names):
        return None
    spacing = np.asarray(domain.geometry.spacing_mm, dtype=float)[::-1]
    width, voxel = float(spacing.max()), float(np.prod(spacing))

    def centre(name: str) -> np.ndarray:
        return np.asarray(np.argwhere(planes[name]).mean(axis=0) * spacing)

    start = 0.5 * (centre(PLANE_NOSTRIL_LEFT) + centre(PLANE_NOSTRIL_RIGHT))
    direction = 0.5 * (centre(PLANE_CHOANA_LEFT) + centre(PLANE_CHOANA_RIGHT)) - start
    if not np.linalg.norm(direction) > 0:
        return None
    direction /= np.linalg.norm(direction)

    def along(mask: np.ndarray) -> np.ndarray:
        return np.asarray((np.argwhere(mask) * spacing - start) @ direction)

    def narrowest(cells: np.ndarray, low: float, high: float) -> float | None:
        # slabs of equal thickness, at least a voxel's, that fill [low, high]: a last slab cut short by ``high``
        # held a fraction of a section and passed for the narrowest (64.7 mm² for 108 on the straight phantom at
        # 0.75 mm, so the run's time step was 1.6 times shorter than its estimate's)
        t = along(cells)
        t = t[(t >= low) & (t <= high)]
        if t.size == 0:
            return None
        count = max(1, int((high - low) // width))
        thickness = max((high - low) / count, width)
        areas = np.bincount(np.minimum((t - low) // thickness, count - 1).astype(np.int64)) * voxel / thickness
        return float(areas[areas > 0].min())

    air = domain.fluid & ~planes[PLANE_SURROUNDINGS]
    choanae = planes[PLANE_CHOANA_LEFT] | planes[PLANE_CHOANA_RIGHT]
    cavities = air & ~choanae
    parts, _ = ndimage.label(cavities, structure=link_structure())
    sides: dict[tuple[int, ...], list[str]] = {}
    for side in ("left", "right"):
        ids = tuple(sorted(set(np.unique(parts[planes[nostril[side]] & cavities]).tolist()) - {0}))
        if not ids:
            return None
        sides.setdefault(ids, []).append(side)  # both nostrils in one part (a septum open between them): one region
    total = 0.0
    for ids, named in sides.items():
        low = max(float(along(planes[nostril[side]]).max()) for side in named) + width
        high = min(float(along(planes[choana[side]]).min()) for side in named) - width
        section = narrowest(np.isin(parts, ids), low, high)
        if section is None:
            return None
        total += section
    behind = narrowest(air & ~np.isin(parts, [i for ids in sides for i in ids]),
                       float(along(choanae).max()) + width, float(along(planes[PLANE_OUTLET]).min()) - width)
    return total if behind is None else min(total, behind)


def airway_volume_mm3(domain: FlowDomain) -> float:
    """The air volume of the airway itself: the fluid less the chambers and the outlet extension, if any.

    Examples
    --------
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> airway_volume_mm3(square_duct(4, 10, spacing_mm=0.5))
    20.0
    """
    surroundings = domain.planes.get(PLANE_SURROUNDINGS)
    cells = domain.n_fluid - (int(np.count_nonzero(surroundings)) if surroundings is not None else 0)
    return float(cells * domain.geometry.voxel_volume_mm3)


def choose_lattice_parameters(domain: FlowDomain, physics: PhysicsConfig) -> LatticeParameters:
    """Lattice units for ``physics`` on ``domain``'s grid (which must be isotropic).

    Examples
    --------
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> duct = square_duct(10, 40, spacing_mm=1.0)
    >>> p = choose_lattice_parameters(duct, PhysicsConfig(flow_ml_s=10.0))
    >>> round(p.peak_velocity_m_s, 3), round(p.peak_velocity_lattice, 3), round(p.dt_s, 8)
    (0.2, 0.1, 0.0005)
    """
    spacing = np.asarray(domain.geometry.spacing_mm)
    if not np.allclose(spacing, spacing[0], rtol=1e-6):
        raise ValidationError(f"the lattice needs cubic voxels, got spacing {tuple(spacing)} mm: resample the "
                              "geometry to one resolution (resolution_mm)")
    return lattice_parameters(float(spacing[0]), narrowest_section_mm2(domain), airway_volume_mm3(domain), physics)


def lattice_parameters(dx_mm: float, section_mm2: float, volume_mm3: float,
                       physics: PhysicsConfig) -> LatticeParameters:
    """Lattice units from the grid spacing, the narrowest section and the air volume.

    The peak velocity is estimated as twice the mean velocity through the narrowest section
    (constant flow) or from Bernoulli, ``sqrt(2 dp / rho)`` (pressure drop); the time step makes
    it ``max_lattice_velocity``. Steady state is expected after the ramp and ``flow_throughs`` times the air
    volume over the flow; the start-up ramp lasts 0.3 flow-through times.

    Examples
    --------
    >>> p = lattice_parameters(0.5, 100.0, 24000.0, PhysicsConfig(flow_ml_s=250.0))
    >>> round(p.peak_velocity_m_s, 2), round(p.tau, 5), p.steps_estimate
    (5.0, 0.5018, 20641)
    """
    dx = dx_mm * 1e-3
    area_m2 = section_mm2 * 1e-6
    if physics.driving is Driving.CONSTANT_FLOW:
        flow_m3_s = physics.flow_ml_s * 1e-6
        peak = 2.0 * flow_m3_s / area_m2
    else:
        dp = physics.pressure_drop_pa
        assert dp is not None, "PhysicsConfig rejects pressure-drop driving without a pressure drop"
        peak = math.sqrt(2.0 * float(dp) / physics.density_kg_m3)
        flow_m3_s = 0.5 * peak * area_m2
    dt = physics.max_lattice_velocity * dx / peak
    tau = 0.5 + 3.0 * physics.kinematic_viscosity_m2_s * dt / dx**2
    magic = physics.trt_magic if physics.trt_magic is not None else min(3.0 / 16.0, 0.5 * (tau - 0.5))
    flow_through_steps = volume_mm3 * 1e-9 / flow_m3_s / dt
    diameter = math.sqrt(4.0 * area_m2 / math.pi)
    ramp = max(20, int(0.3 * flow_through_steps))
    check = min(500, max(10, int(CHECKS_PER_FLOW_THROUGH * flow_through_steps)))
    # calibrated on the phantoms (benchmarks/estimate_accuracy.py): steady after the ramp and about
    # ``flow_throughs`` volume flow-through times, and never before the two convergence windows are full
    settle = max(2 * DEFAULT_WINDOW * check, physics.flow_throughs * flow_through_steps)
    return LatticeParameters(
        dx_m=dx, dt_s=dt, tau=tau, density_kg_m3=physics.density_kg_m3,
        smagorinsky_constant=physics.smagorinsky_constant, trt_magic=magic,
        peak_velocity_lattice=physics.max_lattice_velocity, peak_velocity_m_s=peak,
        steps_estimate=max(200, int(math.ceil(ramp + settle))), ramp_steps=ramp,
        reynolds=0.5 * peak * diameter / physics.kinematic_viscosity_m2_s, check_steps=check,
        flow_through_steps=round(flow_through_steps, 1),
        strain_average=(min(1.0, 1.0 / (physics.strain_average_flow_throughs * flow_through_steps))
                        if physics.subgrid_model is SubgridModel.SHEAR_IMPROVED else 0.0),
        bulk_omega=0.0 if physics.bulk_relaxation_time is None else 1.0 / physics.bulk_relaxation_time,
        recursive=physics.regularization is Regularization.RECURSIVE)


def warm_start_steps(params: LatticeParameters, window: int = WARM_START_WINDOW) -> int:
    """Expected steps of a run that starts from a converged field (a coarse solution or a neighbouring flow):
    no ramp; the two convergence windows of ``window`` checks each, after a quarter of a flow-through time in
    which the flow adjusts to the new lattice or flow (calibrated on the straight phantom at 0.7 mm after a
    coarse start: steady after 24 checks with windows of 8).

    Examples
    --------
    >>> warm_start_steps(lattice_parameters(0.5, 100.0, 24000.0, PhysicsConfig(flow_ml_s=250.0)))
    7008
    """
    return max(200, int(2 * window * params.check_steps + 0.25 * params.flow_through_steps))


def coarse_run_steps(params: LatticeParameters, window: int = WARM_START_WINDOW) -> int:
    """Expected steps of the coarse run of a coarse start (``params`` of its lattice): the ramp, then about 0.9
    flow-through times, as its steady-state test has windows of ``window`` checks (measured: 0.86 flow-through
    times after the ramp on the straight phantom at 1 mm), at least the two windows.

    Examples
    --------
    >>> coarse_run_steps(lattice_parameters(1.0, 100.0, 24000.0, PhysicsConfig(flow_ml_s=250.0)))
    5760
    """
    settle = max(2 * window * params.check_steps, 0.9 * params.flow_through_steps)
    return max(200, int(params.ramp_steps + settle))



def least_steps(params: LatticeParameters, *, warm: bool, window: int) -> int:
    """The fewest steps after which a run on ``params``' lattice can stop steady: the steady-state test compares two
    windows of ``window`` checks taken after the start-up ramp (none after a converged field, ``warm``), so a flow
    that is steady as soon as the ramp ends stops there. On the clinical phantom's label maps at 0.75 mm
    (``benchmarks/label_map_variety.py``) the label map with ragged walls stopped there and the one cropped in front
    four checks later (1.08 times), the clean one at 1.56 times, the others at about 1.2-1.75 times; the calibrated
    estimate (``steps_estimate``) is about 1.4 times it.

    Examples
    --------
    >>> p = lattice_parameters(0.75, 60.0, 22000.0, PhysicsConfig(flow_ml_s=250.0))
    >>> p.ramp_steps, p.check_steps, p.steps_estimate
    (2933, 293, 21022)
    >>> least_steps(p, warm=False, window=20), least_steps(p, warm=True, window=8)
    (14650, 4688)
    """
    ramp_checks = 0 if warm else params.ramp_steps // params.check_steps
    return max(1, (ramp_checks + 2 * window) * params.check_steps)


def expected_steps(params: LatticeParameters, *, warm: bool, window: int) -> int:
    """Expected steps of a run on ``params``' lattice whose steady-state test has windows of ``window`` checks:
    from a converged field (``warm``: :func:`warm_start_steps`), from rest with the short windows of a coarse
    start's seed run (:func:`coarse_run_steps`), or from rest with the full windows (``params.steps_estimate``).

    Examples
    --------
    >>> p = lattice_parameters(1.0, 100.0, 24000.0, PhysicsConfig(flow_ml_s=250.0))
    >>> expected_steps(p, warm=False, window=20) == p.steps_estimate, expected_steps(p, warm=False, window=8)
    (True, 5760)
    """
    if warm:
        return warm_start_steps(params, window)
    return coarse_run_steps(params, window) if window < DEFAULT_WINDOW else params.steps_estimate
