"""How honest is the pre-run estimate? Estimated against actual steps and time on phantom airways.

For each case the airway (ground-truth labels of a phantom variant, with its nostril and outlet
planes, or read back from a NIfTI label map without planes, as an imported map comes) gets the
simulations' openings (ambient-air chambers, outlet extension), the estimate is taken as the CLI and
the page take it (:func:`rhinoapp.usecases.simulation.estimate_simulation` with a data directory: the
time at this machine's speed, measured by a calibration run of the kernel on a grid of about the
run's size, here in a fresh data directory per case, as on a machine's first estimate), and the
run is done. The table gives steps and seconds (solver, and in total with setup and
post-processing), estimated and actual, and their ratios; the goal is a ratio within 0.7-1.3. The
nominal-speed estimate (the reference machine's figure) is kept beside it for comparison. The
machine may be shared: the load average before and after each case is recorded.

Run: ``python benchmarks/estimate_accuracy.py [--resolution-mm 1.5] [--flow 150] [--flow-model M] [case ...]``
(the flow model: the app's default, smooth walls, unless given);
writes ``benchmarks/results/estimate_accuracy.json`` and ``.txt``. ``--reestimate`` keeps the measured
runs of that JSON and recomputes only the estimates (after a change of the model: the runs do not
depend on the estimate, whose checks follow the flow-through time). Cases: phantom variant names
(``straight``, ``deviated``, ...) and ``imported`` (the straight phantom's labels through NIfTI).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from pathlib import Path

from rhinoapp.cfd.config import DEFAULT_FLOW_MODEL, FlowModel, RunConfig
from rhinoapp.cfd.domain import FlowDomain, Opening
from rhinoapp.cfd.estimate import estimate_run
from rhinoapp.cfd.inputs import OpeningPlane, airway_domain, read_label_nifti, write_label_nifti
from rhinoapp.cfd.request import SimulationRequest
from rhinoapp.cfd.simulation import simulate
from rhinoapp.phantom import generate_phantom, variant_params
from rhinoapp.usecases.simulation import estimate_simulation

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_CASES = ("straight", "deviated", "swollen", "imported")
NOTE = ("Steps: the estimate's model (ramp + 1.85 flow-through times of the airway volume). Seconds: the estimate at the "
        "speed measured on this machine just before the run (calibration MLUPS, 'cal'), against the solver's time "
        "('s run') and the whole simulate call with setup and post-processing ('s tot'); 'nom s' is the old estimate "
        "at the nominal speed (Numba 20 MLUPS per thread). Steady: the window means of pressure drop and flows differ "
        "by less than 0.5 % plus their standard error, at most 0.5 % (rhinoapp.cfd.solver.steady_in_mean). The machine is a 2-core "
        "VM shared with other work: the load average (1 min) before and after each case and the flow per side are "
        "in the JSON.")


def phantom_domain(variant: str, spacing_mm: float) -> FlowDomain:
    """The phantom's ground-truth airway with its landmark planes, or (``imported``) through NIfTI without planes."""
    name = "straight" if variant == "imported" else variant
    phantom = generate_phantom(variant_params(name, spacing_mm=spacing_mm, noise_hu=0))
    if variant == "imported":
        with tempfile.TemporaryDirectory() as folder:
            labels = read_label_nifti(write_label_nifti(Path(folder) / "labels.nii.gz", phantom.truth))
        return airway_domain(labels)
    marks = phantom.landmarks
    planes = {Opening.INLET_LEFT: OpeningPlane(marks.nostrils_lps_mm[0], marks.nostril_normal_lps),
              Opening.INLET_RIGHT: OpeningPlane(marks.nostrils_lps_mm[1], marks.nostril_normal_lps),
              Opening.OUTLET: OpeningPlane(marks.outlet_point_lps_mm, marks.outlet_normal_lps)}
    return airway_domain(phantom.truth, planes=planes)


def measure(case: str, *, resolution_mm: float, flow_ml_s: float, threads: int | None,
            flow_model: str | None = None) -> dict[str, object]:
    """Estimate and run one case with ``flow_model`` (``None``: the app's default); the row of the table."""
    domain = phantom_domain(case, resolution_mm)
    request = SimulationRequest(flow_ml_s=flow_ml_s, resolution_mm=resolution_mm, backend="numba", threads=threads,
                                flow_model=flow_model or DEFAULT_FLOW_MODEL)
    physics = request.physics()
    run = RunConfig(backend="numba", threads=threads)
    load_before = round(os.getloadavg()[0], 2)
    nominal = estimate_run(domain, physics, run, resolution_mm=resolution_mm)
    with tempfile.TemporaryDirectory() as data_dir:  # a first estimate on this machine: it measures the speed
        estimate = estimate_simulation(domain, request, data_dir=Path(data_dir))
    started = time.perf_counter()
    result = simulate(domain, physics, run, resolution_mm=resolution_mm)
    total = time.perf_counter() - started
    outcome = result.outcome
    return {"case": case, "resolution_mm": resolution_mm, "flow_ml_s": flow_ml_s, "flow_model": request.flow_model.value,
            "fluid_cells": result.lattice.n_cells,
            "cells_estimate": estimate.fluid_cells, "steps_estimate": estimate.steps, "steps": outcome.steps,
            "steps_ratio": round(outcome.steps / estimate.steps, 3), "converged": outcome.converged,
            "seconds_estimate": round(estimate.seconds, 1), "seconds_solver": round(outcome.elapsed_s, 1),
            "seconds_total": round(total, 1), "seconds_ratio": round(outcome.elapsed_s / max(estimate.seconds, 1e-9), 3),
            "seconds_total_ratio": round(total / max(estimate.seconds, 1e-9), 3),
            "speed": estimate.speed.value, "mlups_calibration": round(estimate.mlups, 2),
            "seconds_nominal": round(nominal.seconds, 1), "mlups_nominal": nominal.mlups, "mlups": round(outcome.mlups, 2),
            "load_before": load_before, "load_after": round(os.getloadavg()[0], 2),
            "pressure_drop_pa": result.results["pressure_drop_pa"],
            "flows_ml_s": result.results["flow_ml_s"]}


def reestimate(row: dict[str, object]) -> dict[str, object]:
    """A measured row with the estimate of the current model."""
    resolution = float(row["resolution_mm"])  # type: ignore[arg-type]
    domain = phantom_domain(str(row["case"]), resolution)
    physics = FlowModel(row.get("flow_model", "standard")).physics(  # rows before the field: the standard model
        flow_ml_s=float(row["flow_ml_s"]))  # type: ignore[arg-type]
    estimate = estimate_run(domain, physics, RunConfig(backend="numba"), resolution_mm=resolution)
    if row.get("mlups_calibration"):  # the speed measured before that run (it cannot be measured again for it)
        estimate = estimate.at_speed(float(row["mlups_calibration"]))  # type: ignore[arg-type]
    steps, seconds = int(row["steps"]), float(row["seconds_solver"])  # type: ignore[arg-type]
    total = float(row.get("seconds_total", seconds))  # type: ignore[arg-type]
    return {**row, "steps_estimate": estimate.steps, "steps_ratio": round(steps / estimate.steps, 3),
            "seconds_estimate": round(estimate.seconds, 1), "seconds_ratio": round(seconds / max(estimate.seconds, 1e-9), 3),
            "seconds_total_ratio": round(total / max(estimate.seconds, 1e-9), 3)}


def table(rows: list[dict[str, object]]) -> str:
    """The rows as a text table."""
    head = (f"{'case':<12}{'dx mm':>6}{'cells':>9}{'steps est':>10}{'steps':>8}{'ratio':>7}"
            f"{'s est':>8}{'s run':>8}{'ratio':>7}{'s tot':>8}{'ratio':>7}{'cal':>7}{'MLUPS':>7}{'nom s':>7}{'dp Pa':>8}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['case']:<12}{r['resolution_mm']:>6}{r['fluid_cells']:>9}{r['steps_estimate']:>10}"
                     f"{r['steps']:>8}{r['steps_ratio']:>7}{r['seconds_estimate']:>8}{r['seconds_solver']:>8}"
                     f"{r['seconds_ratio']:>7}{r.get('seconds_total', '')!s:>8}{r.get('seconds_total_ratio', '')!s:>7}"
                     f"{r.get('mlups_calibration', '')!s:>7}{r['mlups']:>7}{r.get('seconds_nominal', '')!s:>7}"
                     f"{r['pressure_drop_pa']:>8}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the cases, print the table, write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", default=list(DEFAULT_CASES))
    parser.add_argument("--resolution-mm", type=float, default=1.5)
    parser.add_argument("--flow", type=float, default=150.0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--flow-model", choices=["standard", "smooth_walls"], default=None,
                        help="the flow model of the runs (default: the app's, SimulationRequest.flow_model)")
    parser.add_argument("--reestimate", action="store_true")
    parser.add_argument("--name", default="estimate_accuracy", help="base name of the result files")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    rows = []
    if args.reestimate:
        rows = [reestimate(row) for row in json.loads((RESULTS / f"{args.name}.json").read_text())]
    for case in [] if args.reestimate else args.cases:
        rows.append(measure(case, resolution_mm=args.resolution_mm, flow_ml_s=args.flow, threads=args.threads,
                            flow_model=args.flow_model))
        print(table(rows[-1:]).splitlines()[-1], flush=True)  # noqa: T201 (a benchmark script prints)
    models = ", ".join(sorted({str(r.get("flow_model", "standard")) for r in rows}))
    text = table(rows) + f"\n\nFlow model: {models}. " + NOTE
    print(text)  # noqa: T201
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(rows, indent=2) + "\n")
    (RESULTS / f"{args.name}.txt").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
