"""Live checkpoints of a running simulation: the current wall pressure and a downsampled velocity field.

While the solver runs, :class:`LiveCheckpoints` writes, at most every ``interval_s`` seconds, a small
picture of the current flow into a folder: ``surface-<step>.vtp`` (the airway wall with the gauge
pressure in Pa, as the run's ``surface.vtp``), ``fields-<step>.vti`` (the velocity in m/s on every
``stride``-th voxel, as the run's ``fields.vti``) and ``latest.json`` (which step they show). Every
file is written atomically (a temporary file renamed), the manifest last, so a reader never sees a
half-written checkpoint; the files of older checkpoints beyond ``keep`` are removed.

The wall surface is built once; a checkpoint only computes the cell moments (density and velocity)
and scatters them, so its cost is a few solver steps' worth (``benchmarks/live_view_overhead.py``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rhinoapp.cfd import io
from rhinoapp.cfd.postprocess import cell_moments, wall_cells
from rhinoapp.cfd.setup import SparseLattice
from rhinoapp.cfd.units import LatticeParameters
from rhinoapp.core.files import atomic_write
from rhinoapp.core.volume import ImageGeometry

__all__ = ["LIVE_MANIFEST", "LiveCheckpoint", "LiveCheckpoints", "read_live_checkpoint"]

_log = logging.getLogger(__name__)
#: Name of the manifest of the latest live checkpoint in its folder.
LIVE_MANIFEST = "latest.json"


@dataclass(frozen=True)
class LiveCheckpoint:
    """One live checkpoint: its step and the paths of its wall surface and velocity field."""

    step: int
    surface: Path
    fields: Path


def read_live_checkpoint(folder: Path) -> LiveCheckpoint | None:
    """The latest live checkpoint in ``folder`` (``None``: none yet, or the folder is gone).

    Examples
    --------
    >>> import tempfile
    >>> read_live_checkpoint(Path(tempfile.mkdtemp())) is None
    True
    """
    try:
        manifest = json.loads((Path(folder) / LIVE_MANIFEST).read_text(encoding="utf-8"))
        return LiveCheckpoint(int(manifest["step"]), Path(folder) / manifest["surface"], Path(folder) / manifest["fields"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _downsampled(geometry: ImageGeometry, stride: int) -> ImageGeometry:
    shape = tuple(-(-n // stride) for n in geometry.shape)
    return ImageGeometry(shape=shape, spacing_mm=tuple(s * stride for s in geometry.spacing_mm),  # type: ignore[arg-type]
                         origin_mm=geometry.origin_mm, direction=geometry.direction)


class LiveCheckpoints:
    """Writes live checkpoints of one run into ``folder`` at most every ``interval_s`` seconds.

    Parameters
    ----------
    folder
        Where the checkpoints go (made when missing).
    lattice, units
        The run's lattice and lattice units (for Pa and m/s).
    interval_s
        Least time between two checkpoints (seconds); the first one is due after one interval.
    stride
        Every ``stride``-th voxel of the velocity field along each axis is written.
    keep
        Checkpoints kept on disk (a reader may still be loading the one before the latest).
    clock
        Seconds (monotonic); tests pass their own.

    Attributes
    ----------
    count, seconds_spent
        Checkpoints written so far and the seconds they took (what the live view cost the run).

    Examples
    --------
    >>> import tempfile
    >>> from rhinoapp.cfd.config import PhysicsConfig
    >>> from rhinoapp.cfd.units import choose_lattice_parameters
    >>> from rhinoapp.cfd.setup import build_lattice
    >>> from rhinoapp.cfd.shapes import square_duct
    >>> lattice = build_lattice(square_duct(6, 8))
    >>> units = choose_lattice_parameters(lattice.domain, PhysicsConfig(flow_ml_s=1.0))
    >>> now = [0.0]
    >>> live = LiveCheckpoints(Path(tempfile.mkdtemp()), lattice, units, interval_s=2.0, clock=lambda: now[0])
    >>> live.due()
    False
    >>> now[0] = 2.5
    >>> state = np.zeros(lattice.population_size, dtype=np.float32)  # fluid at rest
    >>> live.due(), live.write(40, state).step, read_live_checkpoint(live.folder).fields.name
    (True, 40, 'fields-000000040.vti')
    >>> live.due()
    False
    """

    def __init__(self, folder: Path, lattice: SparseLattice, units: LatticeParameters, *, interval_s: float,
                 stride: int = 2, keep: int = 3, clock: Callable[[], float] = time.monotonic) -> None:
        self.folder = Path(folder)
        self.lattice, self.units = lattice, units
        self.interval_s, self.stride, self.keep = float(interval_s), max(1, int(stride)), max(1, int(keep))
        self._clock = clock
        self._last = clock()
        self._written: list[LiveCheckpoint] = []
        self._wall = wall_cells(lattice)
        self._surface, self._nearest = self._wall_surface()
        self._geometry = _downsampled(lattice.domain.geometry, self.stride)
        self.seconds_spent, self.count = 0.0, 0

    @property
    def latest_step(self) -> int | None:
        """The step of the latest checkpoint written (``None``: none yet)."""
        return self._written[-1].step if self._written else None

    def due(self) -> bool:
        """Whether the next checkpoint is due (``interval_s`` since the last one, or since the start)."""
        return self._clock() - self._last >= self.interval_s

    def write(self, step: int, state: np.ndarray | Callable[[], np.ndarray]) -> LiveCheckpoint:
        """Write the checkpoint of ``state`` (the solver's populations, or what fetches them) at ``step``; returns it.

        The time it takes, fetching the state included, adds to :attr:`seconds_spent` (and :attr:`count` counts).
        """
        started = time.perf_counter()
        self.folder.mkdir(parents=True, exist_ok=True)
        drho, u = cell_moments(self.lattice, state() if callable(state) else state)
        pressure = (drho / 3.0 * self.units.pressure_scale_pa)[self._wall]
        checkpoint = LiveCheckpoint(step, self.folder / f"surface-{step:09d}.vtp", self.folder / f"fields-{step:09d}.vti")
        self._write_surface(checkpoint.surface, pressure)
        self._write_fields(checkpoint.fields, u * self.units.velocity_scale_m_s)
        manifest = {"step": int(step), "surface": checkpoint.surface.name, "fields": checkpoint.fields.name}
        atomic_write(self.folder / LIVE_MANIFEST, json.dumps(manifest).encode())
        self._written.append(checkpoint)
        for old in self._written[:-self.keep]:
            old.surface.unlink(missing_ok=True)
            old.fields.unlink(missing_ok=True)
        self._written = self._written[-self.keep:]
        self._last = self._clock()
        self.count += 1
        self.seconds_spent += time.perf_counter() - started
        _log.debug("live checkpoint at step %d written to %s", step, self.folder)
        return checkpoint

    def _wall_surface(self) -> tuple[object, np.ndarray]:
        from vtkmodules.util.numpy_support import vtk_to_numpy

        from rhinoapp.cfd.surface import airway_surface

        index = np.arange(self._wall.size, dtype=np.float64)  # which wall cell colours each point (exact in float32)
        surface = airway_surface(self.lattice, self._wall, {"wall_index": index})
        data = surface.GetPointData()
        nearest = vtk_to_numpy(data.GetArray("wall_index")).astype(np.int64) if data.HasArray("wall_index") else \
            np.zeros(0, dtype=np.int64)
        data.RemoveArray("wall_index")
        return surface, nearest

    def _write_surface(self, path: Path, pressure_pa: np.ndarray) -> None:
        from vtkmodules.util.numpy_support import numpy_to_vtk

        surface = self._surface
        values = numpy_to_vtk(pressure_pa.astype(np.float32)[self._nearest] if self._nearest.size else
                              np.zeros(0, dtype=np.float32), deep=True)
        values.SetName("pressure_pa")
        surface.GetPointData().AddArray(values)  # type: ignore[attr-defined]
        io.write_polydata(path, surface, {"live_step": path.stem.split("-")[-1]})

    def _write_fields(self, path: Path, velocity_m_s: np.ndarray) -> None:
        lattice, s = self.lattice, self.stride
        grid = lattice.to_grid(velocity_m_s)[:, ::s, ::s, ::s]
        lps = np.einsum("ab,bkji->kjia", np.asarray(lattice.domain.geometry.direction_matrix), grid)
        fluid = lattice.domain.fluid[::s, ::s, ::s].astype(np.uint8)
        io.write_image(path, self._geometry, {"velocity_m_s": lps.astype(np.float32), "fluid": fluid},
                       {"velocity_m_s": "velocity in LPS components, m/s (live checkpoint, downsampled)"})
