"""SimulationsState with a real SQLite store and a real job runner (local profile) on the nasal phantom.

A segmentation job runs first (module fixture); the simulations then run at 2 mm, where the phantom
is about 5,000 fluid cells: 3,000 steps take a second or two and report progress many times.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from rhinoapp.cfd.estimate import SpeedSource
from rhinoapp.config import JobsSettings, Settings
from rhinoapp.config.jobs import LocalProfile, SlurmProfile
from rhinoapp.core.progress import ProgressReport
from rhinoapp.core.workflow import JobKind, JobState, Step
from rhinoapp.jobs.runner import JobRunner
from rhinoapp.render.spec import Colouring
from rhinoapp.state.job_page import loop_dispatch
from rhinoapp.state.session import Page, SessionState
from rhinoapp.state.simulations import SimulationsState, read_convergence
from rhinoapp.store.database import Store
from rhinoapp.store.repository import ProjectRepository
from tests.jobs.conftest import LoopThread, loop, open_test_store, project_with_phantom, project_with_volume  # noqa: F401
from tests.state.events import follow_job, wait_for
from tests.waiting import HANG_S, wait_until

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


def _state(runner: JobRunner, project_id: str, loop: LoopThread | None = None, **inputs: object) -> SimulationsState:
    """The page's state on ``project_id``; with ``loop``, it follows job events there as the shown page does."""
    session = SessionState(repository=ProjectRepository(runner.store, owner="local"), settings=runner.settings,
                           runner=runner)
    state = SimulationsState(session=session, **inputs)
    session.open_project(project_id, page=Page.SIMULATIONS)
    if loop is not None:
        state.bind_dispatch(loop_dispatch(loop.loop))
    return state


def _follow(state: SimulationsState, timeout_s: float = HANG_S) -> list[tuple[float, int]]:
    """Follow the job through its events until it ends; returns (progress, live samples) seen while it ran."""
    seen = follow_job(state, timeout_s=timeout_s, probe=lambda: (state.job.progress, len(state.history))
                      if state.job is not None and state.job.state.is_active else None)
    return [item for item in seen if item is not None]


@pytest.mark.slow
def test_estimate_and_run_stream_convergence_then_show_results(runner: JobRunner, loop: LoopThread,
                                                              segmented: str) -> None:
    state = _state(runner, segmented)
    loop.run(state.refresh())
    assert state.has_geometry and state.can_run and not state.runs
    assert state.message == "No simulation yet: choose the flow and resolution and press Run."
    assert state.where == "Runs on this machine (local profile)."
    # the automatic resolution is proposed (6 cells across the narrowest passage); the job would apply the rule
    proposed = state.proposed_resolution_mm
    assert state.automatic_resolution and state.resolution_mm is None and "resolution_mm" not in state.parameters()
    assert state.resolution_text.startswith(f"Automatic ({proposed:g} mm from the narrowest passage, ")
    assert f"{state.estimate.fluid_cells:,} fluid cells" in state.resolution_text
    fine = state.estimate
    assert state.estimate_text.startswith(f"At {proposed:g} mm and 250 ml/s: about ") and fine.backend in ("numba", "numpy")
    assert fine.speed is SpeedSource.MEASURED and "measured on this machine" in state.estimate_text

    state.param.update(**QUICK)  # the user overrides the automatic resolution
    loop.run(state.refresh())
    assert not state.automatic_resolution and state.proposed_resolution_mm == proposed
    assert state.estimate.fluid_cells == pytest.approx(fine.fluid_cells * (proposed / 2.0) ** 3, rel=0.02)
    assert state.estimate.steps == 3000
    assert state.estimate_text.startswith("At 2 mm and 250 ml/s:") and not state.estimate_problem

    assert loop.run(state.run())
    assert state.running and not state.can_run and state.message.startswith("Simulation submitted")
    assert not loop.run(state.run())  # one at a time
    assert state.message == "A simulation of this project is already running: wait for it or cancel it."
    state.bind_dispatch(loop_dispatch(loop.loop))  # job events update the state from here on
    seen = _follow(state)

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
    # 3,000 steps on the coarse 2 mm grid: the plausibility checks doubt figures, and the message says so
    assert state.flags and state.message_kind == "warning"
    assert state.message.startswith(f"Run {run.run_id}: pressure drop ") and state.flags[0].message[1:] in state.message
    # and every shown run says how far its pressure drop can be trusted (the validation point of its settings)
    assert state.accuracy == run.accuracy.text and "at 1 mm" in state.accuracy and "upper bounds" in state.accuracy
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
    # at the page's highest flow the standard model diverges on the 3 mm grid, and so does its second try with the
    # recursive collision (on the 2 mm grid that try converges since the time step follows the narrowest section
    # across the nose's own axis)
    state = _state(runner, segmented, loop, resolution_mm=3.0, flow_model="standard", flow_ml_s=2000.0)
    assert loop.run(state.run())
    _follow(state)
    assert state.job.state is JobState.ERROR and state.message_kind == "error"
    assert state.message.startswith("The simulation failed: the simulation diverged")
    assert "finer resolution" in state.message and "second try, with the recursive collision" in state.message

    state.param.update(resolution_mm=1.0, flow_ml_s=250.0)  # a long run, cancelled once it reports progress
    assert loop.run(state.run())
    wait_for(state, lambda: bool(state.history), timeout_s=120)  # the first convergence sample, from an event
    loop.run(state.cancel())
    assert state.job.state is JobState.CANCELLED and not state.running
    assert state.message.startswith("The simulation was cancelled. Press Run to start it again.")


@pytest.mark.slow
def test_the_3d_view_leaves_the_live_checkpoints_as_soon_as_the_job_ends(runner: JobRunner, loop: LoopThread,
                                                                         segmented: str) -> None:
    """The job's live files go with it: the page must not hold their scene until the finished run is read
    (a pane opened then asked for a file that was gone)."""
    session = SessionState(repository=ProjectRepository(runner.store, owner="local"), runner=runner,
                           settings=dataclasses.replace(runner.settings, live_view_interval_s=1e-9))  # every check
    state = SimulationsState(session=session, **QUICK)
    session.open_project(segmented, page=Page.SIMULATIONS)
    state.bind_dispatch(loop_dispatch(loop.loop))
    live_scenes: list[str] = []
    scene_when_runs_arrive: list[object] = []
    state.param.watch(lambda event: live_scenes.append(event.new.revision)
                      if event.new is not None and event.new.revision.startswith("live-") else None, "scene")
    state.param.watch(lambda _event: scene_when_runs_arrive.append(state.scene), "runs")
    assert loop.run(state.run())
    _follow(state)
    wait_for(state, lambda: state.result is not None and state.result.job_id == state.job.id, timeout_s=HANG_S)
    assert state.job.state is JobState.DONE and live_scenes, "no live checkpoint was shown while the job ran"
    assert scene_when_runs_arrive, "the finished run never reached the page"
    shown = scene_when_runs_arrive[-1]
    assert shown is None or not shown.revision.startswith("live-"), "the ended job's live scene was still shown"
    assert not state.scene.revision.startswith("live-") and Path(state.scene.surface).is_file()


@pytest.mark.slow
def test_live_convergence_reads_numbers_not_words(runner: JobRunner, loop: LoopThread, segmented: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Reword every progress message: the live plot still fills, from the reports' numbers."""
    monkeypatch.setattr(ProgressReport, "message", property(lambda report: f"Fortschritt {report.fraction:.0%}"))
    state = _state(runner, segmented, resolution_mm=1.0)  # a long run, cancelled once it has reported
    assert loop.run(state.run())
    state.bind_dispatch(loop_dispatch(loop.loop))  # job events update the state from here on
    wait_for(state, lambda: len(state.history) >= 3 or not state.running, timeout_s=HANG_S)
    live = list(state.history)
    assert len(live) >= 3, f"no live convergence from the reports (message {state.message!r})"
    assert state.job.message.startswith("Fortschritt ") and "Pa" not in state.job.message  # the words changed
    steps = [point.step for point in live]
    assert steps == sorted(set(steps)) and steps[0] > 0
    assert all(math.isfinite(p.pressure_drop_pa) and math.isfinite(p.flow_ml_s) for p in live)
    assert any(p.flow_ml_s > 0 for p in live)  # inspiration: inflow through the nostrils is positive

    # a page opened now reads the numbers the store has: no words are parsed there either
    stored = wait_until(lambda: (r := runner.records.get(state.job.id).progress_report).step is not None and r,
                        what="a progress report with numbers in the store")
    assert stored.pressure_drop_pa is not None, stored
    late = _state(runner, segmented, resolution_mm=1.0)
    loop.run(late.refresh())
    assert late.running and late.history and late.history[0].step >= stored.step
    loop.run(state.cancel())
    late.close()
    wait_for(state, lambda: state.job.state is JobState.CANCELLED, timeout_s=HANG_S)


@pytest.mark.slow
def test_refuses_what_would_not_fit_before_submitting(runner: JobRunner, loop: LoopThread, segmented: str,
                                                      tmp_path: Path) -> None:
    probe = SimulationsState(session=SessionState(repository=ProjectRepository(runner.store, owner="local"),
                                                  settings=runner.settings, runner=runner), resolution_mm=2.0)
    probe.session.open_project(segmented)
    loop.run(probe.refresh())
    coarse = probe.estimate.memory_bytes
    probe.resolution_mm = 0.5
    loop.run(probe.refresh())
    fine = probe.estimate.memory_bytes
    assert fine > 4 * coarse  # memory grows with the cube of 1/resolution
    limit = int((fine * coarse) ** 0.5)  # between the two: 0.5 mm does not fit, 2 mm does
    settings = Settings(data_dir=runner.settings.data_dir,
                        jobs=JobsSettings(profiles=(LocalProfile(memory_limit=str(limit)),)))
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


@pytest.mark.slow
def test_the_variant_is_chosen_from_the_complete_geometry_variants(runner: JobRunner, segmented: str) -> None:
    state = _state(runner, segmented)
    state.reload()
    assert state.variant == "default" and "edited" not in state.param.variant.objects
    repo = state.session.repository
    folder = repo.project_dir(segmented) / "geometry/default"
    files = {f"geometry/edited/{p.name}": p.read_bytes() for p in folder.iterdir()}
    repo.write_artifacts(segmented, Step.GEOMETRY, dict(list(files.items())[:1]))  # incomplete: not offered
    state.reload()
    assert "edited" not in state.param.variant.objects
    repo.write_artifacts(segmented, Step.GEOMETRY, files)
    state.reload()
    assert state.param.variant.objects == ["default", "edited"]
    state.variant = "edited"
    state.reload()
    assert state.has_geometry and state.request().variant == "edited" and state.parameters()["variant"] == "edited"
    state.variant = "removed-meanwhile"  # a variant no longer there falls back to the first complete one
    state.reload()
    assert state.variant == "default"


@pytest.mark.slow
def test_the_automatic_resolution_can_be_overridden_and_restored(runner: JobRunner, loop: LoopThread,
                                                                 segmented: str) -> None:
    state = _state(runner, segmented)
    loop.run(state.refresh())
    proposed = state.proposed_resolution_mm
    assert state.automatic_resolution and 0.25 <= proposed <= 2.0
    state.automatic_resolution = False  # the user takes over, starting from the automatic spacing
    assert state.resolution_mm == proposed and state.parameters()["resolution_mm"] == proposed
    state.resolution_mm = 1.5
    loop.run(state.refresh())
    assert state.estimate_text.startswith("At 1.5 mm and 250 ml/s:") and state.parameters()["resolution_mm"] == 1.5
    state.automatic_resolution = True  # back to the rule: the job applies it where it runs
    assert state.resolution_mm is None and "resolution_mm" not in state.parameters()
    loop.run(state.refresh())
    assert state.estimate_text.startswith(f"At {proposed:g} mm and 250 ml/s:")
