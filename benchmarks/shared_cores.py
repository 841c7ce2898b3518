"""The CPU solver on a machine whose cores another process shares: fixed threads against the thread tuner.

In one run, on the production kernel (regularized TRT with Smagorinsky) over a 160 x 120 x 200
sponge of 15 % fluid (576,000 cells, as ``bench_lbm.py``):

1. the machine idle: all Numba threads fixed, then the tuner (:class:`~rhinoapp.cfd.backends.thread_tuner.ThreadTuner`,
   what a simulation uses unless ``--threads`` is given);
2. with ``--competitors`` busy processes (``yes``, one core each): the same two.

Each figure is the speed over ``--batches`` batches of ``--steps`` steps (as the solver runs them
between two convergence checks), in million cell updates per second; the ratios compare the
tuner with fixed threads in the same run and the same load.

Usage::

    .venv/bin/python benchmarks/shared_cores.py [--batches 30] [--steps 40] [--competitors 1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

GRID = (200, 120, 160)  # [k, j, i]


def speed(lattice, params, *, threads: int | None, batches: int, steps: int) -> tuple[float, list[int]]:
    """Million cell updates per second over ``batches`` batches (after one warm-up batch), and the threads used."""
    from rhinoapp.cfd.backends import BoundaryValues, create_backend

    backend = create_backend("numba", lattice, params, BoundaryValues.closed(), threads=threads)
    backend.advance(np.ones(steps))
    used = []
    started = time.perf_counter()
    for _ in range(batches):
        backend.advance(np.ones(steps))
        used.append(backend.tuner.current if backend.tuner is not None else backend._threads)
    return batches * steps * lattice.n_cells / (time.perf_counter() - started) / 1e6, used


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--competitors", type=int, default=1, help="busy processes while loaded")
    args = parser.parse_args(argv)

    import numba

    from rhinoapp.cfd.backends import KernelParameters
    from rhinoapp.cfd.domain import FlowDomain
    from rhinoapp.cfd.setup import build_lattice
    from rhinoapp.cfd.shapes import sponge_mask
    from rhinoapp.core.volume import ImageGeometry

    most = numba.config.NUMBA_NUM_THREADS
    mask = sponge_mask(GRID, 0.15, seed=1)
    empty = np.zeros_like(mask)
    lattice = build_lattice(FlowDomain(mask, empty, empty, empty, ImageGeometry(GRID), periodic=(True, True, True)))
    params = KernelParameters(tau=0.5018, magic=0.0009, smagorinsky=0.15)
    print(f"machine: {os.cpu_count()} CPUs, {most} Numba threads; {lattice.n_cells:,} fluid cells; "
          f"{args.batches} batches of {args.steps} steps")
    for loaded in (False, True):
        competitors = [subprocess.Popen(["yes"], stdout=subprocess.DEVNULL) for _ in range(args.competitors if loaded else 0)]
        try:
            fixed, _ = speed(lattice, params, threads=most, batches=args.batches, steps=args.steps)
            tuned, used = speed(lattice, params, threads=None, batches=args.batches, steps=args.steps)
        finally:
            for process in competitors:
                process.kill()
                process.wait()
        label = f"{args.competitors} busy process(es)" if loaded else "idle"
        print(f"{label}: fixed {most} threads {fixed:.1f} MLUPS; tuner {tuned:.1f} MLUPS "
              f"(ratio {tuned / fixed:.2f}; threads per batch from {used[0]} to {used[-1]}, "
              f"{sum(1 for n in used if n < most)} of {len(used)} batches on fewer)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
