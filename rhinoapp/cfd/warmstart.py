"""Starting a run from a converged field of another run on the same lattice (a warm start).

A flow sweep runs the same geometry at several flows. Each run may start from the previous run's
converged field instead of from rest: the field is kept in physical units (:class:`InitialField`:
pressure in Pa and velocity in m/s per fluid cell), scaled to the new flow (velocity and pressure
in proportion to the flow ratio, a first guess that the solver then corrects), converted to the
new run's lattice units (which differ from run to run, since the time step follows the flow) and
loaded as equilibrium populations. The run then starts at full boundary strength, without the
start-up ramp.

Examples
--------
>>> from rhinoapp.cfd.config import LatticeParameters
>>> from rhinoapp.cfd.setup import build_lattice
>>> from rhinoapp.cfd.shapes import square_duct
>>> lattice = build_lattice(square_duct(2, 3))
>>> n = lattice.n_cells
>>> field = InitialField(np.full(n, 2.4), np.tile([[0.0], [0.0], [1.0]], (1, n)), flow_ml_s=10.0)
>>> units = LatticeParameters(dx_m=1e-3, dt_s=1e-4, tau=0.6, density_kg_m3=1.2)
>>> state = initial_populations(lattice, field.scaled(20.0), units)
>>> from rhinoapp.cfd.postprocess import per_direction
>>> from rhinoapp.cfd.lattice import macroscopic
>>> drho, u = macroscopic(per_direction(lattice, state))
>>> round(float(drho[0]) / 3 * units.pressure_scale_pa, 3), round(float(u[2, 0]) * units.velocity_scale_m_s, 3)
(4.8, 2.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rhinoapp.cfd.config import LatticeParameters
from rhinoapp.cfd.lattice import BLOCK, Q, equilibrium_deviation
from rhinoapp.cfd.setup import SparseLattice
from rhinoapp.core.errors import SimulationError

__all__ = ["InitialField", "initial_populations"]


@dataclass(frozen=True, eq=False)
class InitialField:
    """A converged field in physical units: gauge pressure ``(n,)`` [Pa], velocity ``(3, n)`` [m/s] in grid
    axes, of a run at ``flow_ml_s`` (the magnitude of its total flow)."""

    pressure_pa: np.ndarray
    velocity_m_s: np.ndarray
    flow_ml_s: float

    def scaled(self, flow_ml_s: float) -> InitialField:
        """The field scaled to ``flow_ml_s`` (velocity and pressure in proportion to the flow)."""
        ratio = float(flow_ml_s) / self.flow_ml_s if self.flow_ml_s > 0 else 0.0
        return InitialField(self.pressure_pa * ratio, self.velocity_m_s * ratio, float(flow_ml_s))


def initial_populations(lattice: SparseLattice, field: InitialField, units: LatticeParameters) -> np.ndarray:
    """Equilibrium populations (the blocked FP32 state of :mod:`rhinoapp.cfd.setup`) of ``field`` in ``units``.

    Raises
    ------
    SimulationError
        When the field belongs to another lattice (another geometry or resolution).
    """
    n = lattice.n_cells
    if field.pressure_pa.shape != (n,) or field.velocity_m_s.shape != (3, n):
        raise SimulationError(f"the starting field has {field.pressure_pa.shape[0]} cells but the lattice {n}: "
                              "a warm start needs a run of the same geometry at the same resolution")
    drho = 3.0 * np.asarray(field.pressure_pa, dtype=np.float64) / units.pressure_scale_pa
    u = np.asarray(field.velocity_m_s, dtype=np.float64) / units.velocity_scale_m_s
    speed = np.sqrt(np.sum(u * u, axis=0))
    limit = 0.2  # keep the first steps stable: a guess beyond the lattice's Mach range is clipped
    u = u * np.minimum(1.0, limit / np.maximum(speed, 1e-300))
    g = equilibrium_deviation(np.clip(drho, -0.2, 0.2), u)
    blocks = np.zeros((Q, lattice.n_blocks * BLOCK), dtype=np.float32)
    blocks[:, :n] = g
    state = np.zeros(lattice.population_size, dtype=np.float32)
    state[:lattice.ghost_start] = blocks.reshape(Q, lattice.n_blocks, BLOCK).transpose(1, 0, 2).ravel()
    return state
