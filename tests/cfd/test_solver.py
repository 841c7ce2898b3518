"""The run loop: restart, divergence, steady state, progress and cancellation."""

from __future__ import annotations

import re

from pathlib import Path

import numpy as np
import pytest

from rhinoapp.cfd import io
from rhinoapp.cfd.backends import BoundaryKind, BoundaryValues, KernelParameters
from rhinoapp.cfd.config import RunConfig
from rhinoapp.cfd.setup import build_lattice
from rhinoapp.cfd.shapes import square_duct
from rhinoapp.cfd.solver import Solver, steady_in_mean
from rhinoapp.core.errors import SimulationError
from rhinoapp.core.progress import ProgressReport


def _duct_problem(velocity: float = 0.02, tau: float = 0.8):
    lattice = build_lattice(square_duct(8, 24))
    kinds = np.array([BoundaryKind.PRESSURE, BoundaryKind.NONE, BoundaryKind.VELOCITY], dtype=np.int8)
    values = np.zeros((3, 4))
    values[2, 1:] = velocity * 64 / lattice.opening_area[2] * lattice.opening_normal[2]
    return lattice, KernelParameters(tau=tau, smagorinsky=0.1), BoundaryValues(kinds, values)


def test_checkpoint_restart_reproduces_the_uninterrupted_run(tmp_path: Path) -> None:
    lattice, params, boundary = _duct_problem()
    common = dict(steps_estimate=600, ramp_steps=200)
    straight = Solver(lattice, params, boundary, RunConfig(backend="numba", max_steps=600, check_every=50),
                      **common).execute()
    first = Solver(lattice, params, boundary, RunConfig(backend="numba", max_steps=300, check_every=50,
                                                        checkpoint_every=100), checkpoint_dir=tmp_path, **common)
    first.execute()
    assert [p.name for p in sorted(tmp_path.iterdir())] == ["checkpoint-0000000200.npz", "checkpoint-0000000300.npz"]
    resumed = Solver(lattice, params, boundary, RunConfig(backend="numba", max_steps=600, check_every=50,
                                                          resume=True), checkpoint_dir=tmp_path, **common).execute()
    assert resumed.steps == straight.steps == 600
    difference = np.max(np.abs(resumed.state - straight.state)) / np.max(np.abs(straight.state))
    assert difference <= 1e-6
    assert [s.step for s in resumed.history] == [s.step for s in straight.history]
    assert resumed.history[-1].flow == pytest.approx(straight.history[-1].flow, rel=1e-6)


def test_a_checkpoint_of_another_run_is_refused(tmp_path: Path) -> None:
    lattice, params, boundary = _duct_problem()
    io.save_checkpoint(tmp_path, step=100, state=np.zeros(lattice.population_size, np.float32), history=[],
                       fingerprint="someone else")
    solver = Solver(lattice, params, boundary, RunConfig(backend="numpy", max_steps=200, resume=True),
                    steps_estimate=200, checkpoint_dir=tmp_path)
    with pytest.raises(SimulationError, match="another geometry or other settings"):
        solver.execute()


def test_divergence_names_cause_and_remedy() -> None:
    lattice = build_lattice(square_duct(6, 12))
    kinds = np.array([BoundaryKind.PRESSURE, BoundaryKind.NONE, BoundaryKind.VELOCITY], dtype=np.int8)
    values = np.zeros((3, 4))
    values[2, 1:] = 0.45 * lattice.opening_normal[2]  # far beyond the stable lattice velocity
    solver = Solver(lattice, KernelParameters(tau=0.5005, magic=3 / 16), BoundaryValues(kinds, values),
                    RunConfig(backend="numba", max_steps=3000, check_every=20), steps_estimate=3000)
    with pytest.raises(SimulationError, match="diverged at step.*finer resolution.*lower flow.*Smagorinsky") as caught:
        solver.execute()
    place = re.search(r"at LPS \((-?[\d.]+), (-?[\d.]+), (-?[\d.]+)\) mm", str(caught.value))
    assert place, str(caught.value)  # a point inside the duct, where to look
    ijk = lattice.domain.geometry.physical_to_index(np.array([[float(v) for v in place.groups()]]))[0]
    assert lattice.domain.fluid[tuple(np.round(ijk[::-1]).astype(int))]


def test_steady_state_is_detected_and_progress_reported() -> None:
    lattice, params, boundary = _duct_problem(tau=0.9)
    reports: list[ProgressReport] = []
    outcome = Solver(lattice, params, boundary, RunConfig(backend="numba", max_steps=20000, check_every=50,
                                                          tolerance=1e-4, window=5),
                     steps_estimate=4000, ramp_steps=200, progress=reports.append).execute()
    assert outcome.converged and outcome.steps < 20000
    fractions = [r.fraction for r in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert [r.step for r in reports] == [s.step for s in outcome.history] and {r.total for r in reports} == {4000}
    assert all(r.mlups and r.mlups > 0 for r in reports) and reports[-1].steady and reports[-1].eta_s is None
    assert any(r.eta_s is not None and r.eta_s >= 0 for r in reports) and not any(r.steady for r in reports[:-1])
    assert reports[0].pressure_drop_pa is None  # no lattice units given: no physical pressure or flow
    assert outcome.mlups > 0 and outcome.history[-1].mass_error < 1e-3


def test_progress_callback_can_cancel_the_run() -> None:
    lattice, params, boundary = _duct_problem()

    class Cancelled(RuntimeError):
        pass

    def cancel(report: ProgressReport) -> None:
        raise Cancelled(report.message)

    with pytest.raises(Cancelled):
        Solver(lattice, params, boundary, RunConfig(backend="numpy", max_steps=100, check_every=10),
               steps_estimate=100, progress=cancel).execute()


def test_a_fluctuating_flow_is_steady_once_its_mean_stops_drifting_beyond_its_scatter() -> None:
    # 40 checks of a correlated fluctuation of about 1 % (as a weakly unsteady airway flow at the
    # convergence checks), against a tolerance of 0.5 %: the plain window test flickers on it
    rng = np.random.default_rng(6)
    noise = np.zeros(40)
    for i in range(1, 40):
        noise[i] = 0.8 * noise[i - 1] + 0.006 * rng.standard_normal()
    plain = abs(noise[20:].mean() - noise[:20].mean()) > 5e-3 * (1.0 + noise[20:].mean())
    assert plain  # this draw would not have been steady before
    assert steady_in_mean(1.0 + noise, 20, 5e-3)
    assert not steady_in_mean(1.0 + noise + np.linspace(0.0, 0.06, 40), 20, 5e-3)  # 3 % drift per window
    assert not steady_in_mean(np.linspace(1.0, 1.02, 40), 20, 5e-3)  # a smooth drift is no fluctuation


def test_a_converged_run_leaves_the_time_mean_of_its_last_windows() -> None:
    """The fields of a steady run are the mean of the populations over its last one to two windows of checks, which
    for a steady flow is its last state; a run stopped at the step limit has no mean."""
    lattice, params, boundary = _duct_problem()
    run = RunConfig(backend="numba", check_every=25, window=4, tolerance=1e-3)
    outcome = Solver(lattice, params, boundary, run, steps_estimate=4000, ramp_steps=200).execute()
    assert outcome.converged and outcome.mean_state is not None
    assert run.window < outcome.averaged_checks <= 2 * run.window
    assert outcome.field_state is outcome.mean_state
    # the flow is steady: its mean is its last state, to the tolerance of the steady test
    scale = np.max(np.abs(outcome.state))
    assert np.max(np.abs(outcome.mean_state - outcome.state)) < 0.01 * scale
    cut = Solver(lattice, params, boundary, RunConfig(backend="numba", max_steps=300, check_every=25),
                 steps_estimate=4000, ramp_steps=200).execute()
    assert not cut.converged and cut.mean_state is None and cut.averaged_checks == 0
    assert cut.field_state is cut.state


def test_the_window_mean_keeps_two_blocks_and_reuses_their_memory() -> None:
    from rhinoapp.cfd.solver import WindowMean

    mean = WindowMean(window=3)
    with pytest.raises(SimulationError, match="before its first check"):
        mean.value()
    states = [np.full(4, float(k), dtype=np.float32) for k in range(1, 11)]
    blocks_seen = set()
    for k, state in enumerate(states, start=1):
        mean.add(state)
        blocks_seen.update(id(block) for block in mean._blocks)
        # the last complete block of three and the block under way
        first = max(0, (k - 1) // 3 * 3 - 3)
        expected = np.mean([s[0] for s in states[first:k]])
        assert mean.value()[0] == pytest.approx(expected)
        assert mean.count == k - first
    assert len(blocks_seen) == 2          # two buffers, reused as the blocks rotate
    assert states[0][0] == 1.0            # the added states are not changed


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_the_mean_reads_the_backends_live_populations_without_keeping_them(backend: str) -> None:
    """``live_state`` is the backend's own array (no copy per check); the mean copies what it keeps."""
    from rhinoapp.cfd.backends import create_backend
    from rhinoapp.cfd.solver import WindowMean

    lattice, params, boundary = _duct_problem()
    solver_backend = create_backend(backend, lattice, params, boundary)
    solver_backend.advance(np.ones(5))
    live = solver_backend.live_state()
    assert np.array_equal(solver_backend.to_host(live), solver_backend.get_state())
    mean = WindowMean(window=2)
    mean.add(live)
    before = solver_backend.get_state()
    solver_backend.advance(np.ones(5))
    assert np.array_equal(mean.value(), before)   # the next steps did not reach into the kept sum
