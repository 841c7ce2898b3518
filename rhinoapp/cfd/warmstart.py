"""Starting a run from a converged field of another run (a warm start), on the same lattice or another.

A flow sweep runs the same geometry at several flows. Each run may start from the previous run's
converged field instead of from rest: the field is kept in physical units (:class:`InitialField`:
pressure in Pa and velocity in m/s per fluid cell), scaled to the new flow (velocity and pressure
in proportion to the flow ratio, a first guess that the solver then corrects), converted to the
new run's lattice units (which differ from run to run, since the time step follows the flow) and
loaded as equilibrium populations. The run then starts at full boundary strength, without the
start-up ramp.

A field of another lattice of the same geometry (a coarse-to-fine start: the same airway solved at
twice the spacing first, see :func:`rhinoapp.cfd.simulation.simulate`) is carried over by
:func:`field_on_lattice`: each target cell takes the trilinear interpolation of the source cells
around its position (LPS millimetres), weighted over those of the eight that are fluid, or the
value of the nearest source cell where none of them is (a passage the coarse lattice closed).

Examples
--------
>>> from rhinoapp.cfd.units import LatticeParameters
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
from scipy import ndimage

from rhinoapp.cfd.lattice import BLOCK, Q, equilibrium_deviation
from rhinoapp.cfd.setup import SparseLattice
from rhinoapp.cfd.units import LatticeParameters
from rhinoapp.core.errors import SimulationError

__all__ = ["InitialField", "field_on_lattice", "initial_populations"]


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


def field_on_lattice(field: InitialField, source: SparseLattice, target: SparseLattice) -> InitialField:
    """``field`` of the ``source`` lattice's cells carried over to the ``target`` lattice (same geometry in LPS
    millimetres, any spacing): trilinear over the fluid source cells around each target cell, the nearest
    source cell where none of the eight is fluid.

    Examples
    --------
    >>> from rhinoapp.cfd.setup import build_lattice
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> coarse = build_lattice(square_duct(4, 8, spacing_mm=1.0))
    >>> fine = build_lattice(square_duct(4, 8, spacing_mm=1.0).resampled(0.5))
    >>> z = coarse.cell_coordinates()[:, 2].astype(float)  # a pressure that falls along the duct
    >>> field = InitialField(10.0 - z, np.zeros((3, coarse.n_cells)), flow_ml_s=5.0)
    >>> carried = field_on_lattice(field, coarse, fine)
    >>> carried.pressure_pa.shape == (fine.n_cells,)
    True
    >>> np.unique(carried.pressure_pa)[:4].tolist()  # linear inside, the end cells' value beyond them
    [2.0, 2.25, 2.75, 3.25]
    """
    n = source.n_cells
    if field.pressure_pa.shape != (n,) or field.velocity_m_s.shape != (3, n):
        raise SimulationError(f"the field has {field.pressure_pa.shape[0]} cells but its lattice {n}: carry over "
                              "the field of the lattice it was computed on")
    grid = source.domain.geometry
    shape = grid.shape  # (k, j, i)
    values = np.concatenate([np.asarray(field.pressure_pa, dtype=np.float64)[None],
                             np.asarray(field.velocity_m_s, dtype=np.float64)])
    flat = np.zeros((4, int(np.prod(shape))))
    flat[:, source.voxels] = values
    fluid = np.zeros(int(np.prod(shape)), dtype=bool)
    fluid[source.voxels] = True
    position = grid.physical_to_index(target.domain.geometry.index_to_physical(target.cell_coordinates()))
    low = np.floor(position).astype(np.int64)
    fraction = position - low
    limits = np.asarray(shape[::-1]) - 1  # (i, j, k) bounds
    total = np.zeros((4, target.n_cells))
    weights = np.zeros(target.n_cells)
    for corner in np.ndindex(2, 2, 2):
        index = low + np.asarray(corner)
        inside = np.all((index >= 0) & (index <= limits), axis=1)
        index = np.clip(index, 0, limits)
        voxel = (index[:, 2] * shape[1] + index[:, 1]) * shape[2] + index[:, 0]
        weight = np.prod(np.where(np.asarray(corner) == 1, fraction, 1.0 - fraction), axis=1)
        weight = weight * (inside & fluid[voxel])
        total += weight * flat[:, voxel]
        weights += weight
    missing = weights <= 1e-12
    result = total / np.maximum(weights, 1e-300)
    if missing.any():  # where the source lattice has no air around: its nearest fluid cell
        nearest = ndimage.distance_transform_edt(~fluid.reshape(shape), return_distances=False, return_indices=True)
        at = np.clip(np.rint(position[missing]).astype(np.int64), 0, limits)
        k, j, i = (nearest[axis][at[:, 2], at[:, 1], at[:, 0]] for axis in range(3))
        result[:, missing] = flat[:, (k * shape[1] + j) * shape[2] + i]
    return InitialField(result[0], result[1:], field.flow_ml_s)
