"""The solver's measured speed: a short run of the production kernel on a grid of about the run's size."""

from __future__ import annotations

import pytest

from rhinoapp.cfd.config import PhysicsConfig, RunConfig
from rhinoapp.cfd.estimate import SpeedSource, estimate_run
from rhinoapp.cfd.shapes import square_duct
from rhinoapp.cfd.throughput import CALIBRATION_CELLS, calibration_cells, measure_throughput
from rhinoapp.core.errors import SimulationError, ValidationError


def test_calibration_grids_are_powers_of_two_within_bounds() -> None:
    low, high = CALIBRATION_CELLS
    assert calibration_cells(1) == low and calibration_cells(10**9) == high
    assert calibration_cells(100_000) == 131_072 and calibration_cells(40_000) == 32_768


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_the_kernel_is_measured_on_the_asked_size(backend: str) -> None:
    mlups = measure_throughput(backend, cells=4_096, steps=8)
    assert mlups > 0.01  # a real speed: a grid of thousands of cells advanced in well under minutes
    with pytest.raises(ValidationError, match="at least 64 fluid cells"):
        measure_throughput(backend, cells=10)


def test_the_estimate_takes_a_measured_speed() -> None:
    nominal = estimate_run(square_duct(10, 40), PhysicsConfig(flow_ml_s=10.0), RunConfig(backend="numba"),
                           resolution_mm=0.5)
    assert nominal.speed is SpeedSource.NOMINAL
    measured = nominal.at_speed(nominal.mlups / 4)
    assert measured.speed is SpeedSource.MEASURED and measured.seconds == pytest.approx(4 * nominal.seconds)
    assert (measured.fluid_cells, measured.steps, measured.memory_bytes) == \
        (nominal.fluid_cells, nominal.steps, nominal.memory_bytes)
    with pytest.raises(SimulationError, match="positive MLUPS"):
        nominal.at_speed(0.0)
