"""One set of equations on every backend: NumPy reference, Numba, CuPy (and its CUDA source on the CPU)."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from rhinoapp.cfd.backends import (BoundaryValues, KernelParameters, create_backend, cupy_available,
                                   resolve_backend)
from rhinoapp.cfd.config import PhysicsConfig
from rhinoapp.cfd.lattice import BLOCK
from rhinoapp.cfd.postprocess import cell_moments
from rhinoapp.cfd.setup import SparseLattice, build_lattice
from rhinoapp.cfd.shapes import square_duct
from rhinoapp.cfd.simulation import boundary_values, sponge_relaxation_times
from rhinoapp.cfd.solver import ramp
from rhinoapp.cfd.units import choose_lattice_parameters
from rhinoapp.core.errors import ConfigurationError


def _physiological(domain, *, strain_average: float = 0.0, bulk_omega: float = 0.0,
                   recursive: bool = False) -> tuple[SparseLattice, KernelParameters, BoundaryValues]:
    """The production variant: Smagorinsky (shear-improved with a strain average), sponge, open boundaries at
    physiological viscosity (with a bulk relaxation rate of its own if given)."""
    lattice = build_lattice(domain)
    physics = PhysicsConfig(flow_ml_s=250.0)
    units = choose_lattice_parameters(lattice.domain, physics)
    params = KernelParameters(tau=units.tau, magic=units.trt_magic, smagorinsky=units.smagorinsky_constant,
                              tau_cells=sponge_relaxation_times(lattice, units.tau, 6, 30.0),
                              strain_average=strain_average, bulk_omega=bulk_omega, recursive=recursive)
    return lattice, params, boundary_values(lattice, physics, units)


def _problem(variant: str, domain) -> tuple[SparseLattice, KernelParameters, BoundaryValues]:
    if variant == "forced":
        return _forced()
    # a short average, so that the running strain mean matters within the few steps of a test
    return _physiological(domain, strain_average=0.05 if variant == "shear_improved" else 0.0,
                          bulk_omega=1.0 if variant in ("shear_improved", "recursive") else 0.0,
                          recursive=variant == "recursive")


def _forced() -> tuple[SparseLattice, KernelParameters, BoundaryValues]:
    """The verification variant: plain TRT with a body force in a periodic duct."""
    return (build_lattice(square_duct(9, 2, periodic=True)), KernelParameters(tau=0.7, force=(1e-5, 2e-6, 3e-5)),
            BoundaryValues.closed())


def _run(name: str, problem, steps: int) -> tuple[np.ndarray, np.ndarray, tuple]:
    lattice, params, boundary = problem
    backend = create_backend(name, lattice, params, boundary)
    backend.advance(ramp(np.arange(1, steps + 1), steps // 2))
    return backend.get_state(), backend.max_speed(), backend.take_diagnostics()


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.mark.parametrize("variant", ["physiological", "shear_improved", "recursive", "forced"])
def test_numpy_and_numba_agree(variant: str, phantom_2mm) -> None:
    problem = _problem(variant, phantom_2mm)
    reference, speed_ref, (flux_ref, p_ref, n_ref) = _run("numpy", problem, 300)
    fast, speed, (flux, p, n) = _run("numba", problem, 300)
    lattice = problem[0]
    # the running strain mean feeds the rounding differences of the fused arithmetic back into the collision:
    # 2.2e-5 after 300 steps, against 2.3e-2 for a strain average 20 % off and 5.7e-2 without the bulk rate
    tolerance = 1e-4 if variant == "shear_improved" else 1e-5
    assert np.all(np.isfinite(fast)) and speed_ref > 1e-3
    assert _relative(fast, reference) < tolerance
    _, u_ref = cell_moments(lattice, reference, problem[1].force)
    _, u = cell_moments(lattice, fast, problem[1].force)
    assert _relative(u, u_ref) < tolerance
    assert speed == pytest.approx(speed_ref, rel=1e-5) and n == n_ref == 300
    if lattice.n_links:
        assert np.allclose(flux, flux_ref, rtol=1e-5, atol=1e-9) and np.allclose(p, p_ref, rtol=1e-4, atol=1e-9)


def test_auto_backend_and_missing_cupy() -> None:
    assert resolve_backend("auto").value in ("numba", "cupy")
    if not cupy_available():
        with pytest.raises(ConfigurationError, match=r"pip install rhinoapp\[gpu\]"):
            create_backend("cupy", *_forced())


@pytest.mark.skipif(not cupy_available(), reason="needs CuPy and an NVIDIA GPU")
@pytest.mark.parametrize("variant", ["physiological", "shear_improved", "forced"])
def test_cupy_agrees_with_numba(variant: str, phantom_2mm) -> None:
    problem = _problem(variant, phantom_2mm)
    reference, speed_ref, (flux_ref, _, _) = _run("numba", problem, 300)
    gpu, speed, (flux, _, _) = _run("cupy", problem, 300)
    assert _relative(gpu, reference) < 1e-5
    assert speed == pytest.approx(speed_ref, rel=1e-5)
    assert np.allclose(flux, flux_ref, rtol=1e-5, atol=1e-9)


@pytest.mark.skipif(not cupy_available(), reason="needs CuPy and an NVIDIA GPU")
@pytest.mark.parametrize("conserve_mass", [False, True])
def test_cupy_agrees_with_numba_with_interpolated_walls(conserve_mass: bool) -> None:
    """The interpolated walls' CuPy path (the array code it shares with NumPy) against the Numba kernels: the
    production collision on the phantom resampled from 1 mm voxels to a 2 mm lattice, as in test_walls."""
    from rhinoapp.cfd.inputs import domain_from_labels
    from rhinoapp.cfd.shapes import two_channel_labels
    from rhinoapp.cfd.walls import interpolated_walls

    airway = domain_from_labels(two_channel_labels(1.0))
    lattice = build_lattice(airway.resampled(2.0))
    walls = interpolated_walls(lattice, airway, conserve_mass=conserve_mass)
    physics = PhysicsConfig(flow_ml_s=20.0)
    units = choose_lattice_parameters(lattice.domain, physics)
    params = KernelParameters(tau=units.tau, magic=units.trt_magic, smagorinsky=units.smagorinsky_constant,
                              tau_cells=sponge_relaxation_times(lattice, units.tau, 6, 30.0),
                              strain_average=0.05, bulk_omega=1.0, walls=walls)
    problem = (lattice, params, boundary_values(lattice, physics, units))
    reference, speed_ref, (flux_ref, _, _) = _run("numba", problem, 300)
    gpu, speed, (flux, _, _) = _run("cupy", problem, 300)
    assert np.all(np.isfinite(gpu)) and _relative(gpu, reference) < 1e-5
    assert np.allclose(flux, flux_ref, rtol=1e-4, atol=1e-9)


_DRIVER = """
extern "C" void run_steps(float* a, float* b, const int* gather, const float* tau_cell, float* strain,
        long long n_padded, float omega, float omega_m, float magic, float csmag, float eps, float bulk,
        float fx, float fy, float fz,
        long long ghosts, const int* cells, const int* start, const signed char* link_q,
        const signed char* link_opening, const double* link_area, const signed char* kinds, const double* values,
        const double* scales, int steps, int n_boundary, double* flux, double* pressure) {
    for (int s = 0; s < steps; ++s) {
        float* src = (s % 2) ? b : a;
        float* dst = (s % 2) ? a : b;
        blockDim.x = 256;
        for (long long c = 0; c < n_padded; ++c) {
            blockIdx.x = (unsigned)(c / 256); threadIdx.x = (unsigned)(c % 256);
            stream_collide(src, dst, gather, tau_cell, strain, n_padded, omega, omega_m, magic, csmag, eps, bulk,
                           fx, fy, fz);
        }
        blockDim.x = 128;
        for (int c = 0; c < n_boundary; ++c) {
            blockIdx.x = c / 128; threadIdx.x = c % 128;
            open_boundaries(dst, ghosts, cells, start, link_q, link_opening, link_area, kinds, values, scales[s],
                            n_boundary, flux, pressure);
        }
    }
}
"""

_STUB = """
#include <math.h>
#define __global__
#define __device__
#define __forceinline__ inline
#define __constant__
struct Dim3 { unsigned x, y, z; };
static Dim3 blockIdx, blockDim, threadIdx;
static double atomicAdd(double* address, double value) { double old = *address; *address += value; return old; }
"""


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs a C++ compiler")
@pytest.mark.parametrize("variant", ["physiological", "shear_improved", "recursive", "forced"])
def test_cuda_source_emulated_on_the_cpu_agrees_with_numpy(variant: str, phantom_2mm, tmp_path: Path) -> None:
    """The CuPy kernels' CUDA C, compiled by g++ with one loop iteration per GPU thread."""
    from rhinoapp.cfd.backends.cupy_gpu import _source

    lattice, params, boundary = problem = _problem(variant, phantom_2mm)
    source = tmp_path / "kernels.cpp"
    source.write_text(_STUB + _source() + _DRIVER)
    library = tmp_path / "kernels.so"
    flags = [f"-DFORCE={int(params.has_force)}", f"-DLOCAL={int(params.local_tau)}",
             f"-DRECURSIVE={int(params.recursive)}"]
    subprocess.run(["g++", "-O2", "-shared", "-fPIC", *flags, "-o", str(library), str(source)], check=True,
                   capture_output=True, timeout=120)
    native = ctypes.CDLL(str(library))
    steps = 40
    scales = ramp(np.arange(1, steps + 1), steps // 2)
    a = np.zeros(lattice.population_size, dtype=np.float32)
    b = np.zeros_like(a)
    flux, pressure = np.zeros(3), np.zeros(3)
    tau_cell = params.cell_tau(lattice.n_blocks * BLOCK)
    strain = np.zeros(lattice.n_blocks * 6 * BLOCK, dtype=np.float32)

    def ptr(array: np.ndarray) -> ctypes.c_void_p:
        return ctypes.c_void_p(array.ctypes.data)

    keep = [np.ascontiguousarray(x) for x in (lattice.gather, lattice.boundary_cells.astype(np.int32),
                                              lattice.link_start.astype(np.int32), lattice.link_q.astype(np.int8),
                                              lattice.link_opening.astype(np.int8), _link_area(lattice, params),
                                              boundary.kinds.astype(np.int8), boundary.values.astype(np.float64))]
    f32 = ctypes.c_float
    native.run_steps(ptr(a), ptr(b), ptr(keep[0]), ptr(tau_cell), ptr(strain),
                     ctypes.c_longlong(lattice.n_blocks * BLOCK), f32(params.omega), f32(params.omega_minus),
                     f32(params.magic), f32(params.smagorinsky), f32(params.strain_average if params.shear_improved else 0.0),
                     f32(params.bulk_omega),
                     *(f32(v) for v in params.force), ctypes.c_longlong(lattice.ghost_start), *(ptr(k) for k in keep[1:]),
                     ptr(scales), ctypes.c_int(steps), ctypes.c_int(int(lattice.boundary_cells.size)), ptr(flux),
                     ptr(pressure))
    emulated = a if steps % 2 == 0 else b
    reference = create_backend("numpy", *problem)
    reference.advance(scales)
    assert _relative(emulated, reference.get_state()) < 1e-5
    if lattice.n_links:
        assert np.allclose(flux, reference.take_diagnostics()[0], rtol=1e-5, atol=1e-9)


def _link_area(lattice: SparseLattice, params: KernelParameters) -> np.ndarray:
    backend = create_backend("numpy", lattice, params, BoundaryValues.closed())
    return np.ascontiguousarray(backend.link_area, dtype=np.float64)



def test_the_strain_mean_restarts_when_a_developed_flow_is_loaded(phantom_2mm) -> None:
    """From rest the strain mean keeps its configured rate; after ``set_state`` (a warm start) the steps take the
    rates of :func:`strain_mean_rates` (1 first) until they have caught up with it; NumPy and Numba agree on a
    warm start of the shear-improved model."""
    from rhinoapp.cfd.backends.base import strain_mean_rates

    assert strain_mean_rates(0, 1, 0.01) == [(1, 1.0)]
    runs = strain_mean_rates(0, 300, 0.01)
    assert sum(count for count, _ in runs) == 300 and runs[-1] == (173, 0.01)
    assert all(a[1] > b[1] for a, b in zip(runs, runs[1:]))
    lattice, params, boundary = _problem("shear_improved", phantom_2mm)  # a strain-mean rate of 0.05
    developed, _, _ = _run("numba", (lattice, params, boundary), 200)
    states = []
    for name in ("numpy", "numba"):
        backend = create_backend(name, lattice, params, boundary)
        assert backend._strain_rates(5) == [(5, 0.05)]  # from rest
        backend.set_state(developed)
        assert backend._strain_rates(3) == [(1, 1.0), (2, 0.5)]
        assert backend._strain_rates(20) == [(4, 0.25), (8, 0.125), (8, 0.0625)]
        assert backend._strain_rates(2) == [(2, 0.05)]  # caught up
        backend.set_state(developed)
        backend.advance(np.ones(100))
        states.append(backend.get_state())
    # right after the restart the strain sits at its mean, where max(|S| - |<S>|, 0) switches the eddy viscosity
    # on and off and feeds rounding back (1.7e-4 after 100 steps, 2.8e-5 after 300); a mean left at zero: 0.12
    assert np.all(np.isfinite(states[1])) and _relative(states[1], states[0]) < 1e-3
