"""The comparison at a tenth of the Reynolds number, against an exact answer in the cavity.

At air's viscosity the two solvers disagree on the pressure drop (``docs/validation.md``). This check asks
whether they agree where the flow is simple: with the viscosity raised tenfold (Reynolds number about 100 at the
valve, lattice relaxation time 0.51-0.52, laminar and steady beyond doubt), on the same domain, planes and flow.
Where the airway's cross-section stays the same over a stretch (the phantom's cavity at y = 34-47 mm, within
10 of its 1,470 voxels), the flow there is fully developed and its pressure gradient has an exact value:
``dp/dy = mu Q / integral(w dA)`` with ``lap(w) = -1`` on the section and ``w = 0`` on its wall. The section is
taken from the label map (the wall on the voxel faces, as rhinoapp's walls lie) and solved on voxels split 1, 2,
4 and 8 times, with a Richardson estimate from the last three.

For every run folder and OpenFOAM case given it prints and writes the gradient fitted over that stretch (against
the exact one) and the pressure drop from the nostrils to the outlet plane (``measure.py``).

Run::

    PYTHONPATH=. .venv/bin/python validation/viscous_check.py --geometry /tmp/fv/geometry_one-sided-swelling \\
        /tmp/fv/sensitivity_*kinematic_viscosity* --openfoam /tmp/fv/openfoam_domain_nu0.00015/h0p9mm_L0 \\
        --json docs/validation/viscous_check.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from collections.abc import Iterator
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rhinoapp.cfd.walls import WALL_SMOOTHING_VOXELS  # noqa: E402

from measure import CellCloud, measurement_planes, pressure_drops, read_rhinoapp_fields  # noqa: E402
from openfoam_compare import openfoam_cloud, openfoam_flows  # noqa: E402

AIRWAY_LABELS = (1, 2, 3)
DENSITY_KG_M3 = 1.2


def section_integral_m4(air: np.ndarray, spacing_mm: float, split: int) -> float:
    """``integral(w dA)`` (m^4) of ``lap(w) = -1`` on a 2-D section, ``w = 0`` on the faces between air and wall.

    Five-point differences on the voxels split ``split`` times; a wall face takes the Dirichlet value at half a
    cell (second order for the voxel staircase).

    Examples
    --------
    >>> square = np.ones((40, 40), bool)  # 20 mm square at 0.5 mm; exact 0.1406 a^4 / 4 for side a
    >>> round(section_integral_m4(square, 0.5, 1) / (0.1406 * 0.02 ** 4 / 4), 2)
    1.0
    """
    import scipy.sparse as sparse
    import scipy.sparse.linalg as linalg

    fine = np.kron(air, np.ones((split, split), bool))
    h = spacing_mm * 1e-3 / split
    n = int(fine.sum())
    index = -np.ones(fine.shape, np.int64)
    index[fine] = np.arange(n)
    rows, cols = np.nonzero(fine)
    diagonal = np.zeros(n)
    entries: list[tuple[np.ndarray, np.ndarray]] = []
    for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        a, b = rows + di, cols + dj
        inside = (a >= 0) & (a < fine.shape[0]) & (b >= 0) & (b < fine.shape[1])
        neighbour = np.full(n, -1)
        neighbour[inside] = index[a[inside], b[inside]]
        diagonal += np.where(neighbour >= 0, 1.0, 2.0)
        keep = neighbour >= 0
        entries.append((np.arange(n)[keep], neighbour[keep]))
    r = np.concatenate([e[0] for e in entries] + [np.arange(n)])
    c = np.concatenate([e[1] for e in entries] + [np.arange(n)])
    v = np.concatenate([-np.ones(e[0].size) for e in entries] + [diagonal])
    matrix = sparse.csc_matrix((v, (r, c)), shape=(n, n))
    w = linalg.spsolve(matrix, np.full(n, h * h))
    return float(w.sum() * h * h)


def exact_gradient(geometry: Path, y_range: tuple[float, float], *, nu_m2_s: float, flow_ml_s: float,
                   smoothing_voxels: float = 0.0) -> dict:
    """The developed gradient (Pa/mm) on the label map's coronal sections in ``y_range``, per split and estimated.

    ``smoothing_voxels`` > 0: the section of the smooth wall instead of the voxel faces (the 0.5 level of the
    airway mask blurred by that Gaussian, as ``rhinoapp.cfd.walls`` and the OpenFOAM surface take it), resolved
    by the split voxels (bilinear interpolation of the blurred section).
    """
    import nibabel
    from scipy import ndimage

    image: Any = nibabel.load(str(geometry / "labels.nii.gz"))
    labels = np.asarray(image.dataobj)
    affine = image.affine
    air = np.isin(labels, AIRWAY_LABELS)
    blurred = ndimage.gaussian_filter(air.astype(np.float32), smoothing_voxels) if smoothing_voxels > 0 else None
    axis = int(np.argmax(np.abs(affine[1, :3])))
    ys = -(affine[1, axis] * np.arange(labels.shape[axis]) + affine[1, 3])  # LPS y of each slice
    spacing = float(abs(affine[0, 0]))
    chosen = np.flatnonzero((ys >= y_range[0]) & (ys <= y_range[1]))[::4]
    mu_q = DENSITY_KG_M3 * nu_m2_s * flow_ml_s * 1e-6
    splits = (1, 2, 4, 8)
    per_split = []
    for split in splits:
        if blurred is None:
            integrals = [section_integral_m4(np.take(air, k, axis=axis), spacing, split) for k in chosen]
        else:
            integrals = [section_integral_m4(_smooth_section(np.take(blurred, k, axis=axis), split), spacing / split, 1)
                         for k in chosen]
        per_split.append(mu_q / float(np.mean(integrals)) * 1e-3)
    g1, g2, g3 = per_split[-3:]
    ratio = (g2 - g1) / (g3 - g2)
    estimate = g3 + (g3 - g2) / (ratio - 1.0) if ratio > 1.0 else g3
    return {"sections_y_mm": ys[chosen].round(2).tolist(), "per_split_pa_per_mm": dict(zip(splits, per_split)),
            "observed_order": round(float(np.log2(ratio)), 2) if ratio > 0 else None, "estimate_pa_per_mm": estimate}


def _smooth_section(blurred: np.ndarray, split: int) -> np.ndarray:
    """The air of a blurred 2-D section on voxels split ``split`` times (bilinear, at the split voxels' centres)."""
    from scipy import ndimage

    centres = [(np.arange(n * split) + 0.5) / split - 0.5 for n in blurred.shape]
    grid = np.meshgrid(*centres, indexing="ij")
    return ndimage.map_coordinates(blurred, grid, order=1, mode="nearest") >= 0.5


def fitted_gradient(cloud: CellCloud, y_range: tuple[float, float]) -> float:
    """Volume-weighted least-squares slope (Pa/mm) of the pressure along y over the cells in ``y_range``."""
    y = cloud.xyz_mm[:, 1]
    keep = (y >= y_range[0]) & (y <= y_range[1])
    slope, _ = np.polyfit(y[keep], cloud.pressure_pa[keep], 1, w=np.sqrt(cloud.volume_mm3[keep]))
    return float(-slope)


def rhinoapp_viscosity(run: Path) -> float:
    """A run's kinematic viscosity (m^2/s) from its lattice units."""
    lattice = json.loads((run / "results.json").read_text())["lattice"]
    return float(lattice["nu_lattice"]) * float(lattice["dx_m"]) ** 2 / float(lattice["dt_s"])


def openfoam_viscosity(case: Path) -> float:
    """A case's kinematic viscosity (m^2/s) from ``constant/transportProperties``."""
    text = (case / "constant" / "transportProperties").read_text()
    found = re.search(r"\bnu\s+([0-9.eE+-]+);", text)
    if found is None:
        raise ValueError(f"no viscosity in {case}/constant/transportProperties")
    return float(found.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", type=Path, nargs="*", help="rhinoapp run folders (results.json, fields.vti)")
    parser.add_argument("--openfoam", type=Path, action="append", default=[], help="a solved OpenFOAM case (repeat)")
    parser.add_argument("--geometry", type=Path, required=True, help="geometry folder: labels.nii.gz, geometry.json")
    parser.add_argument("--y-range", default="34,47", help="the stretch of constant cross-section, LPS y in mm")
    parser.add_argument("--flow-ml-s", type=float, default=250.0)
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args(argv)
    low, high = (float(v) for v in args.y_range.split(","))
    y_range = (low, high)
    planes = measurement_planes(args.geometry / "geometry.json")
    entries: list[dict[str, Any]] = []
    for solver, path, spacing, cloud, nu, partition in _fields(args.runs, args.openfoam):
        entries.append({"solver": solver, "case": f"{path.parent.name}/{path.name}", "spacing_mm": spacing, "nu_m2_s": nu,
                        "cells": int(cloud.pressure_pa.size), "cavity_gradient_pa_per_mm": fitted_gradient(cloud, y_range),
                        "nostrils_to_outlet_pa": pressure_drops(cloud, planes, max(spacing, 1.0))["nostrils_to_outlet"],
                        "partition_left_pct": round(partition, 2)})
    exact = {}
    for nu in sorted({round(e["nu_m2_s"], 10) for e in entries}):
        exact[f"{nu:g}"] = {wall: exact_gradient(args.geometry, y_range, nu_m2_s=nu, flow_ml_s=args.flow_ml_s,
                                                 smoothing_voxels=smoothing)
                            for wall, smoothing in (("voxel_faces", 0.0), ("smooth", WALL_SMOOTHING_VOXELS))}
    for e in entries:
        walls = exact[f"{round(e['nu_m2_s'], 10):g}"]
        e["cavity_gradient_vs_exact_pct"] = {wall: round(100.0 * (e["cavity_gradient_pa_per_mm"]
                                                                  / walls[wall]["estimate_pa_per_mm"] - 1.0), 1)
                                             for wall in walls}
        versus = ", ".join(f"{v:+.1f} %" for v in e["cavity_gradient_vs_exact_pct"].values())
        print(f"{e['solver']:9s} {e['spacing_mm']:5.3g} mm  nu {e['nu_m2_s']:.3g}  cavity gradient "
              f"{e['cavity_gradient_pa_per_mm']:.4f} Pa/mm ({versus} against developed flow, voxel faces, smooth)  "
              f"nostrils to outlet {e['nostrils_to_outlet_pa']:.2f} Pa  left {e['partition_left_pct']:.1f} %")
    report = {"y_range_mm": y_range, "flow_ml_s": args.flow_ml_s, "exact": exact, "runs": entries}
    args.json.write_text(json.dumps(report, indent=1))
    return 0


def _fields(runs: list[Path], cases: list[Path]) -> Iterator[tuple[str, Path, float, CellCloud, float, float]]:
    """Solver, folder, spacing (mm), field, viscosity (m^2/s) and left partition (%) of every run and case."""
    for run in runs:
        results = json.loads((run / "results.json").read_text())
        partition = 100.0 * results["flow_ml_s"]["left"] / results["flow_ml_s"]["total"]
        yield ("rhinoapp", run, float(results["lattice"]["dx_mm"]), read_rhinoapp_fields(run),
               rhinoapp_viscosity(run), partition)
    for case in cases:
        flows = openfoam_flows(case)
        summary = json.loads((case / "summary.json").read_text()) if (case / "summary.json").is_file() else {}
        spacing = float(summary.get("cell_mm", 0.0)) / 2 ** int(summary.get("surface_level") or 0)
        yield ("OpenFOAM", case, spacing, openfoam_cloud(case), openfoam_viscosity(case),
               100.0 * flows["inlet_left"] / (flows["inlet_left"] + flows["inlet_right"]))


if __name__ == "__main__":
    raise SystemExit(main())
