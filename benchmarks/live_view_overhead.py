"""Solver speed with and without the live view's checkpoints (wall pressure, downsampled velocity).

Runs the same simulation (a round pipe, the production kernel, a fixed number of steps) alternately
without live checkpoints and with them at the default interval (``Settings.live_view_interval_s``),
``--repeats`` times each, and quotes the solver speed (MLUPS, best and median) and the slowdown of the
medians. Because separate runs on a shared machine differ by more than the effect, it also quotes the
share of each live run's stepping time spent in its checkpoints (measured inside the run, fetching the
state included), and times one live checkpoint alone (moments, wall pressure, downsampled field, files).

Usage::

    nice .venv/bin/python benchmarks/live_view_overhead.py [--backend numba] [--steps 3000] [--repeats 3]

Writes ``benchmarks/results/live_view_overhead.json`` and ``.txt``. The machine may be shared: other
processes change both speeds; the alternation spreads that over both.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from rhinoapp.cfd.config import PhysicsConfig, RunConfig
from rhinoapp.cfd.live import LiveCheckpoints
from rhinoapp.cfd.setup import build_lattice
from rhinoapp.cfd.shapes import round_pipe
from rhinoapp.cfd.simulation import simulate
from rhinoapp.cfd.units import choose_lattice_parameters
from rhinoapp.config import Settings

RESULTS = Path(__file__).parent / "results"


def run_once(domain, physics: PhysicsConfig, *, backend: str, steps: int, interval_s: float) -> dict[str, float]:
    """MLUPS of one run, its stepping time and the seconds its live checkpoints took (and how many)."""
    with tempfile.TemporaryDirectory() as folder:
        run = RunConfig(backend=backend, max_steps=steps, tolerance=1e-12, live_interval_s=interval_s)
        result = simulate(domain, physics, run, live_dir=Path(folder) / "live")
        live = result.results.get("live_view") or {"checkpoints": 0, "seconds": 0.0}
        return {"mlups": result.outcome.mlups, "elapsed_s": result.outcome.elapsed_s,
                "checkpoints": live["checkpoints"], "checkpoint_s": live["seconds"]}


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
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--radius", type=float, default=14.0)
    parser.add_argument("--length", type=int, default=200)
    args = parser.parse_args()
    interval = Settings().live_view_interval_s
    domain = round_pipe(args.radius, args.length)
    physics = PhysicsConfig(flow_ml_s=20.0)
    run_once(domain, physics, backend=args.backend, steps=50, interval_s=0.0)  # compile the kernels
    without: list[dict[str, float]] = []
    with_live: list[dict[str, float]] = []
    for repeat in range(args.repeats):  # alternate, each order in turn, so that drifting load falls on both
        order = [(without, 0.0), (with_live, interval)]
        for runs, chosen in order if repeat % 2 == 0 else order[::-1]:
            runs.append(run_once(domain, physics, backend=args.backend, steps=args.steps, interval_s=chosen))
    cells = build_lattice(domain).n_cells
    cost = checkpoint_cost(domain, physics)
    median_without = statistics.median(r["mlups"] for r in without)
    median_with = statistics.median(r["mlups"] for r in with_live)
    # the share of each live run's stepping time spent in its checkpoints: measured inside the same run, so the
    # load of a shared machine (which moves the MLUPS of separate runs by more than the effect) cancels out
    shares = [r["checkpoint_s"] / r["elapsed_s"] for r in with_live if r["elapsed_s"] > 0]
    report = {"backend": args.backend, "fluid_cells": cells, "steps": args.steps, "interval_s": interval,
              "mlups_without": [round(r["mlups"], 2) for r in without],
              "mlups_with_live": [round(r["mlups"], 2) for r in with_live],
              "checkpoints_per_run": [r["checkpoints"] for r in with_live],
              "median_without": round(median_without, 2), "median_with_live": round(median_with, 2),
              "slowdown_of_medians_pct": round(100 * (1.0 - median_with / median_without), 2),
              "time_in_checkpoints_pct": round(100 * statistics.median(shares), 2) if shares else 0.0,
              "checkpoint_s": round(cost, 4), "checkpoint_share_of_interval_pct": round(100 * cost / interval, 2),
              "load_average": [round(v, 2) for v in os.getloadavg()], "cpus": os.cpu_count()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "live_view_overhead.json").write_text(json.dumps(report, indent=2) + "\n")
    text = (f"live view overhead ({args.backend}, {cells:,} fluid cells, {args.steps} steps, checkpoint every "
            f"{interval:g} s; {report['cpus']} CPUs, load average {report['load_average']})\n"
            f"  without live checkpoints: {report['mlups_without']} MLUPS, median {report['median_without']}\n"
            f"  with live checkpoints:    {report['mlups_with_live']} MLUPS, median {report['median_with_live']} "
            f"({report['checkpoints_per_run']} checkpoints)\n"
            f"  slowdown of the medians:  {report['slowdown_of_medians_pct']} % (separate runs: the machine's load "
            f"moves it too)\n"
            f"  time in checkpoints:      {report['time_in_checkpoints_pct']} % of each live run (median; goal: under "
            f"10 %)\n"
            f"  one checkpoint alone:     {cost * 1e3:.1f} ms ({report['checkpoint_share_of_interval_pct']} % of "
            f"the interval)\n")
    (RESULTS / "live_view_overhead.txt").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
