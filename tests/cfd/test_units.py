"""The automatic lattice units: time step, relaxation time and run length from the physics and the domain."""

from __future__ import annotations

import numpy as np
import pytest

from rhinoapp.cfd.config import PhysicsConfig, SubgridModel
from rhinoapp.cfd.domain import FlowDomain
from rhinoapp.cfd.openings import PLANE_CHOANA_LEFT, PLANE_CHOANA_RIGHT, PLANE_NOSTRIL_LEFT, PLANE_NOSTRIL_RIGHT, \
    PLANE_OUTLET, PLANE_SURROUNDINGS, with_open_surroundings
from rhinoapp.cfd.shapes import square_duct
from rhinoapp.cfd.units import choose_lattice_parameters, lattice_parameters, narrowest_section_mm2
from rhinoapp.core.errors import ValidationError
from rhinoapp.core.volume import ImageGeometry


def test_lattice_velocity_is_at_most_the_target_and_units_are_consistent() -> None:
    duct = square_duct(10, 30, spacing_mm=0.5)
    physics = PhysicsConfig(flow_ml_s=20.0)
    units = choose_lattice_parameters(duct, physics)
    assert units.peak_velocity_lattice <= 0.1
    assert narrowest_section_mm2(duct) == pytest.approx(25.0)
    # the mean velocity in lattice units times the section in cells is the flow in lattice units
    mean_velocity = physics.flow_ml_s * 1e-6 / 25e-6
    assert mean_velocity / units.velocity_scale_m_s == pytest.approx(0.05)
    assert units.nu_lattice == pytest.approx(physics.kinematic_viscosity_m2_s * units.dt_s / units.dx_m**2)
    assert units.pressure_scale_pa == pytest.approx(1.2 * units.velocity_scale_m_s**2)


def test_magic_parameter_follows_the_viscosity() -> None:
    physiological = lattice_parameters(0.5, 100.0, 24000.0, PhysicsConfig(flow_ml_s=250.0))
    assert physiological.tau < 0.51
    assert physiological.trt_magic == pytest.approx((physiological.tau - 0.5) / 2)
    viscous = lattice_parameters(0.5, 100.0, 24000.0, PhysicsConfig(flow_ml_s=1.0, kinematic_viscosity_m2_s=1e-3))
    assert viscous.trt_magic == pytest.approx(3 / 16)
    fixed = lattice_parameters(0.5, 100.0, 24000.0, PhysicsConfig(flow_ml_s=250.0, trt_magic=0.25))
    assert fixed.trt_magic == 0.25


def test_anisotropic_voxels_need_resampling() -> None:
    duct = square_duct(4, 8)
    stretched = type(duct)(duct.fluid, duct.inlet_left, duct.inlet_right, duct.outlet,
                           duct.geometry.__class__(duct.geometry.shape, (1.0, 1.0, 2.0)))
    with pytest.raises(ValidationError, match="cubic voxels"):
        choose_lattice_parameters(stretched, PhysicsConfig())


def test_collision_model_options_reach_the_lattice_parameters() -> None:
    default = lattice_parameters(0.5, 100.0, 24000.0, PhysicsConfig(flow_ml_s=250.0))
    assert default.strain_average == 0.0 and default.bulk_omega == 0.0 and not default.recursive
    physics = PhysicsConfig(flow_ml_s=250.0, subgrid_model="shear_improved", strain_average_flow_throughs=0.5,
                            bulk_relaxation_time=1.0, regularization="recursive")
    assert physics.subgrid_model is SubgridModel.SHEAR_IMPROVED
    units = lattice_parameters(0.5, 100.0, 24000.0, physics)
    assert units.strain_average == pytest.approx(1.0 / (0.5 * units.flow_through_steps))
    assert units.bulk_omega == 1.0 and units.recursive
    with pytest.raises(ValidationError, match="bulk relaxation time"):
        PhysicsConfig(bulk_relaxation_time=0.5)
    with pytest.raises(ValueError):
        PhysicsConfig(subgrid_model="vreman")


def test_the_narrowest_section_is_the_airways_own_where_its_chamber_lies_across_it() -> None:
    """A nose whose nostril opens downward, its chamber below it, and a narrowing (a valve) just behind the nostril,
    along the airway's axis (j): the sections through the valve also cut the chamber. They counted its air, so the
    valve went unseen (on the clinical phantom tilted 15, 10 and 10 degrees the narrowest section read 319 mm², the
    time step was too long for the flow through the valves and every run diverged)."""
    shape = (16, 34, 8)
    fluid = np.zeros(shape, dtype=bool)
    fluid[10:14, 0:32, 2:6] = True  # a tube along j, 4 x 4 voxels of 1 mm
    fluid[10:14, 4:6, 2:6] = False
    fluid[11:13, 4:6, 3:5] = True  # the valve: 2 x 2
    inlet = np.zeros(shape, dtype=bool)
    inlet[9, 0:3, 2:6] = True  # the nostril, below the tube's front end: its chamber lies below the valve
    outlet = np.zeros(shape, dtype=bool)
    outlet[10:14, 32, 2:6] = True
    domain = with_open_surroundings(FlowDomain(fluid, inlet, np.zeros(shape, dtype=bool), outlet, ImageGeometry(shape)))
    assert domain.planes["surroundings"].any()
    assert narrowest_section_mm2(domain) == pytest.approx(4.0)


def test_the_narrowest_section_across_the_nose_counts_whole_slabs_only() -> None:
    """Two cavities of 4 x 3 voxels of 1 mm (24 mm² together) whose nose axis dips a little (the nostril planes hold
    the upper half of each front): the sections across that axis are slabs, and the last one, cut short by the
    choanae, held a fraction of a section and passed for the narrowest (12 mm² here; 64.7 mm² for 108 on the
    clinical phantom resampled to 0.75 mm, so its time step was 1.6 times shorter than its estimate's)."""
    shape = (12, 40, 14)
    fluid = np.zeros(shape, dtype=bool)
    fluid[4:8, 1:30, 2:5] = True  # the left cavity along j
    fluid[4:8, 1:30, 9:12] = True  # the right one
    fluid[4:8, 30:36, 2:12] = True  # the nasopharynx
    inlet_left, inlet_right, outlet = (np.zeros(shape, dtype=bool) for _ in range(3))
    inlet_left[4:8, 0, 2:5] = inlet_right[4:8, 0, 9:12] = outlet[4:8, 36, 2:12] = True
    planes = {name: np.zeros(shape, dtype=bool) for name in (PLANE_NOSTRIL_LEFT, PLANE_NOSTRIL_RIGHT, PLANE_CHOANA_LEFT,
                                                               PLANE_CHOANA_RIGHT, PLANE_OUTLET, PLANE_SURROUNDINGS)}
    planes[PLANE_SURROUNDINGS][4:8, 1, 2:5] = planes[PLANE_SURROUNDINGS][4:8, 1, 9:12] = True
    planes[PLANE_NOSTRIL_LEFT][6:8, 2, 2:5] = planes[PLANE_NOSTRIL_RIGHT][6:8, 2, 9:12] = True
    planes[PLANE_CHOANA_LEFT][4:8, 29, 2:5] = planes[PLANE_CHOANA_RIGHT][4:8, 29, 9:12] = True
    planes[PLANE_OUTLET][4:8, 34, 2:12] = True
    domain = FlowDomain(fluid, inlet_left, inlet_right, outlet, ImageGeometry(shape), planes=planes)
    assert narrowest_section_mm2(domain) == pytest.approx(24.0, rel=0.05)
