"""SimulationsState with a real SQLite store and a real job runner (local profile) on the nasal phantom.

A segmentation job runs first (module fixture); the simulations then run at 2 mm, where the phantom
is about 5,000 fluid cells: 3,000 steps take a second or two and report progress many times.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from rhinoapp.config import JobsSettings, Settings
from rhinoapp.config.jobs import LocalProfile, SlurmProfile
from rhinoapp.core.workflow import JobKind, JobState, Step
from rhinoapp.jobs.runner import JobRunner
from rhinoapp.render.spec import Colouring
from rhinoapp.state.session import SessionState
from rhinoapp.state.simulations import SimulationsState, read_convergence
from rhinoapp.store.database import Store
from rhinoapp.store.repository import ProjectRepository
from tests.jobs.conftest import LoopThread, loop, open_test_store, project_with_phantom, project_with_volume  # noqa: F401
from tests.waiting import HANG_S

QUICK = {"resolution_mm": 2.0, "max_steps": 3000}  # stable at 2 mm for about 3,700 steps at 250 ml/s


@pytest.fixture(scope="module")
def runner(loop: LoopThread, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JobRunner]:
    settings, store = open_test_store(tmp_path_factory.mktemp("simulations"),
                                      jobs=JobsSettings(profiles=(LocalProfile(n_workers=1),)))
    started = JobRunner(settings, store, monitor_interval_s=0.5, persist_interval_s=0.2)
    loop.run(started.start())
    yield started
    loop.run(started.close())
    store.close()


@pytest.fixture(scope="module")
def segmented(runner: JobRunner, loop: LoopThread) -> str:
    """A phantom project whose airway the segmentation job has published."""
    project_id = project_with_phantom(runner.store, name="Phantom for flow")
    record = loop.run(runner.submit(owner="local", project_id=project_id, kind=JobKind.SEGMENTATION,
                                    parameters={"target_triangles": 20000}))
    final = loop.run(runner.wait(record.id, timeout_s=HANG_S), timeout=HANG_S + 20)
    assert final.state is JobState.DONE, final.message
    return project_id


def _state(runner: JobRunner, project_id: str, **inputs: object) -> SimulationsState:
    session = SessionState(repository=ProjectRepository(runner.store, owner="local"), settings=runner.settings,
                           runner=runner)
    state = SimulationsState(session=session, **inputs)
    session.open_project(project_id)
    return state


async def _refresh_until(state: SimulationsState, runner: JobRunner, done) -> list[tuple[float, int]]:
    """Refresh at every change the runner announces until ``done(state)``; (progress, live samples) while active.

    The runner's change notification (one per progress message, state change and end) drives the
    refreshes, so the test sees every message instead of sampling on a timer; the caller's
    ``LoopThread.run`` timeout only catches a hang.
    """
    changed = asyncio.Event()
    unsubscribe = runner.subscribe(lambda _job_id: changed.set())
    seen: list[tuple[float, int]] = []
    try:
        while True:
            await state.refresh()
            job = state.job
            if job is not None and job.state.is_active:
                seen.append((job.progress, len(state.history)))
            if done(state):
                return seen
            await changed.wait()
            changed.clear()
    finally:
        unsubscribe()


def _follow(state: SimulationsState, runner: JobRunner, loop: LoopThread) -> list[tuple[float, int]]:
    """Follow the state's job to its end; returns (progress, live samples) seen while it ran."""
    return loop.run(_refresh_until(state, runner, lambda s: s.job is not None and not s.job.state.is_active))


@pytest.mark.slow
def test_estimate_and_run_stream_convergence_then_show_results(runner: JobRunner, loop: LoopThread,
                                                              segmented: str) -> None:
    state = _state(runner, segmented)
    loop.run(state.refresh())
    assert state.has_geometry and state.can_run and not state.runs
    assert state.message == "No simulation yet: choose the flow and resolution and press Run."
    assert state.where == "Runs on this machine (local profile)."
    fine = state.estimate
    assert state.estimate_text.startswith("At 1 mm and 250 ml/s: about ") and fine.backend in ("numba", "numpy")

    state.param.update(**QUICK)
    loop.run(state.refresh())
    assert state.estimate.fluid_cells < fine.fluid_cells / 5 and state.estimate.steps == 3000
    assert state.estimate_text.startswith("At 2 mm and 250 ml/s:") and not state.estimate_problem

    assert loop.run(state.run())
    assert state.running and not state.can_run and state.message.startswith("Simulation submitted")
    assert not loop.run(state.run())  # one at a time
    assert state.message == "A simulation of this project is already running: wait for it or cancel it."
    seen = _follow(state, runner, loop)

    assert state.job.state is JobState.DONE and not state.running and state.can_run
    progress = [p for p, _ in seen]
    assert progress == sorted(progress) and any(0 < p < 1 for p in progress), progress
    assert max(samples for _, samples in seen) >= 2, f"no live convergence: {seen}"
    (run,) = state.runs
    assert state.selected == run.run_id and state.result is run and run.job_id == state.job.id
    assert run.parameters["resolution_mm"] == 2.0 and run.resolution_mm == 2.0 and run.direction == "inspiration"
    assert state.history == list(read_convergence(run.folder / "convergence.csv")) and state.history[-1].step == 3000
    rows = {row.key: row for row in state.rows}
    assert rows["pressure_drop_pa"].value == run.results["pressure_drop_pa"] and rows["pressure_drop_pa"].unit == "Pa"
    assert rows["flow_partition_left_pct"].reference.text == "24-76"
    assert rows["steps"].text == "3,000" and rows["backend"].text == run.results["backend"]
    assert {"resistance_total", "resistance_left", "resistance_right", "max_velocity_m_s", "wss_mean_pa",
            "wss_max_pa", "mass_conservation_error_pct", "converged", "mlups"} <= set(rows)
    assert state.scene.streamlines and state.scene.colouring is Colouring.PRESSURE
    assert Path(state.scene.surface) == run.folder / "surface.vtp" and Path(state.scene.flow).is_file()
    assert state.message_kind == "success" and state.message.startswith(f"Run {run.run_id}: pressure drop ")
    state.param.update(colouring="wss", streamlines=False)
    assert state.scene.colouring is Colouring.WALL_SHEAR_STRESS and not state.scene.streamlines

    # a changed airway makes the run outdated
    repo = ProjectRepository(runner.store, owner="local")
    path = repo.project_dir(segmented) / "geometry/default/geometry.json"
    repo.write_artifact(segmented, Step.GEOMETRY, "geometry/default/geometry.json", path.read_bytes() + b"\n")
    loop.run(state.refresh())
    assert state.result.outdated and state.message_kind == "warning"
    assert "geometry changed after this run" in state.message


@pytest.mark.slow
def test_failed_and_cancelled_jobs_say_what_happened(runner: JobRunner, loop: LoopThread, segmented: str) -> None:
    state = _state(runner, segmented, resolution_mm=2.0)  # without a step limit the 2 mm grid diverges
    assert loop.run(state.run())
    _follow(state, runner, loop)
    assert state.job.state is JobState.ERROR and state.message_kind == "error"
    assert state.message.startswith("The simulation failed: the simulation diverged")
    assert "finer resolution" in state.message

    state.resolution_mm = 1.0  # a long run, cancelled once it reports progress
    assert loop.run(state.run())
    loop.run(_refresh_until(state, runner, lambda s: s.history or not s.running))
    assert state.history, "no progress before the cancel"
    loop.run(state.cancel())
    assert state.job.state is JobState.CANCELLED and not state.running
    assert state.message.startswith("The simulation was cancelled. Press Run to start it again.")


@pytest.mark.slow
def test_refuses_what_would_not_fit_before_submitting(runner: JobRunner, loop: LoopThread, segmented: str,
                                                      tmp_path: Path) -> None:
    settings = Settings(data_dir=runner.settings.data_dir,
                        jobs=JobsSettings(profiles=(LocalProfile(memory_limit="20MB"),)))
    small = JobRunner(settings, runner.store)  # never started: nothing may be submitted
    session = SessionState(repository=ProjectRepository(runner.store, owner="local"), settings=settings, runner=small)
    state = SimulationsState(session=session, resolution_mm=0.5)
    session.open_project(segmented)
    loop.run(state.refresh())
    assert state.estimate_problem.startswith("This run would not fit: this simulation needs about ")
    assert "choose a coarser resolution" in state.estimate_problem and not state.can_run
    before = len(small.records.recent(owner="local"))
    assert not loop.run(state.run())
    assert state.message_kind == "error" and state.message == state.estimate_problem
    assert len(small.records.recent(owner="local")) == before
    state.resolution_mm = 2.0
    loop.run(state.refresh())
    assert not state.estimate_problem and state.can_run


@pytest.mark.slow
def test_gpu_profile_is_named_and_estimated_on_the_gpu(runner: JobRunner, loop: LoopThread, segmented: str) -> None:
    gpu = SlurmProfile(name="slurm-gpu", partition="gpu", gres="gpu:1", memory="16GB")
    settings = Settings(data_dir=runner.settings.data_dir,
                        jobs=JobsSettings(profiles=(LocalProfile(), gpu), kinds=((JobKind.SIMULATION, "slurm-gpu"),)))
    session = SessionState(repository=ProjectRepository(runner.store, owner="local"), settings=settings,
                           runner=JobRunner(settings, runner.store))
    state = SimulationsState(session=session)
    session.open_project(segmented)
    state.reload()
    assert state.where == "Runs on the cluster: Slurm profile slurm-gpu (partition gpu, gpu:1)."
    assert state.estimate.backend == "cupy" and state.estimate.device_memory_bytes > 0
    assert "of GPU memory" in state.estimate_text and "cupy" in state.estimate_text


@pytest.mark.slow
def test_without_geometry_or_project_the_page_says_where_to_go(tmp_path: Path, store: Store) -> None:
    repo = ProjectRepository(store, owner="local")
    session = SessionState(repository=repo)
    state = SimulationsState(session=session)
    state.reload()
    assert state.message == "No project is open: open one on the Projects page to simulate its airflow."
    session.open_project(project_with_volume(store, name="CT only"))
    state.reload()
    assert state.message_kind == "warning" and not state.can_run and state.estimate is None
    assert state.message == ("This project has no airway geometry yet: segment the airway on the Geometry page "
                             "first, then simulate it here.")
    assert "rhinoapp serve" in state.where
