"""Memory and run time of a simulation, estimated before anything large is allocated.

The UI shows the estimate before a job is submitted; :func:`check_resources` refuses a run whose
estimate exceeds the memory available. The time divides the steps by a speed: by default a nominal
figure of the reference machines (2-core cloud VM for NumPy and Numba, NVIDIA H100 for CuPy),
which can be off several-fold on another or a loaded machine; :meth:`ResourceEstimate.at_speed`
puts in the speed measured on this machine (:func:`rhinoapp.cfd.throughput.measure_throughput`,
kept by :mod:`rhinoapp.store.throughput`), as the CLI and the Simulations page do. Every run reports
its real speed (``mlups`` in ``results.json``) and its progress the time left at that speed.
"""

from __future__ import annotations

import math
import os
import enum
from dataclasses import asdict, dataclass, replace

import numpy as np

from rhinoapp.cfd.config import BackendName, PhysicsConfig, RunConfig, SubgridModel
from rhinoapp.cfd.domain import FlowDomain
from rhinoapp.cfd.lattice import Q
from rhinoapp.cfd.setup import lattice_bytes_per_cell
from rhinoapp.cfd.units import airway_volume_mm3, coarse_run_steps, lattice_parameters, least_steps, \
    narrowest_section_mm2, warm_start_steps
from rhinoapp.core.errors import SimulationError

__all__ = ["MAX_DEFAULT_CELLS", "NOMINAL_MLUPS", "ResourceEstimate", "SpeedSource", "available_memory_bytes", "cell_budget",
           "check_resources", "device_memory_bytes", "estimate_run"]

#: Nominal speeds in MLUPS (NumPy and CuPy in total; Numba per CPU thread).
NOMINAL_MLUPS = {BackendName.NUMPY: 3.0, BackendName.NUMBA: 20.0, BackendName.CUPY: 10000.0}

#: Most fluid cells of a default resolution per backend (see :func:`cell_budget`).
MAX_DEFAULT_CELLS = {BackendName.NUMPY: 300_000, BackendName.NUMBA: 3_000_000, BackendName.CUPY: 200_000_000}

_HOST_BYTES_PER_CELL = 200  # setup and post-processing temporaries beyond the solver state
_HOST_BYTES_PER_VOXEL = 40  # dense masks, index map and output fields on the simulation grid
_WINDOW_BYTES_PER_CELL = 28  # the Numba backend's window tables (backends.numba_windows): 27 and the fallback rows
_STRAIN_BYTES_PER_CELL = 24  # the shear-improved model's running mean of the strain rate: six FP32 per cell
_WALL_BYTES_PER_CELL = 64  # interpolated walls: about 1.5 links per cell of 28 bytes, and the rest slots and starts
_MEAN_BYTES_PER_CELL = 2 * Q * 4  # the time mean of the populations: two FP32 block sums, where the state is


class SpeedSource(enum.Enum):
    """Where the speed of an estimate's time comes from."""

    NOMINAL = "nominal"  # the reference machine's figure (NOMINAL_MLUPS)
    MEASURED = "measured"  # a calibration run of the kernel on this machine


@dataclass(frozen=True)
class ResourceEstimate:
    """Expected size, memory and run time of one simulation.

    Examples
    --------
    >>> e = ResourceEstimate(fluid_cells=10**6, grid_voxels=10**7, steps=1000, memory_bytes=10**9,
    ...                      device_memory_bytes=0, backend="numba", mlups=40.0, seconds=25.0)
    >>> e.as_dict()["memory_gb"], e.as_dict()["speed"]
    (1.0, 'nominal')
    >>> measured = e.at_speed(10.0)
    >>> measured.seconds, measured.speed.value
    (100.0, 'measured')

    With a coarse start (``coarse_cell_updates``: cells times steps of the run at twice the spacing), ``steps``
    are the fine run's after it and the time holds both.

    ``steps`` is what the phantoms' runs took (calibrated); ``least_steps`` the fewest a run can take (a flow steady as
    soon as the start-up ramp ends: :func:`~rhinoapp.cfd.units.least_steps`; 0: not known), and ``least_seconds``
    their time:

    >>> replace(e, least_steps=600).least_seconds
    15.0
    """

    fluid_cells: int
    grid_voxels: int
    steps: int
    memory_bytes: int
    device_memory_bytes: int
    backend: str
    mlups: float
    seconds: float
    speed: SpeedSource = SpeedSource.NOMINAL
    coarse_cell_updates: int = 0
    least_steps: int = 0

    @property
    def least_seconds(self) -> float:
        """The time of the fewest steps the run can take (``least_steps``; 0 when they are not known)."""
        if not self.least_steps or self.mlups <= 0:
            return 0.0
        return (self.fluid_cells * self.least_steps + self.coarse_cell_updates) / (self.mlups * 1e6)

    def sooner_seconds(self) -> float | None:
        """``least_seconds`` where it tells more than ``seconds`` (at least a second, under 0.9 of it), else None.

        >>> e = ResourceEstimate(fluid_cells=10**6, grid_voxels=10**7, steps=1000, memory_bytes=10**9,
        ...                      device_memory_bytes=0, backend="numba", mlups=40.0, seconds=25.0, least_steps=600)
        >>> e.sooner_seconds(), replace(e, least_steps=990).sooner_seconds()
        (15.0, None)
        """
        least = self.least_seconds
        return least if 1.0 <= least < 0.9 * self.seconds else None

    def as_dict(self) -> dict[str, float | int | str]:
        """JSON-ready form with memory in GB."""
        data: dict[str, float | int | str] = asdict(self)
        data["memory_gb"] = round(self.memory_bytes / 1e9, 3)
        data["speed"] = self.speed.value
        data["least_seconds"] = round(self.least_seconds, 1)
        return data

    def at_speed(self, mlups: float, *, source: SpeedSource = SpeedSource.MEASURED) -> ResourceEstimate:
        """The same run at ``mlups`` (million fluid-cell updates per second), e.g. this machine's measured speed."""
        if not mlups > 0:
            raise SimulationError(f"a speed must be positive MLUPS, got {mlups}: measure it again")
        updates = self.fluid_cells * self.steps + self.coarse_cell_updates
        return replace(self, mlups=float(mlups), seconds=updates / (float(mlups) * 1e6), speed=source)


def available_memory_bytes() -> int:
    """Memory the machine can still give (``MemAvailable``), or its total memory."""
    try:
        with open("/proc/meminfo", encoding="ascii") as stream:
            for line in stream:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def device_memory_bytes() -> int | None:
    """Free memory of the current CUDA device, or None without CuPy or a GPU."""
    try:
        import cupy

        return int(cupy.cuda.Device().mem_info[0])
    except Exception:  # ImportError, or CUDA errors without a driver or device
        return None


def estimate_run(domain: FlowDomain, physics: PhysicsConfig, run: RunConfig | None = None, *,
                 resolution_mm: float | None = None) -> ResourceEstimate:
    """Estimate cells, memory and run time of simulating ``domain`` at ``resolution_mm``.

    Nothing is resampled: counts scale with the voxel volume. When ``run.coarse_start`` applies to the run's
    size (:meth:`~rhinoapp.cfd.config.RunConfig.starts_coarse`), the steps are those of the fine run started from
    the coarse field (:func:`~rhinoapp.cfd.units.warm_start_steps`) and the time adds the coarse run (an
    eighth of the cells, :func:`~rhinoapp.cfd.units.coarse_run_steps`).

    Examples
    --------
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> e = estimate_run(square_duct(10, 40), PhysicsConfig(flow_ml_s=10.0), RunConfig(backend="numba"),
    ...                  resolution_mm=0.5)
    >>> e.fluid_cells, e.backend
    (32000, 'numba')
    """
    from rhinoapp.cfd.backends import resolve_backend

    run = run or RunConfig()
    spacing = np.asarray(domain.geometry.spacing_mm)
    dx_mm = float(resolution_mm) if resolution_mm else float(spacing.mean())
    if not dx_mm > 0:
        raise SimulationError(f"the resolution must be positive millimetres, got {resolution_mm}")
    scale = float(np.prod(spacing)) / dx_mm**3
    cells = int(math.ceil(domain.n_fluid * scale))
    voxels = int(math.ceil(np.prod(domain.geometry.shape) * scale))
    section, volume = narrowest_section_mm2(domain), airway_volume_mm3(domain)
    params = lattice_parameters(dx_mm, section, volume, physics)
    coarse_updates = 0
    if run.starts_coarse(cells):
        coarse = lattice_parameters(2.0 * dx_mm, section, volume, physics)
        coarse_updates = int(math.ceil(cells / 8)) * coarse_run_steps(coarse, run.window_for(warm=True))
        steps = warm_start_steps(params, run.window_for(warm=True))
        least = least_steps(params, warm=True, window=run.window_for(warm=True))
    else:
        steps = params.steps_estimate
        least = least_steps(params, warm=False, window=run.window_for(warm=False))
    steps = int(run.max_steps) if run.max_steps else steps
    least = min(least, steps)
    backend = resolve_backend(run.backend)
    model_bytes = ((_STRAIN_BYTES_PER_CELL if physics.subgrid_model is SubgridModel.SHEAR_IMPROVED else 0)
                   + (_WALL_BYTES_PER_CELL if physics.wall_boundary.interpolated else 0))
    solver_bytes = cells * (lattice_bytes_per_cell() + model_bytes
                            + (_WINDOW_BYTES_PER_CELL if backend is BackendName.NUMBA else 0))
    mean_bytes = cells * _MEAN_BYTES_PER_CELL  # beside the state, on the device for CuPy
    host = cells * _HOST_BYTES_PER_CELL + voxels * _HOST_BYTES_PER_VOXEL
    original = int(np.prod(domain.geometry.shape)) * 16 if resolution_mm else 0  # distance maps of resampling
    mlups = NOMINAL_MLUPS[backend]
    if backend is BackendName.NUMBA:
        mlups *= min(run.threads or os.cpu_count() or 1, os.cpu_count() or 1)
    on_device = backend is BackendName.CUPY
    return ResourceEstimate(
        fluid_cells=cells, grid_voxels=voxels, steps=steps,
        memory_bytes=host + original + (0 if on_device else solver_bytes + mean_bytes) + solver_bytes // 2,
        device_memory_bytes=solver_bytes + mean_bytes if on_device else 0, backend=backend.value, mlups=mlups,
        seconds=(cells * steps + coarse_updates) / (mlups * 1e6), coarse_cell_updates=coarse_updates,
        least_steps=least)


def cell_budget(run: RunConfig | None = None) -> int:
    """The most fluid cells a default resolution may ask for: what the memory holds, and at most
    :data:`MAX_DEFAULT_CELLS` of the backend (so that a default run stays within hours).

    Examples
    --------
    >>> 0 < cell_budget(RunConfig(backend="numpy")) <= MAX_DEFAULT_CELLS[BackendName.NUMPY]
    True
    """
    from rhinoapp.cfd.backends import resolve_backend

    run = run or RunConfig()
    backend = resolve_backend(run.backend)
    limit = run.memory_limit_bytes or available_memory_bytes()
    per_cell = lattice_bytes_per_cell() + _WINDOW_BYTES_PER_CELL + 2 * _HOST_BYTES_PER_CELL + 8 * _HOST_BYTES_PER_VOXEL
    return int(min(limit // per_cell, MAX_DEFAULT_CELLS[backend]))


def check_resources(estimate: ResourceEstimate, *, memory_limit_bytes: int | None = None,
                    device_memory_bytes: int | None = None) -> None:
    """Refuse a run that would need more memory than there is.

    Examples
    --------
    >>> e = ResourceEstimate(fluid_cells=10**9, grid_voxels=10**10, steps=1, memory_bytes=10**12,
    ...                      device_memory_bytes=0, backend="numba", mlups=40.0, seconds=1.0)
    >>> check_resources(e, memory_limit_bytes=16 * 10**9)
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.SimulationError: this simulation needs about 1000.0 GB of memory ...
    """
    limit = memory_limit_bytes or available_memory_bytes()
    if estimate.memory_bytes > limit:
        raise SimulationError(
            f"this simulation needs about {estimate.memory_bytes / 1e9:.1f} GB of memory ({estimate.fluid_cells:,} "
            f"fluid cells) but only {limit / 1e9:.1f} GB are available: choose a coarser resolution (a larger "
            "--resolution-mm; memory grows with the cube of 1/resolution) or a machine with more memory")
    if estimate.device_memory_bytes and device_memory_bytes and estimate.device_memory_bytes > device_memory_bytes:
        raise SimulationError(
            f"this simulation needs about {estimate.device_memory_bytes / 1e9:.1f} GB of GPU memory but the GPU has "
            f"{device_memory_bytes / 1e9:.1f} GB free: choose a coarser resolution or --backend numba")
