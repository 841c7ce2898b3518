"""The Geometry page's import dialog state: labels found, the mapping per label, the import and its refusals."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from rhinoapp.config import Settings
from rhinoapp.geometry.report import GeometryReport
from rhinoapp.state.geometry_import import IGNORE, GeometryImportState
from rhinoapp.state.session import SessionState
from rhinoapp.store.database import open_store
from rhinoapp.store.repository import ProjectRepository
from tests.segmentation.test_label_import import asymmetric_phantom
from tests.usecases.conftest import store_ct
from tests.usecases.test_geometry_import import (cavities_only_file, label_file, open_stl, slicer_file, surface_file,
                                                whole_airway_file)


def _state(tmp_path: Path) -> tuple[GeometryImportState, ProjectRepository, str]:
    settings = Settings(data_dir=tmp_path / "data")
    repo = ProjectRepository(open_store(settings), owner="local")
    project_id = repo.create("Import").id
    store_ct(repo, project_id, asymmetric_phantom().ct)
    session = SessionState(repository=repo, settings=settings)
    session.open_project(project_id)
    return GeometryImportState(session=session), repo, project_id


def test_labels_are_listed_mapped_and_imported(tmp_path: Path) -> None:
    state, repo, project_id = _state(tmp_path)
    before = [(a.name, a.sha256) for a in repo.artifacts(project_id)]
    state.upload(label_file("nifti"), "seg.nii.gz")  # no names: where the labels lie chooses, left to the user
    assert [label for label, _ in state.labels_found] == [1, 3, 4, 5]
    assert state.targets == {4: "left", 3: "right", 5: "nasopharynx", 1: "sinus"}
    assert state.can_import and state.message_kind == "info" and "chosen from where the labels lie" in state.message
    for label in (1, 3, 4, 5):
        state.set_target(label, IGNORE)
    assert asyncio.run(state.run_import()) is False  # nothing chosen
    assert state.message_kind == "error" and "names no label for left, right, nasopharynx" in state.message
    assert [(a.name, a.sha256) for a in repo.artifacts(project_id)] == before
    for label, target in ((4, "left"), (3, "right"), (5, "nasopharynx"), (1, "sinus")):
        state.set_target(label, target)
    state.variant = "slicer"
    assert asyncio.run(state.run_import()) is True, state.message
    assert state.message_kind == "success" and "variant 'slicer'" in state.message and state.imported == 1
    report = json.loads(repo.layout(project_id).geometry("slicer").report.read_bytes())
    assert report["provenance"]["mapping"] == {"4": "left", "3": "right", "5": "nasopharynx", "1": "sinus"}


def test_an_open_surface_is_refused_and_nothing_stored(tmp_path: Path) -> None:
    state, repo, project_id = _state(tmp_path)
    before = [(a.name, a.sha256) for a in repo.artifacts(project_id)]
    state.upload(open_stl(surface_file()), "airway.stl")
    assert state.is_surface and state.labels_found == [] and state.can_import
    assert asyncio.run(state.run_import()) is False
    assert state.message_kind == "error" and "nothing was stored" in state.message and "not closed" in state.message
    assert [(a.name, a.sha256) for a in repo.artifacts(project_id)] == before
    assert not repo.layout(project_id).geometry("imported").path.exists()
    state.upload(b"not a volume", "seg.nrrd")
    assert state.message_kind == "error" and not state.can_import


def test_a_single_label_is_offered_as_the_whole_airway(tmp_path: Path) -> None:
    """A binary airway mask (one label): offered as the whole airway, imported and split into the sides."""
    state, repo, project_id = _state(tmp_path)
    state.upload(whole_airway_file(), "airway.nii.gz")  # the airway and the sinuses: each chosen by the user
    assert [label for label, _ in state.labels_found] == [7, 9] and set(state.targets.values()) == {IGNORE}
    state.upload(whole_airway_file(sinuses=False), "mask.nii.gz")
    assert state.labels_found[0][0] == 1 and state.targets == {1: "airway"}
    assert state.message_kind == "info" and "taken as the whole airway" in state.message
    state.variant = "mask"
    assert asyncio.run(state.run_import()) is True, state.message
    report = GeometryReport.from_json(repo.layout(project_id).geometry("mask").report.read_bytes())
    assert report.document["provenance"]["mapping"] == {"1": "airway"}
    assert 0.5 < report.volume_ml("left") < 0.95 * report.volume_ml("right")  # the swollen left side


def test_segment_names_choose_the_targets(tmp_path: Path) -> None:
    """A 3D Slicer segmentation: its segment names are listed and choose each label's target, left to the user."""
    state, repo, project_id = _state(tmp_path)
    state.upload(slicer_file(), "Segmentation.seg.nrrd")
    # the "Airway" segment (5) lies wholly under the first layer's segments, which take its voxels: not listed
    assert state.label_names == {1: "Left nasal cavity", 2: "Right nasal cavity", 3: "Nasopharynx",
                                 4: "Maxillary sinus"}
    assert state.targets == {1: "left", 2: "right", 3: "nasopharynx", 4: "sinus"}
    assert "chosen from the segment names" in state.message
    state.set_target(4, IGNORE)  # the user leaves the sinuses out
    state.variant = "slicer"
    assert asyncio.run(state.run_import()) is True, state.message
    report = GeometryReport.from_json(repo.layout(project_id).geometry("slicer").report.read_bytes())
    assert report.document["provenance"]["mapping"] == {"1": "left", "2": "right", "3": "nasopharynx"}
    state.upload(label_file("nifti"), "seg.nii.gz")  # no names: where the labels lie chooses
    assert state.label_names == {} and state.targets == {1: "sinus", 3: "right", 4: "left", 5: "nasopharynx"}
    state.upload(cavities_only_file(), "cavities.nii.gz")  # two cavities and nothing behind: nothing chosen
    assert set(state.targets.values()) == {IGNORE} and "choose what each one is" in state.message


def test_a_project_without_a_ct_imports_a_label_map_alone_and_the_geometry_page_shows_it(tmp_path: Path) -> None:
    from rhinoapp.state.geometry import GeometryState

    settings = Settings(data_dir=tmp_path / "data")
    repo = ProjectRepository(open_store(settings), owner="local")
    project_id = repo.create("Labels only").id
    session = SessionState(repository=repo, settings=settings)
    session.open_project(project_id)
    state = GeometryImportState(session=session)
    state.upload(surface_file(), "airway.stl")
    assert asyncio.run(state.run_import()) is False and "no CT yet" in state.message and "surface" in state.message
    state.upload(label_file("nifti"), "seg.nii.gz")
    for label, target in ((4, "left"), (3, "right"), (5, "nasopharynx"), (1, "sinus")):
        state.set_target(label, target)
    assert asyncio.run(state.run_import()) is True, state.message
    assert state.message_kind == "warning" and "imported without its CT" in state.message
    report = json.loads(repo.layout(project_id).geometry("imported").report.read_bytes())
    assert report["provenance"]["on_ct"] is False
    page = GeometryState(session=session, variant="imported")
    page.reload()
    assert page.result is not None and page.scene is not None and not page.has_ct
    assert "no CT yet" not in page.message and "Airway segmented: left" in page.message
    assert any("imported without its CT" in warning for warning in page.warnings)


def test_an_upload_is_read_off_the_event_loop_and_the_last_of_two_is_shown(tmp_path: Path) -> None:
    """The page reads an upload in a worker thread: the event loop runs on while the labels are read (the page
    says so and offers no import meanwhile), and of two uploads that overlap the later one is shown."""
    state, _, _ = _state(tmp_path)
    seen: list[tuple[bool, bool, str]] = []

    async def watch_the_loop() -> None:  # runs as soon as the upload lets the loop go: while it reads, if it does
        seen.append((state.reading, state.can_import, state.message))

    async def upload() -> None:
        watcher = asyncio.create_task(watch_the_loop())
        await state.upload_async(label_file("nifti"), "seg.nii.gz")
        await watcher

    asyncio.run(upload())
    assert seen == [(True, False, "Reading seg.nii.gz: its labels and where they lie ...")]
    assert not state.reading and state.can_import and "chosen from where the labels lie" in state.message
    assert state.targets == {4: "left", 3: "right", 5: "nasopharynx", 1: "sinus"}

    async def two_uploads() -> None:
        reading = asyncio.Event()
        watcher = state.param.watch(lambda event: reading.set() if event.new else None, "reading")
        first = asyncio.create_task(state.upload_async(label_file("nifti"), "first.nii.gz"))
        await reading.wait()  # the first one is reading
        state.param.unwatch(watcher)
        await state.upload_async(b"not a volume", "second.nrrd")
        await first

    asyncio.run(two_uploads())
    assert state.filename == "second.nrrd" and state.message.startswith("second.nrrd: ")
    assert state.message_kind == "error" and state.labels_found == [] and not state.can_import and not state.reading

    asyncio.run(state.upload_async(b"", "empty.nii.gz"))
    assert state.message_kind == "error" and state.message.startswith("empty.nii.gz: ")
