"""``rhinoapp sweep GEOMETRY_DIR --out DIR``: a flow sweep with Rohrer's law fitted per side."""

from __future__ import annotations

import argparse
from pathlib import Path

from rhinoapp.cli._common import ProgressPrinter, out

__all__ = ["register"]


def _flows(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--flows takes numbers separated by commas (ml/s), got {text!r}") from None


def register(commands: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    """Add the ``sweep`` command (defaults and checks: :class:`~rhinoapp.cfd.sweep_request.SweepRequest`)."""
    sweep = commands.add_parser("sweep", parents=[shared],
                                help="simulate several flows, each from the previous one, and fit Rohrer's law")
    sweep.add_argument("geometry_dir", type=Path, metavar="GEOMETRY_DIR",
                       help="folder `rhinoapp segment` wrote (labels.nii.gz, optional geometry.json)")
    sweep.add_argument("--out", type=Path, required=True, help="output folder (sweep.json)")
    sweep.add_argument("--flows", type=_flows, default=None,
                       help="total flows in ml/s, comma-separated (default: 75,150,250,400)")
    sweep.add_argument("--expiration", action="store_true", help="also simulate every flow breathing out")
    sweep.add_argument("--resolution-mm", type=float, default=None,
                       help="lattice spacing in mm (default: from the narrowest passage, as `simulate` chooses it)")
    sweep.add_argument("--backend", choices=["auto", "numpy", "numba", "cupy"], help="default: auto")
    sweep.add_argument("--max-steps", type=int, default=None, help="step limit of every run")
    sweep.add_argument("--threads", type=int, default=None, help="CPU threads for the numba backend")
    sweep.add_argument("--flow-model", choices=["standard", "smooth_walls"],
                       help="as for `rhinoapp simulate` (default: smooth_walls)")
    sweep.set_defaults(handler=_sweep)


def _sweep(args: argparse.Namespace) -> int:
    from rhinoapp.analysis.sweep import sweep_doubts
    from rhinoapp.cfd.sweep_request import SweepRequest
    from rhinoapp.usecases.simulation import load_domain
    from rhinoapp.usecases.sweep import run_flow_sweep

    given = {"flows_ml_s": args.flows, "resolution_mm": args.resolution_mm, "backend": args.backend,
             "max_steps": args.max_steps, "threads": args.threads, "flow_model": args.flow_model}
    request = SweepRequest(expiration=args.expiration, **{k: v for k, v in given.items() if v is not None})
    domain = load_domain(args.geometry_dir)
    out(f"sweep of {len(request.plan())} runs, {request.flow_model.value} flow model")
    progress = ProgressPrinter()
    results = run_flow_sweep(domain, request, args.out, sweep_id=Path(args.out).name or "sweep", progress=progress)
    progress.done()
    out(f"{'flow ml/s':>10} {'direction':>11} {'dp Pa':>10} {'left ml/s':>10} {'right ml/s':>10} {'steps':>7} "
        f"{'steady':>6} {'time s':>7}  checks")
    for p in results.points:
        checks = ", ".join(p.flag_kinds) or "ok"
        out(f"{abs(p.flow_ml_s):10.1f} {p.direction.value:>11} {abs(p.pressure_drop_pa):10.3f} "
            f"{abs(p.flow_left_ml_s):10.1f} {abs(p.flow_right_ml_s):10.1f} {p.steps:7d} "
            f"{'yes' if p.converged else 'NO':>6} {p.elapsed_s:7.1f}  {checks}")
    out("Rohrer's law dp = K1*Q + K2*Q*|Q| per side (pressure drop nostrils to outlet):")
    for side, fit in results.fits.items():
        def r(value: float | None, extrapolated: bool) -> str:
            return "-" if value is None else f"{value:.4f}" + (" (extrapolated)" if extrapolated else "")
        out(f"  {side:>5}: K1 {fit.k1:.5g} Pa·s/ml, K2 {fit.k2:.5g} Pa·s²/ml², R75 {r(fit.r75, fit.r75_extrapolated)},"
            f" R150 {r(fit.r150, fit.r150_extrapolated)} Pa·s/ml (r^2 {fit.r_squared:.4f})")
    if results.accuracy:
        out(f"accuracy: {results.accuracy}")
    for doubt in sweep_doubts(results):  # each kind once, with the runs it concerns (a steady state among them)
        out(f"{doubt.flag.severity.value}: {doubt.text}")
    out(f"outputs in {args.out}")
    return 0
