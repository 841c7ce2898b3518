"""An OpenFOAM case (blockMesh + snappyHexMesh + steady laminar simpleFoam) of a rhinoapp geometry folder.

Boundary conditions follow rhinoapp's: the nostril patches at ambient pressure (total pressure 0,
which is stable where static pressure 0 let the steady iterations run away; ``pressureInletOutletVelocity``), the outlet with a fixed volume flow and a plug profile along
its normal (``flowRateInletVelocity`` with a negative rate, pressure ``zeroGradient``), no-slip walls. Air with
``nu = 1.5e-5 m^2/s``; simpleFoam's kinematic pressure is multiplied by ``rho = 1.2 kg/m^3``.

The patches come from the ``face`` cell data of the geometry folder's ``airway.vtp`` (the opening
caps that ``rhinoapp segment`` cut at the inlet and outlet planes): the surface is written as one
ASCII STL with a solid per face, and snappyHexMesh makes a patch of each solid.

Written for the OpenFOAM.com v1912 that Debian 12 ships (``apt-get install openfoam``); the
binaries are in ``/usr/bin`` and need ``WM_PROJECT_DIR=/usr/share/openfoam`` (set by :func:`foam_env`).

Examples
--------
>>> text = foam_dict("transportProperties", {"transportModel": "Newtonian", "nu": 1.5e-05})
>>> "nu 1.5e-05;" in text and text.startswith("FoamFile")
True
>>> parse_internal_field("internalField nonuniform List<scalar> 2 ( 1.5 -2 );")
array([ 1.5, -2. ])
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_log = logging.getLogger(__name__)

NU_M2_S = 1.5e-5
RHO_KG_M3 = 1.2
FACES = ("wall", "inlet_left", "inlet_right", "outlet")  # rhinoapp.geometry.surface.Face order
INLETS = ("inlet_left", "inlet_right")
#: Prism layers on the wall (``MeshLevel.layers`` > 0): growth from the wall outwards, and the thickness of the
#: outermost layer relative to the cell beside it.
LAYER_EXPANSION, LAYER_FINAL_THICKNESS = 1.3, 0.5
#: The fraction of simpleFoam's iterations, at the end, over which the pressure is averaged (``pMean``): a
#: steady solve of jets does not settle to one field but wanders around it by a few per cent.
AVERAGE_FRACTION = 0.25
#: Convection schemes of the velocity :func:`write_numerics` offers (the first is the default).
CONVECTION_SCHEMES = ("linearUpwind", "LUST")
#: The surface angle (degrees) above which snappy stops its prism layers, unless a :class:`MeshLevel` says otherwise.
LAYER_FEATURE_ANGLE = 60.0


@dataclass(frozen=True)
class MeshLevel:
    """One mesh of the convergence check: background cell size (mm), snappy surface refinement level, the
    number of prism layers snappy grows on the wall (0: a snapped mesh without layers) and the surface angle
    (degrees) above which snappy stops the layers (60: they end at sharp edges, such as the lip of a sudden
    expansion, where a jet separates; 180: they run on around every edge)."""

    cell_mm: float
    surface_level: int = 0
    layers: int = 0
    layer_feature_angle: float = LAYER_FEATURE_ANGLE

    @property
    def surface_cell_mm(self) -> float:
        """Cell size at the wall."""
        return self.cell_mm / 2 ** self.surface_level

    @property
    def name(self) -> str:
        """Folder name of the case."""
        suffix = f"_B{self.layers}" if self.layers else ""
        suffix += f"_F{self.layer_feature_angle:g}" if self.layer_feature_angle != LAYER_FEATURE_ANGLE else ""
        return f"h{self.cell_mm:g}mm_L{self.surface_level}{suffix}".replace(".", "p")


def foam_env() -> dict[str, str]:
    """The environment the Debian OpenFOAM binaries need."""
    env = dict(os.environ)
    env.setdefault("WM_PROJECT_DIR", "/usr/share/openfoam")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def have_openfoam() -> bool:
    """True when simpleFoam, blockMesh and snappyHexMesh are on the PATH."""
    return all(shutil.which(tool) for tool in ("blockMesh", "snappyHexMesh", "simpleFoam", "postProcess"))


def _value(value: object) -> str:
    return f"{value:.8g}" if isinstance(value, float) else str(value)


def _lines(entries: dict[str, object], indent: str) -> list[str]:
    lines: list[str] = []
    for key, value in entries.items():
        if isinstance(value, dict):
            lines += [f"{indent}{key}", f"{indent}{{", *_lines(value, indent + "    "), f"{indent}}}"]
        else:
            lines.append(f"{indent}{key} {_value(value)};")
    return lines


def foam_dict(name: str, entries: dict[str, object], *, cls: str = "dictionary", location: str | None = None) -> str:
    """The text of an OpenFOAM dictionary file (nested ``dict`` values become sub-dictionaries)."""
    header = f"FoamFile\n{{\n    version 2.0;\n    format ascii;\n    class {cls};\n"
    if location:
        header += f'    location "{location}";\n'
    header += f"    object {name};\n}}\n\n"
    return header + "\n".join(_lines(entries, "")) + "\n"


def write_surface_stl(vtp_path: Path, stl_path: Path) -> dict[str, int]:
    """Write the airway surface as an ASCII STL in metres, one solid per face; returns triangles per face."""
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkIOXML import vtkXMLPolyDataReader

    reader = vtkXMLPolyDataReader()
    reader.SetFileName(str(vtp_path))
    reader.Update()
    poly = reader.GetOutput()
    points = vtk_to_numpy(poly.GetPoints().GetData()).astype(float) * 1e-3
    cells = vtk_to_numpy(poly.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    face = vtk_to_numpy(poly.GetCellData().GetArray("face")).astype(int)
    counts: dict[str, int] = {}
    stl_path.parent.mkdir(parents=True, exist_ok=True)
    with open(stl_path, "w") as out:
        for value, name in enumerate(FACES):
            tris = cells[face == value]
            counts[name] = int(len(tris))
            if not len(tris):
                continue
            a, b, c = points[tris[:, 0]], points[tris[:, 1]], points[tris[:, 2]]
            normal = np.cross(b - a, c - a)
            normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-30)
            out.write(f"solid {name}\n")
            for n, p, q, r in zip(normal, a, b, c):
                out.write(f" facet normal {n[0]:.6e} {n[1]:.6e} {n[2]:.6e}\n  outer loop\n"
                          f"   vertex {p[0]:.8e} {p[1]:.8e} {p[2]:.8e}\n   vertex {q[0]:.8e} {q[1]:.8e} {q[2]:.8e}\n"
                          f"   vertex {r[0]:.8e} {r[1]:.8e} {r[2]:.8e}\n  endloop\n endfacet\n")
            out.write(f"endsolid {name}\n")
    return counts


def inside_point_mm(labels_path: Path) -> tuple[float, float, float]:
    """The point deepest inside the airway (labels 1-3) in LPS mm: snappyHexMesh's ``locationInMesh``."""
    from scipy import ndimage

    from rhinoapp.cfd.inputs import read_label_nifti

    labels = read_label_nifti(labels_path)
    fluid = np.isin(labels.labels, (1, 2, 3))
    depth = ndimage.distance_transform_edt(fluid, sampling=labels.geometry.spacing_mm[::-1])
    k, j, i = np.unravel_index(int(np.argmax(depth)), depth.shape)
    geometry = labels.geometry
    matrix = geometry.direction_matrix * np.asarray(geometry.spacing_mm)
    x, y, z = np.asarray(geometry.origin_mm) + matrix @ np.array([i, j, k], dtype=float)
    return (float(x), float(y), float(z))


def _surface_bounds_m(stl_path: Path) -> tuple[np.ndarray, np.ndarray]:
    text = stl_path.read_text()
    vertices = np.array(re.findall(r"vertex\s+(\S+)\s+(\S+)\s+(\S+)", text), dtype=float)
    return vertices.min(axis=0), vertices.max(axis=0)


def write_mesh_case(case: Path, geometry_dir: Path, level: MeshLevel) -> dict[str, object]:
    """Write the meshing part of a case (STL, blockMeshDict, snappyHexMeshDict, controlDict, schemes)."""
    case = Path(case)
    (case / "system").mkdir(parents=True, exist_ok=True)
    stl = case / "constant" / "triSurface" / "airway.stl"
    counts = write_surface_stl(Path(geometry_dir) / "airway.vtp", stl)
    missing = [name for name in FACES if counts.get(name, 0) == 0]
    if missing:
        raise RuntimeError(f"the surface has no {', '.join(missing)} triangles: rebuild the geometry folder with "
                           "`rhinoapp segment` so that airway.vtp carries the opening faces")
    low, high = _surface_bounds_m(stl)
    h = level.cell_mm * 1e-3
    low, high = low - 2 * h, high + 2 * h
    cells = [max(1, math.ceil((hi - lo) / h)) for lo, hi in zip(low, high)]
    high = low + np.array(cells) * h
    inside = np.asarray(inside_point_mm(Path(geometry_dir) / "labels.nii.gz")) * 1e-3 + 0.1234 * h
    vertices = [(low[0], low[1], low[2]), (high[0], low[1], low[2]), (high[0], high[1], low[2]), (low[0], high[1], low[2]),
                (low[0], low[1], high[2]), (high[0], low[1], high[2]), (high[0], high[1], high[2]), (low[0], high[1], high[2])]
    block = "\n".join(f"    ({v[0]:.8g} {v[1]:.8g} {v[2]:.8g})" for v in vertices)
    (case / "system" / "blockMeshDict").write_text(
        foam_dict("blockMeshDict", {"scale": 1})
        + f"vertices\n(\n{block}\n);\n\nblocks\n(\n    hex (0 1 2 3 4 5 6 7) ({cells[0]} {cells[1]} {cells[2]}) simpleGrading (1 1 1)\n);\n\n"
        "edges ();\n\nboundary\n(\n    background\n    {\n        type patch;\n        faces\n        (\n"
        "            (0 3 2 1) (4 5 6 7) (0 1 5 4) (2 3 7 6) (0 4 7 3) (1 2 6 5)\n        );\n    }\n);\n")
    lv = f"({level.surface_level} {level.surface_level})"
    regions = {name: {"name": name} for name in FACES}
    layers = {"wall": {"nSurfaceLayers": level.layers}} if level.layers else {}
    refine = {name: {"level": lv, "patchInfo": {"type": "wall" if name == "wall" else "patch"}} for name in FACES}
    snappy = {
        "castellatedMesh": "true", "snap": "true", "addLayers": "true" if level.layers else "false",
        "geometry": {"airway.stl": {"type": "triSurfaceMesh", "name": "airway", "regions": regions}},
        "castellatedMeshControls": {
            "maxLocalCells": 3000000, "maxGlobalCells": 6000000, "minRefinementCells": 0, "maxLoadUnbalance": 0.1,
            "nCellsBetweenLevels": 3, "features": "()", "refinementSurfaces": {"airway": {"level": lv, "regions": refine}},
            "resolveFeatureAngle": 30, "refinementRegions": {},
            "locationInMesh": f"({inside[0]:.8g} {inside[1]:.8g} {inside[2]:.8g})", "allowFreeStandingZoneFaces": "true"},
        "snapControls": {"nSmoothPatch": 3, "tolerance": 2.0, "nSolveIter": 50, "nRelaxIter": 5, "nFeatureSnapIter": 10,
                         "implicitFeatureSnap": "true", "explicitFeatureSnap": "false", "multiRegionFeatureSnap": "true"},
        "addLayersControls": {"relativeSizes": "true", "layers": layers, "expansionRatio": LAYER_EXPANSION,
                              "finalLayerThickness": LAYER_FINAL_THICKNESS, "minThickness": 0.1, "nGrow": 0,
                              "featureAngle": level.layer_feature_angle, "nRelaxIter": 3,
                              "nSmoothSurfaceNormals": 1, "nSmoothNormals": 3, "nSmoothThickness": 10,
                              "maxFaceThicknessRatio": 0.5, "maxThicknessToMedialRatio": 0.3, "minMedialAxisAngle": 90,
                              "nBufferCellsNoExtrude": 0, "nLayerIter": 50},
        "meshQualityControls": {"maxNonOrtho": 65, "maxBoundarySkewness": 20, "maxInternalSkewness": 4, "maxConcave": 80,
                                "minVol": 1e-18, "minTetQuality": 1e-15, "minArea": -1, "minTwist": 0.02,
                                "minDeterminant": 0.001, "minFaceWeight": 0.05, "minVolRatio": 0.01,
                                "minTriangleTwist": -1, "nSmoothScale": 4, "errorReduction": 0.75},
        "mergeTolerance": 1e-6,
    }
    (case / "system" / "snappyHexMeshDict").write_text(foam_dict("snappyHexMeshDict", snappy))
    write_control(case, iterations=1)
    write_numerics(case)
    return {"background_cells": cells, "cell_mm": level.cell_mm, "surface_level": level.surface_level,
            "triangles": counts, "location_in_mesh_m": inside.tolist()}


def convection_suffix(convection: str) -> str:
    """What a case folder's name carries for its convection scheme: nothing for the default.

    >>> convection_suffix("linearUpwind"), convection_suffix("LUST")
    ('', '_LUST')
    """
    return "" if convection == CONVECTION_SCHEMES[0] else f"_{convection}"


def write_control(case: Path, *, iterations: int, patches: tuple[str, ...] = (), write_every: int = 10) -> None:
    """``system/controlDict`` of simpleFoam with patch monitors (mean outlet pressure, flow per opening)."""
    functions: dict[str, object] = {}
    for patch in patches:
        operation, field = ("areaAverage", "p") if patch == "outlet" else ("sum", "phi")
        functions[f"{'pAvg' if field == 'p' else 'flow'}_{patch}"] = {
            "type": "surfaceFieldValue", "libs": '("libfieldFunctionObjects.so")', "writeControl": "timeStep",
            "writeInterval": write_every, "log": "false", "writeFields": "false", "regionType": "patch", "name": patch,
            "operation": operation, "fields": f"({field})"}
    if "outlet" in patches:
        functions["flow_outlet"] = dict(functions["pAvg_outlet"], operation="sum", fields="(phi)")  # type: ignore[arg-type]
    if patches:  # the pressure averaged over the last iterations (pMean), steadier than the last one
        functions["pressure_average"] = {
            "type": "fieldAverage", "libs": '("libfieldFunctionObjects.so")', "writeControl": "writeTime",
            "timeStart": int(iterations * (1 - AVERAGE_FRACTION)),
            "fields": "(p { mean on; prime2Mean off; base time; })"}
    control = {"application": "simpleFoam", "startFrom": "latestTime", "startTime": 0, "stopAt": "endTime",
               "endTime": iterations, "deltaT": 1, "writeControl": "timeStep", "writeInterval": iterations,
               "purgeWrite": 1, "writeFormat": "ascii", "writePrecision": 8, "writeCompression": "off",
               "timeFormat": "general", "timePrecision": 6, "runTimeModifiable": "true", "functions": functions}
    (Path(case) / "system" / "controlDict").write_text(foam_dict("controlDict", control, location="system"))


def write_numerics(case: Path, *, relax_p: float = 0.2, relax_u: float = 0.4, nu_m2_s: float = NU_M2_S,
                   limited_gradient: bool = True, convection: str = "linearUpwind") -> None:
    """``fvSchemes``, ``fvSolution`` (SIMPLE, second order in space), transport (kinematic viscosity ``nu_m2_s``)
    and laminar model. ``limited_gradient`` limits the velocity gradient of the convection scheme per cell
    (robust, and dissipative where the velocity changes steeply, as at the edges of jets); without it the
    gradient is plain ``Gauss linear``. ``convection`` is one of :data:`CONVECTION_SCHEMES`: ``linearUpwind``
    (second order, upwind-biased) or ``LUST`` (three quarters central, one quarter linear-upwind: less numerical
    diffusion in a jet's shear layer)."""
    if convection not in CONVECTION_SCHEMES:
        raise ValueError(f"convection scheme {convection!r} is not one of {', '.join(CONVECTION_SCHEMES)}")
    system, constant = Path(case) / "system", Path(case) / "constant"
    constant.mkdir(parents=True, exist_ok=True)
    schemes = {
        "ddtSchemes": {"default": "steadyState"},
        "gradSchemes": {"default": "Gauss linear",
                        "grad(U)": "cellLimited Gauss linear 1" if limited_gradient else "Gauss linear"},
        "divSchemes": {"default": "none", "div(phi,U)": f"bounded Gauss {convection} grad(U)",
                       "div((nuEff*dev2(T(grad(U)))))": "Gauss linear"},
        "laplacianSchemes": {"default": "Gauss linear limited corrected 0.5"},
        "interpolationSchemes": {"default": "linear"},
        "snGradSchemes": {"default": "limited corrected 0.5"},
    }
    (system / "fvSchemes").write_text(foam_dict("fvSchemes", schemes))
    solution = {
        "solvers": {"p": {"solver": "GAMG", "smoother": "GaussSeidel", "tolerance": 1e-8, "relTol": 0.05},
                    "U": {"solver": "smoothSolver", "smoother": "symGaussSeidel", "tolerance": 1e-9, "relTol": 0.1},
                    "Phi": {"solver": "GAMG", "smoother": "GaussSeidel", "tolerance": 1e-7, "relTol": 0.01}},
        "potentialFlow": {"nNonOrthogonalCorrectors": 3},
        "SIMPLE": {"nNonOrthogonalCorrectors": 2, "consistent": "no",
                   "residualControl": {"p": 1e-5, "U": 1e-6}},
        "relaxationFactors": {"fields": {"p": relax_p}, "equations": {"U": relax_u}},
    }
    (system / "fvSolution").write_text(foam_dict("fvSolution", solution))
    (constant / "transportProperties").write_text(
        foam_dict("transportProperties", {"transportModel": "Newtonian", "nu": nu_m2_s}))
    (constant / "turbulenceProperties").write_text(foam_dict("turbulenceProperties", {"simulationType": "laminar"}))


def write_decomposition(case: Path, processes: int) -> None:
    """``system/decomposeParDict``: ``processes`` slabs along x (left and right of the airway apart).

    Examples
    --------
    >>> import tempfile
    >>> case = Path(tempfile.mkdtemp()); (case / "system").mkdir()
    >>> write_decomposition(case, 2)
    >>> "numberOfSubdomains 2;" in (case / "system" / "decomposeParDict").read_text()
    True
    """
    decomposition = {"numberOfSubdomains": processes, "method": "simple",
                     "simpleCoeffs": {"n": f"({processes} 1 1)", "delta": 0.001}}
    (Path(case) / "system" / "decomposeParDict").write_text(foam_dict("decomposeParDict", decomposition,
                                                                        location="system"))


def parallel_command(tool: str, processes: int) -> tuple[str, ...]:
    """The command that runs ``tool`` on ``processes`` MPI ranks (as root, Open MPI must be told it may).

    Examples
    --------
    >>> parallel_command("simpleFoam", 2)[-4:]
    ('-np', '2', 'simpleFoam', '-parallel')
    """
    root = ("--allow-run-as-root",) if hasattr(os, "geteuid") and os.geteuid() == 0 else ()
    return ("mpirun", *root, "-np", str(processes), tool, "-parallel")


def mesh_patches(case: Path) -> dict[str, int]:
    """Patch names and face counts from ``constant/polyMesh/boundary``."""
    text = (Path(case) / "constant" / "polyMesh" / "boundary").read_text()
    return {name: int(n) for name, n in re.findall(r"(\w+)\s*\{[^}]*?nFaces\s+(\d+);", text)}


def write_fields(case: Path, patches: dict[str, int], *, flow_ml_s: float) -> None:
    """``0/U`` and ``0/p`` for the meshed patches (``airway_<face>`` or ``<face>``)."""
    u_bc: dict[str, object] = {}
    p_bc: dict[str, object] = {}
    for patch in patches:
        face = next((f for f in FACES if patch == f or patch.endswith("_" + f)), None)
        if face in INLETS:
            # ambient air: total pressure 0 where air enters (static where it leaves); the static
            # pressure at the nostrils is then measured, as in rhinoapp, on a plane just inside them
            u_bc[patch] = {"type": "pressureInletOutletVelocity", "value": "uniform (0 0 0)"}
            p_bc[patch] = {"type": "totalPressure", "p0": "uniform 0", "value": "uniform 0"}
        elif face == "outlet":
            # a uniform (plug) outflow normal to the patch, as rhinoapp's outlet (a negative inflow rate)
            u_bc[patch] = {"type": "flowRateInletVelocity", "volumetricFlowRate": -flow_ml_s * 1e-6,
                           "value": "uniform (0 0 0)"}
            p_bc[patch] = {"type": "zeroGradient"}
        else:  # the wall, and the (empty) background patch
            u_bc[patch] = {"type": "noSlip"}
            p_bc[patch] = {"type": "zeroGradient"}
    zero = Path(case) / "0"
    zero.mkdir(parents=True, exist_ok=True)
    (zero / "U").write_text(foam_dict("U", {"dimensions": "[0 1 -1 0 0 0 0]", "internalField": "uniform (0 0 0)",
                                             "boundaryField": u_bc}, cls="volVectorField", location="0"))
    (zero / "p").write_text(foam_dict("p", {"dimensions": "[0 2 -2 0 0 0 0]", "internalField": "uniform 0",
                                             "boundaryField": p_bc}, cls="volScalarField", location="0"))


def run_tool(case: Path, *args: str, log_name: str | None = None, timeout_s: float | None = None) -> None:
    """Run an OpenFOAM tool in ``case`` at the lowest priority, its output in ``log.<tool>``."""
    log = Path(case) / f"log.{log_name or args[0]}"
    with open(log, "w") as handle:
        done = subprocess.run(["nice", "-n", "19", *args, "-case", str(case)], stdout=handle, stderr=subprocess.STDOUT,
                              env=foam_env(), timeout=timeout_s, check=False)
    if done.returncode != 0:
        tail = log.read_text()[-2000:]
        raise RuntimeError(f"{args[0]} failed in {case} (exit {done.returncode}); end of {log.name}:\n{tail}")


def parse_internal_field(text: str) -> np.ndarray:
    """The ``internalField`` of an ASCII OpenFOAM field file: ``(n,)`` scalars or ``(n, 3)`` vectors."""
    match = re.search(r"internalField\s+nonuniform\s+List<(\w+)>\s*(\d+)\s*\(", text)
    if match is None:
        uniform = re.search(r"internalField\s+uniform\s+([^;]+);", text)
        if uniform is None:
            raise ValueError("no internalField in the file")
        return np.array([float(v) for v in uniform.group(1).strip("() ").split()])
    kind, count = match.group(1), int(match.group(2))
    start = match.end()
    end = text.index(";", start)
    numbers = np.array(text[start:end].replace("(", " ").replace(")", " ").split(), dtype=float)
    return numbers.reshape(count, 3) if kind == "vector" else numbers[:count]


def latest_time(case: Path) -> Path:
    """The latest time folder of a case."""
    times = [p for p in Path(case).iterdir() if p.is_dir() and re.fullmatch(r"[0-9.eE+-]+", p.name) and p.name != "0"]
    if not times:
        raise RuntimeError(f"{case} has no solution time folder: simpleFoam did not write")
    return max(times, key=lambda p: float(p.name))


def monitor(case: Path, name: str) -> np.ndarray:
    """``(iteration, value)`` rows of a surfaceFieldValue monitor."""
    files = sorted((Path(case) / "postProcessing" / name).glob("*/surfaceFieldValue.dat"))
    rows = []
    for path in files:
        for line in path.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                values = line.split()
                rows.append((float(values[0]), float(values[1])))
    return np.array(rows) if rows else np.zeros((0, 2))


def last_residuals(log: Path) -> dict[str, float]:
    """The initial residuals of the last simpleFoam iteration (p: of its first pressure solve)."""
    found: dict[str, float] = {}
    for line in reversed(Path(log).read_text().splitlines()):
        match = re.search(r"Solving for (\w+), Initial residual = ([0-9.eE+-]+)", line)
        if match:
            found[match.group(1)] = float(match.group(2))  # reversed: the first solve of the iteration wins
        elif line.startswith("Time =") and found:
            break
    return found
