"""Grid convergence of rhinoapp on one realistic case: three resolutions, observed order, Richardson, GCI.

Runs ``rhinoapp simulate`` on the geometry folder of a hard phantom (the one ``openfoam_compare.py``
builds) at three lattice spacings and reports, for the pressure drop (as rhinoapp reports it, and
measured on the shared outlet plane) and the flow partition:

* the observed order ``p`` from the three solutions; with a constant refinement ratio
  ``r = h2/h1 = h3/h2`` it is ``ln((f3 - f2)/(f2 - f1)) / ln(r)``; with unequal ratios the
  fixed-point form of Celik et al. (J. Fluids Eng. 130, 2008) is solved;
* the Richardson estimate ``f_ext = (r21^p f1 - f2) / (r21^p - 1)``;
* the grid convergence index of the finest grid ``GCI = 1.25 |(f1 - f2)/f1| / (r21^p - 1)``.

Oscillatory convergence (``f3 - f2`` and ``f2 - f1`` of opposite sign) is reported as such:
the order then only bounds the error.

``--series`` reads runs already made (the reports of ``lbm_sensitivity.py``, any number of
spacings) and studies them by least squares (:func:`rhinoapp.analysis.grid_convergence.grid_uncertainty`,
Eça and Hoekstra 2014): the observed order, the grid-independent estimate and the uncertainty of
every run's figure, also where neighbouring spacings scatter and three-grid Richardson fails. The
classic three-grid study is added for every triplet of the series in a constant ratio.

Run::

    PYTHONPATH=. .venv/bin/python validation/grid_convergence.py --work /tmp/foam-validation --out docs/validation
    # one collision-model setting (runs of lbm_sensitivity.py, reused), its own report and figure
    PYTHONPATH=. .venv/bin/python validation/grid_convergence.py --resolutions 0.8,0.64,0.512 \
        --set bulk_relaxation_time=1+subgrid_model=shear_improved --name lbm_best_grid --reference-pa 6.57
    # least squares over a series of runs already made, and over its finer part
    PYTHONPATH=. .venv/bin/python validation/grid_convergence.py --series docs/validation/lbm_smooth_wall_grid.json \
        --max-spacing-mm 0.7 --name lbm_smooth_wall_convergence --reference-pa 6.47

Examples
--------
>>> h = (0.5, 1.0, 2.0)
>>> study = richardson([1.0 + 2.0 * x**2 for x in h], h)
>>> round(study["order"], 6), round(study["extrapolated"], 6), study["convergence"]
(2.0, 1.0, 'monotonic')
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rhinoapp.analysis.grid_convergence import grid_uncertainty  # noqa: E402
from measure import measurement_planes, pressure_drops, read_rhinoapp_fields  # noqa: E402
from lbm_sensitivity import parse_setting, run_variant  # noqa: E402
from openfoam_compare import make_geometry, run_rhinoapp  # noqa: E402

_log = logging.getLogger("grid_convergence")
SAFETY_FACTOR = 1.25


def richardson(values: Sequence[float], spacings: Sequence[float], *, iterations: int = 200) -> dict[str, object]:
    """Observed order, Richardson estimate and GCI of three solutions on grids ``spacings`` (any order).

    Examples
    --------
    >>> study = richardson([10.9, 10.4, 10.2], [2.0, 1.5, 1.2])   # coarse to fine, unequal ratios
    >>> study["convergence"], round(study["order"], 3) > 0, round(study["extrapolated"], 2) < 10.2
    ('monotonic', True, True)
    >>> richardson([1.0, 2.0, 1.5], [0.5, 1.0, 2.0])["convergence"]
    'oscillatory'
    """
    pairs = sorted(zip(spacings, values))
    (h1, f1), (h2, f2), (h3, f3) = pairs
    r21, r32 = h2 / h1, h3 / h2
    e21, e32 = f2 - f1, f3 - f2
    result: dict[str, object] = {"spacings": [h1, h2, h3], "values": [f1, f2, f3], "ratios": [r21, r32]}
    if e21 == 0 or e32 == 0:
        return {**result, "convergence": "exact", "order": None, "extrapolated": f1, "gci_fine_pct": 0.0}
    ratio = e32 / e21
    s = 1.0 if ratio > 0 else -1.0
    p = abs(math.log(abs(ratio))) / math.log(r21)
    for _ in range(iterations):
        q = math.log((r21**p - s) / (r32**p - s)) if (r21**p - s) > 0 and (r32**p - s) > 0 else 0.0
        p_new = abs(math.log(abs(ratio)) + q) / math.log(r21)
        if abs(p_new - p) < 1e-12:
            p = p_new
            break
        p = p_new
    if s < 0:
        return {**result, "convergence": "oscillatory", "order": p, "extrapolated": None,
                "gci_fine_pct": None, "spread": max(f1, f2, f3) - min(f1, f2, f3)}
    factor = r21**p
    extrapolated = (factor * f1 - f2) / (factor - 1.0)
    gci = SAFETY_FACTOR * abs(e21 / f1) / (factor - 1.0) * 100.0 if f1 else None
    if ratio < math.log(r32) / math.log(r21):  # no positive order fits: the differences grow under refinement
        return {**result, "convergence": "divergent", "order": -p, "extrapolated": None, "gci_fine_pct": None}
    return {**result, "convergence": "monotonic", "order": p, "extrapolated": extrapolated, "gci_fine_pct": gci}


def figures_of(run: Path, planes: dict) -> dict[str, float]:
    """The studied figures of one rhinoapp run folder."""
    results = json.loads((run / "results.json").read_text())
    cloud = read_rhinoapp_fields(run)
    spacing = float(round(cloud.volume_mm3[0] ** (1 / 3), 6))
    flows = results["flow_ml_s"]
    drops = pressure_drops(cloud, planes, max(spacing, 1.0))
    wall = (run / "wall_time_s.txt")
    lattice = results.get("lattice", {})
    return {"resolution_mm": spacing, "fluid_cells": int(cloud.pressure_pa.size), "steps": results.get("steps"),
            "steps_estimate": lattice.get("steps_estimate"), "converged": results.get("converged"),
            "tau": lattice.get("tau"), "mlups": results.get("mlups"),
            "wall_time_s": float(wall.read_text()) if wall.is_file() else None,
            "pressure_drop_reported_pa": float(results["pressure_drop_pa"]),
            "pressure_drop_outlet_plane_pa": drops["nostrils_to_outlet"],
            "pressure_drop_choanae_pa": drops.get("nostrils_to_choanae"),
            "pressure_drop_left_to_choana_pa": drops.get("left_nostril_to_choana"),
            "pressure_drop_right_to_choana_pa": drops.get("right_nostril_to_choana"),
            "partition_left_pct": 100.0 * flows["left"] / flows["total"],
            "max_velocity_m_s": float(results.get("max_velocity_m_s", float("nan")))}


def plot(report: dict, out: Path, name: str = "grid_convergence") -> Path:
    """Pressure drop against the lattice spacing with the Richardson estimate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    h = [run["resolution_mm"] for run in report["runs"]]
    for key, label in (("pressure_drop_reported_pa", "dp as reported"),
                       ("pressure_drop_outlet_plane_pa", "dp nostril planes to outlet plane")):
        line, = axes[0].plot(h, [run[key] for run in report["runs"]], "o-", label=label)
        study = report["studies"][key]
        if study.get("extrapolated") is not None:
            axes[0].plot([0], [study["extrapolated"]], "*", ms=12, color=line.get_color(),
                         label=f"Richardson, p = {study['order']:.2f}")
    if report.get("reference_pa") is not None:
        axes[0].axhline(report["reference_pa"], color="grey", ls=":", label=f"reference {report['reference_pa']:g} Pa")
    axes[0].set_xlabel("lattice spacing h (mm)")
    axes[0].set_ylabel("pressure drop (Pa)")
    axes[0].set_xlim(left=-0.05)
    axes[0].legend(fontsize=8)
    axes[1].plot(h, [run["partition_left_pct"] for run in report["runs"]], "o-")
    axes[1].set_xlabel("lattice spacing h (mm)")
    axes[1].set_ylabel("flow through the left side (%)")
    setting = "+".join(f"{k}={v}" for k, v in report.get("overrides", {}).items()) or "defaults"
    fig.suptitle(f"rhinoapp grid convergence, {report['variant']}, {report['flow_ml_s']:g} ml/s, {setting}",
                 fontsize=9)
    fig.tight_layout()
    path = out / f"{name}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


SERIES_FIGURES = {"nostrils_to_outlet": "dp nostrils to outlet plane (Pa)",
                  "nostrils_to_choanae": "dp nostrils to choanae (Pa)",
                  "partition_left_pct": "flow through the left side (%)"}


def series_records(paths: Sequence[Path], overrides: dict | None = None) -> list[dict]:
    """The converged runs of ``lbm_sensitivity.py`` reports with the settings ``overrides``, one per spacing.

    ``overrides`` defaults to the first run's. A report keeps its spacing per run or once for all runs.

    Examples
    --------
    >>> import tempfile
    >>> run = {"overrides": {"a": 1}, "converged": True, "pressure_drop_pa": {"nostrils_to_outlet": 9.0},
    ...        "partition_left_pct": 50.0}
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "r.json").write_text(json.dumps({"runs": [{**run, "resolution_mm": 1.0},
    ...     {**run, "resolution_mm": 0.5, "overrides": {"a": 2}}, {**run, "resolution_mm": 1.0}]}))
    >>> _ = (folder / "s.json").write_text(json.dumps({"resolution_mm": 0.8, "runs": [run]}))
    >>> [r["resolution_mm"] for r in series_records([folder / "r.json", folder / "s.json"])]
    [1.0, 0.8]
    """
    records: list[dict] = []
    for path in paths:
        report = json.loads(Path(path).read_text())
        for run in report.get("runs", []):
            spacing = run.get("resolution_mm", report.get("resolution_mm"))
            if spacing is None or "pressure_drop_pa" not in run or not run.get("converged", True):
                continue
            records.append({**run, "resolution_mm": float(spacing)})
    if not records:
        return []
    wanted = records[0].get("overrides", {}) if overrides is None else overrides
    kept: dict[float, dict] = {}
    for record in records:
        if record.get("overrides", {}) == wanted:
            kept.setdefault(record["resolution_mm"], record)
    return list(kept.values())


def _series_value(record: dict, key: str) -> float:
    return float(record[key]) if key in record else float(record["pressure_drop_pa"][key])


def constant_ratio_triplets(spacings: Sequence[float], *, tolerance: float = 0.01) -> list[tuple[float, float, float]]:
    """Every three spacings ``h1 < h2 < h3`` with ``h2/h1 = h3/h2`` (within ``tolerance``).

    Examples
    --------
    >>> constant_ratio_triplets([1.0, 0.8, 0.64, 0.512, 0.262144])
    [(0.512, 0.64, 0.8), (0.262144, 0.512, 1.0), (0.64, 0.8, 1.0)]
    """
    h = sorted(set(spacings))
    found = []
    for i, fine in enumerate(h):
        for j in range(i + 1, len(h)):
            for k in range(j + 1, len(h)):
                if abs((h[j] / fine) / (h[k] / h[j]) - 1.0) <= tolerance:
                    found.append((fine, h[j], h[k]))
    return sorted(found, key=lambda t: (t[2], t[0]))


def series_study(records: Sequence[dict], *, max_spacing_mm: float | None = None) -> dict[str, dict]:
    """Least-squares studies of the series' figures (all spacings, or those up to ``max_spacing_mm``),
    with the classic Richardson study of each constant-ratio triplet; no least squares below four spacings."""
    chosen = [r for r in records if max_spacing_mm is None or r["resolution_mm"] <= max_spacing_mm + 1e-9]
    spacings = [r["resolution_mm"] for r in chosen]
    by_spacing = {r["resolution_mm"]: r for r in chosen}
    studies: dict[str, dict] = {}
    for key in SERIES_FIGURES:
        values = [_series_value(r, key) for r in chosen]
        study: dict = {"least_squares": grid_uncertainty(values, spacings).as_dict() if len(chosen) >= 4 else None}
        study["richardson_triplets"] = [richardson([_series_value(by_spacing[h], key) for h in triplet], triplet)
                                        for triplet in constant_ratio_triplets(spacings)]
        studies[key] = study
    return studies


def plot_series(report: dict, out: Path, name: str) -> Path:
    """The series' pressure drop against the spacing, the least-squares fits and the finest run's uncertainty."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(7, 4.2))
    key = "nostrils_to_outlet"
    runs = report["runs"]
    ax.plot([r["resolution_mm"] for r in runs], [_series_value(r, key) for r in runs], "ko", label="rhinoapp runs")
    for part, style in (("all", "-"), ("fine", "--")):
        studies = report.get(f"studies_{part}")
        fit = studies[key]["least_squares"] if studies else None
        if fit is None:
            continue
        h = np.linspace(0.0, max(fit["spacings"]), 100)
        curve = fit["extrapolated"] + sum(c * h**q for c, q in zip(fit["coefficients"], fit["orders"]))
        order = (f"p = {fit['observed_order']:.2f}" if fit["order_trusted"]
                 else f"{fit['fit']} fit (free order {fit['observed_order']:.2f} not trusted)")
        which = "all spacings" if part == "all" else f"h <= {report['max_spacing_mm']:g} mm"
        label = f"{which}: {order}, f0 = {fit['extrapolated']:.2f} Pa, finest +- {fit['finest_uncertainty']:.2f} Pa"
        line, = ax.plot(h, curve, style, label=label)
        finest = min(fit["spacings"]) * (0.97 if part == "all" else 1.03)
        ax.errorbar([finest], [fit["finest_value"]], yerr=[fit["finest_uncertainty"]], color=line.get_color(),
                    capsize=4, lw=1.2)
    if report.get("reference_pa") is not None:
        ax.axhline(report["reference_pa"], color="grey", ls=":", label=f"reference {report['reference_pa']:g} Pa")
        ax.axhspan(0.9 * report["reference_pa"], 1.1 * report["reference_pa"], color="grey", alpha=0.12,
                   label="reference +-10 %")
    ax.set_xlim(left=0.0)
    ax.set_xlabel("lattice spacing h (mm)")
    ax.set_ylabel(SERIES_FIGURES[key])
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(textwrap.fill(report.get("case") or "rhinoapp grid series", 100), fontsize=8)
    fig.tight_layout()
    path = out / f"{name}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run_series(args: argparse.Namespace) -> int:
    """``--series``: study runs already made."""
    paths = [Path(p) for p in args.series.split(",")]
    overrides = dict(map(parse_setting, args.set.split("+"))) if args.set else None
    records = series_records(paths, overrides)
    case = args.title or json.loads(paths[-1].read_text()).get("case", "")
    report: dict = {"case": case, "reference_pa": args.reference_pa,
                    "max_spacing_mm": args.max_spacing_mm, "runs": records,
                    "studies_all": series_study(records)}
    if args.max_spacing_mm is not None:
        report["studies_fine"] = series_study(records, max_spacing_mm=args.max_spacing_mm)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps(report, indent=1))
    _log.info("wrote %s", plot_series(report, args.out, args.name))
    summary = {part: {key: {k: study["least_squares"][k] for k in ("fit", "observed_order", "extrapolated",
                                                                  "finest_value", "finest_uncertainty")}
                      for key, study in report[part].items() if study["least_squares"]}
               for part in ("studies_all", "studies_fine") if part in report}
    print(json.dumps(summary, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", default="one-sided-swelling")
    parser.add_argument("--work", type=Path, default=Path("/tmp/rhinoapp-foam-validation"))
    parser.add_argument("--out", type=Path, default=Path("docs/validation"))
    parser.add_argument("--flow-ml-s", type=float, default=250.0)
    parser.add_argument("--resolutions", default="1.25,1.0,0.8", help="three lattice spacings, mm")
    parser.add_argument("--dry-run", action="store_true", help="build the geometry, print the plan and estimates")
    parser.add_argument("--set", default="", metavar="NAME=VALUE[+NAME=VALUE]",
                        help="PhysicsConfig overrides for every run (in-process runs of lbm_sensitivity.py, reused)")
    parser.add_argument("--name", default="grid_convergence", help="base name of the report and figure in --out")
    parser.add_argument("--reference-pa", type=float, help="an independent solver's pressure drop, drawn as a line")
    parser.add_argument("--series", metavar="REPORT[,REPORT]",
                        help="study the runs of these lbm_sensitivity.py reports (least squares) instead of running")
    parser.add_argument("--title", help="with --series, the figure's title (default: the last report's case)")
    parser.add_argument("--max-spacing-mm", type=float,
                        help="with --series, also study the runs up to this spacing (the asymptotic range)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.series:
        return run_series(args)
    resolutions = [float(v) for v in args.resolutions.split(",")]
    if len(resolutions) != 3:
        parser.error("give exactly three resolutions")
    args.work.mkdir(parents=True, exist_ok=True)
    geometry = make_geometry(args.work, args.variant)
    planes = measurement_planes(geometry / "geometry.json")
    if args.dry_run:
        print(json.dumps({"geometry": str(geometry), "resolutions_mm": resolutions,
                          "planes": {k: vars(v) for k, v in planes.items()}}, indent=1))
        return 0
    overrides = dict(map(parse_setting, args.set.split("+"))) if args.set else {}
    runs = [figures_of(run_variant(args.work, geometry, h, args.flow_ml_s, overrides) if overrides
                       else run_rhinoapp(args.work, geometry, h, args.flow_ml_s), planes) for h in resolutions]
    keys = ("pressure_drop_reported_pa", "pressure_drop_outlet_plane_pa", "pressure_drop_choanae_pa",
            "partition_left_pct")
    studies = {key: richardson([run[key] for run in runs], [run["resolution_mm"] for run in runs]) for key in keys}
    report = {"variant": args.variant, "flow_ml_s": args.flow_ml_s, "overrides": overrides,
              "reference_pa": args.reference_pa, "runs": runs, "studies": studies}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps(report, indent=1))
    _log.info("wrote %s", plot(report, args.out, args.name))
    print(json.dumps(studies, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
