"""Wall shear stress, the pressure profile and the clinical figures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rhinoapp.cfd.backends import BoundaryValues, KernelParameters, create_backend
from rhinoapp.cfd.postprocess import WallStress, clinical_results, pressure_profile, wall_shear_stress
from rhinoapp.cfd.setup import build_lattice
from rhinoapp.cfd.shapes import round_pipe, square_duct
from rhinoapp.cfd.units import LatticeParameters


@pytest.mark.parametrize(("radius", "tau", "tolerance"), [(10, 0.6, 0.15), (10, 1.0, 0.15), (20, 1.0, 0.10)])
def test_wall_shear_stress_approaches_the_pipe_law(radius: int, tau: float, tolerance: float) -> None:
    """Steady periodic pipe: tau_w = F R / 2, and wall friction balances the body force.

    The stress is taken at the fluid cells next to the wall, half a cell and more inside a
    staircase wall, so it reads low by a few cells' worth of the stress gradient: measured 13 % at
    R = 10 and 9 % at R = 20 cells (first order in the cell size).
    """
    force = 2e-6
    lattice = build_lattice(round_pipe(radius, 2, periodic=True))
    params = KernelParameters(tau=tau, force=(0.0, 0.0, force))
    backend = create_backend("numba", lattice, params, BoundaryValues.closed())
    backend.advance(np.ones(int(16 / ((tau - 0.5) / 3 * 5.783 / radius**2))))
    wall = wall_shear_stress(lattice, backend.get_state(), params)
    assert wall.area.sum() == pytest.approx(2 * math.pi * radius * 2, rel=0.03)  # wetted area
    assert wall.area_mean() == pytest.approx(force * radius / 2, rel=tolerance)
    friction = float(np.sum(wall.stress * wall.area))
    assert friction == pytest.approx(force * lattice.n_cells, rel=tolerance)
    assert np.allclose(np.linalg.norm(wall.normal, axis=0), 1.0)


def test_pressure_profile_falls_along_the_duct() -> None:
    lattice = build_lattice(square_duct(3, 20))
    k = lattice.cell_coordinates()[:, 2]
    distance, pressure = pressure_profile(lattice, 10.0 - 0.5 * k, bin_cells=4.0)
    assert np.all(np.diff(distance) > 0) and np.all(np.diff(pressure) < 0)
    assert distance[0] == 2.0 and len(distance) == 5


def test_clinical_results_have_exactly_the_listed_keys() -> None:
    units = LatticeParameters(dx_m=0.5e-3, dt_s=1e-5, tau=0.502, density_kg_m3=1.2)
    wall = WallStress(np.arange(2), np.zeros((3, 2)), np.array([1e-5, 3e-5]), np.array([1.0, 1.0]))
    results = clinical_results(pressure_drop=1e-3, flow_left=0.3, flow_right=0.0, flow_outlet=0.3,
                               max_speed=0.1, wall=wall, units=units)
    assert set(results) == {"pressure_drop_pa", "flow_ml_s", "flow_partition_left_pct", "resistance_pa_s_per_ml",
                            "max_velocity_m_s", "wss_mean_pa", "wss_max_pa", "mass_conservation_error"}
    assert results["flow_partition_left_pct"] == 100.0
    assert results["resistance_pa_s_per_ml"]["right"] is None  # no flow on that side: no resistance
    assert math.isclose(results["max_velocity_m_s"], 5.0)
    assert math.isclose(results["wss_max_pa"], 3e-5 * units.pressure_scale_pa, rel_tol=1e-5)
