"""Physics and run configuration."""

from __future__ import annotations

import pytest

from rhinoapp.cfd.config import BackendName, Direction, Driving, PhysicsConfig, RunConfig
from rhinoapp.core.errors import ValidationError


@pytest.mark.parametrize("flow", [0.0, -250.0, float("nan")])
def test_zero_or_negative_flow_is_refused_with_a_hint(flow: float) -> None:
    with pytest.raises(ValidationError, match="flow must be positive ml/s.*direction"):
        PhysicsConfig(flow_ml_s=flow)


def test_pressure_drop_driving_needs_a_positive_drop() -> None:
    with pytest.raises(ValidationError, match="pressure_drop_pa"):
        PhysicsConfig(driving="pressure_drop")
    physics = PhysicsConfig(driving="pressure_drop", pressure_drop_pa=15.0, flow_ml_s=0.0)
    assert physics.driving is Driving.PRESSURE_DROP


def test_enums_from_strings_and_bad_values() -> None:
    assert PhysicsConfig(direction="expiration").direction is Direction.EXPIRATION
    assert RunConfig(backend="cupy").backend is BackendName.CUPY
    with pytest.raises(ValueError):
        RunConfig(backend="fortran")
    with pytest.raises(ValidationError):
        PhysicsConfig(max_lattice_velocity=0.2)
    with pytest.raises(ValidationError):
        RunConfig(max_steps=0)
