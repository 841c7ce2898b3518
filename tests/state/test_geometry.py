"""GeometryState without a display: the segmentation job with a real runner, results, messages."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rhinoapp.config import JobsSettings
from rhinoapp.config.jobs import LocalProfile
from rhinoapp.core.errors import ValidationError
from rhinoapp.core.volume import AirwayLabel, CTVolume, ImageGeometry
from rhinoapp.core.workflow import JobKind, JobState, Step
from rhinoapp.jobs.geometry_task import airway_segmentation
from rhinoapp.jobs.progress import TaskContext
from rhinoapp.jobs.requests import JobRequest
from rhinoapp.jobs.runner import JobRunner
from rhinoapp.render.spec import Colouring
from rhinoapp.state.geometry import GeometryState
from rhinoapp.state.job_page import loop_dispatch
from rhinoapp.state.session import SessionState
from rhinoapp.store.database import Store
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.volumes import VolumeFormat, nifti_bytes, volume_metadata
from tests.jobs.conftest import LoopThread, open_test_store
from tests.state.events import follow_job

FAST = 20_000  # surface triangles: enough for the metrics, quick to build
LONG = 270  # seconds: only catches a hung job (a segmentation takes seconds); below pytest's 300 s


@functools.cache
def phantom_ct(spacing_mm: float = 1.0, septal_deviation: float = 0.0) -> CTVolume:
    """The synthetic nasal phantom's CT (straight septum unless ``septal_deviation`` > 0)."""
    from rhinoapp.phantom.generate import generate_phantom

    return generate_phantom(spacing_mm=spacing_mm, septal_deviation=septal_deviation).ct


def slab_ct() -> CTVolume:
    """A CT of tissue, bone and air that holds no nose."""
    hu = np.full((40, 48, 32), 40, dtype=np.int16)
    hu[:, :, :8] = -1000
    hu[:4] = 700
    return CTVolume(hu, ImageGeometry(hu.shape, spacing_mm=(1.0, 1.0, 1.0)))


def ct_project(store: Store, name: str, volume: CTVolume | None = None, project_id: str | None = None) -> str:
    """A project (new, or ``project_id``) whose CT is ``volume`` (the phantom by default), as the CT page stores it."""
    repo = ProjectRepository(store, owner="local")
    project_id = project_id or repo.create(name).id
    volume = phantom_ct() if volume is None else volume
    metadata = {**volume_metadata(volume, VolumeFormat.NIFTI, description=name), "modality": "CT"}
    repo.write_artifacts(project_id, Step.DICOM, {"volume/ct.nii.gz": nifti_bytes(volume),
                                                  "volume/ct.json": json.dumps(metadata).encode()})
    return project_id


@pytest.fixture(scope="module")
def loop() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.stop()


@pytest.fixture(scope="module")
def runner(loop: LoopThread, tmp_path_factory: pytest.TempPathFactory):
    settings, store = open_test_store(tmp_path_factory.mktemp("geometry-state"),
                                      jobs=JobsSettings(profiles=(LocalProfile(n_workers=1),)))
    started = JobRunner(settings, store, monitor_interval_s=0.5, persist_interval_s=0.2)
    loop.run(started.start())
    yield started
    loop.run(started.close())
    store.close()


def _follow(state: GeometryState, loop: LoopThread, timeout_s: float = LONG) -> list[tuple[int, str]]:
    """Follow the job through its events, as the page does, until it ends; the progress seen."""
    seen = follow_job(state, timeout_s=timeout_s, probe=lambda: (round(100 * state.job.progress), state.job.state.value)
                      if state.job is not None else None)
    return [p for i, p in enumerate(seen) if p is not None and (i == 0 or seen[i - 1] != p)]


def _live_state(runner: JobRunner, loop: LoopThread, *, follow: bool = True) -> GeometryState:
    """A state that follows job events on ``loop`` (with ``follow``), as the Geometry page's does."""
    state = GeometryState(session=SessionState(repository=ProjectRepository(runner.store, owner="local"),
                                               runner=runner, settings=runner.settings))
    if follow:
        state.bind_dispatch(loop_dispatch(loop.loop))
    return state


@pytest.mark.slow
def test_run_follows_the_job_and_loads_labels_metrics_profiles_and_files(runner: JobRunner, loop: LoopThread) -> None:
    repo = ProjectRepository(runner.store, owner="local")
    project_id = ct_project(runner.store, "Geometry state")
    other = ct_project(runner.store, "Other", slab_ct())
    state = _live_state(runner, loop, follow=False)
    state.session.open_project(project_id)
    loop.run(state.refresh())
    assert state.has_ct and state.can_run and state.result is None
    assert state.message_kind == "info" and "press Run" in state.message

    state.param.update(threshold_hu=-500.0, sinuses="keep", target_triangles=FAST)
    assert loop.run(state.run())
    assert state.running and not state.can_run
    assert not loop.run(state.run())  # one segmentation at a time
    assert "already running" in state.message
    state.bind_dispatch(loop_dispatch(loop.loop))  # job events update the state from here on
    seen = _follow(state, loop)

    assert state.job.state is JobState.DONE, state.job.message
    percents = [p for p, s in seen if s == "running"]
    assert percents == sorted(percents) and any(0 < p < 100 for p in percents), seen
    result = state.result
    assert result is not None and state.can_run and not state.running
    assert state.message_kind == "success" and "left" in state.message and "mCSA" in state.message
    report = json.loads((repo.project_dir(project_id) / "geometry/default/geometry.json").read_text())
    assert report["options"]["segmentation"]["threshold_hu"] == -500.0
    assert report["options"]["segmentation"]["sinus_mode"] == "keep"
    assert result.labels.geometry.shape == state.ct.volume.geometry.shape

    rows = {row.key: row for row in result.rows()}
    assert rows["volume_ml"].left == report["left"]["volume_ml"] and rows["volume_ml"].right > 1
    assert 0.2 < rows["mcsa_cm2"].left < 1.5 and rows["mcsa_cm2"].reference.text == "0.24-1.21"
    distance, area = result.profile("right")
    assert len(distance) == len(area) > 20 and area.min() >= 0 and np.all(np.diff(distance) > 0)
    assert area[np.argmin(np.abs(distance - report["right"]["mcsa_distance_mm"]))] == pytest.approx(
        report["right"]["mcsa_cm2"], abs=1e-4)

    for path in (result.files.stl, result.files.vtp, result.files.labels):
        assert path.is_file() and path.stat().st_size > 1000
    assert state.scene.surface == str(result.files.vtp) and state.scene.colouring is Colouring.FACES
    assert state.scene.revision == result.revision != ""
    # the seeds and outlet the run found become the starting point for a manual correction
    assert state.seed_left == tuple(report["seeds_lps_mm"][0]) and state.seed_left[0] > 0 > state.seed_right[0]
    assert state.outlet_z_mm == report["outlet"]["point_lps_mm"][2]

    viewer = state.viewer
    labels = viewer.labels_image("coronal")
    assert labels is not None and labels.values.shape == viewer.image("coronal").values.shape
    assert set(viewer.markers) == {"left seed", "right seed"} and viewer.levels == {"outlet": state.outlet_z_mm}
    found = set()
    for index in range(viewer.param.coronal.bounds[1] + 1):
        viewer.coronal = index
        found |= set(np.unique(viewer.labels_image("coronal").values).tolist())
    assert {int(AirwayLabel.LEFT_CAVITY), int(AirwayLabel.RIGHT_CAVITY), int(AirwayLabel.NASOPHARYNX)} <= found

    state.session.open_project(other)  # switching clears at once, then reads the other project
    assert state.result is None and state.scene is None and state.job is None
    loop.run(state.refresh())
    assert state.result is None and "press Run" in state.message
    state.session.open_project(project_id)
    loop.run(state.refresh())
    assert state.result is not None and state.result.revision == result.revision


@pytest.mark.slow
def test_a_failed_job_says_why_and_cancel_stops_a_run(runner: JobRunner, loop: LoopThread) -> None:
    state = _live_state(runner, loop)
    state.session.open_project(ct_project(runner.store, "Not a nose", slab_ct()))
    loop.run(state.refresh())
    assert loop.run(state.run())
    _follow(state, loop)
    assert state.job.state is JobState.ERROR and state.result is None
    assert state.message_kind == "error" and state.message.startswith("The segmentation failed: ")
    assert len(state.message) > len("The segmentation failed: ") + 10 and state.can_run

    state.session.open_project(ct_project(runner.store, "Cancelled"))
    loop.run(state.refresh())
    assert loop.run(state.run())
    loop.run(state.cancel())
    seen = _follow(state, loop)
    assert state.job.state is JobState.CANCELLED, seen
    assert "cancelled" in state.message and state.can_run


def test_without_project_ct_or_runner_the_page_says_what_to_do(tmp_path: Path) -> None:
    settings, store = open_test_store(tmp_path)
    repo = ProjectRepository(store, owner="local")
    state = GeometryState(session=SessionState(repository=repo, settings=settings))
    asyncio.run(state.refresh())
    assert state.message_kind == "warning" and "Projects page" in state.message and not state.can_run
    state.session.open_project(repo.create("Empty").id)
    asyncio.run(state.refresh())
    assert state.message == ("This project has no CT yet: import one on the CT page, then segment it here (or import "
                             "a segmentation made elsewhere).")
    assert state.viewer.image("axial") is None and state.viewer.labels_image("axial") is None
    assert asyncio.run(state.run()) is False and state.job is None
    ct_project(store, "Empty", slab_ct(), project_id=state.session.current_project_id)
    state.ct.reload()
    asyncio.run(state.refresh())
    assert state.has_ct and not state.can_run  # no runner here
    assert "rhinoapp serve" in state.message
    store.close()


@pytest.mark.slow
def test_results_published_elsewhere_are_read_and_a_new_ct_marks_them_outdated(tmp_path: Path) -> None:
    settings, store = open_test_store(tmp_path)
    repo = ProjectRepository(store, owner="local")
    project_id = ct_project(store, "Published")
    out = tmp_path / "staged"
    request = JobRequest.create(job_id="direct", owner="local", project_id=project_id,
                                project_dir=str(repo.project_dir(project_id)), kind=JobKind.SEGMENTATION,
                                parameters={"target_triangles": FAST})
    airway_segmentation(request, out, TaskContext("direct", publish=lambda _m: None, is_cancelled=lambda: False))
    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in (out / "geometry/default").iterdir()}
    repo.write_artifacts(project_id, Step.GEOMETRY, files)

    state = GeometryState(session=SessionState(repository=repo, settings=settings))
    state.session.open_project(project_id)
    state.reload()
    assert state.result is not None and not state.outdated and state.message_kind == "success"
    assert state.result.side("left")["volume_ml"] > 1 and state.scene is not None

    ct_project(store, "Published", slab_ct(), project_id=project_id)  # a new CT
    state.ct.reload()
    asyncio.run(state.refresh())
    assert state.outdated and state.message_kind == "warning" and "CT changed" in state.message
    assert state.viewer.labels_image("axial") is None  # the old labels do not fit the new CT's grid: no overlay
    store.close()


def test_the_segmentations_warnings_are_shown_with_the_result(tmp_path: Path) -> None:
    from rhinoapp.phantom import generate_phantom, variant_params

    settings, store = open_test_store(tmp_path)
    repo = ProjectRepository(store, owner="local")
    project_id = ct_project(store, "Cut", generate_phantom(variant_params("ethmoid-cut", spacing_mm=1.0)).ct)
    out = tmp_path / "staged"
    request = JobRequest.create(job_id="direct", owner="local", project_id=project_id,
                                project_dir=str(repo.project_dir(project_id)), kind=JobKind.SEGMENTATION,
                                parameters={"target_triangles": FAST})
    airway_segmentation(request, out, TaskContext("direct", publish=lambda _m: None, is_cancelled=lambda: False))
    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in (out / "geometry/default").iterdir()}
    repo.write_artifacts(project_id, Step.GEOMETRY, files)
    state = GeometryState(session=SessionState(repository=repo, settings=settings))
    state.session.open_project(project_id)
    state.reload()
    assert state.result is not None and state.message_kind == "warning" and "1 warning(s)" in state.message
    [warning] = state.warnings
    assert "superior edge" in warning and "left out of the airway" in warning and "mm (LPS)" in warning
    assert json.loads(files["geometry/default/geometry.json"])["warnings"] == [warning]
    pn = pytest.importorskip("panel")
    from rhinoapp.views.geometry import GeometryPage

    shown = [item for item in GeometryPage(state=state)._results().objects if isinstance(item, pn.pane.Alert)]
    assert [(a.alert_type, "superior edge" in a.object) for a in shown] == [("warning", True)]
    store.close()


def test_manual_seeds_and_outlet_become_job_parameters(tmp_path: Path) -> None:
    settings, store = open_test_store(tmp_path)
    state = GeometryState(session=SessionState(repository=ProjectRepository(store, owner="local"), settings=settings))
    assert set(state.parameters()) == {"variant", "threshold_hu", "partial_volume", "sinuses", "outlet_depth_mm",
                                       "target_triangles"}
    state.param.update(manual_seeds=True, seed_left=(6.5, -8.5, -3.5), seed_right=(-6.5, -8.5, -3.5),
                       manual_outlet=True, outlet_z_mm=-12.0)
    parameters = state.parameters()
    assert parameters["seed_left"] == [6.5, -8.5, -3.5] and parameters["seed_right"] == [-6.5, -8.5, -3.5]
    assert parameters["outlet_z_mm"] == -12.0
    state.seed_right = state.seed_left
    with pytest.raises(ValidationError, match="same point"):
        state.parameters()
    store.close()


def test_seeds_and_the_outlet_are_placed_by_clicking_on_the_slices(tmp_path: Path) -> None:
    settings, store = open_test_store(tmp_path)
    repo = ProjectRepository(store, owner="local")
    geometry = ImageGeometry((10, 12, 14), (0.6, 0.6, 1.5), (-20.0, 30.0, -40.0))
    hu = np.full(geometry.shape, -1000, np.int16)
    state = GeometryState(session=SessionState(repository=repo, settings=settings))
    state.session.open_project(ct_project(store, "Clicks", CTVolume(hu, geometry)))
    viewer = state.viewer
    assert viewer.volume is not None and viewer.markers == {} and viewer.levels == {}
    viewer.axial = 3  # the slice at k = 3
    state.placing = "left nostril seed"
    assert viewer.tool == "left nostril seed"
    cursor = viewer.cursor
    lps, ijk = viewer.click("axial", -20.0 + 0.6 * 9 + 0.2, 30.0 + 0.6 * 4 - 0.2)  # inside voxel (9, 4, 3)
    assert ijk == (9, 4, 3) and state.seed_left == lps == pytest.approx(geometry.index_to_physical(ijk))
    assert state.manual_seeds and viewer.cursor == cursor  # placing does not move the crosshair
    assert state.placing == "crosshair" and viewer.tool == ""  # one click places one thing
    assert viewer.markers["left seed"] == lps
    state.placing = "outlet plane"
    viewer.sagittal = 2
    lps, _ = viewer.click("sagittal", 33.0, -40.0 + 1.5 * 7)
    assert state.manual_outlet and state.outlet_z_mm == pytest.approx(-29.5) == lps[2]
    assert state.parameters()["outlet_z_mm"] == pytest.approx(-29.5) and viewer.levels == {"outlet": state.outlet_z_mm}
    state.placing = "right nostril seed"
    state.viewer.click("axial", -20.0 + 0.6 * 2, 30.0 + 0.6 * 4)
    assert state.parameters()["seed_right"] == list(geometry.index_to_physical((2, 4, 3)))
    state.seed_left = (1.0, 2.0, 3.0)  # still typeable
    assert viewer.markers["left seed"] == (1.0, 2.0, 3.0)
    store.close()
