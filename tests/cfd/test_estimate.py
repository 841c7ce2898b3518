"""Memory and run-time estimates, and refusing what will not fit."""

from __future__ import annotations

import tracemalloc

import pytest

from rhinoapp.cfd.config import PhysicsConfig, RunConfig
from rhinoapp.cfd.estimate import available_memory_bytes, check_resources, estimate_run
from rhinoapp.cfd.shapes import square_duct
from rhinoapp.cfd.simulation import simulate
from rhinoapp.cfd.units import airway_volume_mm3, coarse_run_steps, lattice_parameters, narrowest_section_mm2
from rhinoapp.core.errors import SimulationError


def test_estimate_scales_with_the_resolution(phantom_2mm) -> None:
    physics = PhysicsConfig(flow_ml_s=250.0)
    coarse = estimate_run(phantom_2mm, physics, RunConfig(backend="numba"))
    fine = estimate_run(phantom_2mm, physics, RunConfig(backend="numba"), resolution_mm=1.0)
    assert fine.fluid_cells == pytest.approx(8 * coarse.fluid_cells, rel=1e-6)
    assert fine.steps == pytest.approx(2 * coarse.steps, rel=0.01)
    assert fine.memory_bytes > 8 * coarse.memory_bytes * 0.9
    assert fine.seconds > 10 * coarse.seconds
    assert 0 < coarse.memory_bytes / coarse.fluid_cells < 1000
    assert set(coarse.as_dict()) >= {"fluid_cells", "steps", "memory_gb", "seconds", "backend"}


def test_a_resolution_beyond_the_memory_is_refused_before_the_run(phantom_2mm) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(SimulationError, match="GB of memory.*coarser resolution"):
            simulate(phantom_2mm, PhysicsConfig(), RunConfig(backend="numba"), resolution_mm=0.02)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**30, peak  # refused from the estimate: nothing of the grid allocated (it needs terabytes)
    estimate = estimate_run(phantom_2mm, PhysicsConfig(), resolution_mm=0.02)
    assert estimate.memory_bytes > available_memory_bytes()


def test_explicit_limits() -> None:
    from rhinoapp.cfd.estimate import ResourceEstimate

    gpu = ResourceEstimate(fluid_cells=10**8, grid_voxels=10**9, steps=10, memory_bytes=10**9,
                           device_memory_bytes=3 * 10**10, backend="cupy", mlups=1e4, seconds=1.0)
    check_resources(gpu, memory_limit_bytes=10**10)
    with pytest.raises(SimulationError, match="GPU memory"):
        check_resources(gpu, memory_limit_bytes=10**10, device_memory_bytes=10**10)


def test_a_coarse_start_is_estimated_as_both_runs() -> None:
    duct, physics = square_duct(10, 40), PhysicsConfig(flow_ml_s=10.0)
    cold = estimate_run(duct, physics, RunConfig(backend="numba"), resolution_mm=0.5)
    warm = estimate_run(duct, physics, RunConfig(backend="numba", coarse_start="on"), resolution_mm=0.5)
    coarse = estimate_run(duct, physics, RunConfig(backend="numba"), resolution_mm=1.0)
    # the coarse run only seeds the fine one: it stops with the shorter windows of a warm start
    seed_steps = coarse_run_steps(lattice_parameters(1.0, narrowest_section_mm2(duct), airway_volume_mm3(duct), physics))
    assert warm.steps < cold.steps and cold.coarse_cell_updates == 0 and seed_steps < coarse.steps
    assert warm.coarse_cell_updates == coarse.fluid_cells * seed_steps
    assert warm.at_speed(10.0).seconds == pytest.approx((warm.fluid_cells * warm.steps + coarse.fluid_cells
                                                         * seed_steps) / 10e6)


def test_no_run_stops_before_the_fewest_steps_the_estimate_gives(phantom_2mm, tmp_path) -> None:
    """The steady-state test needs two windows of checks after the ramp: a real run, steady or not, never stops
    before ``least_steps``, which is below the calibrated ``steps``, and the time says so at any speed."""
    physics, run = PhysicsConfig(flow_ml_s=5.0), RunConfig(backend="numba")
    estimate = estimate_run(phantom_2mm, physics, run)
    results = simulate(phantom_2mm, physics, run, out_dir=tmp_path).results
    lattice = results["lattice"]
    assert results["converged"]
    assert estimate.least_steps == (lattice["ramp_steps"] // lattice["check_every"] + 2 * run.window) * lattice["check_every"]
    assert 0 < estimate.least_steps <= results["steps"] and estimate.least_steps < estimate.steps
    measured = estimate.at_speed(10.0)
    assert measured.least_seconds == pytest.approx(estimate.fluid_cells * estimate.least_steps / 10e6)
    assert measured.as_dict()["least_seconds"] == round(measured.least_seconds, 1) < measured.seconds
