"""Numba backend: parallel CPU kernels (the default on CPUs); see :mod:`.numba_kernels`."""

from __future__ import annotations

import logging
import math
import time

import numba
import numpy as np
from numba import njit, prange

from rhinoapp.cfd.backends import numba_kernels as kernels
from rhinoapp.cfd.backends.base import Backend, BoundaryValues, KernelParameters
from rhinoapp.cfd.backends.numba_windows import WindowTables, build_window_tables, host_has_vector_permute
from rhinoapp.cfd.backends.thread_tuner import OtherLoad, ThreadTuner
from rhinoapp.cfd.lattice import BLOCK, Q, VELOCITIES
from rhinoapp.cfd.setup import SparseLattice

__all__ = ["NumbaBackend", "lattice_max_speed"]

_log = logging.getLogger(__name__)
#: Cell updates of a batch below which its speed is not measured (too short to time).
_TIMED_UPDATES = 2_000_000

_CX = tuple(int(v) for v in VELOCITIES[:, 0])
_CY = tuple(int(v) for v in VELOCITIES[:, 1])
_CZ = tuple(int(v) for v in VELOCITIES[:, 2])


class NumbaBackend(Backend):
    """Numba ``@njit(parallel=True)`` backend; the first use of a variant compiles it (cached on disk).

    Examples
    --------
    >>> from rhinoapp.cfd.setup import build_lattice
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> backend = NumbaBackend(build_lattice(square_duct(3, 2, periodic=True)), KernelParameters(tau=0.8),
    ...                        BoundaryValues.closed())
    >>> backend.advance(np.ones(3)); backend.max_speed()
    0.0
    """

    name = "numba"

    def __init__(self, lattice: SparseLattice, params: KernelParameters, boundary: BoundaryValues,
                 *, threads: int | None = None, windows: bool | None = None) -> None:
        super().__init__(lattice, params, boundary, threads=threads)
        available: int = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]  # set by numba's reload_config
        # a parallel step costs a fork and join; small lattices run faster on fewer threads
        self._threads = min(int(threads), available) if threads else max(1, min(available, lattice.n_cells // 8192))
        # threads given by the user are kept; else one fewer while another process holds a core (faster then)
        self.tuner = None if threads else ThreadTuner(self._threads)
        self._other_load = OtherLoad()  # read only while tuning
        # the kernels write whole blocks with streaming stores, which need 64-byte aligned arrays
        self._g = [kernels.aligned_zeros(lattice.population_size), kernels.aligned_zeros(lattice.population_size)]
        self._current = 0
        use_windows = host_has_vector_permute() if windows is None else bool(windows)
        tables = (build_window_tables(lattice.gather, lattice.n_blocks, lattice.ghost_start) if use_windows
                  else WindowTables.empty())
        self.windows = tables
        self._windows = (tables.chunk0, tables.delta, tables.lanes, tables.fallback)
        self._flux = np.zeros(3)
        self._pressure = np.zeros(3)
        self._steps = 0
        self._kernel = {(False, False, False): kernels.run_steps_plain, (True, False, False): kernels.run_steps_force,
                        (False, True, False): kernels.run_steps_smag, (True, True, False): kernels.run_steps_smag_force,
                        (False, True, True): kernels.run_steps_smag_rec,
                        (True, True, True): kernels.run_steps_smag_force_rec,
                        }[(params.has_force, params.local_tau, params.recursive)]
        self._tau_cell = params.cell_tau(lattice.n_blocks * BLOCK)
        # running strain mean of the shear-improved model, in blocks like the populations (a dummy block if off)
        self._strain = np.zeros((lattice.n_blocks if params.shear_improved else 1, 6, BLOCK), dtype=np.float32)
        f32 = np.float32
        fx, fy, fz = params.force
        self._scalars = (f32(params.tau), f32(params.omega), f32(params.omega_minus), f32(params.magic),
                         f32(params.smagorinsky), f32(params.strain_average if params.shear_improved else 0.0),
                         f32(params.bulk_omega),
                         f32(fx), f32(fy), f32(fz))
        self._links = (lattice.boundary_cells.astype(np.int32), lattice.link_start.astype(np.int32),
                       lattice.link_q.astype(np.int8), lattice.link_opening.astype(np.int8),
                       self.link_area.astype(np.float64), boundary.kinds.astype(np.int8),
                       boundary.values.astype(np.float64))
        walls = params.walls if params.interpolated_walls else None
        index, weight = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        self._walls = ((index, index, weight, weight, weight, index, index) if walls is None else
                       (walls.slot.astype(np.int64), walls.second.astype(np.int64), walls.near.astype(np.float32),
                        walls.far.astype(np.float32), np.zeros(walls.size, dtype=np.float32),
                        walls.rest.astype(np.int64), walls.start.astype(np.int64)))

    def _load(self, g: np.ndarray) -> None:
        self._g[self._current][:] = np.asarray(g, dtype=np.float32)

    def get_state(self) -> np.ndarray:
        return self._g[self._current].copy()

    def live_state(self) -> np.ndarray:
        live: np.ndarray = self._g[self._current]
        return live

    def advance(self, scales: np.ndarray) -> None:
        scales = np.ascontiguousarray(scales, dtype=np.float64)
        if scales.size == 0:
            return
        previous = numba.get_num_threads()
        threads = self.tuner.next_threads() if self.tuner is not None else self._threads
        numba.set_num_threads(threads)
        try:
            # the same chunks whatever the thread count: each cell's update is its own, the numbers never change
            chunks = max(1, min(self.lattice.n_blocks, 8 * self._threads))
            started = time.perf_counter()
            if self.tuner is not None:
                self._other_load.start()
            done = 0
            for count, rate in self._strain_rates(scales.size):  # the strain mean's rate, per run of steps
                scalars = (*self._scalars[:5], np.float32(rate), *self._scalars[6:])
                src, dst = self._g[self._current], self._g[1 - self._current]
                flipped = self._kernel(src, dst, self.lattice.gather, self._windows, self._tau_cell, self._strain,
                                       self.lattice.n_blocks, chunks, *scalars,
                                       *self._links, self._walls, scales[done:done + count], self._flux, self._pressure)
                self._current = (self._current + int(flipped)) % 2
                done += count
            elapsed = time.perf_counter() - started
        finally:
            numba.set_num_threads(previous)
        updates = scales.size * self.lattice.n_cells
        if self.tuner is not None and updates >= _TIMED_UPDATES and elapsed > 0:
            before, mlups = self.tuner.current, updates / elapsed / 1e6
            self.tuner.record(threads, mlups, others=self._other_load.cores())
            if self.tuner.current != before:
                _log.info("the solver continues on %d of %d threads (%.1f million cell updates per second on %d): "
                          "%s", self.tuner.current, self._threads, mlups, threads,
                          "another process holds a core" if self.tuner.current < self._threads else "the cores are free")
        self._steps += scales.size

    def take_diagnostics(self) -> tuple[np.ndarray, np.ndarray, int]:
        result = (self._flux.copy(), self._pressure.copy(), self._steps)
        self._flux[:] = 0.0
        self._pressure[:] = 0.0
        self._steps = 0
        return result

    def max_speed(self) -> float:
        return float(lattice_max_speed(self._g[self._current], self.lattice.n_cells))


@njit(parallel=True, cache=True, error_model="numpy")
def lattice_max_speed(g: np.ndarray, n_cells: int) -> float:
    """Largest lattice speed (FP64) over the first ``n_cells`` cells; NaN if any value is not finite."""
    n_blocks = (n_cells + BLOCK - 1) // BLOCK
    best = np.zeros(n_blocks)
    for b in prange(n_blocks):
        top = 0.0
        for n in range(min(BLOCK, n_cells - b * BLOCK)):
            base = b * Q * BLOCK + n
            drho = 0.0
            jx = 0.0
            jy = 0.0
            jz = 0.0
            bad = False
            for q in range(Q):
                v = np.float64(g[base + q * BLOCK])
                if not math.isfinite(v):
                    bad = True
                drho += v
                jx += v * _CX[q]
                jy += v * _CY[q]
                jz += v * _CZ[q]
            if bad:
                top = np.nan
                break
            speed2 = (jx * jx + jy * jy + jz * jz) / ((1.0 + drho) * (1.0 + drho))
            if speed2 > top:
                top = speed2
        best[b] = top
    result = 0.0
    for b in range(n_blocks):
        if not best[b] <= result:
            result = best[b]
    return math.sqrt(result)
