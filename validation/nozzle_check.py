"""A canonical jet with a converged reference: rhinoapp and OpenFOAM on an axisymmetric "valve nozzle".

The gap between rhinoapp and OpenFOAM on the phantom forms where the air contracts from the nostrils into the
nasal valve and leaves it as a jet (docs/validation.md). Neither solver's figure there is known to be right: the
reference's 3D meshes move it by 25 %. This check puts the same flow physics on a geometry where a converged
answer can be had on this machine: a round pipe (the vestibule, radius 5 mm) contracts by a straight cone to a
throat of a quarter of its area (the valve: 5 mm across, 10 mm long), which opens suddenly into a pipe of radius
5 mm (the cavity), all along ``z``. At the air's viscosity and a throat Reynolds number of 700 (mean speed 2.1 m/s,
the valve's at 250 ml/s) the throat carries 10 cells across at 0.5 mm, as the valve does.

* **OpenFOAM, axisymmetric**: a 5-degree wedge (blockMesh, graded towards the wall and the shear layer),
  steady laminar simpleFoam with the phantom cases' schemes (plain gradient), on meshes with ``N`` cells across
  the throat's radius (``--levels``, for example 20,40,80: up to 170 cells across the throat); three levels give an
  observed order and a Richardson estimate. Same boundary conditions as the phantom cases: ambient (total)
  pressure 0 at the inlet, a plug outflow of the flow at the outlet, no-slip walls.
* **rhinoapp**: the same nozzle as a voxel mask (``--voxel`` mm, default 0.125) through
  :func:`rhinoapp.cfd.simulation.simulate` with the app's defaults at each ``--resolutions`` spacing: the
  smooth-walls model, its wall found on the fine voxels.

Both are measured alike: the static pressure averaged over slabs ``2 * --half-mm`` thick across the whole section
at the stations of :meth:`Nozzle.stations` (inlet pipe, before and in the throat, after the expansion), relative to
the first; and in each slab the kinetic-energy coefficient ``mean(u^3) / mean(u)^3`` and the peak over the mean
axial speed.

Run::

    PYTHONPATH=. .venv/bin/python validation/nozzle_check.py --work /tmp/nozzle --levels 20,40,80 \\
        --resolutions 0.5,0.4,0.33 --json docs/validation/nozzle_check.json --figure docs/validation/nozzle_check.png

Examples
--------
>>> stations = Nozzle().stations()
>>> stations["inlet pipe"], stations["throat end"], stations["expansion +40 mm"]
(7.5, 32.0, 73.0)
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import sys
import time
from dataclasses import asdict
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import foam_case  # noqa: E402
from grid_convergence import richardson  # noqa: E402
from lbm_sensitivity import parse_setting  # noqa: E402
from measure import axial_profile  # noqa: E402
from nozzle_foam import (AXIAL_RATIO, WALL_RATIO, openfoam_cells, run_openfoam, run_openfoam_3d,  # noqa: E402
                         run_openfoam_revolved)
from nozzle_shape import Nozzle, nozzle_domain  # noqa: E402
from openfoam_compare import parse_level  # noqa: E402

_log = logging.getLogger("nozzle_check")


def run_rhinoapp(nozzle: Nozzle, work: Path, resolution_mm: float, *, flow_ml_s: float, voxel_mm: float,
                 threads: int | None = None, overrides: Mapping[str, object] | None = None,
                 flow_model: str | None = None) -> Path:
    """One rhinoapp run at ``resolution_mm`` with a flow model (default: the app's) and ``overrides`` of its
    :class:`~rhinoapp.cfd.config.PhysicsConfig` (reused when its results.json exists)."""
    from rhinoapp.cfd.config import DEFAULT_FLOW_MODEL, FlowModel, PhysicsConfig, RunConfig
    from rhinoapp.cfd.simulation import simulate

    model = FlowModel(flow_model) if flow_model else DEFAULT_FLOW_MODEL
    label = "".join(f"_{name}={value}" for name, value in sorted((overrides or {}).items()))
    label += "" if model is DEFAULT_FLOW_MODEL else f"_{model.value}"
    out = work / (f"rhinoapp_{resolution_mm:g}mm".replace(".", "p") + label)
    if (out / "results.json").is_file():
        return out
    fields = {**model.physics_fields(), **(overrides or {})}
    start = time.monotonic()
    result = simulate(nozzle_domain(nozzle, voxel_mm), PhysicsConfig(flow_ml_s=flow_ml_s, **fields),
                      RunConfig(threads=threads), resolution_mm=resolution_mm, out_dir=out)
    (out / "wall_time_s.txt").write_text(f"{time.monotonic() - start:.1f}\n")
    _log.info("rhinoapp %.3g mm: %d steps, converged %s", resolution_mm, result.results["steps"],
              result.results.get("converged"))
    return out


def rhinoapp_cells(run: Path) -> dict[str, np.ndarray]:
    """Axial position, radius (mm), pressure (Pa), axial speed (m/s) and weight of a run's fluid cells."""
    import pyvista as pv

    mesh = pv.read(run / "fields.vti")
    fluid = np.asarray(mesh.point_data["fluid"]) > 0
    points = np.asarray(mesh.points)[fluid]
    return {"z": points[:, 2], "r": np.hypot(points[:, 0], points[:, 1]),
            "p": np.asarray(mesh.point_data["pressure_pa"])[fluid],
            "u": np.asarray(mesh.point_data["velocity_m_s"])[fluid][:, 2], "w": np.ones(int(fluid.sum()))}


# ---------------------------------------------------------------------------------------------------------------
# measurement


def slab_figures(cells: dict[str, np.ndarray], z_mm: float, half_mm: float) -> dict[str, float]:
    """Weighted mean pressure, mean axial speed, kinetic-energy coefficient, peak over mean and peak in a slab.

    On a lattice the slab's cells stand for the section: where the wall is curved, the cells partly outside it make
    the mean speed a few per cent low and the coefficients high; the peak speed is free of that.

    Examples
    --------
    >>> z = np.repeat([0.0, 1.0], 4); u = np.tile([1.0, 1.0, 3.0, 3.0], 2)
    >>> cells = {"z": z, "r": z, "p": 2 * z, "u": u, "w": np.ones(8)}
    >>> figures = slab_figures(cells, 1.0, 0.25)
    >>> figures["pressure_pa"], figures["mean_speed_m_s"], figures["energy_coefficient"], figures["peak_over_mean"]
    (2.0, 2.0, 1.75, 1.5)
    """
    chosen = np.abs(cells["z"] - z_mm) <= half_mm
    if not chosen.any():
        raise ValueError(f"no cells within {half_mm} mm of z = {z_mm} mm")
    w, u = cells["w"][chosen], cells["u"][chosen]
    mean = float(np.average(u, weights=w))
    return {"pressure_pa": float(np.average(cells["p"][chosen], weights=w)), "mean_speed_m_s": mean,
            "energy_coefficient": float(np.average(u**3, weights=w) / mean**3),
            "peak_over_mean": float(u.max() / mean), "peak_m_s": float(u.max())}


def measure(cells: dict[str, np.ndarray], stations: dict[str, float], half_mm: float) -> dict[str, dict[str, float]]:
    """Every station's slab figures, the pressure relative to the first station's."""
    figures = {name: slab_figures(cells, z, half_mm) for name, z in stations.items()}
    reference = next(iter(figures.values()))["pressure_pa"]
    for row in figures.values():
        row["drop_pa"] = reference - row["pressure_pa"]
    return figures


def slab_profile(cells: dict[str, np.ndarray], *, bin_mm: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean pressure in slabs of ``bin_mm`` along the nozzle (:func:`measure.axial_profile`)."""
    return axial_profile(cells["z"][:, None], cells["p"], cells["w"], bin_mm=bin_mm, axis=0)


def plot(report: dict, curves: dict[str, tuple[np.ndarray, np.ndarray]], out: Path) -> None:
    """Pressure along the nozzle for every solution, the stations marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4.5))
    for name, (z, p) in curves.items():
        style = "-" if name.startswith("OpenFOAM") else "--"
        reference = np.interp(report["stations_mm"]["inlet pipe"], z[np.isfinite(p)], p[np.isfinite(p)])
        axes.plot(z, p - reference, style, label=name)
    for z in report["stations_mm"].values():
        axes.axvline(z, color="0.85", linewidth=0.8, zorder=0)
    axes.set_xlabel("z from the inlet face (mm)")
    axes.set_ylabel("mean static pressure (Pa)")
    axes.set_title(f"Valve nozzle, throat Reynolds number {report['reynolds']:g}: pressure along the axis")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/rhinoapp-nozzle"))
    parser.add_argument("--reynolds", type=float, default=700.0, help="throat Reynolds number")
    parser.add_argument("--nu", type=float, default=foam_case.NU_M2_S, help="kinematic viscosity (m^2/s)")
    parser.add_argument("--levels", default="20,40,80", help="OpenFOAM: cells across the throat's radius")
    parser.add_argument("--levels-3d", default="", help="OpenFOAM 3D (snappyHexMesh) meshes as openfoam_compare.py "
                        "--levels: CELL[:LEVEL[:LAYERS[:ANGLE]]], comma-separated (for example 0.9:0:3,0.6:0:3:180)")
    parser.add_argument("--revolved", default="", metavar="N:SECTORS",
                        help="OpenFOAM 3D on body-fitted meshes: the wedge of N cells per throat radius revolved in "
                             "SECTORS cells around, comma-separated (for example 6:48)")
    parser.add_argument("--gradient", choices=["limited", "unlimited"], default="unlimited",
                        help="the 3D cases' velocity gradient for convection (the wedge's is plain)")
    parser.add_argument("--wedge-grading", default=f"{WALL_RATIO:g}:{AXIAL_RATIO:g}", metavar="WALL:AXIAL",
                        help="the wedges' cells: ratio of the middle cell to the wall cell (1: uniform) and of the "
                             "axial to the mean radial cell (default 4:2; others go to cases named ..._w<WALL>_a<AXIAL>)")
    parser.add_argument("--convection", choices=foam_case.CONVECTION_SCHEMES, default="linearUpwind",
                        help="OpenFOAM's convection scheme for the velocity (wedge and 3D cases)")
    parser.add_argument("--iterations", type=int, default=4000, help="simpleFoam iterations per level")
    parser.add_argument("--resolutions", default="0.5", help="rhinoapp lattice spacings (mm), comma-separated")
    parser.add_argument("--voxel", type=float, default=0.125, help="voxel size of rhinoapp's nozzle mask (mm)")
    parser.add_argument("--threads", type=int, default=None, help="rhinoapp's Numba threads")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE[+NAME=VALUE]",
                        help="rhinoapp runs with these PhysicsConfig settings instead of the defaults (repeatable: "
                             "one set of runs per option)")
    parser.add_argument("--flow-model", default=None, help="rhinoapp's flow model (standard or smooth_walls; "
                        "default: the app's)")
    parser.add_argument("--half-mm", type=float, default=0.5, help="half-thickness of the measurement slabs")
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    parser.add_argument("--figure", type=Path, default=None, help="draw the pressure along the nozzle here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    nozzle = Nozzle()
    flow = nozzle.flow_ml_s(args.reynolds, args.nu)
    stations = nozzle.stations()
    args.work.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"nozzle": asdict(nozzle), "reynolds": args.reynolds, "nu_m2_s": args.nu,
                                 "flow_ml_s": round(flow, 4), "half_mm": args.half_mm, "stations_mm": stations,
                                 "openfoam": {}, "rhinoapp": {}}
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    levels = [int(n) for n in args.levels.split(",") if n]
    scheme = "" if args.convection == "linearUpwind" else f" {args.convection}"
    wall_ratio, axial_ratio = (float(v) for v in args.wedge_grading.split(":"))
    wedge_tag = scheme + ("" if (wall_ratio, axial_ratio) == (WALL_RATIO, AXIAL_RATIO)
                          else f" grading {args.wedge_grading}")
    for n in levels:
        if not foam_case.have_openfoam():
            _log.warning("OpenFOAM is not installed: no reference (apt-get install openfoam)")
            break
        case = run_openfoam(nozzle, args.work, n, flow_ml_s=flow, nu_m2_s=args.nu, iterations=args.iterations,
                            convection=args.convection, wall_ratio=wall_ratio, axial_ratio=axial_ratio)
        cells = openfoam_cells(case)
        report["openfoam"][f"N{n}{wedge_tag}"] = {**json.loads((case / "summary.json").read_text()),
                                                 "stations": measure(cells, stations, args.half_mm)}
        curves[f"OpenFOAM wedge, {n} cells per throat radius{wedge_tag}"] = slab_profile(cells)
    if len(levels) >= 3 and len(report["openfoam"]) >= 3:
        rows = [report["openfoam"][f"N{n}{wedge_tag}"]["stations"] for n in levels[-3:]]
        spacings = [1.0 / n for n in levels[-3:]]  # relative: the wedges are refined by their radial cells
        report["openfoam_richardson"] = {name: richardson([row[name]["drop_pa"] for row in rows], spacings)
                                         for name in list(stations)[1:]}
    for level in [v for v in args.levels_3d.split(",") if v]:
        case = run_openfoam_3d(nozzle, args.work, level, flow_ml_s=flow, nu_m2_s=args.nu, iterations=args.iterations,
                               limited_gradient=args.gradient == "limited", convection=args.convection)
        cells = openfoam_cells(case, axis=2)
        name = f"3D {level} {args.gradient}{scheme}"
        report.setdefault("openfoam_3d", {})[name] = {
            **json.loads((case / "summary.json").read_text()), "stations": measure(cells, stations, args.half_mm)}
        mesh = parse_level(level, surface_level=0)
        label = f"OpenFOAM 3D, {mesh.cell_mm:g} mm" + (f", {mesh.layers} layers" if mesh.layers else "")
        label += f" to {mesh.layer_feature_angle:g} deg" if mesh.layer_feature_angle != foam_case.LAYER_FEATURE_ANGLE else ""
        curves[label + scheme] = slab_profile(cells)
    for item in [v for v in args.revolved.split(",") if v]:
        radial, sectors = (int(v) for v in item.split(":"))
        case = run_openfoam_revolved(nozzle, args.work, radial, sectors, flow_ml_s=flow, nu_m2_s=args.nu,
                                     iterations=args.iterations)
        cells = openfoam_cells(case)
        report.setdefault("openfoam_revolved", {})[f"N{radial} x {sectors}"] = {
            **json.loads((case / "summary.json").read_text()), "stations": measure(cells, stations, args.half_mm)}
        curves[f"OpenFOAM 3D body-fitted, {radial} cells per throat radius x {sectors}"] = slab_profile(cells)
    variants = [dict(parse_setting(item) for item in text.split("+") if item) for text in args.set] or [{}]
    for overrides, h in itertools.product(variants, [float(v) for v in args.resolutions.split(",") if v]):
        run = run_rhinoapp(nozzle, args.work, h, flow_ml_s=flow, voxel_mm=args.voxel, threads=args.threads,
                           overrides=overrides, flow_model=args.flow_model)
        results = json.loads((run / "results.json").read_text())
        cells = rhinoapp_cells(run)
        name = f"{h:g} mm" + "".join(f", {key}={value}" for key, value in overrides.items())
        name += f", {args.flow_model} model" if args.flow_model else ""
        report["rhinoapp"][name] = {
            "steps": results.get("steps"), "converged": results.get("converged"),
            "fluid_cells": int(cells["z"].size), "tau": results.get("lattice", {}).get("tau"),
            "wall_time_s": float((run / "wall_time_s.txt").read_text()) if (run / "wall_time_s.txt").is_file() else None,
            "stations": measure(cells, stations, max(args.half_mm, 0.5 * h))}
        curves[f"rhinoapp {name}"] = slab_profile(cells)
    text = json.dumps(report, indent=1, default=float)
    if args.json:
        args.json.write_text(text + "\n")
    if args.figure and curves:
        plot(report, curves, args.figure)
    _log.info("%s", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
