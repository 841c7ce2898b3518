"""NumPy reference backend: the equations of :mod:`rhinoapp.cfd.backends.base` in array form.

Written for clarity, with the velocity set as matrices, not for speed (a few MLUPS); it is the
reference the fast backends are tested against.
"""

from __future__ import annotations

import numpy as np

from rhinoapp.cfd.backends.base import Backend, BoundaryKind, BoundaryValues, KernelParameters, interpolate_walls
from rhinoapp.cfd.lattice import BLOCK, OPPOSITE, Q, VELOCITIES, WEIGHTS
from rhinoapp.cfd.setup import SparseLattice, address

__all__ = ["NumpyBackend"]

_C = VELOCITIES.astype(np.float32)
_W = WEIGHTS.astype(np.float32)


def _third_order_basis() -> np.ndarray:
    """The six third-order Hermite combinations D3Q19 carries, ``H_xxy + H_yzz``, ``H_xzz + H_xyy``,
    ``H_yyz + H_xxz`` and the three differences, per velocity ``(6, Q)``, each over its lattice norm
    ``sum_i w_i H_i^2`` (2/27 and 2/9), so that ``w_i sum_k basis[k, i] A_k`` has the moments ``A_k``."""
    c = VELOCITIES.astype(np.float64)

    def h3(a: int, b: int, g: int) -> np.ndarray:
        d = np.eye(3)
        value: np.ndarray = c[:, a] * c[:, b] * c[:, g] - (c[:, a] * d[b, g] + c[:, b] * d[a, g] + c[:, g] * d[a, b]) / 3.0
        return value

    x, y, z = 0, 1, 2
    pairs = ((h3(x, x, y), h3(y, z, z)), (h3(x, z, z), h3(x, y, y)), (h3(y, y, z), h3(x, x, z)))
    rows = np.array([p + q for p, q in pairs] + [p - q for p, q in pairs])
    basis: np.ndarray = rows / np.sum(WEIGHTS * rows * rows, axis=1, keepdims=True)
    return basis


_H3 = _third_order_basis().astype(np.float32)


def _third_moments(u: np.ndarray, rho: np.ndarray, post: np.ndarray) -> np.ndarray:
    """The six combinations of third moments after a recursive-regularized collision: ``rho u_a u_b u_g`` plus
    ``u_a P_bg + u_b P_ag + u_g P_ab`` of the post-collision non-equilibrium momentum flux ``post``."""
    def moment(a: int, b: int, g: int) -> np.ndarray:
        value: np.ndarray = rho * u[a] * u[b] * u[g] + u[a] * post[b, g] + u[b] * post[a, g] + u[g] * post[a, b]
        return value

    x, y, z = 0, 1, 2
    pairs = ((moment(x, x, y), moment(y, z, z)), (moment(x, z, z), moment(x, y, y)),
             (moment(y, y, z), moment(x, x, z)))
    return np.stack([p + q for p, q in pairs] + [p - q for p, q in pairs])


class NumpyBackend(Backend):
    """Pure NumPy backend (FP32 populations, FP64 boundary moments and sums).

    Examples
    --------
    >>> from rhinoapp.cfd.setup import build_lattice
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> backend = NumpyBackend(build_lattice(square_duct(3, 2, periodic=True)), KernelParameters(tau=0.8),
    ...                        BoundaryValues.closed())
    >>> backend.advance(np.ones(2)); backend.max_speed()
    0.0
    """

    name = "numpy"

    def __init__(self, lattice: SparseLattice, params: KernelParameters, boundary: BoundaryValues,
                 *, threads: int | None = None) -> None:
        super().__init__(lattice, params, boundary, threads=threads)
        nb = lattice.n_blocks
        own = address(0, np.arange(nb * BLOCK)).reshape(nb, 1, BLOCK)
        self._source = np.concatenate([own, lattice.gather.reshape(nb, Q - 1, BLOCK)], axis=1).ravel()
        self._g = np.zeros(lattice.population_size, dtype=np.float32)
        link_cells = lattice.link_cells()
        self._slots = address(OPPOSITE[lattice.link_q], link_cells)
        self._cell_slots = address(np.arange(Q)[:, None], lattice.boundary_cells[None, :])
        self._link_row = np.repeat(np.arange(lattice.boundary_cells.size), np.diff(lattice.link_start))
        self._flux = np.zeros(3)
        self._pressure = np.zeros(3)
        self._steps = 0
        self._tau_cell = params.cell_tau(nb * BLOCK)
        # running mean of Pi_neq / (rho tau) per cell (xx, yy, zz, xy, xz, yz), shear-improved model only
        self._strain = np.zeros((6, nb * BLOCK) if params.shear_improved else (6, 0), dtype=np.float32)

    def _load(self, g: np.ndarray) -> None:
        self._g = np.array(g, dtype=np.float32, copy=True)

    def get_state(self) -> np.ndarray:
        return self._g.copy()

    def live_state(self) -> np.ndarray:
        return self._g

    def advance(self, scales: np.ndarray) -> None:
        scales = np.asarray(scales, dtype=np.float64)
        for scale, rate in zip(scales, self._strain_rate_per_step(scales.size)):
            new = np.empty_like(self._g)
            new[:self.lattice.ghost_start] = self._stream_collide(self._g[self._source], rate)
            self._g = new
            self._open_boundaries(float(scale))
            if self.params.walls is not None:
                walls = self.params.walls
                interpolate_walls(self._g, walls.slot, walls.second, walls.near, walls.far, walls.rest, walls.start)
            self._steps += 1

    def take_diagnostics(self) -> tuple[np.ndarray, np.ndarray, int]:
        result = (self._flux.copy(), self._pressure.copy(), self._steps)
        self._flux[:] = 0.0
        self._pressure[:] = 0.0
        self._steps = 0
        return result

    def max_speed(self) -> float:
        g = self._per_direction(self._g[:self.lattice.ghost_start])
        if not np.all(np.isfinite(g)):
            return float("nan")
        g = g.astype(np.float64)
        u = (_C.T.astype(np.float64) @ g) / (1.0 + g.sum(axis=0))
        return float(np.sqrt(np.max(np.sum(u * u, axis=0)))) if g.size else 0.0

    def _per_direction(self, flat: np.ndarray) -> np.ndarray:
        nb = self.lattice.n_blocks
        return flat.reshape(nb, Q, BLOCK).transpose(1, 0, 2).reshape(Q, nb * BLOCK)

    def _stream_collide(self, pulled: np.ndarray, strain_rate: float) -> np.ndarray:
        p = self.params
        g = self._per_direction(pulled)
        drho = g.sum(axis=0)
        rho = np.float32(1.0) + drho
        force = np.asarray(p.force, dtype=np.float32).reshape(3, 1)
        u = (_C.T @ g + np.float32(0.5) * force) / rho
        cu = _C @ u
        usq = np.sum(u * u, axis=0)
        eq = _W[:, None] * (drho + rho * (np.float32(3.0) * cu + np.float32(4.5) * cu * cu - np.float32(1.5) * usq))
        omega = np.full(drho.shape, p.omega, dtype=np.float32)
        sym = np.float32(0.5) * (g + g[OPPOSITE])
        anti = np.float32(0.5) * (g - g[OPPOSITE])
        eq_sym = np.float32(0.5) * (eq + eq[OPPOSITE])
        eq_anti = np.float32(0.5) * (eq - eq[OPPOSITE])
        if p.local_tau:  # Smagorinsky and/or sponge, with the regularized symmetric part
            pi = np.einsum("qa,qb,qn->abn", _C, _C, g - eq)
            norm = np.sqrt(np.sum(pi * pi, axis=(0, 1)))
            tau0 = self._tau_cell
            if p.shear_improved:
                mean = self._strain
                mean_norm = np.sqrt(np.sum(mean[:3] ** 2, axis=0) + np.float32(2.0) * np.sum(mean[3:] ** 2, axis=0))
                # tau0 + 3 C^2 |<S>|, with |S| = 3/sqrt(2) |Pi_neq| / (rho tau)
                b = tau0 - np.float32(9.0 / np.sqrt(2.0) * p.smagorinsky**2) * mean_norm
                tau = np.maximum(tau0, np.float32(0.5) * (b + np.sqrt(b * b + np.float32(18.0 * np.sqrt(2.0)
                                                                                         * p.smagorinsky**2) * norm / rho)))
                scaled = np.stack([pi[0, 0], pi[1, 1], pi[2, 2], pi[0, 1], pi[0, 2], pi[1, 2]]) / (rho * tau)
                self._strain = (mean + np.float32(strain_rate) * (scaled - mean)).astype(np.float32)
            else:
                tau = np.float32(0.5) * (tau0 + np.sqrt(tau0 * tau0 + np.float32(18.0 * np.sqrt(2.0) * p.smagorinsky**2)
                                                       * norm / rho))
            omega = np.float32(1.0) / tau
            trace = np.trace(pi) / np.float32(3.0)
            keep = np.float32(1.0) - omega
            if p.bulk_omega:  # the deviatoric part relaxed with omega, the trace with the bulk rate
                keep_bulk = np.float32(1.0 - p.bulk_omega)
                identity = np.eye(3, dtype=np.float32)[:, :, None]
                post = keep * (pi - trace * identity) + keep_bulk * trace * identity
                collided = eq_sym + np.float32(4.5) * _W[:, None] * (np.einsum("qa,qb,abn->qn", _C, _C, post)
                                                                     - keep_bulk * trace)
            else:
                post = keep * pi
                sym = eq_sym + np.float32(4.5) * _W[:, None] * (np.einsum("qa,qb,abn->qn", _C, _C, pi) - trace)
                collided = sym - omega * (sym - eq_sym)
        else:
            collided = sym - omega * (sym - eq_sym)
        omega_minus = np.float32(1.0) / (np.float32(p.magic) / (np.float32(1.0) / omega - np.float32(0.5))
                                         + np.float32(0.5))
        if p.recursive:  # the odd part rebuilt: first order at equilibrium, third order recursive
            omega_minus = np.ones_like(omega)
            out = collided + eq_anti + _W[:, None] * (_H3.T @ _third_moments(u, rho, post))
        else:
            out = collided + anti - omega_minus * (anti - eq_anti)
        if p.has_force:
            cf = _C @ force
            source_sym = _W[:, None] * (np.float32(9.0) * cu * cf - np.float32(3.0) * np.sum(u * force, axis=0))
            source_anti = _W[:, None] * np.float32(3.0) * cf
            out += (np.float32(1.0) - np.float32(0.5) * omega) * source_sym
            out += (np.float32(1.0) - np.float32(0.5) * omega_minus) * source_anti
        nb = self.lattice.n_blocks
        result: np.ndarray = out.astype(np.float32).reshape(Q, nb, BLOCK).transpose(1, 0, 2).ravel()
        return result

    def _open_boundaries(self, scale: float) -> None:
        lattice = self.lattice
        if lattice.n_links == 0:
            return
        g = self._g
        f = g[self._cell_slots].astype(np.float64)
        drho = f.sum(axis=0)
        u = (VELOCITIES.T.astype(np.float64) @ f) / (1.0 + drho)
        row = self._link_row
        opening = lattice.link_opening.astype(np.int64)
        c = VELOCITIES[lattice.link_q].astype(np.float64)
        w = WEIGHTS[lattice.link_q]
        kinds = self.boundary.kinds[opening]
        values = self.boundary.values[opening] * scale
        out = g[self._slots].astype(np.float64)
        cu = np.einsum("li,il->l", c, u[:, row])
        usq = np.sum(u[:, row] ** 2, axis=0)
        rho_w = values[:, 0]
        pressure = -out + 2.0 * w * (rho_w + (1.0 + rho_w) * (4.5 * cu * cu - 1.5 * usq))
        velocity = out + 6.0 * w * np.einsum("li,li->l", c, values[:, 1:])
        new = np.where(kinds == BoundaryKind.PRESSURE, pressure,
                       np.where(kinds == BoundaryKind.VELOCITY, velocity, out))
        g[lattice.ghost_start:] = new.astype(np.float32)
        self._flux += np.bincount(opening, weights=out - new.astype(np.float32), minlength=3)
        self._pressure += np.bincount(opening, weights=self.link_area * drho[row], minlength=3)
