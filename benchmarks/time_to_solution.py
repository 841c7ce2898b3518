"""Time to solution: from an airway geometry to a converged, plausible result, on this machine.

The case is a realistic airway: a phantom variant's ground-truth label map (with its nostril and
outlet planes) at 0.5 mm, about 300,000 fluid cells with the ambient-air chambers and the outlet
extension, at 250 ml/s on the Numba backend, simulated as ``rhinoapp simulate`` does
(:func:`rhinoapp.usecases.simulation.run_simulation`: estimate, resample, lattice, ramp, run to a
steady state, post-processing, outputs, plausibility checks). Goal: at most 5 minutes.

In the same run it measures this machine's memory bandwidth (a parallel copy, as
``benchmarks/bench_lbm.py`` does) and quotes the solver's MLUPS against the bandwidth bound
(152 B per D3Q19 FP32 update). Where the time goes: the stages' wall times, the first check
interval (which holds any Numba compile: the kernels are cached on disk, so a warm cache compiles
nothing), the ramp, the convergence checks and the post-processing.

With ``--coarse-start on`` (the request's default ``auto`` is on at this size) the run first solves the case at
twice the spacing and starts the fine run from that field without the ramp; the report gives both stages.

Run: ``nice python benchmarks/time_to_solution.py [--variant straight] [--resolution-mm 0.5] [--flow 250]
[--coarse-start auto|on|off]``;
writes ``benchmarks/results/time_to_solution.json`` and ``.txt``. The machine may be shared: the
load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_lbm import BYTES_PER_UPDATE, measure_bandwidth  # noqa: E402  (a sibling benchmark script)

RESULTS = Path(__file__).resolve().parent / "results"
GOAL_S = 300.0


def run(variant: str, resolution_mm: float, flow_ml_s: float, threads: int | None,
        project_mm: float | None = None, coarse_start: str = "auto", verbose: bool = False,
        flow_model: str | None = None) -> dict[str, object]:
    """The case, stage by stage; the figures of the report."""
    import numba

    from estimate_accuracy import phantom_domain
    from rhinoapp.analysis.plausibility import Severity
    from rhinoapp.cfd.config import DEFAULT_FLOW_MODEL
    from rhinoapp.cfd.request import SimulationRequest
    from rhinoapp.cfd.resolution import choose_resolution
    from rhinoapp.core.progress import ProgressReport
    from rhinoapp.usecases.simulation import estimate_simulation, run_simulation

    if threads:
        numba.set_num_threads(threads)
    figures: dict[str, object] = {"variant": variant, "resolution_mm": resolution_mm, "flow_ml_s": flow_ml_s,
                                  "cpus": os.cpu_count(), "threads": numba.get_num_threads(),
                                  "load_average_before": [round(v, 2) for v in os.getloadavg()]}
    started = time.perf_counter()
    bandwidth = measure_bandwidth(400 * 1024 * 1024, 3)
    figures["bandwidth_gb_s"] = round(bandwidth, 2)
    figures["bandwidth_bound_mlups"] = round(bandwidth * 1e9 / BYTES_PER_UPDATE / 1e6, 1)
    figures["seconds_bandwidth"] = round(time.perf_counter() - started, 1)

    started = time.perf_counter()
    domain = phantom_domain(variant, resolution_mm)  # the label map and its planes: the geometry
    figures["seconds_geometry"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    choice = choose_resolution(domain)
    figures["seconds_resolution_rule"] = round(time.perf_counter() - started, 1)
    figures["rule_resolution_mm"] = choice.resolution_mm
    request = SimulationRequest(flow_ml_s=flow_ml_s, resolution_mm=resolution_mm, backend="numba", threads=threads,
                                coarse_start=coarse_start, flow_model=flow_model or DEFAULT_FLOW_MODEL)
    figures["flow_model"] = request.flow_model.value
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as data_dir:  # as the CLI estimates: at the speed measured here
        estimate = estimate_simulation(domain, request, data_dir=Path(data_dir))
    figures["seconds_estimate"] = round(time.perf_counter() - started, 1)
    figures["estimate"] = {"fluid_cells": estimate.fluid_cells, "steps": estimate.steps,
                           "seconds": round(estimate.seconds, 1), "mlups": round(estimate.mlups, 2),
                           "speed": estimate.speed.value, "coarse_cell_updates": estimate.coarse_cell_updates,
                           "memory_gb": round(estimate.memory_bytes / 1e9, 2)}
    reports: list[tuple[float, int]] = []
    every, begun = (1 if verbose else 20), time.perf_counter()

    def progress(report: ProgressReport) -> None:
        if report.step is not None:
            reports.append((time.perf_counter(), report.step))
            if len(reports) % every == 1 or every == 1:  # a sign of life on a long run (with its time)
                print(f"  {time.perf_counter() - begun:8.1f} s  {report.message}", file=sys.stderr, flush=True)  # noqa: T201

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        result = run_simulation(domain, request, Path(folder), progress=progress)
    total = time.perf_counter() - started
    outcome, results, units = result.outcome, result.results, result.units
    fine_from = max((i for i in range(1, len(reports)) if reports[i][1] < reports[i - 1][1]), default=0)
    reports = reports[fine_from:]  # the fine run's reports (a coarse start reports its own run first)
    figures["coarse_start"] = results.get("coarse_start") or {"used": False, "why_not": f"--coarse-start {coarse_start}"}
    coarse_seconds = float(figures["coarse_start"].get("seconds", 0.0))  # type: ignore[attr-defined]
    solver_started = reports[-1][0] - outcome.elapsed_s if reports else started
    first = (reports[0][0] - solver_started, reports[0][1]) if reports else (0.0, 0)
    ramp_steps = 0 if figures["coarse_start"].get("used") else units.ramp_steps  # type: ignore[attr-defined]
    ramp_end = next((t for t, step in reports if step >= ramp_steps), solver_started) - solver_started
    flags = results.get("plausibility", [])
    figures.update(
        fluid_cells=result.lattice.n_cells, steps=outcome.steps, converged=outcome.converged,
        ramp_steps=ramp_steps, check_every=results["lattice"]["check_every"],  # type: ignore[index]
        checks=len(outcome.history), mlups=round(outcome.mlups, 2),
        mlups_after_first_check=round((outcome.steps - first[1]) * result.lattice.n_cells
                                      / max(outcome.elapsed_s - first[0], 1e-9) / 1e6, 2),
        bandwidth_fraction=round(outcome.mlups / max(float(figures["bandwidth_bound_mlups"]), 1e-9), 3),  # type: ignore[arg-type]
        seconds_simulate=round(total, 1), seconds_solver=round(outcome.elapsed_s, 1),
        seconds_first_check=round(first[0], 2), steps_first_check=first[1], seconds_ramp=round(ramp_end, 1),
        seconds_setup_and_post=round(total - outcome.elapsed_s - coarse_seconds, 1),
        pressure_drop_pa=results["pressure_drop_pa"], flow_partition_left_pct=results["flow_partition_left_pct"],
        max_velocity_m_s=results["max_velocity_m_s"], tau=round(units.tau, 5),
        plausibility=[f"{flag['severity']}: {flag['kind']}" for flag in flags],  # type: ignore[index]
        plausible=not any(flag["severity"] == Severity.IMPLAUSIBLE.value for flag in flags),  # type: ignore[index]
        load_average_after=[round(v, 2) for v in os.getloadavg()])
    if project_mm:  # the same case at another spacing: its estimate at the speed this run measured
        other = estimate_simulation(phantom_domain(variant, project_mm), SimulationRequest(
            flow_ml_s=flow_ml_s, resolution_mm=project_mm, backend="numba", threads=threads,
            flow_model=request.flow_model))
        figures["projection"] = {"resolution_mm": project_mm, "fluid_cells": other.fluid_cells, "steps": other.steps,
                                 "seconds_at_this_runs_mlups": round(other.at_speed(outcome.mlups).seconds, 1),
                                 "steps_ratio_here": round(outcome.steps / max(estimate.steps, 1), 3)}
    figures["seconds_geometry_to_result"] = round(
        float(figures["seconds_geometry"]) + float(figures["seconds_resolution_rule"])  # type: ignore[arg-type]
        + float(figures["seconds_estimate"]) + total, 1)  # type: ignore[arg-type]
    figures["goal_met"] = bool(figures["seconds_geometry_to_result"] <= GOAL_S and outcome.converged  # type: ignore[operator]
                               and figures["plausible"])
    return figures


def report(f: dict[str, object]) -> str:
    """The figures as text."""
    e = f["estimate"]
    return "\n".join([
        f"time to solution: {f['variant']} phantom at {f['resolution_mm']} mm, {f['flow_ml_s']} ml/s, numba, "
        f"{f['threads']} threads on {f['cpus']} CPUs, {f.get('flow_model', 'standard')} flow model (load average before {f['load_average_before']}, after "
        f"{f['load_average_after']})",
        f"geometry to result: {f['seconds_geometry_to_result']} s (goal {GOAL_S:.0f} s: "
        f"{'met' if f['goal_met'] else 'NOT met'})",
        f"  geometry (label map, openings) {f['seconds_geometry']} s; resolution rule {f['seconds_resolution_rule']} s "
        f"(it would choose {f['rule_resolution_mm']} mm); estimate {f['seconds_estimate']} s",
        f"  simulate {f['seconds_simulate']} s = solver {f['seconds_solver']} s + setup, post-processing and outputs "
        f"{f['seconds_setup_and_post']} s" + (f" + coarse start {c['seconds']} s" if (c := f["coarse_start"]).get("used")  # type: ignore[union-attr]
                                             else ""),
        f"  solver: {f['steps']:,} steps ({'converged' if f['converged'] else 'NOT converged'}), ramp "
        f"{f['ramp_steps']:,} steps ({f['seconds_ramp']} s), {f['checks']} convergence checks every "
        f"{f['check_every']} steps; first check after {f['steps_first_check']} steps and "
        f"{f['seconds_first_check']} s (holds any Numba compile)",
        (f"  coarse start: {c['resolution_mm']} mm, {c['fluid_cells']:,} cells, {c['steps']:,} steps "
         f"({'converged' if c['converged'] else 'NOT converged'}), {c['seconds']} s (solver {c['solver_seconds']} s, "
         f"{c['mlups']} MLUPS), pressure drop there {c['pressure_drop_pa']} Pa; the fine run after it has no ramp"
         if (c := f["coarse_start"]).get("used") else f"  coarse start: none ({c.get('why_not', '')})"),  # type: ignore[union-attr]
        f"  {f['fluid_cells']:,} fluid cells, {f['mlups']} MLUPS ({f['mlups_after_first_check']} after the first "
        f"check) = {100 * float(f['bandwidth_fraction']):.1f} % of the bandwidth bound "  # type: ignore[arg-type]
        f"{f['bandwidth_bound_mlups']} MLUPS (copy bandwidth {f['bandwidth_gb_s']} GB/s)",
        f"  estimate before the run: {e['fluid_cells']:,} cells, {e['steps']:,} steps, {e['seconds']} s at "  # type: ignore[index]
        f"{e['mlups']} MLUPS ({e['speed']} speed), {e['memory_gb']} GB",  # type: ignore[index]
        f"result: pressure drop {f['pressure_drop_pa']} Pa, {f['flow_partition_left_pct']} % left, peak velocity "
        f"{f['max_velocity_m_s']} m/s, tau {f['tau']}; plausibility flags: {f['plausibility'] or 'none'} "
        f"({'plausible' if f['plausible'] else 'IMPLAUSIBLE'})",
    ] + ([f"projection to {p['resolution_mm']} mm: {p['fluid_cells']:,} cells, {p['steps']:,} steps estimated (this "  # type: ignore[index]
          f"run took {p['steps_ratio_here']} x its estimated steps), {p['seconds_at_this_runs_mlups']} s of solver at "  # type: ignore[index]
          f"this run's speed"] if (p := f.get("projection")) else []))


def main(argv: list[str] | None = None) -> int:
    """Run the case, print and write the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="straight")
    parser.add_argument("--resolution-mm", type=float, default=0.5)
    parser.add_argument("--flow", type=float, default=250.0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--project-mm", type=float, default=None,
                        help="also estimate the case at this spacing at the speed this run measured")
    parser.add_argument("--coarse-start", choices=["auto", "on", "off"], default="auto",
                        help="start from a run at twice the spacing (default: the request's, auto)")
    parser.add_argument("--verbose", action="store_true", help="print every convergence check (step, time, dp)")
    parser.add_argument("--flow-model", choices=["standard", "smooth_walls"], default=None,
                        help="the flow model of the run (default: the app's, SimulationRequest.flow_model)")
    parser.add_argument("--note", default="", help="a line to keep with the results (how the machine was shared)")
    parser.add_argument("--name", default="time_to_solution", help="base name of the result files")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    figures = run(args.variant, args.resolution_mm, args.flow, args.threads, args.project_mm, args.coarse_start,
                  args.verbose, args.flow_model)
    figures["note"] = args.note
    text = report(figures) + (f"\nnote: {args.note}" if args.note else "")
    print(text)  # noqa: T201 (a benchmark script prints)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(figures, indent=2) + "\n")
    (RESULTS / f"{args.name}.txt").write_text(text + "\n")
    return 0 if figures["goal_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
