"""Lattice-Boltzmann solver speed against this machine's memory-bandwidth bound.

In one run:

1. **Memory bandwidth**: a parallel copy of two large FP32 arrays (Numba, all cores), best of
   ``--repeats``, counted STREAM-style (bytes read + bytes written).
2. **Solver speed**: MFLUPS (million fluid-cell updates per second) of the chosen backend on a
   200 x 150 x 300 grid (i x j x k) with 15 % fluid (a smoothed random sponge, periodic), for the
   plain TRT kernel and for the production kernel (regularized TRT with Smagorinsky), best of
   ``--repeats`` runs of ``--steps`` steps.
3. The ratio to the bound ``bandwidth / 152 B`` (a D3Q19 FP32 update reads and writes 19
   populations), bytes of solver state per fluid cell (goal: at most 260), and the peak memory
   of the process.

Usage::

    .venv/bin/python benchmarks/bench_lbm.py [--backend numba] [--steps 40] [--repeats 3] [--threads N]

The machine may be shared: other processes lower both figures, bandwidth less than the kernel.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import numpy as np

BYTES_PER_UPDATE = 152  # 19 FP32 populations read and written
GRID = (300, 150, 200)  # [k, j, i]: 200 x 150 x 300 cells
FLUID_FRACTION = 0.15


def measure_bandwidth(n_bytes: int, repeats: int) -> float:
    """Best copy bandwidth in GB/s (read + write) with all Numba threads."""
    from numba import njit, prange

    @njit(parallel=True, fastmath=True)
    def copy(src: np.ndarray, dst: np.ndarray) -> None:
        for i in prange(src.size):
            dst[i] = src[i]

    src = np.ones(n_bytes // 4, dtype=np.float32)
    dst = np.zeros_like(src)
    copy(src, dst)
    best = 0.0
    for _ in range(repeats):
        started = time.perf_counter()
        copy(src, dst)
        best = max(best, 2 * src.nbytes / (time.perf_counter() - started) / 1e9)
    return best


def measure_solver(backend_name: str, lattice, params, steps: int, repeats: int,
                   threads: int | None) -> tuple[float, int, str]:
    """Best MFLUPS over ``repeats`` runs of ``steps`` steps (after one warm-up step), the solver
    state's bytes (populations, gather table, the Numba window tables, per-cell relaxation times)
    and how the kernel gathers."""
    from rhinoapp.cfd.backends import BoundaryValues, create_backend

    backend = create_backend(backend_name, lattice, params, BoundaryValues.closed(), threads=threads)
    backend.advance(np.ones(1))
    best = 0.0
    for _ in range(repeats):
        started = time.perf_counter()
        backend.advance(np.ones(steps))
        best = max(best, steps * lattice.n_cells / (time.perf_counter() - started) / 1e6)
    state = 2 * lattice.population_size * 4 + lattice.gather.nbytes
    state += lattice.n_blocks * 256 * 4 if params.local_tau else 0
    windows = getattr(backend, "windows", None)
    gather = "gather table"
    if windows is not None and windows.n_groups:
        state += windows.nbytes
        gather = f"vector windows, {100 * windows.fallback_fraction:.2f} % of groups from the gather table"
    return best, state, gather


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="numba", choices=["numpy", "numba", "cupy"])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--bandwidth-mb", type=int, default=800, help="size of each copied array")
    args = parser.parse_args(argv)

    import numba

    from rhinoapp.cfd.backends import KernelParameters
    from rhinoapp.cfd.domain import FlowDomain
    from rhinoapp.cfd.setup import build_lattice
    from rhinoapp.cfd.shapes import sponge_mask
    from rhinoapp.core.volume import ImageGeometry

    threads = args.threads or numba.config.NUMBA_NUM_THREADS
    numba.set_num_threads(threads)
    print(f"machine: {os.cpu_count()} CPUs, Numba threads {threads}; load average "
          f"{', '.join(f'{v:.2f}' for v in os.getloadavg())} (shared machines give noisy figures)")
    bandwidth = measure_bandwidth(args.bandwidth_mb * 1024 * 1024, args.repeats)
    bound = bandwidth * 1e9 / BYTES_PER_UPDATE / 1e6
    print(f"memory bandwidth (parallel copy, read + write): {bandwidth:.1f} GB/s -> bound {bound:.0f} MLUPS "
          f"at {BYTES_PER_UPDATE} B per update")

    mask = sponge_mask(GRID, FLUID_FRACTION, seed=1)
    empty = np.zeros_like(mask)
    domain = FlowDomain(mask, empty, empty, empty, ImageGeometry(GRID), periodic=(True, True, True))
    started = time.perf_counter()
    lattice = build_lattice(domain)
    print(f"grid {GRID[2]} x {GRID[1]} x {GRID[0]}, {lattice.n_cells:,} fluid cells "
          f"({100 * lattice.n_cells / mask.size:.1f} %), lattice built in {time.perf_counter() - started:.1f} s")
    for label, params in (("TRT", KernelParameters(tau=0.51)),
                          ("TRT + Smagorinsky (regularized, production)",
                           KernelParameters(tau=0.5018, magic=0.0009, smagorinsky=0.15))):
        mflups, state, gather = measure_solver(args.backend, lattice, params, args.steps, args.repeats, args.threads)
        print(f"{args.backend} {label}: {mflups:.1f} MFLUPS = {100 * mflups / bound:.1f} % of the bandwidth bound; "
              f"{state / lattice.n_cells:.0f} B of solver state per fluid cell ({gather})")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"peak memory of the process: {peak / 1e9:.2f} GB ({peak / lattice.n_cells:.0f} B per fluid cell, "
          "including the dense grid, setup temporaries and the bandwidth arrays)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
