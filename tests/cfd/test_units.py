"""The automatic lattice units: time step, relaxation time and run length from the physics and the domain."""

from __future__ import annotations

import pytest

from rhinoapp.cfd.config import PhysicsConfig, SubgridModel
from rhinoapp.cfd.shapes import square_duct
from rhinoapp.cfd.units import choose_lattice_parameters, lattice_parameters, narrowest_section_mm2
from rhinoapp.core.errors import ValidationError


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
