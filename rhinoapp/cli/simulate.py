"""``rhinoapp simulate GEOMETRY_DIR --out DIR``: steady airflow through a segmented airway."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rhinoapp.cli._common import ProgressPrinter, out, settings_from
from rhinoapp.core.progress import format_duration

__all__ = ["register"]


def register(commands: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    """Add the ``simulate`` command.

    Options left out take the defaults of :class:`~rhinoapp.cfd.request.SimulationRequest`, which
    also checks every value (the parser stays free of the solver, so that building it stays quick).
    """
    sim = commands.add_parser("simulate", help="simulate steady airflow through a segmented airway (lattice Boltzmann)",
                              parents=[shared])
    sim.add_argument("geometry_dir", type=Path, metavar="GEOMETRY_DIR",
                     help="folder `rhinoapp segment` wrote (labels.nii.gz, optional geometry.json)")
    sim.add_argument("--out", type=Path, required=True, help="output folder (fields.vti, surface.vtp, results.json, "
                                                               "convergence.csv, checkpoints/)")
    sim.add_argument("--flow-ml-s", type=float, help="total flow through both nostrils (default: the request's)")
    sim.add_argument("--direction", choices=["inspiration", "expiration"], help="default: inspiration")
    sim.add_argument("--pressure-drop-pa", type=float, default=None,
                     help="drive by this pressure drop instead of a flow")
    sim.add_argument("--resolution-mm", type=float, default=None,
                     help="lattice spacing in mm (default: automatic, 6 cells across the narrowest passage "
                          "within the memory; the rule is printed)")
    sim.add_argument("--backend", choices=["auto", "numpy", "numba", "cupy"], help="default: auto")
    sim.add_argument("--max-steps", type=int, default=None, help="stop after this many steps (default: twice the "
                                                                   "estimate)")
    sim.add_argument("--threads", type=int, default=None, help="CPU threads for the numba backend")
    sim.add_argument("--coarse-start", choices=["auto", "on", "off"],
                     help="solve at twice the spacing first and start from that field, without the start-up ramp "
                          "(default: auto, on from 200,000 fluid cells)")
    sim.add_argument("--flow-model", choices=["standard", "smooth_walls"],
                     help="smooth_walls (default): the walls where the airway has them, the pressure drop closest to the "
                          "reference solver's; standard: half-way walls, the fastest per step, a pressure drop further "
                          "above the reference's (each run's 'accuracy:' line quotes the validation's figures; "
                          "docs/validation.md)")
    sim.add_argument("--checkpoint-every", type=int, default=0, help="write a checkpoint every N steps")
    sim.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    sim.add_argument("--estimate", action="store_true", help="only print the memory and run-time estimate (the "
                                                              "time at this machine's measured speed)")
    sim.set_defaults(handler=_simulate)


def _simulate(args: argparse.Namespace) -> int:
    from rhinoapp.cfd.request import SimulationRequest
    from rhinoapp.usecases.simulation import estimate_simulation, load_domain, resolution_for, run_simulation

    given = {"flow_ml_s": args.flow_ml_s, "direction": args.direction, "pressure_drop_pa": args.pressure_drop_pa,
             "resolution_mm": args.resolution_mm, "backend": args.backend, "max_steps": args.max_steps,
             "threads": args.threads, "coarse_start": args.coarse_start, "flow_model": args.flow_model}
    request = SimulationRequest(checkpoint_every=args.checkpoint_every, resume=args.resume,
                                **{name: value for name, value in given.items() if value is not None})
    domain = load_domain(args.geometry_dir)
    choice = resolution_for(domain, request)
    if request.resolution_mm is None:
        out(f"resolution {choice.resolution_mm} mm (automatic: {choice.cells_across} cells across the narrowest "
            f"passage, {choice.width_mm} mm wide){'' if choice.rule_met else '; ' + choice.message}")
    elif not choice.rule_met:
        out(f"resolution {choice.resolution_mm} mm (given): {choice.message}")
    estimate = estimate_simulation(domain, request, data_dir=settings_from(args).data_dir, resolution=choice)
    sooner = estimate.sooner_seconds()
    least = ("" if sooner is None else f" (at least {format_duration(sooner)}, {estimate.least_steps:,} steps, if the "
             "flow settles at once)")
    out(f"estimate: {estimate.fluid_cells:,} fluid cells, {estimate.steps:,} steps, "
        f"{estimate.memory_bytes / 1e9:.2f} GB, about {format_duration(estimate.seconds)}{least} on {estimate.backend} "
        f"at {estimate.mlups:.1f} MLUPS ({estimate.speed.value} speed), {request.flow_model.value} flow model")
    if args.estimate:
        return 0
    progress = ProgressPrinter()
    result = run_simulation(domain, request, args.out, progress=progress, resolution=choice)
    progress.done()
    r: dict[str, Any] = result.results  # JSON-ready numbers and nested dicts (see SimulationResult)
    flow, resistance = r["flow_ml_s"], r["resistance_pa_s_per_ml"]
    doubted = {flag["kind"]: flag["severity"] for flag in r.get("plausibility", [])}

    def mark(*kinds: str) -> str:  # a figure the software doubts is never printed without saying so
        found = [doubted[kind] for kind in kinds if kind in doubted]
        return "" if not found else f" [{'implausible' if 'implausible' in found else 'doubtful'}: see the warnings]"

    out(f"{'converged' if r['converged'] else 'NOT converged (steady state not reached)'} after {r['steps']} steps, "
        f"{r['mlups']} MLUPS on {r['backend']}")
    coarse = r.get("coarse_start") or {}
    if coarse.get("used"):
        out(f"started from a run at {coarse['resolution_mm']} mm ({coarse['fluid_cells']:,} cells, {coarse['steps']} "
            f"steps, {coarse['seconds']} s)")
    elif coarse:
        out(f"the run at {coarse['resolution_mm']} mm to start from failed; started from rest")
    out(f"pressure drop {r['pressure_drop_pa']} Pa{mark('pressure_drop', 'steady_state', 'openings', 'resolution')}; flow {flow['total']} ml/s "
        f"(left {flow['left']}, right {flow['right']}, {r['flow_partition_left_pct']} % left)")
    out(f"resistance {resistance['total']} Pa·s/ml (left {resistance['left']}, right {resistance['right']})"
        f"{mark('resistance', 'pressure_drop', 'openings')}")
    out(f"max velocity {r['max_velocity_m_s']} m/s{mark('peak_velocity', 'stability')}; wall shear stress mean "
        f"{r['wss_mean_pa']} Pa, max {r['wss_max_pa']} Pa; mass conservation error {r['mass_conservation_error']}"
        f"{mark('mass_conservation')}")
    for flag in r.get("plausibility", []):  # figures the software doubts, each with what to do
        sys.stderr.write(f"rhinoapp: warning: {' '.join(str(flag['message']).split())}\n")
    if r.get("pressure_drop_between"):
        out(f"pressure drop measured between {r['pressure_drop_between']}")
    if r.get("accuracy"):
        out(f"accuracy: {r['accuracy']['text']}")
    if r.get("openings_placed"):
        out("openings: " + "; ".join(f"{name.replace('_', ' ')} {how}" for name, how in r["openings_placed"].items()))
    resolution = r.get("resolution") or {}
    if resolution.get("width_mm") is not None:
        out(f"resolution {resolution['resolution_mm']} mm: {resolution['cells_across']} cells across the narrowest "
            f"passage ({resolution['width_mm']} mm wide){'' if resolution['rule_met'] else '; ' + resolution['message']}")
    out(f"outputs in {args.out}")
    return 0
