"""Mechanical energy along the airway: where each solver's flow gains or loses total pressure.

A steady, passive flow from still ambient air cannot carry more total pressure than the air it came
from: the flux-weighted total pressure ``p + rho |u|^2 / 2`` of a cross-section is at most 0 Pa (gauge)
and falls monotonically from the nostrils to the outlet. A slab where it rises, or cells whose total
pressure lies well above 0, show energy that the numerics made, not the flow; a fall shows where the
flow loses it. This script reads a rhinoapp run folder (``fields.vti``) and, optionally, a solved
OpenFOAM case, and prints per coronal slab (LPS y):

* the mean static pressure (volume-weighted, as ``measure.axial_profile``),
* the mean speed across the slab (its flux over its area) and the peak speed,
* the flux-weighted total pressure (``sum (p + rho |u|^2/2) u_y dV / sum u_y dV``),
* the kinetic-energy flux coefficient alpha (``sum |u|^2 u_y dV / (U^2 sum u_y dV)``, 1 for a plug),
* the 99th percentile of the cells' total pressure (at most about 0 in a physical solution).

:func:`above_ambient` sums up the whole field: how many cells carry more total pressure than the ambient
air, and by how much. In steady incompressible flow the total pressure obeys a maximum principle
(``nu lap(H) - u . grad(H) = nu |omega|^2 >= 0`` for ``H = p / rho + |u|^2 / 2``): it is largest on the
boundary, here the still ambient air, so cells above it are a numerical artefact.

``--sections 1,3,5,7 --maps FILE.png`` draws the axial velocity on those coronal sections, one column per
solver on a shared scale (:func:`section_map`): where one solver's jet runs peakier than the other's.

Examples
--------
A plug flow of 2 m/s at -2.4 Pa carries exactly the ambient total pressure, and alpha is 1:

>>> xyz = np.array([[0.0, y, 0.0] for y in (0.2, 0.4, 0.6)])
>>> plug = FlowCloud(xyz, np.full(3, -2.4), np.tile([0.0, 2.0, 0.0], (3, 1)), np.ones(3))
>>> row = slab_energy(plug, y_low=0.0, y_high=1.0)[0]
>>> row["total_flux_weighted_pa"], row["alpha"]
(0.0, 1.0)
>>> above_ambient(plug, tolerance_pa=1.0)["cells"]
0

Run::

    PYTHONPATH=. .venv/bin/python validation/energy_flux.py /tmp/fv/rhinoapp_1mm \\
        --openfoam /tmp/fv/openfoam/h0p9mm_L0 --y-range -6,12 --json /tmp/fv/energy.json
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import foam_case  # noqa: E402
from measure import Plane, measurement_planes, read_fluid_cells  # noqa: E402

RHO_KG_M3 = 1.2


@dataclass(frozen=True)
class FlowCloud:
    """Cell centres (LPS mm), gauge pressure (Pa), velocity (LPS, m/s) and volumes (mm^3) of a steady field."""

    xyz_mm: np.ndarray
    pressure_pa: np.ndarray
    velocity_m_s: np.ndarray
    volume_mm3: np.ndarray


def read_rhinoapp(run_dir: Path) -> FlowCloud:
    """The fluid cells of a rhinoapp run folder's ``fields.vti``."""
    xyz, volume, arrays = read_fluid_cells(run_dir, ("pressure_pa", "velocity_m_s"))
    return FlowCloud(xyz, arrays["pressure_pa"], arrays["velocity_m_s"], volume)


def read_openfoam(case: Path) -> FlowCloud:
    """Cell centres, pressure, velocity and volumes of a solved OpenFOAM case's latest time."""
    final = foam_case.latest_time(case)
    return FlowCloud(foam_case.parse_internal_field((final / "C").read_text()) * 1e3,
                     foam_case.parse_internal_field((final / "p").read_text()) * foam_case.RHO_KG_M3,
                     foam_case.parse_internal_field((final / "U").read_text()),
                     foam_case.parse_internal_field((final / "V").read_text()) * 1e9)


def slab_energy(cloud: FlowCloud, *, y_low: float, y_high: float, bin_mm: float = 1.0) -> list[dict[str, float]]:
    """Per coronal slab of ``bin_mm`` between ``y_low`` and ``y_high`` (mm): the figures of the module docstring."""
    rows = []
    y = cloud.xyz_mm[:, 1]
    speed2 = np.sum(cloud.velocity_m_s ** 2, axis=1)
    total = cloud.pressure_pa + 0.5 * RHO_KG_M3 * speed2
    for low in np.arange(y_low, y_high, bin_mm):
        keep = (y >= low) & (y < low + bin_mm)
        if not keep.any():
            continue
        v = cloud.volume_mm3[keep]
        uy = cloud.velocity_m_s[keep, 1]
        flux = float(np.sum(uy * v))  # m/s mm^3: flow times slab thickness
        area = float(v.sum()) / bin_mm
        mean_speed = flux / bin_mm / area
        rows.append({
            "y_mm": round(float(low + bin_mm / 2), 3),
            "area_mm2": round(area, 2),
            "flow_ml_s": round(flux / bin_mm, 1),  # m/s times mm^2 is ml/s
            "static_pa": round(float(np.sum(cloud.pressure_pa[keep] * v) / v.sum()), 3),
            "mean_speed_m_s": round(mean_speed, 3),
            "peak_speed_m_s": round(float(np.sqrt(speed2[keep].max())), 3),
            "total_flux_weighted_pa": round(float(np.sum(total[keep] * uy * v) / flux), 3) if flux else float("nan"),
            "alpha": round(float(np.sum(speed2[keep] * uy * v) / (mean_speed ** 2 * flux)), 3) if flux else float("nan"),
            "total_p99_pa": round(float(np.percentile(total[keep], 99)), 3),
        })
    return rows


def plane_energy(cloud: FlowCloud, plane: Plane, *, half_thickness_mm: float = 1.0) -> dict[str, float]:
    """Flux-weighted total pressure, alpha and flow through the slab of a measurement plane (``measure.Plane``).

    The flux is taken along the plane's normal (into the airway for a nostril plane, out of it at the outlet:
    the sign is dropped, so both read as positive flows).

    Examples
    --------
    >>> xyz = np.array([[0.0, 0.0, z] for z in (-0.5, 0.5)])
    >>> flow = FlowCloud(xyz, np.array([-1.0, -1.0]), np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 3.0]]), np.ones(2))
    >>> plane_energy(flow, Plane("p", (0.0, 0.0, 0.0), (0.0, 0.0, -1.0)))["alpha"]
    1.75
    """
    offset = cloud.xyz_mm - np.asarray(plane.point_mm)
    normal = np.asarray(plane.normal, dtype=float)
    along = offset @ normal
    across = np.linalg.norm(offset - along[:, None] * normal, axis=1)
    keep = (np.abs(along) <= half_thickness_mm) & (across <= plane.radius_mm)
    if plane.side == "left":
        keep &= cloud.xyz_mm[:, 0] > 0
    elif plane.side == "right":
        keep &= cloud.xyz_mm[:, 0] < 0
    v = cloud.volume_mm3[keep]
    un = cloud.velocity_m_s[keep] @ normal
    flux = float(np.sum(un * v))
    sign = 1.0 if flux >= 0 else -1.0
    un, flux = sign * un, sign * flux
    speed2 = np.sum(cloud.velocity_m_s[keep] ** 2, axis=1)
    area = float(v.sum()) / (2 * half_thickness_mm)
    mean = flux / (2 * half_thickness_mm) / area
    total = cloud.pressure_pa[keep] + 0.5 * RHO_KG_M3 * speed2
    return {"flow_ml_s": round(flux / (2 * half_thickness_mm), 1),
            "static_pa": round(float(np.sum(cloud.pressure_pa[keep] * v) / v.sum()), 3),
            "total_flux_weighted_pa": round(float(np.sum(total * un * v) / flux), 3),
            "alpha": round(float(np.sum(speed2 * un * v) / (mean ** 2 * flux)), 3)}


def above_ambient(cloud: FlowCloud, *, tolerance_pa: float = 1.0) -> dict[str, float]:
    """Cells whose total pressure exceeds the ambient air's (0 Pa) by more than ``tolerance_pa``.

    Returns their number and share of the fluid volume, the largest total pressure, and the share of the
    kinetic energy flux they carry (how much of the flow runs through them).

    Examples
    --------
    >>> xyz = np.zeros((2, 3))
    >>> jet = FlowCloud(xyz, np.array([-2.0, -2.0]), np.array([[0.0, 1.0, 0.0], [0.0, 3.0, 0.0]]), np.ones(2))
    >>> report = above_ambient(jet)
    >>> report["cells"], report["max_total_pa"]
    (1, 3.4)
    """
    speed2 = np.sum(cloud.velocity_m_s ** 2, axis=1)
    total = cloud.pressure_pa + 0.5 * RHO_KG_M3 * speed2
    above = total > tolerance_pa
    energy = speed2 * np.sqrt(speed2) * cloud.volume_mm3
    return {"cells": int(above.sum()), "volume_share": round(float(cloud.volume_mm3[above].sum() / cloud.volume_mm3.sum()), 5),
            "max_total_pa": round(float(total.max()), 3),
            "kinetic_energy_share": round(float(energy[above].sum() / max(energy.sum(), 1e-300)), 4)}


SECTION_EXTENT_MM = (-25.0, 25.0, -20.0, 30.0)  #: x and z range of the drawn sections (x0, x1, z0, z1)


def section_map(cloud: FlowCloud, y_mm: float, *, grid_mm: float = 0.25,
                extent_mm: tuple[float, float, float, float] = SECTION_EXTENT_MM) -> np.ndarray:
    """The axial velocity (m/s) on the coronal section ``y = y_mm``, sampled on an (x, z) grid of ``grid_mm``.

    Each grid point takes the velocity of the nearest cell centre within about half a cell diagonal of it (NaN
    outside the fluid), so a lattice and an unstructured mesh give comparable pictures. Rows run along z.

    Examples
    --------
    >>> xyz = np.array([[x, 0.0, z] for x in (0.5, 1.5) for z in (0.5, 1.5)])
    >>> cells = FlowCloud(xyz, np.zeros(4), np.tile([0.0, 2.0, 0.0], (4, 1)), np.ones(4))
    >>> picture = section_map(cells, 0.0, grid_mm=1.0, extent_mm=(0.0, 3.0, 0.0, 2.0))
    >>> picture.tolist()
    [[2.0, 2.0, nan], [2.0, 2.0, nan]]
    >>> bool(np.isnan(section_map(cells, 9.0, grid_mm=1.0, extent_mm=(0.0, 3.0, 0.0, 2.0))).all())
    True
    """
    from scipy.spatial import cKDTree

    x0, x1, z0, z1 = extent_mm
    zz, xx = np.meshgrid(np.arange(z0 + grid_mm / 2, z1, grid_mm), np.arange(x0 + grid_mm / 2, x1, grid_mm),
                         indexing="ij")
    size = np.cbrt(cloud.volume_mm3)
    near = np.abs(cloud.xyz_mm[:, 1] - y_mm) <= size
    if not near.any():
        return np.full(zz.shape, np.nan)
    points = np.stack([xx.ravel(), np.full(xx.size, y_mm), zz.ravel()], axis=1)
    distance, index = cKDTree(cloud.xyz_mm[near]).query(points, distance_upper_bound=0.5 * np.sqrt(3.0) * size[near].max())
    found = np.isfinite(distance)
    values = np.full(len(points), np.nan)
    values[found] = cloud.velocity_m_s[near][index[found], 1]
    return values.reshape(zz.shape)


def draw_sections(clouds: dict[str, FlowCloud], sections_mm: list[float], path: Path, *, grid_mm: float = 0.25) -> None:
    """One row per section, one column per solver: the axial velocity (:func:`section_map`) on a shared scale,
    cropped to where any of them has fluid (1 mm margin)."""
    import re

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x0, _, z0, _ = SECTION_EXTENT_MM
    pictures = {(y, name): section_map(cloud, y, grid_mm=grid_mm)
                for y in sections_mm for name, cloud in clouds.items()}
    fluid = np.any([np.isfinite(p) for p in pictures.values()], axis=0)
    rows, columns = np.nonzero(fluid) if fluid.any() else (np.arange(fluid.shape[0]), np.arange(fluid.shape[1]))
    top = float(np.nanmax(list(pictures.values()))) if fluid.any() else 1.0
    fig, axes = plt.subplots(len(sections_mm), len(clouds), figsize=(3.0 * len(clouds) + 1.0, 2.6 * len(sections_mm)),
                             squeeze=False, layout="constrained")
    image = None
    for row, y in enumerate(sections_mm):
        for column, name in enumerate(clouds):
            spacing = re.search(r"(\d+(?:\.\d+)?mm|h\d+p\d+mm)", name)
            ax = axes[row][column]
            image = ax.imshow(pictures[(y, name)], origin="lower", extent=SECTION_EXTENT_MM, vmin=0.0, vmax=top,
                              cmap="viridis")
            ax.set_xlim(x0 + columns.min() * grid_mm - 1.0, x0 + (columns.max() + 1) * grid_mm + 1.0)
            ax.set_ylim(z0 + rows.min() * grid_mm - 1.0, z0 + (rows.max() + 1) * grid_mm + 1.0)
            ax.set_title(f"{name.split(':')[0]} {spacing.group(1) if spacing else ''}, y = {y:g} mm", fontsize=8)
            ax.tick_params(labelsize=6)
            if row == len(sections_mm) - 1:
                ax.set_xlabel("x (mm)", fontsize=7)
            if column == 0:
                ax.set_ylabel("z (mm)", fontsize=7)
    if image is not None:
        fig.colorbar(image, ax=axes, label="axial velocity (m/s)", shrink=0.5)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("rhinoapp_runs", type=Path, nargs="*", help="rhinoapp run folders (fields.vti)")
    parser.add_argument("--openfoam", type=Path, action="append", default=[], help="solved OpenFOAM case folders")
    parser.add_argument("--y-range", default="-8,14", help="LPS y range of the slabs, mm")
    parser.add_argument("--bin-mm", type=float, default=1.0)
    parser.add_argument("--json", type=Path, help="write every table here")
    parser.add_argument("--geometry", type=Path, help="a geometry folder: also the energy through its nostril and "
                                                      "outlet measurement planes (measure.py)")
    parser.add_argument("--sections", default="", help="coronal sections (LPS y, mm, comma-separated) to draw")
    parser.add_argument("--maps", type=Path, help="with --sections: a PNG of the axial velocity on them, per solver")
    args = parser.parse_args(argv)
    if bool(args.maps) != bool(args.sections):
        parser.error("--sections and --maps go together: the sections to draw and the PNG to draw them into")
    low, high = (float(v) for v in args.y_range.split(","))
    tables, summaries, clouds, planes = {}, {}, {}, {}
    for run in args.rhinoapp_runs:
        clouds[f"rhinoapp:{run.name}"] = read_rhinoapp(run)
    for case in args.openfoam:
        clouds[f"openfoam:{case.parent.name}/{case.name}"] = read_openfoam(case)
    for name, cloud in clouds.items():
        tables[name] = slab_energy(cloud, y_low=low, y_high=high, bin_mm=args.bin_mm)
        summaries[name] = above_ambient(cloud)
        if args.geometry:
            planes[name] = {key: plane_energy(cloud, plane)
                            for key, plane in measurement_planes(args.geometry / "geometry.json").items()
                            if key in ("nostril_left", "nostril_right", "outlet")}
    columns = ("y_mm", "area_mm2", "flow_ml_s", "static_pa", "mean_speed_m_s", "peak_speed_m_s",
               "total_flux_weighted_pa", "alpha", "total_p99_pa")
    lines = []
    for name, rows in tables.items():
        lines.append(f"\n{name}\n" + " ".join(f"{c:>12}" for c in columns))
        lines.extend(" ".join(f"{row[c]:>12}" for c in columns) for row in rows)
        lines.append(f"cells above the ambient total pressure (by more than 1 Pa): {summaries[name]}")
        if name in planes:
            lines.append(f"measurement planes: {planes[name]}")
    sys.stdout.write("\n".join(lines) + "\n")
    if args.maps and args.sections:
        draw_sections(clouds, [float(v) for v in args.sections.split(",")], args.maps)
    if args.json:
        args.json.write_text(json.dumps({"slabs": tables, "above_ambient": summaries, "planes": planes}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
