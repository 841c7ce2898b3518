"""Physical fields and clinical figures from a finished run (FP64).

* :func:`cell_moments`: density deviation and velocity of every fluid cell.
* :func:`wall_shear_stress`: at every fluid cell next to a wall, from the non-equilibrium momentum
  flux: viscous stress ``sigma = -(1 - 1/(2 tau)) Pi_neq`` (``tau`` with the Smagorinsky part),
  traction on the wall normal, minus its normal component.
* :func:`pressure_profile`: mean pressure against the distance along the airway from the nostrils
  (shortest path through the air).
* :func:`clinical_results`: the ``results.json`` figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rhinoapp.cfd.backends.base import KernelParameters
from rhinoapp.cfd.lattice import BLOCK, OPPOSITE, Q, VELOCITIES, WEIGHTS, equilibrium_deviation, macroscopic
from rhinoapp.cfd.setup import SparseLattice, address, distance_through_air
from rhinoapp.cfd.units import LatticeParameters

__all__ = ["WallStress", "cell_moments", "clinical_results", "per_direction", "pressure_profile", "pulled", "wall_cells",
           "wall_shear_stress"]

_CHUNK = 1 << 18


def per_direction(lattice: SparseLattice, state: np.ndarray) -> np.ndarray:
    """``(19, n_cells)`` copy of a blocked population array (padding and ghost slots dropped).

    Examples
    --------
    >>> from rhinoapp.cfd.setup import build_lattice
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> lattice = build_lattice(square_duct(2, 2, periodic=True))
    >>> per_direction(lattice, np.arange(lattice.population_size, dtype=np.float32)).shape
    (19, 8)
    """
    nb = lattice.n_blocks
    return state[:lattice.ghost_start].reshape(nb, Q, BLOCK).transpose(1, 0, 2).reshape(Q, nb * BLOCK)[:, :lattice.n_cells]


def pulled(lattice: SparseLattice, state: np.ndarray) -> np.ndarray:
    """The pre-collision populations ``(19, n_cells)`` that the next step would collide (one streaming pull).

    The stored state is post-collision; moments of the pre-collision populations are the flow's
    (post-collision ones carry the step's force impulse and relaxed stresses).
    """
    nb, n = lattice.n_blocks, lattice.n_cells
    own = address(0, np.arange(nb * BLOCK)).reshape(nb, 1, BLOCK)
    source = np.concatenate([own, lattice.gather.reshape(nb, Q - 1, BLOCK)], axis=1)
    result: np.ndarray = state[source].transpose(1, 0, 2).reshape(Q, nb * BLOCK)[:, :n]
    return result


def cell_moments(lattice: SparseLattice, state: np.ndarray,
                 force: tuple[float, float, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Density deviation ``(n,)`` and velocity ``(3, n)`` of every cell, lattice units, FP64.

    Computed from the :func:`pulled` (pre-collision) populations; with a force ``u = (j + F/2) / rho``.
    """
    g = pulled(lattice, state)
    drho = np.empty(lattice.n_cells)
    u = np.empty((3, lattice.n_cells))
    for start in range(0, lattice.n_cells, _CHUNK):
        part = slice(start, start + _CHUNK)
        drho[part], u[:, part] = macroscopic(g[:, part], None if force is None else np.asarray(force))
    return drho, u


@dataclass(frozen=True, eq=False)
class WallStress:
    """Wall shear stress at the fluid cells next to walls (lattice units).

    Attributes
    ----------
    cells
        Indices of the wall cells.
    normal
        ``(3, m)`` unit normals pointing from the air into the wall.
    stress
        Magnitude of the tangential traction.
    area
        Wetted wall area of each cell in cell faces (``sum 6 w_q |c_q . n|`` over its wall links).
    """

    cells: np.ndarray
    normal: np.ndarray
    stress: np.ndarray
    area: np.ndarray

    def area_mean(self) -> float:
        """Area-weighted mean stress."""
        return float(np.sum(self.stress * self.area) / np.sum(self.area)) if self.area.size else 0.0


def _wall_links(lattice: SparseLattice) -> np.ndarray:
    """``(18, n)`` True where the link pulls from a wall (bounce-back, not an opening)."""
    n = lattice.n_cells
    gather = lattice.gather.reshape(lattice.n_blocks, Q - 1, BLOCK).transpose(1, 0, 2).reshape(Q - 1, -1)[:, :n]
    cells = np.arange(n)
    walls = np.stack([gather[q - 1] == address(OPPOSITE[q], cells) for q in range(1, Q)])
    if lattice.n_links:
        walls[lattice.link_q.astype(np.int64) - 1, lattice.link_cells()] = False
    return walls


def wall_cells(lattice: SparseLattice) -> np.ndarray:
    """Indices of the fluid cells with at least one wall link (those :func:`wall_shear_stress` reports).

    Examples
    --------
    >>> from rhinoapp.cfd.setup import build_lattice
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> lattice = build_lattice(square_duct(3, 4))
    >>> int(wall_cells(lattice).size) == lattice.n_cells - 4  # all but the middle column of the 3x3 duct
    True
    """
    return np.flatnonzero(_wall_links(lattice).any(axis=0))


def wall_shear_stress(lattice: SparseLattice, state: np.ndarray, params: KernelParameters) -> WallStress:
    """Wall shear stress at every fluid cell with a wall link, in lattice units."""
    walls = _wall_links(lattice)
    cells = np.flatnonzero(walls.any(axis=0))
    c = VELOCITIES[1:].astype(np.float64)
    w = WEIGHTS[1:]
    normal = -((walls[:, cells] * w[:, None]).T @ c).T
    normal /= np.maximum(np.linalg.norm(normal, axis=0), 1e-30)
    g = pulled(lattice, state)[:, cells].astype(np.float64)
    drho, u = macroscopic(g)
    neq = g - equilibrium_deviation(drho, u)
    cc = VELOCITIES.astype(np.float64)
    pi = np.einsum("qa,qb,qn->abn", cc, cc, neq)
    tau = np.full(cells.size, params.tau)
    if params.smagorinsky > 0:
        norm = np.sqrt(np.sum(pi * pi, axis=(0, 1)))
        tau = 0.5 * (params.tau + np.sqrt(params.tau**2 + 18.0 * math.sqrt(2.0) * params.smagorinsky**2
                                          * norm / (1.0 + drho)))
    sigma = -(1.0 - 0.5 / tau) * pi
    traction = np.einsum("abn,bn->an", sigma, normal)
    tangential = traction - np.sum(traction * normal, axis=0) * normal
    area = np.sum(walls[:, cells] * (6.0 * w[:, None]) * np.abs(c @ normal), axis=0)
    return WallStress(cells, normal, np.linalg.norm(tangential, axis=0), area)


def pressure_profile(lattice: SparseLattice, pressure: np.ndarray, *, bin_cells: float = 2.0
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``pressure`` against the distance (cells) along the air from the nostril inlets.

    Returns bin centres and mean values; bins without cells are left out.

    Examples
    --------
    >>> from rhinoapp.cfd.setup import build_lattice
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> lattice = build_lattice(square_duct(2, 6))
    >>> distance, p = pressure_profile(lattice, -lattice.cell_coordinates()[:, 2].astype(float))
    >>> distance.tolist(), p.tolist()
    ([1.0, 3.0, 5.0], [-1.5, -3.5, -5.5])
    """
    n = lattice.n_cells
    inlet_cells = lattice.link_cells()[lattice.link_opening < 2]
    if inlet_cells.size == 0 or n == 0:
        return np.zeros(0), np.zeros(0)
    distance = distance_through_air(lattice, inlet_cells) + 0.5
    reached = np.isfinite(distance)
    bins = np.floor(distance[reached] / bin_cells).astype(np.int64)
    counts = np.bincount(bins)
    sums = np.bincount(bins, weights=np.asarray(pressure, dtype=np.float64)[reached])
    keep = counts > 0
    centres = (np.arange(counts.size) + 0.5) * bin_cells
    return centres[keep], sums[keep] / counts[keep]


def clinical_results(*, pressure_drop: float, flow_left: float, flow_right: float, flow_outlet: float,
                     max_speed: float, wall: WallStress, units: LatticeParameters) -> dict[str, object]:
    """The clinical figures in physical units from steady lattice values (flows positive along the breath).

    Examples
    --------
    >>> units = LatticeParameters(dx_m=1e-3, dt_s=2e-5, tau=0.51, density_kg_m3=1.2)
    >>> wall = WallStress(np.zeros(1, int), np.zeros((3, 1)), np.full(1, 1e-4), np.ones(1))
    >>> r = clinical_results(pressure_drop=4e-3, flow_left=1.0, flow_right=1.0, flow_outlet=2.0,
    ...                      max_speed=0.08, wall=wall, units=units)
    >>> r["flow_ml_s"], r["flow_partition_left_pct"], round(r["pressure_drop_pa"], 3)
    ({'total': 100.0, 'left': 50.0, 'right': 50.0}, 50.0, 12.0)
    >>> r["resistance_pa_s_per_ml"]
    {'total': 0.12, 'left': 0.24, 'right': 0.24}
    """
    flow_scale, pressure_scale = units.flow_scale_ml_s, units.pressure_scale_pa
    dp = pressure_drop * pressure_scale
    left, right = flow_left * flow_scale, flow_right * flow_scale
    total = left + right
    inflow = max(abs(total), 1e-300)

    def resistance(flow: float) -> float | None:
        return _round(dp / flow) if abs(flow) > 1e-9 * inflow else None

    return {
        "pressure_drop_pa": _round(dp),
        "flow_ml_s": {"total": _round(total), "left": _round(left), "right": _round(right)},
        "flow_partition_left_pct": _round(100.0 * left / total) if total else None,
        "resistance_pa_s_per_ml": {"total": resistance(total), "left": resistance(left), "right": resistance(right)},
        "max_velocity_m_s": _round(max_speed * units.velocity_scale_m_s),
        "wss_mean_pa": _round(wall.area_mean() * pressure_scale),
        "wss_max_pa": _round(float(wall.stress.max(initial=0.0)) * pressure_scale),
        "mass_conservation_error": _round(abs(total - flow_outlet * flow_scale) / inflow),
    }


def _round(value: float) -> float:
    return float(f"{value:.6g}")
