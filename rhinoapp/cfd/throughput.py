"""The solver's speed on this machine, measured: a short run of the production kernel on a small airway-like grid.

The run-time estimate (:func:`rhinoapp.cfd.estimate.estimate_run`) is only as good as the speed
it divides by. A nominal figure is off by whatever separates this machine (and its load) from the
reference machine; :func:`measure_throughput` instead runs the backend's own kernel (regularized
TRT with the Smagorinsky model and per-cell relaxation times, as the simulations use it) for a few
check intervals on a porous grid of narrow passages, about the size of the run it stands for
(:func:`calibration_cells`: speed falls once the populations outgrow the caches), and returns the
fluid-cell updates per second. The first step, which may compile, is not timed. Keeping the
figure (per machine, backend and thread count) is a service's job: see
:mod:`rhinoapp.store.throughput`.

Examples
--------
>>> calibration_cells(3_000), calibration_cells(40_000), calibration_cells(5_000_000)
(16384, 32768, 262144)
>>> mlups = measure_throughput("numpy", cells=2_000, steps=4)
>>> mlups > 0
True
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import numpy as np

from rhinoapp.cfd.config import BackendName, FlowModel
from rhinoapp.core.errors import ValidationError

__all__ = ["CALIBRATION_CELLS", "calibration_cells", "measure_throughput"]

_log = logging.getLogger(__name__)

#: Smallest and largest calibration grids in fluid cells (powers of two); runs beyond the largest
#: are bound by the memory bandwidth as the largest is.
CALIBRATION_CELLS = (16_384, 262_144)
_FLUID_FRACTION = 0.3  # a porous grid of narrow passages, walls on most cells' sides as in an airway
_UPDATES = {BackendName.NUMPY: 3e6, BackendName.NUMBA: 1.6e7, BackendName.CUPY: 2e9}  # per measurement
_CHECKS = 4  # timed intervals, each ended by the diagnostics a convergence check takes


def calibration_cells(fluid_cells: int) -> int:
    """The calibration grid's size for a run of ``fluid_cells``: the nearest power of two within
    :data:`CALIBRATION_CELLS` (so that one measurement serves every run of about that size)."""
    low, high = CALIBRATION_CELLS
    exponent = round(math.log2(max(int(fluid_cells), 1)))
    return int(min(max(2**exponent, low), high))


def _wall_smoothing(cells: int) -> float:
    """Smoothing of the porous calibration grid (on its twice-finer voxels) that gives it about the wall links per cell
    of an airway lattice of ``cells`` fluid cells: 1.7 at 55,000 cells (1 mm on a phantom), falling with the cube root
    of the cells (0.8 at 450,000, 0.5 mm); the grid's links per cell are about 17.6 / smoothing.

    Examples
    --------
    >>> round(_wall_smoothing(55_000), 1), round(_wall_smoothing(450_000), 1)
    (10.4, 21.0)
    """
    return float(min(24.0, max(6.0, 10.4 * (cells / 55_000) ** (1.0 / 3.0))))


def measure_throughput(backend: BackendName | str, *, threads: int | None = None, cells: int = 65_536,
                       steps: int | None = None, flow_model: FlowModel | str = FlowModel.STANDARD) -> float:
    """Million fluid-cell updates per second of ``backend`` on a porous grid of about ``cells`` fluid cells.

    ``flow_model`` chooses the kernel as a run of that model uses it: ``smooth_walls`` adds the strain average of
    the shear-improved model, the bulk rate and the interpolated walls (from a porous grid twice as fine).

    ``steps`` (default: enough for about 0.1-1 s of work) are split into a few intervals, each ended by
    the diagnostics of a convergence check, as in a run; the median interval counts (on a shared
    machine it carries the load of the moment, as the run will, without one interval's hiccup).
    """
    from rhinoapp.cfd.backends import BoundaryValues, KernelParameters, create_backend, resolve_backend
    from rhinoapp.cfd.domain import FlowDomain
    from rhinoapp.cfd.setup import build_lattice
    from rhinoapp.cfd.shapes import sponge_mask
    from rhinoapp.core.volume import ImageGeometry

    name = resolve_backend(backend)
    if cells < 64:
        raise ValidationError(f"a throughput calibration needs at least 64 fluid cells, got {cells}")
    model = FlowModel(flow_model)
    side = max(8, int(round((cells / _FLUID_FRACTION) ** (1.0 / 3.0))))
    tau = 0.5018
    standard = model is FlowModel.STANDARD
    # smooth walls: a porous grid on voxels twice as fine (the walls lie between the lattice's cells), wider passages
    fine = 1 if standard else 2
    shape = (fine * side, fine * side, fine * side)
    mask = sponge_mask(shape, _FLUID_FRACTION, seed=7, smoothing=1.5 if standard else _wall_smoothing(cells))
    empty = np.zeros_like(mask)
    porous = FlowDomain(mask, empty, empty, empty, ImageGeometry(shape, spacing_mm=(1.0 / fine,) * 3),
                        periodic=(True, True, True))
    lattice = build_lattice(porous if standard else porous.resampled(1.0))
    extra: dict[str, Any] = {}
    if not standard:
        from rhinoapp.cfd.walls import interpolated_walls

        extra = {"strain_average": 1e-3, "bulk_omega": 1.0,
                 "walls": interpolated_walls(lattice, porous, conserve_mass=True)}
    params = KernelParameters(tau=tau, magic=0.0009, smagorinsky=0.15,
                              tau_cells=np.full(lattice.n_cells, tau, dtype=np.float64), **extra)
    solver = create_backend(name, lattice, params, BoundaryValues.closed(), threads=threads)
    solver.advance(np.ones(1))  # compiles (or loads the compiled kernels) outside the timing
    solver.take_diagnostics()
    per_check = max(1, int(steps // _CHECKS) if steps else int(_UPDATES[name] / _CHECKS / lattice.n_cells))
    speeds = []
    for _ in range(_CHECKS):
        started = time.perf_counter()
        solver.advance(np.ones(per_check))
        solver.take_diagnostics()
        solver.max_speed()
        speeds.append(per_check * lattice.n_cells / max(time.perf_counter() - started, 1e-9) / 1e6)
    mlups = float(np.median(speeds))
    _log.info("throughput of %s (%s model) on %d fluid cells: %.1f MLUPS", name.value, model.value, lattice.n_cells,
              mlups)
    return mlups
