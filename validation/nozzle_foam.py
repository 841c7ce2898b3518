"""OpenFOAM cases of the valve nozzle (``nozzle_check.py``): axisymmetric wedges, and the phantom cases' 3D pipeline.

Examples
--------
>>> text = wedge_block_mesh(Nozzle(), 4)
>>> text.count("hex ("), "type wedge;" in text
(5, True)
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

import foam_case
from nozzle_shape import Nozzle, nozzle_domain, nozzle_surface

WEDGE_DEGREES = 5.0
#: The wedges' default grading: middle over wall cell, and axial over mean radial cell (:func:`wedge_block_mesh`).
WALL_RATIO, AXIAL_RATIO = 4.0, 2.0


def wedge_block_mesh(nozzle: Nozzle, radial_cells: int, *, wall_ratio: float = WALL_RATIO, axial_ratio: float = AXIAL_RATIO,
                     axis_gap_mm: float = 0.0) -> str:
    """``blockMeshDict`` of a 5-degree wedge of the nozzle about the x axis (x is the nozzle's z).

    ``radial_cells`` across the throat's radius; the same cells run on through the inlet pipe and the contraction
    (graded towards the wall by ``wall_ratio``, the ratio of the middle cell to the wall cell), and across the
    annulus behind the expansion (graded towards both its edges; ``wall_ratio`` 1 makes every cell uniform).
    Axial cells are ``axial_ratio`` times the mean radial cell of the throat. ``axis_gap_mm`` > 0 leaves a thin
    hole of that radius along the axis (a patch ``axis``, slip in :func:`write_wedge_fields`), so that the wedge
    can be revolved into a full 3D mesh without cells collapsed on the axis (:func:`revolve_dict`).
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
    axis_back = axis_front = list(range(5))
    if axis_gap_mm > 0:
        axis_back, axis_front = list(range(19, 29, 2)), list(range(20, 30, 2))
        for x in xs:
            vertices += [(x, axis_gap_mm * c, -axis_gap_mm * s), (x, axis_gap_mm * c, axis_gap_mm * s)]

    def rim(station: int) -> tuple[int, int]:
        return 5 + 2 * station, 6 + 2 * station

    outer = {3: (15, 16), 4: (17, 18)}
    dr = nozzle.throat_radius_mm / radial_cells
    dx = axial_ratio * dr

    def axial(length: float) -> int:
        return max(2, int(round(length / dx)))

    g = 1.0 / wall_ratio  # simpleGrading: last cell over first cell, the wall last
    blocks: list[str] = []
    patches: dict[str, list[str]] = {"inlet_left": [], "outlet": [], "wall": [], "front": [], "back": [], "axis": []}
    for station in range(4):
        a0, a1, c0, c1 = axis_back[station], axis_back[station + 1], axis_front[station], axis_front[station + 1]
        (b0, f0), (b1, f1) = rim(station), rim(station + 1)
        n_axial = axial(xs[station + 1] - xs[station])
        blocks.append(f"hex ({a0} {a1} {b1} {b0} {c0} {c1} {f1} {f0}) ({n_axial} {radial_cells} 1) "
                      f"simpleGrading (1 {g:.6g} 1)")
        patches["back"].append(f"({a0} {a1} {b1} {b0})")
        patches["front"].append(f"({c0} {f0} {f1} {c1})")
        if axis_gap_mm > 0:
            patches["axis"].append(f"({a0} {c0} {c1} {a1})")
        if station < 3:
            patches["wall"].append(f"({b0} {b1} {f1} {f0})")
        if station == 0:
            patches["inlet_left"].append(f"({a0} {b0} {f0} {c0})")
        if station == 3:
            patches["outlet"].append(f"({a1} {c1} {f1} {b1})")
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
    types = {"inlet_left": "patch", "outlet": "patch", "wall": "wall", "front": "wedge", "back": "wedge",
             "axis": "patch"}
    lines = ["FoamFile { version 2.0; format ascii; class dictionary; object blockMeshDict; }",
             "convertToMeters 0.001;", "vertices", "("]
    lines += [f"    ({x:.9g} {y:.9g} {z:.9g})" for x, y, z in vertices]
    lines += [");", "blocks", "(", *(f"    {b}" for b in blocks), ");", "edges ();", "boundary", "("]
    for name, faces in [(name, faces) for name, faces in patches.items() if faces]:
        lines += [f"    {name}", "    {", f"        type {types[name]};", "        faces", "        (",
                  *(f"            {f}" for f in faces), "        );", "    }"]
    lines += [");", "mergePatchPairs ();"]
    return "\n".join(lines) + "\n"


def write_wedge_fields(case: Path, *, flow_ml_s: float, sector_degrees: float = WEDGE_DEGREES,
                       axis_gap: bool = False) -> None:
    """``0/U`` and ``0/p``: ambient total pressure at the inlet, the sector's share of the flow as a plug outflow
    (``sector_degrees`` 360 for a revolved mesh), slip on the ``axis`` hole where there is one."""
    share = flow_ml_s * 1e-6 * sector_degrees / 360.0
    u_bc: dict[str, object] = {
        "inlet_left": {"type": "pressureInletOutletVelocity", "value": "uniform (0 0 0)"},
        "outlet": {"type": "flowRateInletVelocity", "volumetricFlowRate": -share, "value": "uniform (0 0 0)"},
        "wall": {"type": "noSlip"}, "front": {"type": "wedge"}, "back": {"type": "wedge"}}
    p_bc: dict[str, object] = {"inlet_left": {"type": "totalPressure", "p0": "uniform 0", "value": "uniform 0"},
                               "outlet": {"type": "zeroGradient"}, "wall": {"type": "zeroGradient"},
                               "front": {"type": "wedge"}, "back": {"type": "wedge"}}
    if axis_gap:
        u_bc["axis"] = p_bc["axis"] = {"type": "slip"}
    zero = case / "0"
    zero.mkdir(parents=True, exist_ok=True)
    (zero / "U").write_text(foam_case.foam_dict("U", {"dimensions": "[0 1 -1 0 0 0 0]",
                                                      "internalField": "uniform (0 0 0)", "boundaryField": u_bc},
                                                cls="volVectorField", location="0"))
    (zero / "p").write_text(foam_case.foam_dict("p", {"dimensions": "[0 2 -2 0 0 0 0]", "internalField": "uniform 0",
                                                      "boundaryField": p_bc}, cls="volScalarField", location="0"))


def revolve_dict(source_case: Path, sectors: int) -> str:
    """``extrudeMeshDict`` that revolves the ``back`` face of a wedge mesh with an axis hole through 360 degrees
    in ``sectors`` cells about the x axis: a body-fitted 3D mesh of the nozzle.

    >>> "nLayers 48;" in revolve_dict(Path("/tmp/src"), 48)
    True
    """
    settings = {"constructFrom": "patch", "sourceCase": f'"{source_case}"', "sourcePatches": "(back)",
                "exposedPatchName": "front", "flipNormals": "true", "extrudeModel": "sector", "nLayers": sectors,
                "expansionRatio": 1.0, "sectorCoeffs": {"point": "(0 0 0)", "axis": "(1 0 0)", "angle": 360},
                "mergeFaces": "true", "mergeTol": 0}
    return foam_case.foam_dict("extrudeMeshDict", settings)


def run_openfoam(nozzle: Nozzle, work: Path, radial_cells: int, *, flow_ml_s: float, nu_m2_s: float,
                 iterations: int, convection: str = "linearUpwind", wall_ratio: float = WALL_RATIO,
                 axial_ratio: float = AXIAL_RATIO) -> Path:
    """Mesh and solve one wedge case (reused when solved; ``convection`` as :func:`foam_case.write_numerics`,
    ``wall_ratio`` and ``axial_ratio`` as :func:`wedge_block_mesh`)."""
    suffix = foam_case.convection_suffix(convection)
    if (wall_ratio, axial_ratio) != (WALL_RATIO, AXIAL_RATIO):
        suffix += f"_w{wall_ratio:g}_a{axial_ratio:g}".replace(".", "p")
    case = work / f"openfoam_wedge_N{radial_cells}{suffix}"
    if (case / "summary.json").is_file():
        return case
    (case / "system").mkdir(parents=True, exist_ok=True)
    (case / "system" / "blockMeshDict").write_text(
        wedge_block_mesh(nozzle, radial_cells, wall_ratio=wall_ratio, axial_ratio=axial_ratio))
    foam_case.write_control(case, iterations=iterations, patches=("outlet",))
    foam_case.write_numerics(case, nu_m2_s=nu_m2_s, limited_gradient=False, convection=convection)
    write_wedge_fields(case, flow_ml_s=flow_ml_s)
    from openfoam_compare import finish_case

    start = time.monotonic()
    foam_case.run_tool(case, "blockMesh")
    foam_case.run_tool(case, "checkMesh")
    foam_case.run_tool(case, "simpleFoam")
    finish_case(case, {"radial_cells": radial_cells}, foam_case.mesh_patches(case),
                wall_time_s=time.monotonic() - start)
    return case


def openfoam_cells(case: Path, *, axis: int = 0) -> dict[str, np.ndarray]:
    """The same arrays as :func:`rhinoapp_cells` from a solved case (pressure averaged over the last iterations)
    whose nozzle runs along ``axis`` (the wedge's x, 0; the 3D cases' z, 2)."""
    from openfoam_compare import openfoam_cloud

    cloud = openfoam_cloud(case)
    velocity = foam_case.parse_internal_field((foam_case.latest_time(case) / "U").read_text())
    across = [a for a in range(3) if a != axis]
    return {"z": cloud.xyz_mm[:, axis], "r": np.hypot(cloud.xyz_mm[:, across[0]], cloud.xyz_mm[:, across[1]]),
            "p": cloud.pressure_pa, "u": velocity[:, axis], "w": cloud.volume_mm3}


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
                    limited_gradient: bool, convection: str = "linearUpwind") -> Path:
    """The phantom cases' 3D pipeline (snappyHexMesh of the surface, ``CELL[:LEVEL[:LAYERS]]`` as
    ``openfoam_compare.py --levels``) on the nozzle; returns the solved case."""
    from openfoam_compare import parse_level
    from openfoam_compare import run_openfoam as run_case

    geometry = write_geometry_dir(nozzle, work / "geometry")
    mesh = parse_level(level, surface_level=0)
    cases = "openfoam3d" + ("" if limited_gradient else "_unlimited")
    cases += foam_case.convection_suffix(convection)
    summary = run_case(work, geometry, mesh, flow_ml_s=flow_ml_s, iterations=iterations, dry_run=False, cases=cases,
                       nu_m2_s=nu_m2_s, limited_gradient=limited_gradient, convection=convection)
    return Path(str(summary["case"]))


def run_openfoam_revolved(nozzle: Nozzle, work: Path, radial_cells: int, sectors: int, *, flow_ml_s: float,
                          nu_m2_s: float, iterations: int, axis_gap_mm: float = 0.02) -> Path:
    """The wedge of ``radial_cells`` (graded 4 towards the wall, axial cells as the mean radial one) revolved into a
    3D mesh of ``sectors`` cells around (:func:`revolve_dict`): the same solver in 3D on a body-fitted mesh, which
    separates what 3D does to the jet from what the snapped Cartesian meshes do. Returns the solved case."""
    case = work / f"openfoam_revolved_N{radial_cells}_S{sectors}"
    if (case / "summary.json").is_file():
        return case
    source = work / f"openfoam_revolved_N{radial_cells}_source"
    (source / "system").mkdir(parents=True, exist_ok=True)
    (source / "system" / "blockMeshDict").write_text(
        wedge_block_mesh(nozzle, radial_cells, axial_ratio=1.0, axis_gap_mm=axis_gap_mm))
    foam_case.write_control(source, iterations=1)
    foam_case.write_numerics(source)
    foam_case.run_tool(source, "blockMesh")
    (case / "system").mkdir(parents=True, exist_ok=True)
    (case / "system" / "extrudeMeshDict").write_text(revolve_dict(source, sectors))
    foam_case.write_control(case, iterations=iterations, patches=("outlet",))
    foam_case.write_numerics(case, nu_m2_s=nu_m2_s, limited_gradient=False)
    from openfoam_compare import finish_case

    start = time.monotonic()
    foam_case.run_tool(case, "extrudeMesh")
    foam_case.run_tool(case, "checkMesh")
    write_wedge_fields(case, flow_ml_s=flow_ml_s, sector_degrees=360.0, axis_gap=True)
    foam_case.run_tool(case, "simpleFoam")
    finish_case(case, {"radial_cells": radial_cells, "sectors": sectors, "axis_gap_mm": axis_gap_mm},
                foam_case.mesh_patches(case), wall_time_s=time.monotonic() - start)
    return case
