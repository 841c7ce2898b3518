"""The validation scripts (validation/) in their setup paths: OpenFOAM case files, measurements, Richardson.

OpenFOAM itself is not run here (``make validation`` does): the dry run writes every case file of
a small phantom's geometry folder, and the checks read them back.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
VALIDATION = ROOT / "validation"


def _load(name: str) -> ModuleType:
    if str(VALIDATION) not in sys.path:
        sys.path.insert(0, str(VALIDATION))
    spec = importlib.util.spec_from_file_location(name, VALIDATION / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_richardson_recovers_a_known_order_and_limit() -> None:
    gc = _load("grid_convergence")
    h = [1.25, 1.0, 0.8]  # constant ratio 1.25
    study = gc.richardson([20.0 + 3.0 * x**1.5 for x in h], h)
    assert study["convergence"] == "monotonic"
    assert study["order"] == pytest.approx(1.5, abs=1e-9)
    assert study["extrapolated"] == pytest.approx(20.0, abs=1e-9)
    f1, f2 = 20.0 + 3.0 * 0.8**1.5, 20.0 + 3.0 * 1.0**1.5
    assert study["gci_fine_pct"] == pytest.approx(125.0 * abs((f1 - f2) / f1) / (1.25**1.5 - 1.0))


def test_a_series_of_runs_is_studied_by_least_squares(tmp_path: Path) -> None:
    gc = _load("grid_convergence")
    setting = {"wall_boundary": "interpolated_conserving"}
    h = [1.0, 0.8, 0.64, 0.512, 0.4096, 0.32768]
    runs = [{"resolution_mm": x, "overrides": setting, "converged": True, "partition_left_pct": 49.0 + 0.5 * x,
             "pressure_drop_pa": {"nostrils_to_outlet": 7.0 + 2.0 * x, "nostrils_to_choanae": 6.0 + 1.5 * x**2}}
            for x in h]
    runs.append({**runs[0], "overrides": {"wall_boundary": "halfway"}, "resolution_mm": 0.3})  # another setting
    runs.append({**runs[1], "resolution_mm": 0.35, "converged": False})                          # not converged
    report = tmp_path / "series.json"
    report.write_text(json.dumps({"case": "pipe", "runs": runs}))
    assert gc.main(["--series", str(report), "--out", str(tmp_path / "out"), "--name", "study",
                    "--reference-pa", "7.0", "--max-spacing-mm", "0.7"]) == 0
    written = json.loads((tmp_path / "out" / "study.json").read_text())
    assert [r["resolution_mm"] for r in written["runs"]] == h
    outlet = written["studies_all"]["nostrils_to_outlet"]
    assert outlet["least_squares"]["extrapolated"] == pytest.approx(7.0, abs=1e-3)
    assert outlet["least_squares"]["observed_order"] == pytest.approx(1.0, rel=1e-3)
    # four triplets in the constant ratio 1.25, two in 1.5625
    assert len(outlet["richardson_triplets"]) == 6
    assert all(t["extrapolated"] == pytest.approx(7.0) for t in outlet["richardson_triplets"])
    choanae = written["studies_fine"]["nostrils_to_choanae"]["least_squares"]
    assert choanae["spacings"] == [0.64, 0.512, 0.4096, 0.32768]
    assert choanae["extrapolated"] == pytest.approx(6.0, abs=1e-3)
    assert (tmp_path / "out" / "study.png").stat().st_size > 0
    # three spacings are too few for least squares: only the triplet is studied
    three = gc.series_study(written["runs"], max_spacing_mm=0.6)
    assert three["nostrils_to_outlet"]["least_squares"] is None
    assert len(three["nostrils_to_outlet"]["richardson_triplets"]) == 1


def test_richardson_with_unequal_ratios_and_the_non_convergent_cases() -> None:
    gc = _load("grid_convergence")
    h = [2.0, 1.5, 0.6]
    study = gc.richardson([5.0 - 0.7 * x**2 for x in h], h)
    assert study["order"] == pytest.approx(2.0, abs=1e-6) and study["extrapolated"] == pytest.approx(5.0, abs=1e-6)
    assert gc.richardson([1.0, 2.0, 1.5], [0.5, 1.0, 2.0])["convergence"] == "oscillatory"
    assert gc.richardson([3.0, 2.0, 1.9], [0.5, 1.0, 2.0])["convergence"] == "divergent"


def test_plane_averages_and_profile_weight_by_volume() -> None:
    measure = _load("measure")
    xyz = np.array([[1.0, 10.0, 0.0], [-1.0, 10.2, 0.0], [0.0, 14.0, 0.0], [30.0, 10.0, 0.0]])
    cloud = measure.CellCloud(xyz, np.array([-4.0, -8.0, -20.0, 100.0]), np.array([1.0, 3.0, 1.0, 1.0]))
    both = measure.Plane("c", (0.0, 10.0, 0.0), (0.0, 1.0, 0.0), radius_mm=10.0)
    assert cloud.average(both, 0.5) == pytest.approx(-7.0)
    left = measure.Plane("c", (0.0, 10.0, 0.0), (0.0, 1.0, 0.0), radius_mm=10.0, side="left")
    assert cloud.average(left, 0.5) == pytest.approx(-4.0)
    assert math.isnan(cloud.average(measure.Plane("far", (0.0, 50.0, 0.0), (0.0, 1.0, 0.0)), 0.5))
    y, p = cloud.profile(bin_mm=2.0)
    assert y.tolist() == [11.0, 15.0] and p[1] == pytest.approx(-20.0)


def test_openfoam_field_parsing() -> None:
    foam = _load("foam_case")
    text = "FoamFile{}\ninternalField nonuniform List<vector> 2\n(\n(1 2 3)\n(4 5 6)\n)\n;\nboundaryField {}"
    assert foam.parse_internal_field(text).tolist() == [[1, 2, 3], [4, 5, 6]]
    assert foam.parse_internal_field("internalField uniform 0;").tolist() == [0.0]


@pytest.mark.slow
def test_dry_run_writes_a_complete_openfoam_case(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RHINOAPP_")} | {"PYTHONPATH": str(ROOT)}
    # A small, quick geometry: the straight phantom at 1 mm (the study itself uses a hard variant).
    work = tmp_path / "work"
    work.mkdir()
    run = subprocess.run([sys.executable, "-m", "rhinoapp", "phantom", "--variant", "straight", "--spacing-mm", "1.0",
                          "--out", str(work / "phantom_straight")], env=env, capture_output=True, text=True,
                         timeout=240, check=False)
    assert run.returncode == 0, run.stderr
    run = subprocess.run([sys.executable, str(VALIDATION / "openfoam_compare.py"), "--variant", "straight", "--work",
                          str(work), "--levels", "2.0,1.5", "--dry-run"], env=env, capture_output=True, text=True,
                         timeout=280, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    summaries = json.loads(run.stdout)
    assert [s["cell_mm"] for s in summaries] == [2.0, 1.5]
    case = Path(summaries[1]["case"])
    for name in ("system/blockMeshDict", "system/snappyHexMeshDict", "system/controlDict", "system/fvSchemes",
                 "system/fvSolution", "constant/transportProperties", "constant/turbulenceProperties", "0/U", "0/p"):
        text = (case / name).read_text()
        assert text.startswith("FoamFile") and text.count("{") == text.count("}"), name
    stl = (case / "constant/triSurface/airway.stl").read_text()
    assert re.findall(r"^solid (\w+)", stl, flags=re.M) == ["wall", "inlet_left", "inlet_right", "outlet"]
    assert summaries[1]["triangles"]["inlet_left"] > 0 and summaries[1]["triangles"]["outlet"] > 0
    # The point snappyHexMesh keeps lies inside the surface's bounding box, in metres.
    vertices = np.array(re.findall(r"vertex (\S+) (\S+) (\S+)", stl), dtype=float)
    inside = np.array(summaries[1]["location_in_mesh_m"])
    assert np.all(inside > vertices.min(axis=0)) and np.all(inside < vertices.max(axis=0))
    u, p = (case / "0/U").read_text(), (case / "0/p").read_text()
    assert "flowRateInletVelocity" in u and "volumetricFlowRate -0.00025;" in u
    assert re.search(r"inlet_left\s*\{\s*type totalPressure;\s*p0 uniform 0;", p)
    assert "nu 1.5e-05;" in (case / "constant/transportProperties").read_text()
    assert "simulationType laminar;" in (case / "constant/turbulenceProperties").read_text()
    control = (case / "system/controlDict").read_text()
    assert "flow_inlet_right" in control and "pAvg_outlet" in control
    assert "type fieldAverage;" in control and "timeStart 1125;" in control  # the last quarter of 1500 iterations

    # rhinoapp's own domain for OpenFOAM: the same airway with the ambient-air chambers and the outlet extension
    run = subprocess.run([sys.executable, str(VALIDATION / "openfoam_compare.py"), "--variant", "straight", "--work",
                          str(work), "--levels", "1.5::3", "--dry-run", "--domain", "rhinoapp"], env=env,
                         capture_output=True, text=True, timeout=280, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    (domain,) = json.loads(run.stdout)
    assert Path(domain["case"]).parent.name == "openfoam_domain" and Path(domain["case"]).name == "h1p5mm_L0_B3"
    # three prism layers on the wall, none on the openings
    snappy = (Path(domain["case"]) / "system/snappyHexMeshDict").read_text()
    assert "addLayers true;" in snappy and re.search(r"layers\s*\{\s*wall\s*\{\s*nSurfaceLayers 3;\s*\}\s*\}", snappy)
    assert "addLayers false;" in (case / "system/snappyHexMeshDict").read_text()
    counts = domain["triangles"]
    assert all(counts[name] > 0 for name in ("wall", "inlet_left", "inlet_right", "outlet")), counts
    box = np.array(re.findall(r"vertex (\S+) (\S+) (\S+)", (Path(domain["case"]) / "constant/triSurface/airway.stl")
                              .read_text()), dtype=float)
    # the chambers reach 10 mm beyond the nostrils and the extension beyond the outlet: a larger box than the airway's
    grown = (box.max(axis=0) - box.min(axis=0)) - (vertices.max(axis=0) - vertices.min(axis=0))
    assert grown.max() > 0.008 and grown.min() >= -1e-4, grown
    # the chambers' far faces and sides (the inlets) are several times the nostril caps they feed
    cap = _solid_area_m2((case / "constant/triSurface/airway.stl").read_text(), "inlet_left")
    chamber = _solid_area_m2((Path(domain["case"]) / "constant/triSurface/airway.stl").read_text(), "inlet_left")
    assert chamber > 5 * cap > 0, (chamber, cap)


def _solid_area_m2(stl: str, solid: str) -> float:
    block = stl.split(f"solid {solid}\n", 1)[1].split(f"endsolid {solid}", 1)[0]
    corners = np.array(re.findall(r"vertex (\S+) (\S+) (\S+)", block), dtype=float).reshape(-1, 3, 3)
    return float(0.5 * np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1).sum())


def test_duct_check_measures_the_added_viscosity_of_the_subgrid_model() -> None:
    """A known answer: without a subgrid model the exact laminar profile holds (r near 0); with
    Smagorinsky 0.15 at a physiological relaxation time the laminar shear gets a large eddy viscosity."""
    check = _load("lbm_duct_check")
    plain = check.added_viscosity(8, tau=0.501224, magic=6.12e-4, smagorinsky=0.0, steps=600)
    smagorinsky = check.added_viscosity(8, tau=0.501224, magic=6.12e-4, smagorinsky=0.15, steps=600)
    assert abs(plain["r"]) < 0.05, plain  # measured 0.016 (the wall offset of bounce-back at a small magic)
    assert smagorinsky["r"] > 0.5, smagorinsky  # measured 0.84


def test_viscous_check_solves_a_rectangular_duct_exactly() -> None:
    """A known answer: the developed flow through a 10 x 20 mm rectangle (Boussinesq's series) from its voxels."""
    check = _load("viscous_check")
    a, b = 10e-3, 20e-3
    series = sum(math.tanh(n * math.pi * b / (2 * a)) / n**5 for n in range(1, 60, 2))
    exact = a**3 * b / 12.0 * (1.0 - 192.0 * a / (math.pi**5 * b) * series)
    coarse = check.section_integral_m4(np.ones((20, 40), bool), 0.5, 1)
    fine = check.section_integral_m4(np.ones((20, 40), bool), 0.5, 2)
    assert abs(fine / exact - 1.0) < abs(coarse / exact - 1.0) < 0.01, (coarse / exact, fine / exact)


def test_openfoam_case_takes_another_viscosity_and_gradient(tmp_path: Path) -> None:
    foam_case = _load("foam_case")
    (tmp_path / "case" / "system").mkdir(parents=True)
    foam_case.write_numerics(tmp_path / "case", nu_m2_s=1.5e-4, limited_gradient=False)
    text = (tmp_path / "case" / "constant" / "transportProperties").read_text()
    assert "nu 0.00015;" in text
    assert "grad(U) Gauss linear;" in (tmp_path / "case" / "system" / "fvSchemes").read_text()
    assert _load("viscous_check").openfoam_viscosity(tmp_path / "case") == 1.5e-4


def test_openfoam_case_takes_another_convection_scheme_and_layer_angle(tmp_path: Path) -> None:
    """LUST convection and layers that run on around sharp edges: written into the case, named in its folder; an
    unknown scheme is refused before anything is written."""
    foam_case = _load("foam_case")
    (tmp_path / "case" / "system").mkdir(parents=True)
    foam_case.write_numerics(tmp_path / "case", limited_gradient=False, convection="LUST")
    assert "div(phi,U) bounded Gauss LUST grad(U);" in (tmp_path / "case" / "system" / "fvSchemes").read_text()
    with pytest.raises(ValueError, match="QUICK"):
        foam_case.write_numerics(tmp_path / "other", convection="QUICK")
    assert not (tmp_path / "other").exists()
    level = _load("openfoam_compare").parse_level("0.6::3:180", surface_level=0)
    assert level.name == "h0p6mm_L0_B3_F180" and foam_case.MeshLevel(0.6, 0, 3).name == "h0p6mm_L0_B3"
    geometry = _load("nozzle_foam").write_geometry_dir(_load("nozzle_shape").Nozzle(), tmp_path / "geometry",
                                                       voxel_mm=0.5)
    foam_case.write_mesh_case(tmp_path / "mesh", geometry, level)
    snappy = (tmp_path / "mesh" / "system" / "snappyHexMeshDict").read_text()
    assert "featureAngle 180;" in snappy and "nSurfaceLayers 3;" in snappy


@pytest.mark.parametrize("name", ["measure", "foam_case", "grid_convergence", "lbm_sensitivity", "lbm_duct_check",
                                  "energy_flux", "foam_domain", "viscous_check", "openfoam_compare",
                                  "nozzle_check", "nozzle_shape", "nozzle_foam"])
def test_docstring_examples_of_the_scripts(name: str) -> None:
    import doctest

    failures, tried = doctest.testmod(_load(name), optionflags=doctest.ELLIPSIS)
    assert tried > 0 and failures == 0


def _nozzle_volume_mm3(nozzle: Any) -> float:
    start, end = nozzle.throat_mm
    r0, r1 = nozzle.inlet_radius_mm, nozzle.throat_radius_mm
    cone = math.pi * nozzle.contraction_length_mm / 3 * (r0**2 + r0 * r1 + r1**2)
    return (math.pi * r0**2 * nozzle.inlet_length_mm + cone + math.pi * r1**2 * (end - start)
            + math.pi * nozzle.outlet_radius_mm**2 * nozzle.outlet_length_mm)


def test_the_valve_nozzle_is_the_same_shape_for_both_solvers() -> None:
    """rhinoapp's voxel mask and OpenFOAM's surface enclose the nozzle's analytic volume; the openings sit at its
    two ends, the surface is closed and carries the faces the OpenFOAM pipeline meshes into patches."""
    shape = _load("nozzle_shape")
    nozzle = shape.Nozzle()
    exact = _nozzle_volume_mm3(nozzle)
    domain = shape.nozzle_domain(nozzle, 0.25)
    assert abs(domain.n_fluid * 0.25**3 / exact - 1.0) < 0.01
    assert domain.inlet_left[0].any() and not domain.inlet_left[1:].any()
    assert domain.outlet[-1].any() and not domain.outlet[:-1].any() and not domain.inlet_right.any()
    # voxel centres lie at z = (k - 1/2) h: the first fluid layer just inside the inlet face at z = 0
    assert domain.geometry.origin_mm[2] == -0.125
    surface = shape.nozzle_surface(nozzle, segments=128)
    assert surface.n_open_edges == 0
    assert abs(surface.volume / exact - 1.0) < 0.005
    faces = np.asarray(surface.cell_data["face"])
    assert sorted(set(faces.tolist())) == [0, 1, 2, 3] and (faces == 1).sum() == (faces == 2).sum()
    cap = surface.extract_cells(np.flatnonzero(faces == 3)).area
    assert abs(cap / (math.pi * nozzle.outlet_radius_mm**2) - 1.0) < 0.002


def test_the_wedge_mesh_of_the_valve_nozzle(tmp_path: Path) -> None:
    """The axisymmetric reference's blockMeshDict: five blocks, the wedge's two faces, a wall, the openings; meshed
    and checked by OpenFOAM itself where it is installed."""
    text = _load("nozzle_foam").wedge_block_mesh(_load("nozzle_shape").Nozzle(), 6)
    assert text.count("hex (") == 5 and "type wedge;" in text and "type wall;" in text
    assert text.count("{") == text.count("}") and text.count("(") == text.count(")")
    foam = _load("foam_case")
    if not foam.have_openfoam():
        pytest.skip("OpenFOAM is not installed (apt-get install openfoam); the dictionary was checked as text")
    case = tmp_path / "wedge"
    (case / "system").mkdir(parents=True)
    (case / "system" / "blockMeshDict").write_text(text)
    foam.write_control(case, iterations=1)
    foam.write_numerics(case)
    foam.run_tool(case, "blockMesh")
    foam.run_tool(case, "checkMesh")
    assert "Mesh OK." in (case / "log.checkMesh").read_text()
    assert foam.mesh_patches(case)["front"] > 0


def test_the_wedge_revolves_into_a_body_fitted_3d_mesh(tmp_path: Path) -> None:
    """With a thin hole along the axis the wedge has no collapsed cells, and OpenFOAM revolves it into a full 3D
    mesh of the nozzle (sectors times the wedge's cells) that passes its own mesh check."""
    nozzle_foam, foam = _load("nozzle_foam"), _load("foam_case")
    nozzle = _load("nozzle_shape").Nozzle()
    text = nozzle_foam.wedge_block_mesh(nozzle, 4, axial_ratio=1.0, axis_gap_mm=0.02)
    assert "    axis\n" in text and text.count("hex (") == 5
    assert text == nozzle_foam.wedge_block_mesh(nozzle, 4, axial_ratio=1.0, axis_gap_mm=0.02)
    uniform = nozzle_foam.wedge_block_mesh(nozzle, 4, wall_ratio=1.0)
    assert "simpleGrading (1 1 1)" in uniform and "axis" not in uniform
    if not foam.have_openfoam():
        pytest.skip("OpenFOAM is not installed (apt-get install openfoam); the dictionaries were checked as text")
    source, case = tmp_path / "source", tmp_path / "revolved"
    for folder in (source, case):
        (folder / "system").mkdir(parents=True)
        foam.write_control(folder, iterations=1)
        foam.write_numerics(folder)
    (source / "system" / "blockMeshDict").write_text(text)
    foam.run_tool(source, "blockMesh")
    wedge_cells = foam.mesh_patches(source)["back"]
    (case / "system" / "extrudeMeshDict").write_text(nozzle_foam.revolve_dict(source, 12))
    foam.run_tool(case, "extrudeMesh")
    foam.run_tool(case, "checkMesh")
    log = (case / "log.checkMesh").read_text()
    assert "Mesh OK." in log
    assert int(re.search(r"cells:\s+(\d+)", log).group(1)) == 12 * wedge_cells
    patches = foam.mesh_patches(case)
    assert patches["axis"] > 0 and patches["wall"] > 0 and patches.get("front", 0) == 0
    nozzle_foam.write_wedge_fields(case, flow_ml_s=41.2, sector_degrees=360.0, axis_gap=True)
    assert "slip" in (case / "0" / "U").read_text() and "-4.12e-05" in (case / "0" / "U").read_text()


@pytest.mark.slow
def test_rhinoapp_carries_the_flow_through_the_valve_nozzle(tmp_path: Path) -> None:
    """An end-to-end run of the check at a coarse lattice: it converges, every slab carries the flow, and the
    contraction and the throat lose pressure while the inlet pipe does not."""
    check = _load("nozzle_check")
    nozzle = check.Nozzle()
    flow = nozzle.flow_ml_s(700.0, 1.5e-5)
    run = check.run_rhinoapp(nozzle, tmp_path, 1.0, flow_ml_s=flow, voxel_mm=0.25, threads=1)
    assert json.loads((run / "results.json").read_text())["converged"]
    figures = check.measure(check.rhinoapp_cells(run), nozzle.stations(), 0.5)
    throat, pipe = flow / (math.pi * nozzle.throat_radius_mm**2), flow / (math.pi * nozzle.inlet_radius_mm**2)
    assert abs(figures["throat middle"]["mean_speed_m_s"] / throat - 1.0) < 0.1, figures["throat middle"]
    assert abs(figures["expansion +20 mm"]["mean_speed_m_s"] / pipe - 1.0) < 0.1, figures["expansion +20 mm"]
    assert abs(figures["before contraction"]["drop_pa"]) < 0.2
    assert figures["throat entry"]["drop_pa"] > 0.5 * 0.6 * (throat**2 - pipe**2)  # at least half of Bernoulli's
    assert figures["throat end"]["drop_pa"] > figures["throat entry"]["drop_pa"]


def test_like_for_like_compares_kept_runs_with_stored_references(tmp_path: Path) -> None:
    """Without the OpenFOAM cases, the record is rebuilt from references measured before (a record, and an
    openfoam_compare report) and keeps the earlier runs of one flow model, compared again with every reference."""
    like_for_like = _load("like_for_like")
    record = tmp_path / "record.json"
    record.write_text(json.dumps({
        "references": [{"case": "a/h0p9mm", "cells": 10, "nostrils_to_outlet_pa": 5.0, "partition_left_pct": 50.0}],
        "runs": [{"run": "std", "model": "standard", "resolution_mm": 1.0, "fluid_cells": 5,
                  "nostrils_to_outlet_pa": 10.0, "partition_left_pct": 49.0, "pressure_drop_bias_pct": [100.0],
                  "partition_points": [-1.0]},
                 {"run": "old", "model": "smooth walls", "resolution_mm": 1.0, "fluid_cells": 5,
                  "nostrils_to_outlet_pa": 7.0, "partition_left_pct": 50.0, "pressure_drop_bias_pct": [40.0],
                  "partition_points": [0.0]}]}))
    report = tmp_path / "openfoam_layers.json"
    report.write_text(json.dumps({"openfoam": [{"cell_mm": 0.45, "cells": 20, "partition_left_pct": 50.4,
                                                "pressure_drop_pa": {"nostrils_to_outlet": 8.0}}]}))
    out = tmp_path / "new.json"
    assert like_for_like.main(["--references", str(record), "--references", str(report), "--keep", str(record),
                               "--json", str(out)]) == 0
    rebuilt = json.loads(out.read_text())
    assert [r["case"] for r in rebuilt["references"]] == ["a/h0p9mm", "openfoam_layers/h0.45mm"]
    assert [r["run"] for r in rebuilt["runs"]] == ["std"]  # the smooth-walls run is left to be measured again
    assert rebuilt["runs"][0]["pressure_drop_bias_pct"] == [100.0, 25.0]
    assert rebuilt["runs"][0]["partition_points"] == [-1.0, -1.4]
    with pytest.raises(SystemExit):
        like_for_like.main(["--json", str(out)])  # no references: a usage error


def test_label_mapping_record_of_one_variant_has_no_wrong_mapping(tmp_path: Path, capsys) -> None:
    """``label_mapping.py`` on one variant: its eleven label maps (the inlet box too) get the truth's mapping from where the labels lie."""
    mapping = _load("label_mapping")
    record = tmp_path / "label_mapping.json"
    assert mapping.main(["--variant", "straight", "--json", str(record)]) == 0
    counts = json.loads(record.read_text())["counts"]
    assert counts == {"same": 11, "sinus left out": 0, "no guess": 0, "WRONG": 0}
    assert "11 label maps: 11 same" in capsys.readouterr().out
    truth = mapping.LabelMapping.parse(mapping.TRUTH)
    assert mapping.verdict(mapping.LabelMapping.parse("4:left,3:right,5:nasopharynx"), truth) == "sinus left out"
    assert mapping.verdict(mapping.LabelMapping.parse("3:left,4:right,5:nasopharynx,1:sinus"), truth) == "WRONG"
    assert mapping.verdict(None, truth) == "no guess"
