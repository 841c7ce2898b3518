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
>>> nozzle = Nozzle()
>>> [round(float(r), 3) for r in nozzle.radius_mm(np.array([5.0, 19.0, 30.0, 40.0]))]
[5.0, 3.75, 2.5, 5.0]
>>> round(nozzle.flow_ml_s(700, 1.5e-5), 2), nozzle.length_mm
(41.23, 83.0)
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import foam_case  # noqa: E402
from lbm_sensitivity import parse_setting  # noqa: E402

_log = logging.getLogger("nozzle_check")

WEDGE_DEGREES = 5.0


@dataclass(frozen=True)
class Nozzle:
    """A round pipe with a conical contraction into a throat and a sudden expansion behind it (mm, along z)."""

    inlet_radius_mm: float = 5.0
    inlet_length_mm: float = 15.0
    contraction_length_mm: float = 8.0
    throat_radius_mm: float = 2.5
    throat_length_mm: float = 10.0
    outlet_radius_mm: float = 5.0
    outlet_length_mm: float = 50.0

    @property
    def length_mm(self) -> float:
        """From the inlet face to the outlet face."""
        return self.inlet_length_mm + self.contraction_length_mm + self.throat_length_mm + self.outlet_length_mm

    @property
    def throat_mm(self) -> tuple[float, float]:
        """Where the throat begins and ends."""
        start = self.inlet_length_mm + self.contraction_length_mm
        return start, start + self.throat_length_mm

    def radius_mm(self, z_mm: np.ndarray) -> np.ndarray:
        """The wall's radius at ``z_mm``."""
        z = np.asarray(z_mm, dtype=float)
        start, end = self.throat_mm
        cone = self.inlet_radius_mm + (self.throat_radius_mm - self.inlet_radius_mm) * (
            (z - self.inlet_length_mm) / self.contraction_length_mm)
        return np.select([z < self.inlet_length_mm, z < start, z < end],
                         [self.inlet_radius_mm, cone, self.throat_radius_mm], self.outlet_radius_mm)

    def flow_ml_s(self, reynolds: float, nu_m2_s: float) -> float:
        """The flow that gives the throat the Reynolds number ``reynolds`` (on its diameter and mean speed)."""
        speed = reynolds * nu_m2_s / (2e-3 * self.throat_radius_mm)
        return speed * math.pi * self.throat_radius_mm**2  # m/s times mm^2 is ml/s

    def stations(self) -> dict[str, float]:
        """Measurement stations (mm from the inlet face): name to position."""
        start, end = self.throat_mm
        return {"inlet pipe": self.inlet_length_mm / 2, "before contraction": self.inlet_length_mm - 1.0,
                "throat entry": start + 1.0, "throat middle": (start + end) / 2, "throat end": end - 1.0,
                "expansion +5 mm": end + 5.0, "expansion +10 mm": end + 10.0, "expansion +20 mm": end + 20.0,
                "expansion +30 mm": end + 30.0, "expansion +40 mm": end + 40.0}


# ---------------------------------------------------------------------------------------------------------------
# rhinoapp


def nozzle_domain(nozzle: Nozzle, voxel_mm: float):  # -> rhinoapp.cfd.domain.FlowDomain
    """The nozzle as a voxel mask along ``k``: an inlet layer at ``k = 0`` (its face at z = 0), an outlet layer at
    the far end; voxel ``(k, j, i)`` has its centre at ``z = (k - 1/2) voxel``."""
    from rhinoapp.cfd.domain import FlowDomain
    from rhinoapp.core.volume import ImageGeometry

    half = int(math.ceil(max(nozzle.inlet_radius_mm, nozzle.outlet_radius_mm) / voxel_mm)) + 1
    centres = (np.arange(2 * half) + 0.5 - half) * voxel_mm
    radius = np.hypot(centres[:, None], centres[None, :])
    layers = int(round(nozzle.length_mm / voxel_mm))
    z = (np.arange(layers + 2) - 0.5) * voxel_mm
    inside = radius[None] < nozzle.radius_mm(np.clip(z, 0.0, nozzle.length_mm))[:, None, None]
    fluid = inside.copy()
    fluid[[0, -1]] = False
    inlet = np.zeros_like(fluid)
    inlet[0] = inside[0]
    outlet = np.zeros_like(fluid)
    outlet[-1] = inside[-1]
    geometry = ImageGeometry(fluid.shape, (voxel_mm,) * 3, (float(centres[0]), float(centres[0]), float(z[0])))
    return FlowDomain(fluid, inlet, np.zeros_like(fluid), outlet, geometry)


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
# OpenFOAM


def wedge_block_mesh(nozzle: Nozzle, radial_cells: int, *, wall_ratio: float = 4.0) -> str:
    """``blockMeshDict`` of a 5-degree wedge of the nozzle about the x axis (x is the nozzle's z).

    ``radial_cells`` across the throat's radius; the same cells run on through the inlet pipe and the contraction
    (graded towards the wall by ``wall_ratio``, the ratio of the middle cell to the wall cell), and across the
    annulus behind the expansion (graded towards both its edges). Axial cells are twice the mean radial cell
    of the throat, finer near the throat's two ends.
    """
    half = math.radians(WEDGE_DEGREES / 2)
    c, s = math.cos(half), math.sin(half)
    start, end = nozzle.throat_mm
    xs = [0.0, nozzle.inlet_length_mm, start, end, nozzle.length_mm]
    inner = [nozzle.inlet_radius_mm, nozzle.inlet_radius_mm, nozzle.throat_radius_mm, nozzle.throat_radius_mm,
             nozzle.throat_radius_mm]
    vertices: list[tuple[float, float, float]] = []
    for x in xs:  # per station: axis, inner radius back/front
        vertices += [(x, 0.0, 0.0)]
    for x, r in zip(xs, inner):
        vertices += [(x, r * c, -r * s), (x, r * c, r * s)]
    for x in xs[3:]:
        r = nozzle.outlet_radius_mm
        vertices += [(x, r * c, -r * s), (x, r * c, r * s)]
    axis = list(range(5))

    def rim(station: int) -> tuple[int, int]:
        return 5 + 2 * station, 6 + 2 * station

    outer = {3: (15, 16), 4: (17, 18)}
    dr = nozzle.throat_radius_mm / radial_cells
    dx = 2.0 * dr

    def axial(length: float) -> int:
        return max(2, int(round(length / dx)))

    g = 1.0 / wall_ratio  # simpleGrading: last cell over first cell, the wall last
    blocks: list[str] = []
    patches: dict[str, list[str]] = {"inlet_left": [], "outlet": [], "wall": [], "front": [], "back": []}
    for station in range(4):
        a0, a1 = axis[station], axis[station + 1]
        (b0, f0), (b1, f1) = rim(station), rim(station + 1)
        n_axial = axial(xs[station + 1] - xs[station])
        blocks.append(f"hex ({a0} {a1} {b1} {b0} {a0} {a1} {f1} {f0}) ({n_axial} {radial_cells} 1) "
                      f"simpleGrading (1 {g:.6g} 1)")
        patches["back"].append(f"({a0} {a1} {b1} {b0})")
        patches["front"].append(f"({a0} {f0} {f1} {a1})")
        if station < 3:
            patches["wall"].append(f"({b0} {b1} {f1} {f0})")
        if station == 0:
            patches["inlet_left"].append(f"({a0} {b0} {f0} {a0})")
        if station == 3:
            patches["outlet"].append(f"({a1} {a1} {f1} {b1})")
    # the annulus behind the expansion, graded towards the shear layer and the wall
    (i0, j0), (i1, j1) = rim(3), rim(4)
    (o0, p0), (o1, p1) = outer[3], outer[4]
    annulus_cells = max(4, int(round((nozzle.outlet_radius_mm - nozzle.throat_radius_mm) / dr / 1.5)))
    blocks.append(f"hex ({i0} {i1} {o1} {o0} {j0} {j1} {p1} {p0}) ({axial(xs[4] - xs[3])} {annulus_cells} 1) "
                  f"simpleGrading (1 ((0.5 0.5 {wall_ratio:g}) (0.5 0.5 {g:.6g})) 1)")
    patches["back"].append(f"({i0} {i1} {o1} {o0})")
    patches["front"].append(f"({j0} {p0} {p1} {j1})")
    patches["wall"] += [f"({o0} {o1} {p1} {p0})", f"({i0} {o0} {p0} {j0})"]
    patches["outlet"].append(f"({i1} {j1} {p1} {o1})")
    types = {"inlet_left": "patch", "outlet": "patch", "wall": "wall", "front": "wedge", "back": "wedge"}
    lines = ["FoamFile { version 2.0; format ascii; class dictionary; object blockMeshDict; }",
             "convertToMeters 0.001;", "vertices", "("]
    lines += [f"    ({x:.9g} {y:.9g} {z:.9g})" for x, y, z in vertices]
    lines += [");", "blocks", "(", *(f"    {b}" for b in blocks), ");", "edges ();", "boundary", "("]
    for name, faces in patches.items():
        lines += [f"    {name}", "    {", f"        type {types[name]};", "        faces", "        (",
                  *(f"            {f}" for f in faces), "        );", "    }"]
    lines += [");", "mergePatchPairs ();"]
    return "\n".join(lines) + "\n"


def write_wedge_fields(case: Path, *, flow_ml_s: float) -> None:
    """``0/U`` and ``0/p``: ambient total pressure at the inlet, the wedge's share of the flow as a plug outflow."""
    share = flow_ml_s * 1e-6 * WEDGE_DEGREES / 360.0
    u_bc = {"inlet_left": {"type": "pressureInletOutletVelocity", "value": "uniform (0 0 0)"},
            "outlet": {"type": "flowRateInletVelocity", "volumetricFlowRate": -share, "value": "uniform (0 0 0)"},
            "wall": {"type": "noSlip"}, "front": {"type": "wedge"}, "back": {"type": "wedge"}}
    p_bc = {"inlet_left": {"type": "totalPressure", "p0": "uniform 0", "value": "uniform 0"},
            "outlet": {"type": "zeroGradient"}, "wall": {"type": "zeroGradient"},
            "front": {"type": "wedge"}, "back": {"type": "wedge"}}
    zero = case / "0"
    zero.mkdir(parents=True, exist_ok=True)
    (zero / "U").write_text(foam_case.foam_dict("U", {"dimensions": "[0 1 -1 0 0 0 0]",
                                                      "internalField": "uniform (0 0 0)", "boundaryField": u_bc},
                                                cls="volVectorField", location="0"))
    (zero / "p").write_text(foam_case.foam_dict("p", {"dimensions": "[0 2 -2 0 0 0 0]", "internalField": "uniform 0",
                                                      "boundaryField": p_bc}, cls="volScalarField", location="0"))


def run_openfoam(nozzle: Nozzle, work: Path, radial_cells: int, *, flow_ml_s: float, nu_m2_s: float,
                 iterations: int) -> Path:
    """Mesh and solve one wedge case (reused when solved)."""
    case = work / f"openfoam_wedge_N{radial_cells}"
    if (case / "summary.json").is_file():
        return case
    (case / "system").mkdir(parents=True, exist_ok=True)
    (case / "system" / "blockMeshDict").write_text(wedge_block_mesh(nozzle, radial_cells))
    foam_case.write_control(case, iterations=iterations, patches=("outlet",))
    foam_case.write_numerics(case, nu_m2_s=nu_m2_s, limited_gradient=False)
    write_wedge_fields(case, flow_ml_s=flow_ml_s)
    start = time.monotonic()
    foam_case.run_tool(case, "blockMesh")
    foam_case.run_tool(case, "checkMesh")
    foam_case.run_tool(case, "simpleFoam")
    foam_case.run_tool(case, "postProcess", "-func", "writeCellCentres", "-latestTime", log_name="cellCentres")
    foam_case.run_tool(case, "postProcess", "-func", "writeCellVolumes", "-latestTime", log_name="cellVolumes")
    final = foam_case.latest_time(case)
    summary = {"radial_cells": radial_cells, "cells": int(foam_case.parse_internal_field((final / "p").read_text()).size),
               "iterations": int(float(final.name)), "wall_time_s": round(time.monotonic() - start, 1),
               "final_residuals": foam_case.last_residuals(case / "log.simpleFoam")}
    (case / "summary.json").write_text(json.dumps(summary, indent=1))
    return case


def openfoam_cells(case: Path, *, axis: int = 0) -> dict[str, np.ndarray]:
    """The same arrays as :func:`rhinoapp_cells` from a solved case (pressure averaged over the last iterations)
    whose nozzle runs along ``axis`` (the wedge's x, 0; the 3D cases' z, 2)."""
    final = foam_case.latest_time(case)
    averaged = final / "pMean"
    p = foam_case.parse_internal_field((averaged if averaged.is_file() else final / "p").read_text())
    centres = foam_case.parse_internal_field((final / "C").read_text()) * 1e3
    velocity = foam_case.parse_internal_field((final / "U").read_text())
    across = [a for a in range(3) if a != axis]
    return {"z": centres[:, axis], "r": np.hypot(centres[:, across[0]], centres[:, across[1]]),
            "p": p * foam_case.RHO_KG_M3, "u": velocity[:, axis], "w": foam_case.parse_internal_field((final / "V").read_text()) * 1e9}


def nozzle_surface(nozzle: Nozzle, *, segments: int = 96, step_mm: float = 0.25):  # -> pyvista.PolyData
    """The nozzle's closed surface (mm) with ``face`` cell data as ``rhinoapp segment`` writes it: the wall 0, the
    inlet disc split into two halves 1 and 2 (the two ambient openings the phantom's cases have), the outlet 3."""
    import pyvista as pv

    start, end = nozzle.throat_mm
    corners = [(0.0, nozzle.inlet_radius_mm), (nozzle.inlet_length_mm, nozzle.inlet_radius_mm),
               (start, nozzle.throat_radius_mm), (end, nozzle.throat_radius_mm), (end, nozzle.outlet_radius_mm),
               (nozzle.length_mm, nozzle.outlet_radius_mm)]
    profile: list[tuple[float, float]] = [corners[0]]
    for (z0, r0), (z1, r1) in zip(corners, corners[1:]):
        n = max(1, int(math.ceil(math.hypot(z1 - z0, r1 - r0) / step_mm)))
        profile += [(z0 + (z1 - z0) * t / n, r0 + (r1 - r0) * t / n) for t in range(1, n + 1)]
    angles = np.linspace(0.0, 2 * math.pi, segments, endpoint=False)
    ring = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    points = [np.column_stack([r * ring, np.full(segments, z)]) for z, r in profile]
    points += [np.array([[0.0, 0.0, 0.0]]), np.array([[0.0, 0.0, nozzle.length_mm]])]
    xyz = np.concatenate(points)
    centre_in, centre_out = len(profile) * segments, len(profile) * segments + 1
    triangles, faces = [], []
    for row in range(len(profile) - 1):
        for s in range(segments):
            a, b = row * segments + s, row * segments + (s + 1) % segments
            triangles += [(a, b, b + segments), (a, b + segments, a + segments)]
            faces += [0, 0]
    last = (len(profile) - 1) * segments
    for s in range(segments):
        a, b = s, (s + 1) % segments
        triangles.append((centre_in, b, a))
        faces.append(1 if np.cos(angles[s] + math.pi / segments) < 0 else 2)
        triangles.append((centre_out, last + a, last + b))
        faces.append(3)
    cells = np.column_stack([np.full(len(triangles), 3), np.asarray(triangles)]).ravel()
    surface = pv.PolyData(xyz, cells)
    surface.cell_data["face"] = np.asarray(faces, dtype=np.int32)
    return surface


def write_geometry_dir(nozzle: Nozzle, folder: Path, *, voxel_mm: float = 0.25) -> Path:
    """A geometry folder of the nozzle for ``openfoam_compare.run_openfoam``: ``airway.vtp`` and ``labels.nii.gz``."""
    from rhinoapp.cfd.inputs import write_label_nifti
    from rhinoapp.core.volume import AirwayLabel, LabelMap

    folder.mkdir(parents=True, exist_ok=True)
    nozzle_surface(nozzle).save(folder / "airway.vtp")
    domain = nozzle_domain(nozzle, voxel_mm)
    labels = np.where(domain.fluid, int(AirwayLabel.LEFT_CAVITY), 0).astype(np.uint8)
    write_label_nifti(folder / "labels.nii.gz", LabelMap(labels, domain.geometry))
    return folder


def run_openfoam_3d(nozzle: Nozzle, work: Path, level: str, *, flow_ml_s: float, nu_m2_s: float, iterations: int,
                    limited_gradient: bool) -> Path:
    """The phantom cases' 3D pipeline (snappyHexMesh of the surface, ``CELL[:LEVEL[:LAYERS]]`` as
    ``openfoam_compare.py --levels``) on the nozzle; returns the solved case."""
    from openfoam_compare import parse_level
    from openfoam_compare import run_openfoam as run_case

    geometry = write_geometry_dir(nozzle, work / "geometry")
    mesh = parse_level(level, surface_level=0)
    cases = "openfoam3d" + ("" if limited_gradient else "_unlimited")
    summary = run_case(work, geometry, mesh, flow_ml_s=flow_ml_s, iterations=iterations, dry_run=False, cases=cases,
                       nu_m2_s=nu_m2_s, limited_gradient=limited_gradient)
    return Path(str(summary["case"]))


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


def axial_pressure(cells: dict[str, np.ndarray], length_mm: float, *, bin_mm: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean pressure in slabs of ``bin_mm`` along z."""
    edges = np.arange(0.0, length_mm + bin_mm, bin_mm)
    index = np.digitize(cells["z"], edges) - 1
    valid = (index >= 0) & (index < len(edges) - 1)
    total = np.bincount(index[valid], weights=(cells["p"] * cells["w"])[valid], minlength=len(edges) - 1)
    weight = np.bincount(index[valid], weights=cells["w"][valid], minlength=len(edges) - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 0.5 * (edges[1:] + edges[:-1]), total / weight


def richardson(coarse: float, medium: float, fine: float, ratio: float = 2.0) -> dict[str, float] | None:
    """Observed order and extrapolated value of three solutions at a constant refinement ratio (None when the
    differences do not shrink monotonically).

    Examples
    --------
    >>> richardson(1.4, 1.1, 1.025)
    {'order': 2.0, 'estimate': 1.0}
    """
    first, second = medium - coarse, fine - medium
    if first == 0 or second == 0 or second / first <= 0 or abs(second) >= abs(first):
        return None
    order = math.log(first / second) / math.log(ratio)
    return {"order": round(order, 3), "estimate": round(fine + second / (ratio**order - 1), 6)}


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
                        "--levels: CELL[:LEVEL[:LAYERS]], comma-separated (for example 0.9:0:3,0.6:0:3)")
    parser.add_argument("--gradient", choices=["limited", "unlimited"], default="unlimited",
                        help="the 3D cases' velocity gradient for convection (the wedge's is plain)")
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
    for n in levels:
        if not foam_case.have_openfoam():
            _log.warning("OpenFOAM is not installed: no reference (apt-get install openfoam)")
            break
        case = run_openfoam(nozzle, args.work, n, flow_ml_s=flow, nu_m2_s=args.nu, iterations=args.iterations)
        cells = openfoam_cells(case)
        report["openfoam"][f"N{n}"] = {**json.loads((case / "summary.json").read_text()),
                                       "stations": measure(cells, stations, args.half_mm)}
        curves[f"OpenFOAM wedge, {n} cells per throat radius"] = axial_pressure(cells, nozzle.length_mm)
    if len(levels) >= 3 and len(report["openfoam"]) >= 3:
        rows = [report["openfoam"][f"N{n}"]["stations"] for n in levels[-3:]]
        report["openfoam_richardson"] = {name: richardson(*(row[name]["drop_pa"] for row in rows))
                                         for name in list(stations)[1:]}
    for level in [v for v in args.levels_3d.split(",") if v]:
        case = run_openfoam_3d(nozzle, args.work, level, flow_ml_s=flow, nu_m2_s=args.nu, iterations=args.iterations,
                               limited_gradient=args.gradient == "limited")
        cells = openfoam_cells(case, axis=2)
        name = f"3D {level} {args.gradient}"
        report.setdefault("openfoam_3d", {})[name] = {
            **json.loads((case / "summary.json").read_text()), "stations": measure(cells, stations, args.half_mm)}
        cell_mm, _, rest = level.partition(":")
        layers = rest.partition(":")[2]
        curves[f"OpenFOAM 3D, {cell_mm} mm" + (f", {layers} layers" if layers else "")] = axial_pressure(
            cells, nozzle.length_mm)
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
        curves[f"rhinoapp {name}"] = axial_pressure(cells, nozzle.length_mm)
    text = json.dumps(report, indent=1, default=float)
    if args.json:
        args.json.write_text(text + "\n")
    if args.figure and curves:
        plot(report, curves, args.figure)
    _log.info("%s", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
