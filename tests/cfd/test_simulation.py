"""Whole simulations of the symmetric phantom: clinical figures, outputs, directions, bad input."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from rhinoapp.cfd.config import PhysicsConfig, RunConfig
from rhinoapp.cfd.domain import FlowDomain
from rhinoapp.cfd.shapes import round_pipe
from rhinoapp.cfd.simulation import CONVERGENCE_COLUMNS, simulate
from rhinoapp.core.errors import ValidationError
from rhinoapp.core.progress import ProgressReport


@pytest.mark.slow
def test_physiological_flow_through_the_symmetric_phantom(physiological_run) -> None:
    """250 ml/s inspiration on the 1 mm demo grid: stable, symmetric, plausible."""
    r = physiological_run.results
    assert r["converged"]
    assert abs(r["flow_partition_left_pct"] - 50.0) <= 2.0
    assert r["flow_ml_s"]["total"] == pytest.approx(250.0, rel=0.02)
    assert 5.0 <= r["pressure_drop_pa"] <= 40.0  # measured about 22 Pa
    total = r["resistance_pa_s_per_ml"]["total"]
    assert total == pytest.approx(r["pressure_drop_pa"] / r["flow_ml_s"]["total"], rel=1e-5)
    assert r["mass_conservation_error"] <= 0.01  # unsteady flow; steady laminar runs are checked to 0.5 %
    assert 0 < r["wss_mean_pa"] < r["wss_max_pa"]
    assert r["backend"] == "numba" and r["mlups"] > 0 and r["steps"] > 0
    lattice = r["lattice"]
    assert lattice["peak_velocity_lattice"] <= 0.1 and 0.5 < lattice["tau"] < 0.51
    profile = r["pressure_profile"]
    assert profile["pressure_pa"][0] > profile["pressure_pa"][-1]  # pressure falls from nostrils to outlet


@pytest.mark.slow
def test_outputs_are_written(physiological_run, tmp_path_factory) -> None:
    from vtkmodules.vtkIOXML import vtkXMLImageDataReader, vtkXMLPolyDataReader

    folder = next(p for p in tmp_path_factory.getbasetemp().iterdir() if p.name.startswith("phantom-250"))
    results = json.loads((folder / "results.json").read_text())
    assert results == json.loads(json.dumps(physiological_run.results))
    with open(folder / "convergence.csv", newline="") as stream:
        rows = list(csv.reader(stream))
    assert tuple(rows[0]) == CONVERGENCE_COLUMNS and len(rows) > 10
    reader = vtkXMLImageDataReader()
    reader.SetFileName(str(folder / "fields.vti"))
    reader.Update()
    image = reader.GetOutput()
    geometry = physiological_run.lattice.domain.geometry
    assert image.GetDimensions() == geometry.shape[::-1]
    assert np.allclose(image.GetOrigin(), geometry.origin_mm) and np.allclose(image.GetSpacing(), geometry.spacing_mm)
    for name in ("pressure_pa", "velocity_m_s", "fluid"):
        assert image.GetPointData().HasArray(name)
    assert image.GetFieldData().GetAbstractArray("coordinate_system").GetValue(0) == "LPS"
    surface_reader = vtkXMLPolyDataReader()
    surface_reader.SetFileName(str(folder / "surface.vtp"))
    surface_reader.Update()
    surface = surface_reader.GetOutput()
    assert surface.GetNumberOfPoints() > 1000
    for name in ("pressure_pa", "wss_pa", "face"):
        assert surface.GetPointData().HasArray(name)
    bounds = np.array(surface.GetBounds()).reshape(3, 2)
    extent = np.array([geometry.index_to_physical(np.zeros(3)), geometry.index_to_physical(
        np.array(geometry.shape[::-1]) - 1)])
    assert np.all(bounds[:, 0] >= extent.min(axis=0) - 1) and np.all(bounds[:, 1] <= extent.max(axis=0) + 1)


@pytest.mark.slow
def test_expiration_reverses_the_flow(phantom_2mm) -> None:
    physics = PhysicsConfig(flow_ml_s=20.0, direction="expiration", kinematic_viscosity_m2_s=1.5e-4)
    result = simulate(phantom_2mm, physics, RunConfig(backend="numba", max_steps=6000))
    r = result.results
    assert r["flow_ml_s"]["total"] == pytest.approx(20.0, rel=0.02) and r["pressure_drop_pa"] > 0
    # air leaves through the nostrils: velocities at the nostril cells point anterior (-y)
    inlet_cells = result.lattice.link_cells()[result.lattice.link_opening == 0]
    assert np.mean(result.velocity_m_s[1][inlet_cells]) < 0


@pytest.mark.slow
def test_pressure_drop_driving(phantom_2mm) -> None:
    physics = PhysicsConfig(driving="pressure_drop", pressure_drop_pa=2.0, kinematic_viscosity_m2_s=1.5e-4)
    r = simulate(phantom_2mm, physics, RunConfig(backend="numba", max_steps=8000)).results
    assert r["pressure_drop_pa"] == pytest.approx(2.0, rel=0.1)
    assert r["flow_ml_s"]["total"] > 0 and abs(r["flow_partition_left_pct"] - 50) < 1


def test_an_airway_without_a_path_is_refused(phantom_2mm) -> None:
    fluid = phantom_2mm.fluid.copy()
    fluid[:, 10, :] = False  # a wall through both passages
    blocked = FlowDomain(fluid, phantom_2mm.inlet_left, phantom_2mm.inlet_right, phantom_2mm.outlet,
                         phantom_2mm.geometry)
    with pytest.raises(ValidationError, match="no path through the air from the left nostril"):
        simulate(blocked, PhysicsConfig(), RunConfig(backend="numba", max_steps=10))



def test_a_coarse_start_reaches_the_cold_start_result() -> None:
    """A pipe at 1 mm started from its 2 mm solution (whose pressure drop is twice off, 3 cells across): the steady
    state test carries the fine run to the cold start's result, with no ramp."""
    pipe = round_pipe(6.0, 60, spacing_mm=1.0)
    physics = PhysicsConfig(flow_ml_s=2.0)
    cold = simulate(pipe, physics, RunConfig(backend="numba")).results
    reports: list[ProgressReport] = []
    result = simulate(pipe, physics, RunConfig(backend="numba", coarse_start="on"), progress=reports.append)
    r, coarse = result.results, result.results["coarse_start"]
    # one progress bar over both runs: the coarse run's part named, never back, steady only at the very end
    fractions = [report.fraction for report in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and reports[-1].steady
    first = [report for report in reports if report.stage == "coarse start at 2 mm"]
    assert first and reports[:len(first)] == first and not any(report.steady for report in first)
    assert 0.0 < first[-1].fraction < 0.5
    # the coarse part counts its steps against the coarse run's own expected length, not a cold run's
    assert {report.total for report in first} == {first[0].total} and first[0].total < 2 * coarse["steps"]
    assert coarse["used"] and coarse["converged"] and coarse["resolution_mm"] == 2.0
    assert coarse["fluid_cells"] < result.lattice.n_cells / 6
    assert abs(coarse["pressure_drop_pa"] / cold["pressure_drop_pa"] - 1.0) > 0.2  # far from the fine answer
    assert r["converged"] and r["steps"] < cold["steps"] and "coarse_start" not in cold
    assert r["pressure_drop_pa"] == pytest.approx(cold["pressure_drop_pa"], rel=0.02)
    assert r["flow_ml_s"]["total"] == pytest.approx(2.0, rel=0.01)


@pytest.fixture(scope="module")
def phantom_labels_1mm() -> FlowDomain:
    """The straight phantom's labels (1 mm voxels) with its landmark planes: on a 2.5 mm lattice the standard
    model's projected collision diverges there (at about step 4,700, in the valve, 2-3 cells across)."""
    from rhinoapp.cfd.domain import Opening
    from rhinoapp.cfd.inputs import OpeningPlane, domain_from_labels
    from rhinoapp.phantom import generate_phantom, variant_params

    phantom = generate_phantom(variant_params("straight", spacing_mm=1.0, noise_hu=0))
    marks = phantom.landmarks
    planes = {Opening.INLET_LEFT: OpeningPlane(marks.nostrils_lps_mm[0], marks.nostril_normal_lps),
              Opening.INLET_RIGHT: OpeningPlane(marks.nostrils_lps_mm[1], marks.nostril_normal_lps),
              Opening.OUTLET: OpeningPlane(marks.outlet_point_lps_mm, marks.outlet_normal_lps)}
    return domain_from_labels(phantom.truth, planes=planes)


@pytest.mark.slow
def test_a_diverged_run_is_run_again_with_the_recursive_collision_and_flagged(phantom_labels_1mm, tmp_path) -> None:
    from rhinoapp.analysis.plausibility import FlagKind, Severity, check_results
    from rhinoapp.cfd.config import FlowModel

    physics = FlowModel.STANDARD.physics(flow_ml_s=250.0)
    reports: list[ProgressReport] = []
    run = RunConfig(backend="numba", checkpoint_every=2000)
    result = simulate(phantom_labels_1mm, physics, run, resolution_mm=2.5, out_dir=tmp_path, progress=reports.append)
    r = result.results
    note = r["steadier_collision"]
    assert note["regularization"] == "recursive" and note["diverged_at_step"] > 0, note
    assert "diverged at step" in note["why"]
    assert r["converged"] and r["lattice"]["recursive"] and 20.0 < r["pressure_drop_pa"] < 200.0
    # the place it diverged lies in the airway's air
    geometry = result.lattice.domain.geometry
    ijk = np.round(geometry.physical_to_index(np.array([note["diverged_at_lps_mm"]]))[0]).astype(int)
    assert result.lattice.domain.fluid[tuple(ijk[::-1])]
    # the people watching see the second run start, and the result carries a warning that says where and what to do
    assert any(report.stage and "recursive collision" in report.stage for report in reports)
    flags = [flag for flag in check_results(r) if flag.kind is FlagKind.STABILITY and "collision" in flag.quantity]
    assert len(flags) == 1 and flags[0].severity is Severity.WARNING, flags
    assert flags[0].place_lps_mm == tuple(note["diverged_at_lps_mm"]) and "refine" in flags[0].message
    assert json.loads((tmp_path / "results.json").read_text())["steadier_collision"] == note

    # a resumed run goes on with the recursive collision from its own checkpoints
    resumed = simulate(phantom_labels_1mm, physics, RunConfig(backend="numba", checkpoint_every=2000, resume=True),
                       resolution_mm=2.5, out_dir=tmp_path).results
    assert resumed["steadier_collision"] == note and resumed["lattice"]["recursive"]
    assert resumed["pressure_drop_pa"] == pytest.approx(r["pressure_drop_pa"], rel=0.05)
    # a fresh run in the same folder that holds (a lower flow) leaves nothing that would make its resume recursive
    gentle = FlowModel.STANDARD.physics(flow_ml_s=50.0)
    fresh = simulate(phantom_labels_1mm, gentle, run, resolution_mm=2.5, out_dir=tmp_path).results
    assert "steadier_collision" not in fresh and not fresh["lattice"]["recursive"]
    again = simulate(phantom_labels_1mm, gentle, RunConfig(backend="numba", checkpoint_every=2000, resume=True),
                     resolution_mm=2.5, out_dir=tmp_path).results
    assert "steadier_collision" not in again and not again["lattice"]["recursive"]


def test_a_run_that_diverges_with_both_collisions_says_so(phantom_labels_1mm) -> None:
    from rhinoapp.cfd.config import FlowModel
    from rhinoapp.core.errors import DivergenceError

    with pytest.raises(DivergenceError, match=r"diverged at step .*second try, with the recursive collision"):
        simulate(phantom_labels_1mm, FlowModel.STANDARD.physics(flow_ml_s=3000.0), RunConfig(backend="numba"),
                 resolution_mm=2.5)


def test_the_recursive_collision_is_not_tried_twice(phantom_labels_1mm) -> None:
    from rhinoapp.cfd.config import FlowModel
    from rhinoapp.core.errors import DivergenceError

    physics = FlowModel.STANDARD.physics(flow_ml_s=3000.0, regularization="recursive")
    with pytest.raises(DivergenceError) as caught:
        simulate(phantom_labels_1mm, physics, RunConfig(backend="numba"), resolution_mm=2.5)
    assert "second try" not in str(caught.value)


def test_labels_with_left_and_right_swapped_are_flagged(tmp_path) -> None:
    """The same airway with labels 1 and 2 exchanged (a data set that numbers the right side first): the results say
    where each nostril is, and the plausibility checks warn that the sides are probably swapped."""
    from rhinoapp.analysis.plausibility import FlagKind, check_results
    from rhinoapp.cfd.inputs import airway_domain
    from rhinoapp.cfd.shapes import two_channel_labels
    from rhinoapp.core.volume import LabelMap

    labels = two_channel_labels(2.0)
    swapped = LabelMap(np.array([0, 2, 1, 3, 4], dtype=np.uint8)[labels.labels], labels.geometry)
    sides = {}
    for name, airway in (("as labelled", labels), ("swapped", swapped)):
        results = simulate(airway_domain(airway), PhysicsConfig(flow_ml_s=100.0),
                           RunConfig(backend="numba", max_steps=200), resolution_mm=2.0).results
        nostrils = results["nostrils_lps_mm"]
        assert (nostrils["left"][0] > nostrils["right"][0]) is (name == "as labelled"), nostrils
        assert results["nostril_tilt_deg"] == {"left": 0.0, "right": 0.0}  # level: no note on oblique nostrils
        sides[name] = [flag for flag in check_results(results) if flag.kind is FlagKind.SIDES]
    assert not sides["as labelled"] and len(sides["swapped"]) == 1 and "swapped" in sides["swapped"][0].message
