"""Validate rhinoapp's airflow against OpenFOAM (steady laminar simpleFoam) on a hard phantom.

Steps (each skipped when its output is already in ``--work``, so a rerun continues):

1. ``rhinoapp phantom --variant VARIANT`` and ``rhinoapp segment``: the geometry folder
   (``labels.nii.gz``, ``airway.vtp`` with the opening faces, ``geometry.json`` with the planes).
2. OpenFOAM at each ``--levels`` background cell size: blockMesh, snappyHexMesh from the airway
   surface (patches ``inlet_left``, ``inlet_right``, ``outlet``, ``wall``), simpleFoam with
   rhinoapp's boundary conditions (see ``foam_case.py``), cell centres and volumes.
3. ``rhinoapp simulate`` on the same geometry folder at ``--rhinoapp-resolution`` (the current
   rhinoapp: its inlet and outlet treatment are whatever the installed version does).
4. The same measurements on both (``measure.py``): pressure drop from the nostrils (ambient) to the
   outlet plane and to the choanae (per side), flow partition, and the pressure along the airway;
   a JSON report and two figures in ``--out``.

Run (about 10-30 minutes on two cores; ``apt-get install openfoam`` or ``make validation-deps`` first)::

    PYTHONPATH=. .venv/bin/python validation/openfoam_compare.py --work /tmp/foam-validation --out docs/validation

``--dry-run`` writes the geometry and the OpenFOAM case files of every level, checks them and stops
(no OpenFOAM needed); it is what the test runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import foam_case  # noqa: E402
from measure import CellCloud, measurement_planes, pressure_drops, read_rhinoapp_fields  # noqa: E402

_log = logging.getLogger("openfoam_compare")


def rhinoapp_cli(*args: str, log: Path) -> None:
    """Run ``python -m rhinoapp ARGS`` at the lowest priority, its output into ``log``."""
    with open(log, "w") as handle:
        done = subprocess.run(["nice", "-n", "19", sys.executable, "-m", "rhinoapp", *args], stdout=handle,
                              stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"rhinoapp {args[0]} failed (exit {done.returncode}); see {log}")


def make_geometry(work: Path, variant: str) -> Path:
    """The geometry folder of the phantom variant (segmented from its CT, as a user would)."""
    geometry = work / f"geometry_{variant}"
    if not (geometry / "geometry.json").is_file():
        phantom = work / f"phantom_{variant}"
        rhinoapp_cli("phantom", "--variant", variant, "--out", str(phantom), log=work / "phantom.log")
        rhinoapp_cli("segment", str(phantom / "ct.nii.gz"), "--out", str(geometry), log=work / "segment.log")
    return geometry


def run_rhinoapp(work: Path, geometry: Path, resolution_mm: float, flow_ml_s: float) -> Path:
    """A rhinoapp run folder at ``resolution_mm`` (reused when its results.json exists)."""
    run = work / f"rhinoapp_{resolution_mm:g}mm"
    if not (run / "results.json").is_file():
        start = time.monotonic()
        rhinoapp_cli("simulate", str(geometry), "--out", str(run), "--resolution-mm", f"{resolution_mm:g}",
                     "--flow-ml-s", f"{flow_ml_s:g}", log=work / f"rhinoapp_{resolution_mm:g}mm.log")
        (run / "wall_time_s.txt").write_text(f"{time.monotonic() - start:.1f}\n")
    return run


def run_openfoam(work: Path, geometry: Path, level: foam_case.MeshLevel, *, flow_ml_s: float, iterations: int,
                 dry_run: bool, cases: str = "openfoam", nu_m2_s: float = foam_case.NU_M2_S,
                 limited_gradient: bool = True, processes: int = 1,
                 convection: str = "linearUpwind") -> dict[str, object]:
    """Mesh and solve one level; returns the case summary (and writes ``summary.json`` in the case).

    The case lies in ``work/cases/<level>``; ``geometry`` is the folder whose ``airway.vtp`` is meshed; ``nu_m2_s``
    is the air's kinematic viscosity (raised for the viscous check, see ``viscous_check.py``); ``limited_gradient``
    and ``convection`` as :func:`foam_case.write_numerics`; ``processes`` > 1 runs simpleFoam on that many MPI ranks (decomposed
    along x, reconstructed at the end).
    """
    case = work / cases / level.name
    summary_path = case / "summary.json"
    if summary_path.is_file() and not dry_run:
        summary: dict[str, object] = json.loads(summary_path.read_text())
        if int(summary["iterations"]) >= iterations:  # type: ignore[call-overload]
            return summary
        return continue_openfoam(case, summary, iterations=iterations, processes=processes)
    meshed = (case / "constant" / "polyMesh" / "boundary").is_file() and (case / "mesh.json").is_file()
    if meshed and not dry_run:  # reuse the mesh of an earlier run
        info = json.loads((case / "mesh.json").read_text())
        for old in [*case.glob("[1-9]*"), case / "postProcessing", case / "0"]:
            shutil.rmtree(old, ignore_errors=True)
    else:
        info = foam_case.write_mesh_case(case, geometry, level)
    foam_case.write_numerics(case, nu_m2_s=nu_m2_s, limited_gradient=limited_gradient, convection=convection)
    if dry_run:
        named = {name: 1 for name in foam_case.FACES}
        foam_case.write_fields(case, named, flow_ml_s=flow_ml_s)
        foam_case.write_control(case, iterations=iterations, patches=tuple(n for n in named if n != "wall"))
        return {"case": str(case), **info}
    start = time.monotonic()
    if not meshed:
        foam_case.run_tool(case, "blockMesh")
        foam_case.run_tool(case, "snappyHexMesh", "-overwrite")
        (case / "mesh.json").write_text(json.dumps(info, indent=1))
    patches = foam_case.mesh_patches(case)
    missing = [name for name in foam_case.FACES if patches.get(name, 0) == 0]
    if missing:
        raise RuntimeError(f"snappyHexMesh left no faces on {missing} in {case}: check the surface's opening faces")
    foam_case.write_fields(case, patches, flow_ml_s=flow_ml_s)
    foam_case.write_control(case, iterations=iterations, patches=tuple(p for p in patches if p != "wall"))
    try:  # a potential-flow start saves iterations; simpleFoam starts from rest without it
        foam_case.run_tool(case, "potentialFoam")
    except RuntimeError as error:
        _log.warning("potentialFoam failed, starting from rest: %s", str(error)[:200])
    solve(case, processes=processes)
    return finish_case(case, info, patches, wall_time_s=time.monotonic() - start)


def solve(case: Path, *, processes: int) -> None:
    """simpleFoam from the case's latest time: on ``processes`` MPI ranks (decomposed, reconstructed at the end)
    when more than one."""
    if processes > 1:
        foam_case.write_decomposition(case, processes)
        foam_case.run_tool(case, "decomposePar", "-force", "-latestTime")
        foam_case.run_tool(case, *foam_case.parallel_command("simpleFoam", processes), log_name="simpleFoam")
        foam_case.run_tool(case, "reconstructPar", "-latestTime")
    else:
        foam_case.run_tool(case, "simpleFoam")


def continue_openfoam(case: Path, summary: dict, *, iterations: int, processes: int = 1) -> dict[str, object]:
    """Go on with a solved case from its last iteration up to ``iterations`` (a steady solve still drifting).

    The pressure average starts afresh over the last quarter of the new total; the log of the first part is kept
    as ``log.simpleFoam.<iterations>``.
    """
    start = time.monotonic()
    final = foam_case.latest_time(case)
    (final / "pMean").unlink(missing_ok=True)
    shutil.rmtree(final / "uniform" / "functionObjects", ignore_errors=True)
    (case / "log.simpleFoam").rename(case / f"log.simpleFoam.{final.name}")
    patches = foam_case.mesh_patches(case)
    foam_case.write_control(case, iterations=iterations, patches=tuple(p for p in patches if p != "wall"))
    solve(case, processes=processes)
    info = json.loads((case / "mesh.json").read_text())
    earlier = float(summary.get("wall_time_s") or 0.0)
    return finish_case(case, info, patches, wall_time_s=earlier + time.monotonic() - start)


def finish_case(case: Path, info: dict, patches: dict[str, int], *, wall_time_s: float) -> dict[str, object]:
    """Cell centres and volumes of a solved case, and its ``summary.json``."""
    foam_case.run_tool(case, "postProcess", "-func", "writeCellCentres", "-latestTime", log_name="cellCentres")
    foam_case.run_tool(case, "postProcess", "-func", "writeCellVolumes", "-latestTime", log_name="cellVolumes")
    final = foam_case.latest_time(case)
    cells = foam_case.parse_internal_field((final / "p").read_text()).size
    residual = foam_case.last_residuals(case / "log.simpleFoam")
    summary = {"case": str(case), **info, "cells": int(cells), "patch_faces": patches,
               "iterations": int(float(final.name)), "wall_time_s": round(wall_time_s, 1), "final_residuals": residual}
    (case / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def openfoam_cloud(case: Path) -> CellCloud:
    """Cell centres (mm), pressure (Pa) and volumes (mm^3) of a solved case's latest time.

    The pressure is the average over the last iterations (``pMean``, :data:`foam_case.AVERAGE_FRACTION`) where the
    case wrote one, else the last iteration's.
    """
    final = foam_case.latest_time(case)
    averaged = final / "pMean"
    p = foam_case.parse_internal_field((averaged if averaged.is_file() else final / "p").read_text())
    p = p * foam_case.RHO_KG_M3
    centres = foam_case.parse_internal_field((final / "C").read_text()) * 1e3
    volumes = foam_case.parse_internal_field((final / "V").read_text()) * 1e9
    return CellCloud(centres, p, volumes)


def openfoam_flows(case: Path) -> dict[str, float]:
    """Steady flows (ml/s, into the airway positive at the nostrils) and their spread over the last 10 % of iterations."""
    result: dict[str, float] = {}
    for patch in (*foam_case.INLETS, "outlet"):
        rows = foam_case.monitor(case, f"flow_{patch}")
        tail = rows[int(0.9 * len(rows)):, 1] * 1e6
        sign = -1.0 if patch in foam_case.INLETS else 1.0
        result[patch] = float(sign * tail.mean())
    outlet_p = foam_case.monitor(case, "pAvg_outlet")
    tail_p = outlet_p[int(0.9 * len(outlet_p)):, 1] * foam_case.RHO_KG_M3
    result["outlet_patch_pressure_pa"] = float(tail_p.mean())
    result["outlet_patch_pressure_spread_pa"] = float(tail_p.max() - tail_p.min())
    return result


def measure(cloud: CellCloud, planes: dict, half_thickness_mm: float) -> dict[str, object]:
    """Pressure drops between the planes (Pa, see :func:`measure.pressure_drops`) and the axial profile."""
    drops = pressure_drops(cloud, planes, half_thickness_mm)
    y, p = cloud.profile(bin_mm=2.0)
    return {"pressure_drop_pa": drops, "profile": {"y_mm": y.round(3).tolist(), "pressure_pa": p.round(4).tolist()}}


def compare(work: Path, geometry: Path, foam_summaries: list[dict], lbm_run: Path, *, flow_ml_s: float) -> dict:
    """The comparison report (JSON-ready)."""
    planes = measurement_planes(geometry / "geometry.json")
    lbm_results = json.loads((lbm_run / "results.json").read_text())
    lbm_cloud = read_rhinoapp_fields(lbm_run)
    spacing = float(np.cbrt(lbm_cloud.volume_mm3[0]))
    lbm = {"resolution_mm": spacing, "fluid_cells": int(lbm_cloud.pressure_pa.size),
           **measure(lbm_cloud, planes, max(spacing, 1.0)),
           "reported": {k: lbm_results.get(k) for k in ("pressure_drop_pa", "flow_ml_s", "flow_partition_left_pct",
                                                        "steps", "converged", "max_velocity_m_s")}}
    flows = lbm_results["flow_ml_s"]
    lbm["partition_left_pct"] = 100.0 * flows["left"] / flows["total"]
    foam = []
    for summary in foam_summaries:
        case = Path(str(summary["case"]))
        cloud = openfoam_cloud(case)
        f = openfoam_flows(case)
        entry = {k: summary.get(k) for k in ("cell_mm", "surface_level", "cells", "iterations", "wall_time_s",
                                              "final_residuals")}
        entry["wall_cell_mm"] = float(summary["cell_mm"]) / 2 ** int(summary.get("surface_level") or 0)
        entry.update(measure(cloud, planes, max(float(summary["cell_mm"]), 1.0)), flows_ml_s=f,
                     partition_left_pct=100.0 * f["inlet_left"] / (f["inlet_left"] + f["inlet_right"]))
        foam.append(entry)
    finest = min(foam, key=lambda e: (e["wall_cell_mm"], e["cell_mm"]))
    diff = {}
    for name, value in lbm["pressure_drop_pa"].items():
        ref = finest["pressure_drop_pa"][name]
        if not name.startswith("p_"):
            diff[name] = round(100.0 * (value - ref) / ref, 2) if ref else None
    others = []  # every rhinoapp resolution in the work folder, for the figure
    for run in sorted(work.glob("rhinoapp_*mm")):
        if (run / "results.json").is_file():
            cloud = read_rhinoapp_fields(run)
            h = float(np.cbrt(cloud.volume_mm3[0]))
            others.append({"resolution_mm": round(h, 4), **measure(cloud, planes, max(h, 1.0))})
    lbm["all_resolutions"] = sorted({o["resolution_mm"]: o for o in others}.values(), key=lambda o: -o["resolution_mm"])
    studies = {}
    if len([e for e in foam if not e["surface_level"]]) >= 3:  # OpenFOAM's own mesh convergence on its three finest meshes
        from grid_convergence import richardson

        three = sorted((e for e in foam if not e["surface_level"]), key=lambda e: e["cell_mm"])[:3]
        h = [e["cell_mm"] for e in three]
        studies = {key: richardson([e["pressure_drop_pa"][key] for e in three], h)
                   for key in ("nostrils_to_outlet", "nostrils_to_choanae")}
        studies["partition_left_pct"] = richardson([e["partition_left_pct"] for e in three], h)
    return {"flow_ml_s": flow_ml_s, "geometry": str(geometry), "planes": {k: vars(v) for k, v in planes.items()},
            "rhinoapp": lbm, "openfoam": foam, "openfoam_convergence": studies,
            "difference": {"pressure_drop_pct": diff,
                           "partition_points": round(lbm["partition_left_pct"] - finest["partition_left_pct"], 2)},
            "goal": {"pressure_drop_pct": 10.0, "partition_points": 3.0}}


def plot(report: dict, out: Path, *, prefix: str = "") -> list[Path]:
    """Pressure along the airway (both solvers) and dp against the OpenFOAM mesh; PNG files in ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4))
    for entry in report["openfoam"]:
        ax.plot(entry["profile"]["y_mm"], entry["profile"]["pressure_pa"], label=f"OpenFOAM {entry['cells']:,} cells "
                f"({entry.get('wall_cell_mm', entry['cell_mm']):g} mm at the wall)", lw=1.2)
    lbm = report["rhinoapp"]
    ax.plot(lbm["profile"]["y_mm"], lbm["profile"]["pressure_pa"], "k--", lw=1.8,
            label=f"rhinoapp LBM {lbm['resolution_mm']:g} mm")
    for name in ("choanae", "outlet"):
        plane = report["planes"].get(name)
        if plane:
            ax.axvline(plane["point_mm"][1], color="grey", lw=0.7, ls=":")
            ax.text(plane["point_mm"][1], ax.get_ylim()[1], name, rotation=90, va="top", ha="right", fontsize=8)
    ax.set_xlabel("y, anterior to posterior (mm, LPS)")
    ax.set_ylabel("mean gauge pressure in coronal slab (Pa)")
    ax.set_title(f"Pressure along the airway at {report['flow_ml_s']:g} ml/s")
    ax.legend(fontsize=8)
    fig.tight_layout()
    profile = out / f"{prefix}openfoam_pressure_profile.png"
    fig.savefig(profile, dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    foam = sorted(report["openfoam"], key=lambda e: -e["wall_cell_mm"])
    h = [e["wall_cell_mm"] for e in foam]
    runs = lbm.get("all_resolutions") or [{"resolution_mm": lbm["resolution_mm"], **lbm}]
    for name, marker in (("outlet", "o"), ("choanae", "s")):
        key = f"nostrils_to_{name}"
        if key in lbm["pressure_drop_pa"]:
            line, = ax.plot(h, [e["pressure_drop_pa"][key] for e in foam], marker=marker,
                            label=f"OpenFOAM, nostrils to {name}")
            ax.plot([r["resolution_mm"] for r in runs], [r["pressure_drop_pa"][key] for r in runs], marker=marker,
                    ls="--", color=line.get_color(), mfc="white", label=f"rhinoapp LBM, nostrils to {name}")
    ax.set_xlabel("cell size at the wall (mm): OpenFOAM snapped mesh, rhinoapp lattice")
    ax.set_ylabel("pressure drop (Pa)")
    ax.invert_xaxis()
    ax.legend(fontsize=8)
    fig.tight_layout()
    drops = out / f"{prefix}openfoam_pressure_drop_vs_mesh.png"
    fig.savefig(drops, dpi=110)
    plt.close(fig)
    return [profile, drops]


def parse_level(value: str, *, surface_level: int) -> foam_case.MeshLevel:
    """A ``--levels`` entry: ``cell_mm[:surface_level[:layers[:layer_feature_angle]]]``.

    >>> parse_level("0.6::3", surface_level=0)
    MeshLevel(cell_mm=0.6, surface_level=0, layers=3, layer_feature_angle=60.0)
    >>> parse_level("0.6::3:180", surface_level=0).name
    'h0p6mm_L0_B3_F180'
    """
    cell, level, layers, angle = (value.split(":") + ["", "", ""])[:4]
    return foam_case.MeshLevel(float(cell), int(level) if level else surface_level, int(layers) if layers else 0,
                               float(angle) if angle else foam_case.LAYER_FEATURE_ANGLE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", default="one-sided-swelling", help="phantom variant (a hard one)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/rhinoapp-foam-validation"))
    parser.add_argument("--out", type=Path, default=Path("docs/validation"))
    parser.add_argument("--flow-ml-s", type=float, default=250.0)
    parser.add_argument("--levels", default="1.5,1.2,0.9,1.2:1",
                        help="OpenFOAM meshes: background cell size in mm, optionally :snappy surface level, "
                             ":prism layers on the wall and :the angle above which the layers stop (0.6::3:180)")
    parser.add_argument("--surface-level", type=int, default=0, help="snappy refinement level at the wall")
    parser.add_argument("--iterations", type=int, default=1500,
                        help="simpleFoam iterations at most (a case solved with fewer goes on from its last one)")
    parser.add_argument("--rhinoapp-resolution", type=float, default=0.8, help="rhinoapp lattice spacing, mm")
    parser.add_argument("--dry-run", action="store_true", help="write and check the case files only")
    parser.add_argument("--domain", choices=["airway", "rhinoapp"], default="airway",
                        help="what OpenFOAM meshes: the segmented airway (air enters through the nostril caps) or "
                             "rhinoapp's own flow domain, with its ambient-air chambers and outlet extension "
                             "(foam_domain.py; cases in WORK/openfoam_domain)")
    parser.add_argument("--rhinoapp-run", type=Path, help="compare with this rhinoapp run folder instead of a "
                                                          "default run at --rhinoapp-resolution")
    parser.add_argument("--report", default="openfoam_compare", help="name of the report and figures in --out")
    parser.add_argument("--viscosity", type=float, default=foam_case.NU_M2_S,
                        help="the air's kinematic viscosity, m2/s (default air's; other values go to cases named "
                             "..._nu<value>, for the viscous check)")
    parser.add_argument("--processes", type=int, default=1, help="MPI ranks for simpleFoam (decomposePar along x)")
    parser.add_argument("--gradient", choices=["limited", "unlimited"], default="limited",
                        help="the velocity gradient of the convection scheme: limited per cell (robust, dissipative "
                             "at jets) or plain (cases named ..._unlimited); the reference's spread between the two "
                             "is part of its uncertainty")
    parser.add_argument("--convection", choices=foam_case.CONVECTION_SCHEMES, default="linearUpwind",
                        help="the velocity's convection scheme (cases other than linearUpwind named ..._<scheme>)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args.work.mkdir(parents=True, exist_ok=True)
    geometry = make_geometry(args.work, args.variant)
    levels = [parse_level(value, surface_level=args.surface_level) for value in args.levels.split(",")]
    if not args.dry_run and not foam_case.have_openfoam():
        parser.error("OpenFOAM is not installed: `apt-get install openfoam` (or `make validation-deps`)")
    meshed, cases = geometry, "openfoam"
    if args.domain == "rhinoapp":
        from foam_domain import write_domain_geometry

        meshed, cases = write_domain_geometry(geometry, args.work / f"{geometry.name}_domain"), "openfoam_domain"
    if args.viscosity != foam_case.NU_M2_S:
        cases = f"{cases}_nu{args.viscosity:g}"
    if args.gradient == "unlimited":
        cases = f"{cases}_unlimited"
    cases += foam_case.convection_suffix(args.convection)
    summaries = []
    for level in levels:
        _log.info("OpenFOAM %s (%s)", level.name, cases)
        summaries.append(run_openfoam(args.work, meshed, level, flow_ml_s=args.flow_ml_s,
                                      iterations=args.iterations, dry_run=args.dry_run, cases=cases,
                                      nu_m2_s=args.viscosity, limited_gradient=args.gradient == "limited",
                                      processes=args.processes, convection=args.convection))
    if args.dry_run:
        print(json.dumps(summaries, indent=1))
        return 0
    lbm_run = args.rhinoapp_run or run_rhinoapp(args.work, geometry, args.rhinoapp_resolution, args.flow_ml_s)
    report = compare(args.work, geometry, summaries, lbm_run, flow_ml_s=args.flow_ml_s)
    report.update(variant=args.variant, openfoam_domain=args.domain, rhinoapp_run=str(lbm_run))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.report}.json").write_text(json.dumps(report, indent=1))
    for path in plot(report, args.out, prefix="" if args.report == "openfoam_compare" else f"{args.report}_"):
        _log.info("wrote %s", path)
    print(json.dumps(report["difference"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
