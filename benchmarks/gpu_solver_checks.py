"""The solver sections of ``gpu_check.py``: correctness, speed and time to solution on one backend.

Each public function takes the backend to check (``cupy`` on the GPU machine; ``numpy`` or
``numba`` in a CPU dry run), a :class:`Sizes` and a ``log`` callable, and returns a plain dict of
figures for the JSON report. Checks carry ``passed`` next to the limit they are held to, the same
limits as the CPU tests in ``tests/cfd`` whose helpers they reuse. Not a script: ``gpu_check.py``
imports it.
"""

from __future__ import annotations

import itertools
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

Log = Callable[[str], None]

#: The benchmark grid of ``bench_lbm.py`` ([k, j, i]: 200 x 150 x 300 cells) and one four times its size.
SPONGE_GRID = (300, 150, 200)
SPONGE_GRID_4X = (300, 300, 400)


@dataclass(frozen=True)
class Sizes:
    """How big each section runs: :data:`FULL` on the GPU, :data:`TINY` for a CPU dry run."""

    duct_widths: tuple[int, ...]
    agreement_steps: int
    agreement_voxels_mm: tuple[float, ...]
    max_steps: int | None  # cap on the whole-simulation runs (None: the solver's own limit)
    sponge_grids: tuple[tuple[int, int, int], ...]
    speed_steps: tuple[int, ...]
    speed_repeats: int
    tts_resolutions_mm: tuple[float, ...]
    cpu_reference_updates: float  # cell updates per timed CPU reference run (about a second on 2 cores)
    partition_voxel_mm: float
    restart_steps: int
    tts_solve_limit_s: float | None  # cap a finer run's steps at this many seconds at the coarser run's speed
    bandwidth_mib: int


FULL = Sizes(duct_widths=(12, 24, 48), agreement_steps=300, agreement_voxels_mm=(2.0, 1.0), max_steps=None,
             sponge_grids=(SPONGE_GRID, SPONGE_GRID_4X), speed_steps=(500, 200), speed_repeats=5,
             tts_resolutions_mm=(0.5, 0.25), cpu_reference_updates=3e7, partition_voxel_mm=1.0,
             restart_steps=600, tts_solve_limit_s=150.0, bandwidth_mib=2048)
TINY = Sizes(duct_widths=(6, 12), agreement_steps=20, agreement_voxels_mm=(2.0,), max_steps=60,
             sponge_grids=((24, 20, 16), (24, 40, 32)), speed_steps=(4, 2), speed_repeats=2,
             tts_resolutions_mm=(2.0,), cpu_reference_updates=1e4, partition_voxel_mm=2.0,
             restart_steps=120, tts_solve_limit_s=None, bandwidth_mib=16)


class StepTimer:
    """Wall time of work on ``backend``: CUDA events on the GPU (the GPU's own timeline), else a clock."""

    def __init__(self, backend: str) -> None:
        self._cp = None
        if backend == "cupy":
            import cupy

            self._cp = cupy

    def time(self, work: Callable[[], None]) -> float:
        """Seconds ``work`` takes, waiting for the GPU to finish it."""
        if self._cp is None:
            started = time.perf_counter()
            work()
            return time.perf_counter() - started
        start, end = self._cp.cuda.Event(), self._cp.cuda.Event()
        start.record()
        work()
        end.record()
        end.synchronize()
        return self._cp.cuda.get_elapsed_time(start, end) / 1e3


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def _check(value: float, limit: float, *, below: bool = True) -> dict[str, Any]:
    passed = bool(value <= limit) if below else bool(value >= limit)
    return {"value": float(value), "limit": float(limit), "passed": passed}


def _symmetric_phantom(voxel_mm: float) -> Any:  # a FlowDomain
    from rhinoapp.cfd.inputs import domain_from_labels
    from rhinoapp.cfd.shapes import two_channel_labels

    return domain_from_labels(two_channel_labels(voxel_mm))


# ----------------------------------------------------------------------------------------------- correctness


def poiseuille(backend: str, sizes: Sizes, log: Log) -> dict[str, Any]:
    """The periodic square duct driven by a body force against the series solution (test_verification)."""
    from rhinoapp.cfd.backends import BoundaryValues, KernelParameters, create_backend
    from rhinoapp.cfd.postprocess import cell_moments
    from rhinoapp.cfd.setup import build_lattice
    from rhinoapp.cfd.shapes import square_duct
    from tests.cfd.test_verification import NU, TAU, _square_duct_profile

    errors = {}
    for width in sizes.duct_widths:
        force = 2e-5 * (24 / width) ** 2
        lattice = build_lattice(square_duct(width, 2, periodic=True))
        solver = create_backend(backend, lattice, KernelParameters(tau=TAU, force=(0.0, 0.0, force)),
                                BoundaryValues.closed())
        solver.advance(np.ones(int(16 / (NU * 2 * math.pi**2 / width**2))))
        _, u = cell_moments(lattice, solver.get_state(), (0.0, 0.0, force))
        coords = lattice.cell_coordinates()
        x = coords[:, 0] - 1 + 0.5 - width / 2
        y = coords[:, 1] - 1 + 0.5 - width / 2
        exact = _square_duct_profile(x, y, width / 2, force, NU)
        errors[width] = float(np.max(np.abs(u[2] - exact)) / np.max(exact))
        log(f"  duct {width} cells: largest deviation {100 * errors[width]:.4f} % of the peak")
    widths = sorted(errors)
    orders = [math.log2(errors[a] / errors[b]) for a, b in itertools.pairwise(widths)]
    middle = widths[len(widths) // 2]
    return {"relative_error": {str(w): e for w, e in errors.items()}, "orders": orders,
            "error_check": _check(errors[middle], 0.01),
            "orders_passed": bool(all(1.8 <= o <= 2.3 for o in orders)),
            "cpu_reference": "0.16 / 0.040 / 0.0098 % at 12 / 24 / 48 cells, orders 2.03 and 2.04 (Numba)"}


def agreement(backend: str, sizes: Sizes, log: Log) -> dict[str, Any]:
    """``backend`` against the NumPy reference after a few hundred steps: production kernel on the phantom with
    openings, and the forced TRT duct (the problems of test_backends)."""
    from rhinoapp.cfd.postprocess import cell_moments
    from tests.cfd.test_backends import _forced, _physiological, _relative, _run

    cases = {f"phantom {v:g} mm, production kernel, openings": (lambda v=v: _physiological(_symmetric_phantom(v)))
             for v in sizes.agreement_voxels_mm}
    cases["periodic duct, TRT with body force"] = _forced
    out = {}
    for label, make in cases.items():
        problem = make()
        lattice, params, _ = problem
        ref, speed_ref, (flux_ref, _, _) = _run("numpy", problem, sizes.agreement_steps)
        got, speed, (flux, _, _) = _run(backend, problem, sizes.agreement_steps)
        _, u_ref = cell_moments(lattice, ref, params.force)
        _, u = cell_moments(lattice, got, params.force)
        flux_dev = float(np.max(np.abs(flux - flux_ref)) / max(np.max(np.abs(flux_ref)), 1e-300)) \
            if lattice.n_links else 0.0
        row = {"cells": lattice.n_cells, "steps": sizes.agreement_steps,
               "populations": _check(_relative(got, ref), 1e-5), "velocity": _check(_relative(u, u_ref), 1e-5),
               "max_speed_relative": abs(speed / speed_ref - 1) if speed_ref else 0.0,
               "flux_relative": flux_dev, "finite": bool(np.all(np.isfinite(got)))}
        out[label] = row
        log(f"  {label}: populations {row['populations']['value']:.2e}, velocity {row['velocity']['value']:.2e}, "
            f"flux {flux_dev:.2e} relative to NumPy")
    return {"cases": out}


def mass_conservation(backend: str, sizes: Sizes, log: Log) -> dict[str, Any]:
    """Laminar steady flow through the 2 mm phantom: inflow through the nostrils equals outflow (test_verification)."""
    from rhinoapp.cfd.config import PhysicsConfig, RunConfig
    from rhinoapp.cfd.simulation import simulate

    result = simulate(_symmetric_phantom(2.0), PhysicsConfig(flow_ml_s=20.0, kinematic_viscosity_m2_s=1.5e-4),
                      RunConfig(backend=backend, tolerance=1e-4, max_steps=sizes.max_steps))
    r = result.results
    log(f"  converged {r['converged']} after {r['steps']} steps, mass error {r['mass_conservation_error']:.2e}, "
        f"flow {r['flow_ml_s']['total']:.3f} ml/s")
    return {"converged": r["converged"], "steps": r["steps"], "mass_error": _check(r["mass_conservation_error"], 0.005),
            "flow_ml_s": _check(abs(r["flow_ml_s"]["total"] / 20.0 - 1), 0.005) | {"total": r["flow_ml_s"]["total"]}}


def partition(backend: str, reference: str, sizes: Sizes, log: Log) -> dict[str, Any]:
    """250 ml/s through the 1 mm symmetric phantom on ``backend`` and on the CPU ``reference`` (test_simulation), with
    each flow model: the default smooth walls (interpolated wall links, shear-improved model) and the standard one."""
    from rhinoapp.cfd.config import RunConfig
    from rhinoapp.cfd.request import SimulationRequest

    voxel = sizes.partition_voxel_mm
    out = {}
    for model in ("smooth_walls", "standard"):
        physics = SimulationRequest(flow_ml_s=250.0, flow_model=model).physics()
        for name in dict.fromkeys((backend, reference)):
            started = time.perf_counter()
            r = _simulate(_symmetric_phantom(voxel), physics, RunConfig(backend=name, max_steps=sizes.max_steps))
            out[f"{name}, {model}"] = {
                "seconds": time.perf_counter() - started, "converged": r["converged"], "steps": r["steps"],
                "partition_left_pct": r["flow_partition_left_pct"], "pressure_drop_pa": r["pressure_drop_pa"],
                "flow_ml_s": r["flow_ml_s"]["total"], "mass_error": r["mass_conservation_error"],
                "mlups": r["mlups"], "symmetry": _check(abs(r["flow_partition_left_pct"] - 50.0), 2.0),
                "interpolated_wall_links": r["lattice"].get("interpolated_wall_links", 0)}
            log(f"  {name}, {model}: partition {r['flow_partition_left_pct']:.2f} %, dp {r['pressure_drop_pa']:.2f} Pa, "
                f"{r['steps']} steps, converged {r['converged']}, {r['mlups']:.0f} MLUPS")
        if backend != reference:  # the same model on the GPU and the CPU: the same flow
            gpu, cpu = out[f"{backend}, {model}"], out[f"{reference}, {model}"]
            out[f"{model}: {backend} against {reference}"] = {
                "pressure_drop": _check(abs(gpu["pressure_drop_pa"] / cpu["pressure_drop_pa"] - 1), 0.01),
                "partition_points": _check(abs(gpu["partition_left_pct"] - cpu["partition_left_pct"]), 0.2)}
    return {"voxel_mm": voxel, "runs": out}


def _simulate(domain: Any, physics: Any, run: Any) -> dict[str, Any]:
    """The results document of one run."""
    from rhinoapp.cfd.simulation import simulate

    return simulate(domain, physics, run).results


def restart(backend: str, sizes: Sizes, log: Log) -> dict[str, Any]:
    """A run stopped half-way and resumed from its checkpoint ends where the uninterrupted one does (test_solver:
    600 steps, checkpoints every 100, stopped at 300)."""
    from rhinoapp.cfd.config import RunConfig
    from rhinoapp.cfd.solver import Solver
    from tests.cfd.test_solver import _duct_problem

    lattice, params, boundary = _duct_problem()
    total = sizes.restart_steps
    check, common = total // 12, {"steps_estimate": total, "ramp_steps": total // 3}
    straight = Solver(lattice, params, boundary, RunConfig(backend=backend, max_steps=total, check_every=check),
                      **common).execute()
    with tempfile.TemporaryDirectory() as folder:
        Solver(lattice, params, boundary, RunConfig(backend=backend, max_steps=total // 2, check_every=check,
                                                    checkpoint_every=total // 6), checkpoint_dir=Path(folder),
               **common).execute()
        resumed = Solver(lattice, params, boundary, RunConfig(backend=backend, max_steps=total, check_every=check,
                                                              resume=True), checkpoint_dir=Path(folder),
                         **common).execute()
    difference = float(np.max(np.abs(resumed.state - straight.state)) / np.max(np.abs(straight.state)))
    flow = abs(resumed.history[-1].flow / straight.history[-1].flow - 1)
    log(f"  {total} steps, resumed at {total // 2} vs uninterrupted: populations differ by {difference:.2e} "
        f"(relative), last flow by {flow:.2e}")
    return {"steps": total, "state": _check(difference, 1e-6),
            "bit_identical": bool(np.array_equal(resumed.state, straight.state)),
            "same_history_steps": [s.step for s in resumed.history] == [s.step for s in straight.history],
            "last_flow_relative": flow}


# ----------------------------------------------------------------------------------------------------- speed


def bytes_per_update(backend_obj: Any, params: Any) -> dict[str, Any]:
    """DRAM bytes one fluid-cell update moves in the fused kernel, from the arrays the backend holds.

    Populations: ``f0`` and 18 gathered values read, 19 written; the gather table: 18 indices read;
    with a local relaxation time (Smagorinsky or sponge) one ``tau`` per cell read. Padding cells of
    the last block are updated too (``padding`` is padded cells per fluid cell).
    """
    from rhinoapp.cfd.lattice import BLOCK, Q

    lattice = backend_obj.lattice
    held = getattr(backend_obj, "_g", np.zeros(1, np.float32))  # a pair of arrays (Numba, CuPy) or one (NumPy)
    populations = (held[0] if isinstance(held, list | tuple) else held).dtype.itemsize
    index = lattice.gather.dtype.itemsize
    tau = getattr(backend_obj, "_tau", getattr(backend_obj, "_tau_cell", np.zeros(1, np.float32))).dtype.itemsize
    nominal = 2 * Q * populations + (Q - 1) * index + (tau if params.local_tau else 0)
    padding = lattice.n_blocks * BLOCK / max(lattice.n_cells, 1)
    return {"nominal": nominal, "padding": padding, "effective": nominal * padding,
            "population_bytes": populations, "index_bytes": index, "tau_bytes": tau if params.local_tau else 0}


def _kernel_attributes(backend_obj: Any) -> dict[str, Any]:
    function = getattr(backend_obj, "_collide", None)
    names = ("num_regs", "local_size_bytes", "shared_size_bytes", "max_threads_per_block", "ptx_version",
             "binary_version")
    return {n: int(getattr(function, n)) for n in names if function is not None and hasattr(function, n)}


def speed(backend: str, sizes: Sizes, bandwidth_gb_s: float | None, log: Log) -> dict[str, Any]:
    """MFLUPS of the plain TRT and the production kernel on the benchmark sponges (bench_lbm's domain)."""
    from rhinoapp.cfd.backends import BoundaryValues, KernelParameters, create_backend
    from rhinoapp.cfd.domain import FlowDomain
    from rhinoapp.cfd.setup import build_lattice
    from rhinoapp.cfd.shapes import sponge_mask
    from rhinoapp.core.volume import ImageGeometry

    timer = StepTimer(backend)
    grids = []
    for grid, steps in zip(sizes.sponge_grids, sizes.speed_steps, strict=True):
        started = time.perf_counter()
        mask = sponge_mask(grid, 0.15, seed=1)
        empty = np.zeros_like(mask)
        lattice = build_lattice(FlowDomain(mask, empty, empty, empty, ImageGeometry(grid), periodic=(True, True, True)))
        del mask, empty
        setup = time.perf_counter() - started
        row = {"grid_ijk": list(grid[::-1]), "fluid_cells": lattice.n_cells,
               "fluid_fraction": lattice.n_cells / math.prod(grid), "setup_s": setup, "steps": steps, "kernels": {}}
        log(f"  grid {grid[2]} x {grid[1]} x {grid[0]}: {lattice.n_cells:,} fluid cells, built in {setup:.1f} s")
        for label, params in (("TRT", KernelParameters(tau=0.51)),
                              ("production (regularized TRT + Smagorinsky)",
                               KernelParameters(tau=0.5018, magic=0.0009, smagorinsky=0.15))):
            solver = create_backend(backend, lattice, params, BoundaryValues.closed())
            solver.advance(np.ones(2))
            seconds = min(timer.time(lambda s=solver, n=steps: s.advance(np.ones(n)))
                          for _ in range(sizes.speed_repeats))
            mflups = steps * lattice.n_cells / seconds / 1e6
            moved = bytes_per_update(solver, params)
            kernel = {"mflups": mflups, "bytes_per_update": moved, "best_of": sizes.speed_repeats,
                      "attributes": _kernel_attributes(solver),
                      "finite": bool(math.isfinite(solver.max_speed()))}
            text = f"    {label}: {mflups:,.1f} MFLUPS, {moved['nominal']} B per update"
            if bandwidth_gb_s:
                bound = bandwidth_gb_s * 1e3 / moved["nominal"]
                kernel |= {"bound_mflups": bound, "fraction_of_bound": mflups / bound,
                           "kernel_bandwidth_gb_s": mflups * moved["effective"] / 1e3}
                text += f", bound {bound:,.0f} MFLUPS -> {100 * mflups / bound:.1f} % of the bound (goal 60 %)"
            log(text)
            row["kernels"][label] = kernel
            del solver
        grids.append(row)
        del lattice
    return {"bandwidth_gb_s": bandwidth_gb_s, "grids": grids}


# ---------------------------------------------------------------------------------------------- time to solution


def realistic_airway(resolution_mm: float, variant: str = "straight") -> tuple[Any, float]:
    """The phantom's ground-truth airway at ``resolution_mm`` with the nostril and outlet planes it was built with
    (what ``rhinoapp segment`` finds on its CT, without running the segmentation)."""
    from rhinoapp.cfd.domain import Opening
    from rhinoapp.cfd.inputs import OpeningPlane, domain_from_labels
    from rhinoapp.phantom import generate_phantom, variant_params

    started = time.perf_counter()
    phantom = generate_phantom(variant_params(variant, spacing_mm=resolution_mm, noise_hu=0.0))
    marks = phantom.landmarks
    planes = {Opening.INLET_LEFT: OpeningPlane(marks.nostrils_lps_mm[0], marks.nostril_normal_lps),
              Opening.INLET_RIGHT: OpeningPlane(marks.nostrils_lps_mm[1], marks.nostril_normal_lps),
              Opening.OUTLET: OpeningPlane(marks.outlet_point_lps_mm, marks.outlet_normal_lps)}
    return domain_from_labels(phantom.truth, planes=planes), time.perf_counter() - started


def cpu_reference_mlups(lattice: Any, params: Any, boundary: Any, reference: str, threads: int,
                        updates: float) -> float:
    """MLUPS of ``reference`` on ``threads`` CPU cores on the same problem, best of two runs of about ``updates``
    cell updates after a warm-up step (which compiles Numba)."""
    from rhinoapp.cfd.backends import create_backend

    solver = create_backend(reference, lattice, params, boundary, threads=threads)
    solver.advance(np.ones(1))
    steps = max(2, int(updates / max(lattice.n_cells, 1)))
    best = math.inf
    for _ in range(2):
        started = time.perf_counter()
        solver.advance(np.ones(steps))
        best = min(best, time.perf_counter() - started)
    return steps * lattice.n_cells / best / 1e6


def time_to_solution(backend: str, reference: str, sizes: Sizes, log: Log, *, variant: str = "straight",
                     memory_limit_bytes: int | None = None) -> dict[str, Any]:
    """250 ml/s inspiration through the realistic phantom airway, from the lattice to a converged result.

    The steps of :func:`rhinoapp.cfd.simulation.simulate` up to the converged run, timed one by one
    (post-processing and output files, which do not depend on the backend, are left out).
    """
    from rhinoapp.cfd.backends import KernelParameters
    from rhinoapp.cfd.config import PhysicsConfig, RunConfig
    from rhinoapp.cfd.units import choose_lattice_parameters
    from rhinoapp.cfd.estimate import check_resources, device_memory_bytes, estimate_run
    from rhinoapp.cfd.setup import build_lattice
    from rhinoapp.cfd.simulation import boundary_values, sponge_relaxation_times
    from rhinoapp.cfd.solver import Solver

    physics = PhysicsConfig(flow_ml_s=250.0)
    out: dict[str, Any] = {}
    mlups = None
    for resolution in sizes.tts_resolutions_mm:
        domain, generated = realistic_airway(resolution, variant)
        check_resources(estimate_run(domain, physics, RunConfig(backend=backend)), memory_limit_bytes=memory_limit_bytes,
                        device_memory_bytes=device_memory_bytes() if backend == "cupy" else None)
        started = time.perf_counter()
        lattice = build_lattice(domain)
        units = choose_lattice_parameters(lattice.domain, physics)
        params = KernelParameters(tau=units.tau, magic=units.trt_magic, smagorinsky=units.smagorinsky_constant,
                                  tau_cells=sponge_relaxation_times(lattice, units.tau, physics.sponge_cells,
                                                                    physics.sponge_viscosity_factor))
        boundary = boundary_values(lattice, physics, units)
        setup = time.perf_counter() - started
        max_steps = sizes.max_steps or 2 * units.steps_estimate  # the solver's own limit
        capped = False
        if sizes.tts_solve_limit_s and mlups:  # a finer lattice runs at least as fast per cell on the GPU
            limit = int(sizes.tts_solve_limit_s * mlups * 1e6 / lattice.n_cells)
            capped, max_steps = limit < max_steps, min(max_steps, limit)
        run = RunConfig(backend=backend, max_steps=max_steps, memory_limit_bytes=memory_limit_bytes)
        solver = Solver(lattice, params, boundary, run, steps_estimate=units.steps_estimate,
                        ramp_steps=units.ramp_steps, units=units)
        outcome = solver.execute()
        mlups = outcome.mlups
        steady = outcome.window_mean(run.window)
        flow = steady.flow * units.flow_scale_ml_s
        row = {"phantom_variant": variant, "fluid_cells": lattice.n_cells, "phantom_and_domain_s": generated,
               "lattice_and_parameters_s": setup, "solve_s": outcome.elapsed_s,
               "lattice_to_converged_s": setup + outcome.elapsed_s, "steps": outcome.steps,
               "steps_estimate": units.steps_estimate, "max_steps": max_steps, "max_steps_capped_by_time": capped,
               "converged": outcome.converged, "solve_mlups": outcome.mlups,
               "pressure_drop_pa": steady.pressure_drop * units.pressure_scale_pa, "flow_ml_s": flow,
               "partition_left_pct": 100 * steady.flow_left / steady.flow if steady.flow else None,
               "mass_error": steady.mass_error}
        log(f"  {resolution:g} mm: {lattice.n_cells:,} cells, {outcome.steps} steps "
            f"({'converged' if outcome.converged else 'NOT converged'}, at most {max_steps}"
            f"{' by the time cap' if capped else ''}), lattice + parameters {setup:.1f} s, solve "
            f"{outcome.elapsed_s:.1f} s ({outcome.mlups:,.1f} MLUPS); dp {row['pressure_drop_pa']:.2f} Pa, "
            f"flow {flow:.1f} ml/s, partition {row['partition_left_pct'] or 0:.1f} %")
        try:
            cpu = cpu_reference_mlups(lattice, params, boundary, reference, 2, sizes.cpu_reference_updates)
            estimate = outcome.steps * lattice.n_cells / cpu / 1e6
            row["cpu_2_cores"] = {"backend": reference, "mlups": cpu, "solve_s_estimate": estimate,
                                  "lattice_to_converged_s_estimate": setup + estimate}
            row["speedup_over_2_cores"] = (setup + estimate) / max(setup + outcome.elapsed_s, 1e-9)
            log(f"    2 CPU cores ({reference}): {cpu:.1f} MLUPS, so the same {outcome.steps} steps take about "
                f"{_duration(estimate)} there: {row['speedup_over_2_cores']:.1f}x from lattice to result")
        except Exception as error:  # the reference is a side figure: report it and keep the GPU figures
            row["cpu_2_cores"] = {"error": f"{type(error).__name__}: {error}"}
        out[f"{resolution:g} mm"] = row
        del solver, outcome, lattice, params, domain
    return out
