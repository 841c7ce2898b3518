"""The run loop: steps in chunks, convergence and divergence checks, progress, checkpoints.

Every ``check_every`` steps the loop reads the boundary sums the backend accumulated over the
chunk (so flows and pressures are averages over the chunk, which filters acoustic noise), checks
the largest velocity (NaN or beyond the bound means divergence), records a
:class:`ConvergenceSample`, reports progress, and writes a checkpoint when one is due. The run is
steady when, after the start-up ramp, the means of the pressure drop and the flows (total, left,
right; for closed periodic flows the largest speed) over the last ``window`` samples differ from
their means over the ``window`` samples before by less than ``tolerance`` (relative) plus one
standard error of that difference, at most ``tolerance`` again (:func:`steady_in_mean`); averaging over windows lets unsteady
physiological flows, whose instantaneous values keep fluctuating, reach a steady mean, and the
standard error keeps a flow whose fluctuations exceed the tolerance from waiting for a lucky
moment (its stopping step would be a matter of chance: round-off alone moved it by a quarter). Start-up ramps the boundary targets smoothly (half a cosine) over ``ramp_steps``; the
ramp is a function of the step number only, so a restart continues the same run exactly.

A run that converges also leaves the *time mean* of its populations over its last one to two windows of checks
(:class:`WindowMean`, ``RunOutcome.mean_state``): the window over which the steady test found the means steady.
Pressure and momentum are linear in the populations, so the fields, the planes' pressure drops and the wall
stresses computed from the mean are the time means of a flow that keeps fluctuating, and do not depend on the
moment the run stopped (a snapshot of the jets at 0.2-0.4 mm lies 1-2 % off its mean). The last step's
populations stay in ``RunOutcome.state``: its peak speed is the instantaneous one that stability is judged by.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rhinoapp.cfd import io
from rhinoapp.cfd.backends import Backend, BoundaryValues, KernelParameters, create_backend
from rhinoapp.cfd.config import BackendName, RunConfig
from rhinoapp.cfd.setup import SparseLattice
from rhinoapp.cfd.units import LatticeParameters
from rhinoapp.core.errors import DivergenceError, SimulationError
from rhinoapp.core.progress import ProgressCallback, ProgressReport

if TYPE_CHECKING:
    from rhinoapp.cfd.live import LiveCheckpoints

__all__ = ["ConvergenceSample", "Progress", "RunOutcome", "Solver", "WindowMean", "ramp", "steady_in_mean"]

_log = logging.getLogger(__name__)

#: ``progress(report)`` with a :class:`~rhinoapp.core.progress.ProgressReport`; it may raise (for example
#: to cancel a job) and the run stops.
Progress = ProgressCallback


def ramp(steps: np.ndarray, ramp_steps: int) -> np.ndarray:
    """Boundary strength at 1-based step numbers: half a cosine from 0 to 1 over ``ramp_steps``.

    Examples
    --------
    >>> ramp(np.array([1, 50, 100, 200]), 100).round(3).tolist()
    [0.0, 0.5, 1.0, 1.0]
    """
    steps = np.asarray(steps, dtype=np.float64)
    if ramp_steps <= 0:
        return np.ones_like(steps)
    x = np.clip(steps / ramp_steps, 0.0, 1.0)
    return 0.5 * (1.0 - np.cos(np.pi * x))


def steady_in_mean(values: np.ndarray, window: int, tolerance: float) -> bool:
    """Whether the mean of the last ``window`` of ``values`` (``2 * window`` samples, oldest first) differs from
    the mean of the ``window`` before by at most ``tolerance`` (relative) plus one standard error of that difference,
    the latter at most ``tolerance`` again (a slowly decaying transient, such as a warm start's, is correlated
    from check to check and would otherwise pass for a large scatter).

    The standard error comes from the samples' fluctuation about their linear trend (so a drift does not
    count as noise), measured robustly (the median absolute deviation; residuals clipped at three times
    it, so that one transient, such as the first checks after a warm start, does not pass for scatter),
    and their integrated autocorrelation time (samples a check apart are far from independent):
    ``sigma * sqrt(2 * tau_int / window)``. A steady laminar flow has no fluctuation and the
    test is the plain relative one; a statistically steady flow (vortices shedding, a weak oscillation)
    passes once its mean no longer drifts beyond its own scatter, instead of flickering around a
    tolerance below that scatter.

    Examples
    --------
    >>> steady_in_mean(np.r_[np.full(5, 1.0), np.full(5, 1.001)], 5, 5e-3)
    True
    >>> steady_in_mean(np.linspace(1.0, 1.1, 10), 5, 5e-3)
    False
    >>> wave = 1.0 + 0.01 * np.sin(np.arange(40) * 0.8)  # fluctuating by 1 %, no drift
    >>> steady_in_mean(wave, 20, 5e-3), steady_in_mean(wave + np.linspace(0.0, 0.2, 40), 20, 5e-3)
    (True, False)
    >>> start = np.r_[2.0, 1.0 + np.linspace(0.0, 0.012, 39)]  # a warm start's first check, then a slow drift
    >>> steady_in_mean(start, 20, 5e-3)
    False
    """
    values = np.asarray(values, dtype=np.float64)[-2 * window:]
    before, last = values[:window].mean(), values[window:].mean()
    t = np.arange(values.size, dtype=np.float64)
    keep = np.ones(values.size, dtype=bool)
    for _ in range(2):  # the trend, then the trend without the outliers of the first (a transient)
        residual = values - np.polyval(np.polyfit(t[keep], values[keep], 1), t)
        sigma = 1.4826 * float(np.median(np.abs(residual[keep] - np.median(residual[keep]))))  # the std if normal
        keep = np.abs(residual) <= 3.0 * sigma if sigma > 0 else keep
    residual = np.clip(residual, -3.0 * sigma, 3.0 * sigma)
    energy = float(np.dot(residual, residual))
    error = 0.0
    if energy > 0:
        tau = 1.0
        for lag in range(1, window):
            rho = float(np.dot(residual[:-lag], residual[lag:])) / energy
            if rho <= 0:
                break
            tau += 2.0 * rho
        error = sigma * math.sqrt(2.0 * tau / window)
    allowed = tolerance * max(abs(last), 1e-15)
    return bool(abs(last - before) <= allowed + min(error, allowed))


class WindowMean:
    """The mean of the populations over the last one to two windows of checks, in the memory of two.

    Checks are summed in blocks of ``window``; the mean is over the last complete block and the block under
    way (``window + 1`` to ``2 * window`` checks), all of them inside the ``2 * window`` checks that the steady
    test judged. The states may be NumPy or CuPy arrays (the sums stay where the states are).

    Examples
    --------
    >>> mean = WindowMean(window=2)
    >>> for value in (1.0, 2.0, 3.0, 4.0, 5.0):
    ...     mean.add(np.full(3, value, dtype=np.float32))
    >>> mean.count, mean.value().tolist()   # the block (3, 4) and the one under way (5)
    (3, [4.0, 4.0, 4.0])
    """

    def __init__(self, window: int) -> None:
        self.window = max(1, int(window))
        self._blocks: list[np.ndarray] = []
        self._counts: list[int] = []

    @property
    def count(self) -> int:
        """The checks in the mean."""
        return sum(self._counts)

    def add(self, state: Any) -> None:
        """Add the populations of one check."""
        if not self._blocks or self._counts[-1] == self.window:
            if len(self._blocks) == 2:  # the older block leaves; its memory takes the new one
                reused, _ = self._blocks.pop(0), self._counts.pop(0)
                reused[...] = state
                self._blocks.append(reused)
            else:
                self._blocks.append(state.copy())
            self._counts.append(1)
            return
        self._blocks[-1] += state
        self._counts[-1] += 1

    def value(self) -> Any:
        """The mean populations (raises :class:`SimulationError` before the first check)."""
        if not self._blocks:
            raise SimulationError("no populations were averaged: the run stopped before its first check")
        total = self._blocks[-1] if len(self._blocks) == 1 else self._blocks[0] + self._blocks[1]
        return (total / self.count).astype(total.dtype, copy=False)


@dataclass(frozen=True)
class ConvergenceSample:
    """Averages over one check interval, in lattice units (inflow through the nostrils positive)."""

    step: int
    pressure_drop: float
    flow_left: float
    flow_right: float
    flow_outlet: float
    max_speed: float
    mass_error: float

    @property
    def flow(self) -> float:
        """Total flow through both nostrils."""
        return self.flow_left + self.flow_right


@dataclass(frozen=True, eq=False)
class RunOutcome:
    """What a finished run leaves: its last populations, a converged run's time mean of them over its last
    windows (``mean_state``, over ``averaged_checks`` checks; None for a run that did not converge), history and
    figures of the run."""

    state: np.ndarray
    history: tuple[ConvergenceSample, ...]
    steps: int
    converged: bool
    mlups: float
    elapsed_s: float
    backend: str
    mean_state: np.ndarray | None = None
    averaged_checks: int = 0

    @property
    def field_state(self) -> np.ndarray:
        """The populations the fields are made of: the time mean where there is one, else the last step's."""
        return self.state if self.mean_state is None else self.mean_state

    def window_mean(self, window: int) -> ConvergenceSample:
        """The mean of the last ``window`` samples (the reported steady values)."""
        last = self.history[-max(1, window):]
        fields = {name: float(np.mean([getattr(s, name) for s in last]))
                  for name in ("pressure_drop", "flow_left", "flow_right", "flow_outlet", "mass_error")}
        return ConvergenceSample(step=self.steps, max_speed=max(s.max_speed for s in last), **fields)


class Solver:
    """Runs one lattice problem on one backend.

    Parameters
    ----------
    lattice, params, boundary
        The problem in lattice units.
    run
        Backend, step limits, convergence, checkpoints.
    steps_estimate, ramp_steps
        Expected length (for progress) and start-up ramp.
    check_every
        Steps between checks unless ``run`` sets them (default: about 1 % of the expected length).
    units
        Lattice units, for the pressure drop and flow of the progress reports in Pa and ml/s (without
        them the reports carry the step, time left and speed only).
    checkpoint_dir
        Where checkpoints go (needed when ``run.checkpoint_every`` or ``run.resume``).
    progress
        Optional ``progress(report)`` callback, called with a
        :class:`~rhinoapp.core.progress.ProgressReport` after every check.
    initial_state
        Populations to start from instead of rest (a warm start, see :mod:`rhinoapp.cfd.warmstart`); a resumed
        checkpoint takes precedence.
    live
        Writes live checkpoints (wall pressure, downsampled velocity) when they are due, checked after every
        convergence check; the reports then carry the latest one's step (``live_step``).
    """

    def __init__(self, lattice: SparseLattice, params: KernelParameters, boundary: BoundaryValues,
                 run: RunConfig, *, steps_estimate: int, ramp_steps: int = 0, check_every: int | None = None,
                 units: LatticeParameters | None = None, checkpoint_dir: Path | None = None,
                 progress: Progress | None = None, initial_state: np.ndarray | None = None,
                 live: LiveCheckpoints | None = None) -> None:
        self.live = live
        self.lattice, self.params, self.boundary, self.run = lattice, params, boundary, run
        self.initial_state = initial_state
        # progress is measured against the steps it will really take: at most the step limit
        limit = int(run.max_steps) if run.max_steps else None
        self.steps_estimate = max(1, int(steps_estimate) if limit is None else min(int(steps_estimate), limit))
        self.ramp_steps = int(ramp_steps)
        self.max_steps = int(run.max_steps or 3 * self.steps_estimate)
        self.check_every = int(run.check_every or check_every or min(500, max(10, self.steps_estimate // 100)))
        self.units = units
        self.checkpoint_dir = checkpoint_dir
        self.progress = progress
        if (run.checkpoint_every or run.resume) and checkpoint_dir is None:
            raise SimulationError("checkpoints need a folder: give an output directory")

    def fingerprint(self) -> str:
        """A digest of everything that determines the run (a checkpoint must match it)."""
        digest = hashlib.sha256()
        digest.update(self.lattice.gather.tobytes())
        digest.update(self.lattice.voxels.tobytes())
        digest.update(repr((self.params.digest(), self.boundary.kinds.tolist(), self.boundary.values.tolist(),
                            self.ramp_steps)).encode())
        return digest.hexdigest()[:32]

    def execute(self) -> RunOutcome:
        """Run to steady state or ``max_steps``; raises :class:`SimulationError` on divergence."""
        backend = create_backend(self.run.backend, self.lattice, self.params, self.boundary, threads=self.run.threads)
        step = 0
        history: list[ConvergenceSample] = []
        if self.initial_state is not None:
            backend.set_state(self.initial_state)
        if self.run.resume:
            step, history = self._resume(backend)
        started, start_step = time.perf_counter(), step
        first: tuple[float, int] | None = None  # after the first check: its first interval may hold the compile
        converged = self._steady(history)
        mean = WindowMean(self.run.window)
        while step < self.max_steps and not converged:
            n = min(self.check_every - step % self.check_every, self.max_steps - step)
            backend.advance(ramp(np.arange(step + 1, step + n + 1), self.ramp_steps))
            step += n
            history.append(self._sample(backend, step))
            if step > self.ramp_steps:
                mean.add(backend.live_state())
            converged = self._steady(history)
            now = time.perf_counter()
            mlups = (step - start_step) * self.lattice.n_cells / max(now - started, 1e-9) / 1e6
            if first is not None and step > first[1]:  # the speed since the first check sets the time left
                mlups = (step - first[1]) * self.lattice.n_cells / max(now - first[0], 1e-9) / 1e6
            first = first or (now, step)
            if self.run.checkpoint_every and step % self.run.checkpoint_every < self.check_every:
                assert self.checkpoint_dir is not None, "__init__ requires a folder for checkpoints"
                io.save_checkpoint(self.checkpoint_dir, step=step, state=backend.get_state(),
                                   history=[asdict(s) for s in history], fingerprint=self.fingerprint())
            if self.live is not None and not converged and self.live.due():
                self.live.write(step, backend.get_state)
            self._report(step, history[-1], mlups, converged)
        elapsed = time.perf_counter() - started
        mlups = (step - start_step) * self.lattice.n_cells / max(elapsed, 1e-9) / 1e6
        _log.info("run finished after %d steps (%s), %.1f MLUPS", step, "steady" if converged else "not steady", mlups)
        averaged = mean.count if converged else 0
        return RunOutcome(backend.get_state(), tuple(history), step, converged, mlups, elapsed,
                          BackendName(backend.name).value,
                          mean_state=backend.to_host(mean.value()) if averaged else None,
                          averaged_checks=averaged)

    def _sample(self, backend: Backend, step: int) -> ConvergenceSample:
        flux, pressure, count = backend.take_diagnostics()
        speed = backend.max_speed()
        if not math.isfinite(speed) or speed > self.run.divergence_velocity:
            place = self._fastest_place(backend)
            raise DivergenceError(self._divergence_message(step, speed, place), step=step, place=place)
        flux = flux / max(count, 1)
        weight = backend.pressure_weight
        p = np.divide(pressure / max(count, 1), weight, out=np.zeros(3), where=weight > 0) / 3.0
        inlets = [o for o in (0, 1) if weight[o] > 0]
        p_in = float(np.average(p[inlets], weights=weight[inlets])) if inlets else 0.0
        inflow = -(flux[0] + flux[1])
        dp = p_in - p[2] if inflow >= 0 else p[2] - p_in
        mass_error = abs(float(flux.sum())) / abs(inflow) if abs(inflow) > 0 else 0.0
        return ConvergenceSample(step, float(dp), float(-flux[0]), float(-flux[1]), float(flux[2]), speed, mass_error)

    def _steady(self, history: list[ConvergenceSample]) -> bool:
        """Steady when the means of the last two windows differ by less than ``tolerance`` (relative) plus their
        standard error (:func:`steady_in_mean`)."""
        window = self.run.window
        recent = [s for s in history if s.step > self.ramp_steps][-2 * window:]
        if len(recent) < 2 * window:
            return False
        if self.lattice.n_links:
            names = ["pressure_drop", "flow"]
            total = abs(np.mean([s.flow for s in recent]))
            names += [side for side in ("flow_left", "flow_right")
                      if abs(np.mean([getattr(s, side) for s in recent])) > 1e-3 * total]
        else:
            names = ["max_speed"]
        return all(steady_in_mean(np.array([getattr(s, name) for s in recent]), window, self.run.tolerance)
                   for name in names)

    def _fastest_place(self, backend: Backend) -> tuple[float, float, float] | None:
        """Where the run diverges: the LPS point (mm) of its fastest cell, or of a cell that is no longer finite."""
        from rhinoapp.cfd.postprocess import cell_moments

        try:
            _, u = cell_moments(self.lattice, backend.get_state())
        except (ValueError, FloatingPointError, MemoryError):  # no place is better than no message
            return None
        speed = np.sqrt(np.sum(u * u, axis=0))
        broken = np.flatnonzero(~np.isfinite(speed))
        cell = int(broken[0]) if broken.size else int(np.argmax(speed))
        ijk = self.lattice.cell_coordinates()[cell].astype(float)
        x, y, z = self.lattice.domain.geometry.index_to_physical(ijk[None, :])[0]
        return round(float(x), 2), round(float(y), 2), round(float(z), 2)

    def _divergence_message(self, step: int, speed: float, place: tuple[float, float, float] | None) -> str:
        what = "values became NaN" if not math.isfinite(speed) else f"the lattice speed reached {speed:.3f}"
        where = f" at LPS ({', '.join(f'{v:.1f}' for v in place)}) mm" if place else ""
        return (f"the simulation diverged at step {step} ({what}{where}; the stable range ends near 0.3). The grid "
                "is too coarse for this flow, or the flow too high: use a finer resolution (smaller --resolution-mm; "
                "the default follows the narrowest passage), a lower flow, or a larger Smagorinsky constant "
                "(subgrid model), and check the geometry there for single-voxel passages.")

    def _report(self, step: int, sample: ConvergenceSample, mlups: float, converged: bool) -> None:
        if self.progress is None and not _log.isEnabledFor(logging.DEBUG):
            return
        fraction = 1.0 if converged else min(step / self.steps_estimate, 0.99)
        remaining = max(self.steps_estimate - step, 0) * self.lattice.n_cells / max(mlups, 1e-9) / 1e6
        eta = None if converged or step >= self.steps_estimate else remaining
        dp = flow = None
        if self.units is not None:
            dp = sample.pressure_drop * self.units.pressure_scale_pa
            flow = sample.flow * self.units.flow_scale_ml_s
        report = ProgressReport(fraction, step=step, total=self.steps_estimate, eta_s=eta, steady=converged,
                                pressure_drop_pa=dp, flow_ml_s=flow, mlups=mlups,
                                live_step=None if self.live is None else self.live.latest_step)
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug("%s (lattice: dp %.3e, flow %.3e)", report.message, sample.pressure_drop, sample.flow)
        if self.progress is not None:
            self.progress(report)

    def _resume(self, backend: Backend) -> tuple[int, list[ConvergenceSample]]:
        found = io.load_latest_checkpoint(self.checkpoint_dir)
        if found is None:
            _log.info("no checkpoint in %s; starting from rest", self.checkpoint_dir)
            return 0, []
        if found.fingerprint != self.fingerprint():
            raise SimulationError(f"the checkpoint in {self.checkpoint_dir} belongs to another geometry or other "
                                  "settings: remove that folder or run without resuming")
        backend.set_state(found.state)
        _log.info("resuming from step %d", found.step)
        return found.step, [ConvergenceSample(**row) for row in found.history]

