"""What every backend implements, and the values its kernels take.

One set of equations on every backend (see :mod:`rhinoapp.cfd.lattice` for the stored form):

* **Stream (pull) and collide, fused.** Gather the 18 moving populations through the gather table,
  compute ``drho`` and ``u = (j + F/2) / rho``, relax with TRT: the symmetric part with
  ``omega+ = 1/tau`` (viscosity), the antisymmetric part with ``omega-`` from the magic parameter
  ``Lambda = (1/omega+ - 1/2)(1/omega- - 1/2)``; with a body force add Guo's source split the same
  way. With a Smagorinsky constant ``C`` the local relaxation time is
  ``tau = (tau0 + sqrt(tau0^2 + 18 sqrt(2) C^2 |Pi_neq| / rho)) / 2`` from the non-equilibrium
  momentum flux. With a strain-average rate ``eps > 0`` the model is *shear-improved* (Leveque,
  Toschi, Shao and Bertoglio 2007): the eddy viscosity is ``(C h)^2 max(|S| - |<S>|, 0)``, with
  ``<S>`` a per-cell exponential running mean of the strain-rate tensor (stored as
  ``Pi_neq / (rho tau)``, updated every step by ``<X> += eps (X - <X>)``; after populations of a
  developed flow are loaded the first steps take larger rates, :func:`strain_mean_rates`), so steady
  laminar shear gets none; the relaxation time is then the larger of ``tau0`` and the root of
  ``tau^2 - (tau0 - 3 C^2 |<S>|) tau - 9/sqrt(2) C^2 |Pi_neq| / rho = 0``.
* **Open boundaries**, after each step, on the slot ``opposite(q)`` of the boundary cell that the
  next pull reads: pressure (anti-bounce-back) ``g_q = -g*_opp + 2 w_q (drho_w + rho_w (9/2 (c.u)^2 -
  3/2 u^2))`` with ``u`` the cell's velocity; velocity (moving bounce-back) ``g_q = g*_opp + 6 w_q
  (c_q . u_w)``. Each link adds its net outflow ``g*_opp - g_q`` to its opening's flux, and
  ``link_area * drho`` of its cell to its opening's pressure sum.
* **Interpolated walls** (optional, :mod:`rhinoapp.cfd.walls`), after the open boundaries: every
  interpolated wall link overwrites the slot its cell pulls back from the wall with
  ``near * g[slot] + far * g[second]`` (all sources read before any slot is written; the same array
  code on NumPy and CuPy, :func:`interpolate_walls`). The stored populations of a wall cell then hold
  that value in place of the post-collision population that left towards the wall.
"""

from __future__ import annotations

import abc
import enum
import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rhinoapp.cfd.lattice import VELOCITIES, WEIGHTS
from rhinoapp.cfd.setup import SparseLattice
from rhinoapp.cfd.walls import WallLinks

__all__ = ["Backend", "BoundaryKind", "BoundaryValues", "KernelParameters", "interpolate_walls", "strain_mean_rates"]


class BoundaryKind(enum.IntEnum):
    """Condition on an opening."""

    NONE = 0
    PRESSURE = 1
    VELOCITY = 2


@dataclass(frozen=True, eq=False)
class KernelParameters:
    """Collision parameters in lattice units.

    ``tau_cells`` optionally gives every cell its own base relaxation time (a sponge of higher
    viscosity next to the openings); it then takes the place of ``tau`` in the collision.
    ``strain_average`` (the rate ``eps`` of the running strain mean, 0 for the plain model) makes
    the Smagorinsky model shear-improved. ``bulk_omega`` (0: ``1/tau`` as the shear part) relaxes the
    trace of the non-equilibrium momentum flux in the regularized collision (Smagorinsky or sponge)
    at its own rate: below ``1/tau`` it raises the bulk viscosity, which damps acoustic waves.
    ``recursive`` selects recursive regularization (Malaspinas 2015; Coreixas et al. 2017): the
    antisymmetric part is rebuilt from the equilibrium with its third-order Hermite terms
    ``rho u u u`` and the non-equilibrium third moments ``u P + P u + ...`` of the regularized
    momentum flux ``P``, as far as D3Q19 carries them (six combinations), instead of being relaxed
    with ``omega-``; it always uses the regularized collision. ``walls`` (None: half-way bounce-back
    everywhere) are the interpolated wall links applied after every step.

    Examples
    --------
    >>> p = KernelParameters(tau=0.8)
    >>> round(p.omega_minus, 6)
    0.888889
    """

    tau: float
    magic: float = 3.0 / 16.0
    smagorinsky: float = 0.0
    force: tuple[float, float, float] = (0.0, 0.0, 0.0)
    tau_cells: np.ndarray | None = None
    strain_average: float = 0.0
    bulk_omega: float = 0.0
    recursive: bool = False
    walls: WallLinks | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.tau) and self.tau > 0.5):
            raise ValueError(f"tau must exceed 0.5 (positive viscosity), got {self.tau}")
        if not 0.0 <= self.bulk_omega < 2.0:
            raise ValueError(f"the bulk relaxation rate must lie in [0, 2) (0: the shear rate), got {self.bulk_omega}")
        if not 0.0 <= self.strain_average <= 1.0:
            raise ValueError(f"the strain-average rate must lie in [0, 1], got {self.strain_average}")
        object.__setattr__(self, "force", tuple(float(f) for f in self.force))

    @property
    def omega(self) -> float:
        """Symmetric relaxation rate ``1 / tau``."""
        return 1.0 / self.tau

    @property
    def omega_minus(self) -> float:
        """Antisymmetric relaxation rate from the magic parameter."""
        return 1.0 / (self.magic / (self.tau - 0.5) + 0.5)

    @property
    def local_tau(self) -> bool:
        """True if the collision is the regularized one with a per-cell relaxation time (Smagorinsky, a sponge,
        or recursive regularization)."""
        return self.smagorinsky > 0 or self.tau_cells is not None or self.recursive

    def cell_tau(self, n_padded: int) -> np.ndarray:
        """Base relaxation time of every cell (padding included), FP32."""
        tau = np.full(n_padded, self.tau, dtype=np.float32)
        if self.tau_cells is not None:
            tau[:len(self.tau_cells)] = self.tau_cells
        return tau

    def digest(self) -> str:
        """Text that identifies these parameters (for checkpoints)."""
        cells = "" if self.tau_cells is None else hashlib.sha256(np.asarray(self.tau_cells, np.float32).tobytes()).hexdigest()
        # the defaults keep their digests (checkpoints of earlier runs stay valid)
        extra = (((self.strain_average,) if self.shear_improved else ()) + ((self.bulk_omega,) if self.bulk_omega else ())
                 + (("recursive",) if self.recursive else ())
                 + ((("walls", self.walls.digest()),) if self.walls is not None and self.walls.size else ()))
        return repr((self.tau, self.magic, self.smagorinsky, self.force, cells, *extra))

    @property
    def shear_improved(self) -> bool:
        """True if the Smagorinsky viscosity is taken from the strain less its running mean."""
        return self.smagorinsky > 0 and self.strain_average > 0

    @property
    def interpolated_walls(self) -> bool:
        """True if some wall links bounce back at an interpolated wall."""
        return self.walls is not None and self.walls.size > 0

    @property
    def has_force(self) -> bool:
        """True if a body force acts."""
        return any(f != 0.0 for f in self.force)


@dataclass(frozen=True, eq=False)
class BoundaryValues:
    """Per opening (in :class:`~rhinoapp.cfd.domain.Opening` order): the kind and its target values.

    ``values[o] = (drho_w, ux, uy, uz)`` at full strength; each step multiplies them by a ramp factor.

    Examples
    --------
    >>> bc = BoundaryValues.closed()
    >>> bc.kinds.tolist(), bc.values.shape
    ([0, 0, 0], (3, 4))
    """

    kinds: np.ndarray = field(default_factory=lambda: np.zeros(3, dtype=np.int8))
    values: np.ndarray = field(default_factory=lambda: np.zeros((3, 4)))

    @classmethod
    def closed(cls) -> BoundaryValues:
        """No open boundary (periodic flows)."""
        return cls()


def interpolate_walls(g: Any, slot: Any, second: Any, near: Any, far: Any, rest: Any = None, start: Any = None) -> None:
    """Overwrite ``g[slot]`` with ``near * g[slot] + far * g[second]``, every source read first; given ``rest``
    and ``start`` (see :class:`~rhinoapp.cfd.walls.WallLinks`), add what each cell's links took from ``g[slot]``
    to its rest population ``g[rest]``.

    Array code that NumPy and CuPy run alike (all arguments of one array library).

    Examples
    --------
    >>> g = np.array([1.0, 2.0, 4.0, 0.0], dtype=np.float32)
    >>> slot, second = np.array([0, 1]), np.array([1, 2])
    >>> near, far = np.float32([0.5, 0.25]), np.float32([0.5, 0.75])
    >>> interpolate_walls(g, slot, second, near, far)
    >>> g.tolist()
    [1.5, 3.5, 4.0, 0.0]
    >>> g = np.array([1.0, 2.0, 4.0, 0.0], dtype=np.float32)
    >>> interpolate_walls(g, slot, second, near, far, np.array([3]), np.array([0, 2]))
    >>> g.tolist(), float(g.sum())
    ([1.5, 3.5, 4.0, -2.0], 7.0)
    """
    if not len(slot):
        return
    new = near * g[slot] + far * g[second]
    if rest is not None and len(rest):
        taken = (g[slot] - new).astype(np.float64).cumsum()  # per cell: the sum over its links, from the running sum
        last = taken[start[1:] - 1]
        before = taken[start[:-1] - 1] * (start[:-1] > 0)
        g[slot] = new
        g[rest] += (last - before).astype(g.dtype)
    else:
        g[slot] = new


def strain_mean_rates(done: int, steps: int, rate: float) -> list[tuple[int, float]]:
    """The rates of the running strain mean for ``steps`` steps after the ``done`` steps since it restarted:
    runs of ``(steps, rate)``.

    A run that starts from a developed flow (a coarse start, the next flow of a sweep, a resumed run) must not
    average its strain from zero: an exponential mean that starts at zero puts the whole strain into the
    shear-improved eddy viscosity and takes it out only over ``1 / rate`` steps (a quarter of a flow-through
    time), which drags the pressure drop down slowly over a flow-through time while the steady-state test
    waits. Instead step ``k`` after the restart takes the rate ``1 / 2**floor(log2 k)`` (1 on the first step, so
    the mean is that step's strain, then about the plain mean of the steps so far) until that falls to ``rate``.

    Examples
    --------
    >>> strain_mean_rates(0, 10, 0.2)
    [(1, 1.0), (2, 0.5), (4, 0.25), (3, 0.2)]
    >>> strain_mean_rates(2, 3, 0.1)   # steps 3, 4 and 5
    [(1, 0.5), (2, 0.25)]
    >>> strain_mean_rates(50, 4, 0.1)
    [(4, 0.1)]
    """
    runs: list[tuple[int, float]] = []
    step, end = done + 1, done + steps
    while step <= end:
        power = 1 << (step.bit_length() - 1)  # the run [power, 2 power) holds step
        current = max(rate, 1.0 / power)
        last = end if current == rate else min(end, 2 * power - 1)
        if runs and runs[-1][1] == current:
            runs[-1] = (runs[-1][0] + last - step + 1, current)
        else:
            runs.append((last - step + 1, current))
        step = last + 1
    return runs


class Backend(abc.ABC):
    """A compute backend holding one lattice's populations.

    Parameters
    ----------
    lattice
        The sparse lattice.
    params
        Collision parameters.
    boundary
        Open boundary conditions.
    threads
        CPU threads where the backend uses them.
    """

    name: str = "abstract"

    def __init__(self, lattice: SparseLattice, params: KernelParameters, boundary: BoundaryValues,
                 *, threads: int | None = None) -> None:
        self.lattice = lattice
        self.params = params
        self.boundary = boundary
        self.threads = threads
        self.link_area = 6.0 * WEIGHTS[lattice.link_q] * np.abs(np.einsum(
            "ij,ij->i", VELOCITIES[lattice.link_q].astype(np.float64), lattice.opening_normal[lattice.link_opening]))
        self.pressure_weight = np.bincount(lattice.link_opening, weights=self.link_area, minlength=3)
        # steps since the populations were loaded (None: from rest, where the strain mean may start at zero)
        self._strain_steps: int | None = None

    def _strain_rates(self, steps: int) -> list[tuple[int, float]]:
        """Runs of ``(steps, strain-mean rate)`` for the next ``steps`` steps (:func:`strain_mean_rates` after
        :meth:`set_state`, the configured rate from rest or once that has caught up)."""
        rate = self.params.strain_average if self.params.shear_improved else 0.0
        if self._strain_steps is None or rate <= 0.0:
            return [(steps, rate)] if steps else []
        runs = strain_mean_rates(self._strain_steps, steps, rate)
        self._strain_steps += steps
        if self._strain_steps * rate >= 1.0:
            self._strain_steps = None
        return runs

    def _strain_rate_per_step(self, steps: int) -> np.ndarray:
        """The strain mean's rate of each of the next ``steps`` steps (FP32; :meth:`_strain_rates` per step), for
        backends that step one at a time."""
        runs = self._strain_rates(steps)
        return np.repeat(np.array([rate for _, rate in runs], dtype=np.float32), [count for count, _ in runs])

    def set_state(self, g: np.ndarray) -> None:
        """Load populations (FP32 deviations, :attr:`SparseLattice.population_size` long) of a developed flow:
        the running strain mean of the shear-improved model restarts from the next step's strain
        (:func:`strain_mean_rates`)."""
        self._load(g)
        self._strain_steps = 0

    @abc.abstractmethod
    def _load(self, g: np.ndarray) -> None:
        """Load populations (see :meth:`set_state`)."""

    @abc.abstractmethod
    def get_state(self) -> np.ndarray:
        """A host copy of the current populations."""

    def live_state(self) -> Any:
        """The current populations where the backend keeps them (host or device), to read before the next step.

        The run's time mean (:class:`~rhinoapp.cfd.solver.WindowMean`) adds them up there, so a GPU run copies
        nothing to the host per check. By default a host copy (:meth:`get_state`).
        """
        return self.get_state()

    def to_host(self, array: Any) -> np.ndarray:
        """An array made from :meth:`live_state`, on the host."""
        return np.asarray(array)

    @abc.abstractmethod
    def advance(self, scales: np.ndarray) -> None:
        """Run ``len(scales)`` steps; step ``s`` multiplies the boundary targets by ``scales[s]``."""

    @abc.abstractmethod
    def take_diagnostics(self) -> tuple[np.ndarray, np.ndarray, int]:
        """Sums since the last call: per-opening outflow, per-opening ``link_area * drho``, and steps."""

    @abc.abstractmethod
    def max_speed(self) -> float:
        """Largest lattice speed over all cells; NaN if any population is not finite."""

