"""Solver speed with and without the live view's checkpoints (wall pressure, downsampled velocity).

Runs the same simulation (a round pipe, the production kernel, a fixed number of steps) alternately
without live checkpoints and with them at the default interval (``Settings.live_view_interval_s``),
``--repeats`` times each, and quotes the solver speed (MLUPS, best and median) and the slowdown of the
medians. It also times one live checkpoint alone (moments, wall pressure, downsampled field, files).

Usage::

    nice .venv/bin/python benchmarks/live_view_overhead.py [--backend numba] [--steps 3000] [--repeats 3]

Writes ``benchmarks/results/live_view_overhead.json`` and ``.txt``. The machine may be shared: other
processes change both speeds; the alternation spreads that over both.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from rhinoapp.cfd.config import PhysicsConfig, RunConfig, choose_lattice_parameters
from rhinoapp.cfd.live import LiveCheckpoints
from rhinoapp.cfd.setup import build_lattice
from rhinoapp.cfd.shapes import round_pipe
from rhinoapp.cfd.simulation import simulate
from rhinoapp.config import Settings

RESULTS = Path(__file__).parent / "results"


def run_once(domain, physics: PhysicsConfig, *, backend: str, steps: int, interval_s: float) -> tuple[float, int]:
    """MLUPS of one run, and the live checkpoints it wrote."""
    with tempfile.TemporaryDirectory() as folder:
        live = Path(folder) / "live"
        run = RunConfig(backend=backend, max_steps=steps, tolerance=1e-12, live_interval_s=interval_s)
        result = simulate(domain, physics, run, live_dir=live)
        written = len(list(live.glob("fields-*.vti"))) if live.exists() else 0
        return result.outcome.mlups, written


def checkpoint_cost(domain, physics: PhysicsConfig, repeats: int = 5) -> float:
    """Seconds for one live checkpoint (best of ``repeats``)."""
    lattice = build_lattice(domain)
    units = choose_lattice_parameters(lattice.domain, physics)
    state = np.random.default_rng(0).normal(0, 1e-3, lattice.population_size).astype(np.float32)
    with tempfile.TemporaryDirectory() as folder:
        live = LiveCheckpoints(Path(folder), lattice, units, interval_s=0.0)
        best = float("inf")
        for step in range(repeats):
            started = time.perf_counter()
            live.write(step, state)
            best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numba")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--radius", type=float, default=16.0)
    parser.add_argument("--length", type=int, default=240)
    args = parser.parse_args()
    interval = Settings().live_view_interval_s
    domain = round_pipe(args.radius, args.length)
    physics = PhysicsConfig(flow_ml_s=20.0)
    run_once(domain, physics, backend=args.backend, steps=50, interval_s=0.0)  # compile the kernels
    without, with_live = [], []
    for _ in range(args.repeats):
        without.append(run_once(domain, physics, backend=args.backend, steps=args.steps, interval_s=0.0)[0])
        mlups, _count = run_once(domain, physics, backend=args.backend, steps=args.steps, interval_s=interval)
        with_live.append(mlups)
    cells = build_lattice(domain).n_cells
    cost = checkpoint_cost(domain, physics)
    slowdown = 1.0 - statistics.median(with_live) / statistics.median(without)
    report = {"backend": args.backend, "fluid_cells": cells, "steps": args.steps, "interval_s": interval,
              "mlups_without": [round(v, 2) for v in without], "mlups_with_live": [round(v, 2) for v in with_live],
              "median_without": round(statistics.median(without), 2),
              "median_with_live": round(statistics.median(with_live), 2),
              "slowdown_pct": round(100 * slowdown, 2), "checkpoint_s": round(cost, 4),
              "checkpoint_share_of_interval_pct": round(100 * cost / interval, 2)}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "live_view_overhead.json").write_text(json.dumps(report, indent=2) + "\n")
    text = (f"live view overhead ({args.backend}, {cells:,} fluid cells, {args.steps} steps, checkpoint every "
            f"{interval:g} s)\n"
            f"  without live checkpoints: {report['mlups_without']} MLUPS, median {report['median_without']}\n"
            f"  with live checkpoints:    {report['mlups_with_live']} MLUPS, median {report['median_with_live']}\n"
            f"  slowdown of the medians:  {report['slowdown_pct']} % (goal: under 10 %)\n"
            f"  one checkpoint alone:     {cost * 1e3:.1f} ms ({report['checkpoint_share_of_interval_pct']} % of "
            f"the interval)\n")
    (RESULTS / "live_view_overhead.txt").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
