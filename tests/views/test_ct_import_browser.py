"""CT page in Chromium: drop a de-identifiable DICOM series, see the summary and the slices, DICOM done."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from rhinoapp.config import Settings
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.core.workflow import Step
from rhinoapp.dicom import assemble_volume, group_series
from rhinoapp.dicom.request import CTImportRequest
from rhinoapp.dicom.testing import encode, make_ct_series
from rhinoapp.store.database import open_store
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.usecases.ct_import import store_ct
from rhinoapp.volumes import VolumeFormat, read_nifti
from rhinoapp.volumes import volume_metadata as research_metadata
from tests.views.navigation import click_until, go_to
from tests.views.upload_gate import UploadGate
from tests.waiting import HANG_S, wait_until


def test_upload_series_shows_slices_and_marks_dicom_done(page, server, tmp_path: Path, output_dir: Path) -> None:
    url, data = server
    store = open_store(Settings(data_dir=data))
    try:
        ProjectRepository(store, owner="local").create("CT upload")
    finally:
        store.close()
    files = []
    for index, dataset in enumerate(make_ct_series(slices=6, shape=(32, 32))):
        path = tmp_path / f"slice{index:03d}.dcm"
        path.write_bytes(encode(dataset))
        files.append(str(path))
    page.goto(url)
    opened = page.locator(".rh-project", has_text="Project: CT upload")
    row = page.locator(".tabulator-row", has_text="CT upload")
    click_until(row.get_by_text("Open"), opened, what="project CT upload to open")
    go_to(page, "CT", page.get_by_text("No CT stored in this project yet."))
    page.screenshot(path=str(output_dir / "ct-import-empty.png"), full_page=True)
    page.locator("input[type=file]").first.set_input_files(files)
    page.locator(".rh-ct-summary", has_text="6 voxels").or_(page.locator(".rh-ct-summary", has_text="x 6")).wait_for(
        timeout=HANG_S * 1000)
    for plane in ("axial", "coronal", "sagittal"):
        page.locator(f".rh-ct-{plane} canvas").first.wait_for()
    page.locator(".rh-ct-summary", has_text="De-identification:").wait_for()
    page.screenshot(path=str(output_dir / "ct-import.png"), full_page=True)
    row = page.locator(".tabulator-row", has_text="CT upload")
    go_to(page, "Projects", row)
    row.locator('[data-step="dicom"][data-status="done"]').wait_for()


# -- a many-file upload is collected first and imported once (issue 14) ---------------------------

@pytest.fixture
def repo(server) -> Iterator[ProjectRepository]:
    """The server's store, opened by the test as well."""
    store = open_store(Settings(data_dir=server[1]))
    try:
        yield ProjectRepository(store, owner="local")
    finally:
        store.close()


def _series_files(folder: Path, slices: int, **kwargs: object) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, dataset in enumerate(make_ct_series(slices=slices, shape=(16, 16), **kwargs)):
        path = folder / f"IM{index:04d}"
        path.write_bytes(encode(dataset))
        paths.append(str(path))
    return paths


def _ct_digest(repo: ProjectRepository, project_id: str) -> str | None:
    path = repo.project_dir(project_id) / str(ProjectLayout().ct_volume)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def _open_ct_page(page, url: str, name: str, shown: str) -> None:
    page.goto(url)
    opened = page.locator(".rh-project", has_text=f"Project: {name}")
    click_until(page.locator(".tabulator-row", has_text=name).get_by_text("Open"), opened,
                what=f"project {name} to open")
    go_to(page, "CT", page.get_by_text(shown).first)


def _feedback(page, text: str) -> None:
    page.locator(".rh-ct-feedback", has_text=text).wait_for(timeout=HANG_S * 1000)


def test_a_folder_arriving_in_batches_stores_one_ct_at_the_end(page, server, repo, tmp_path: Path) -> None:
    project_id = repo.create("CT batches").id
    gate = UploadGate(page)
    _open_ct_page(page, server[0], "CT batches", "No CT stored in this project yet.")
    page.locator("input[type=file]").first.set_input_files(_series_files(tmp_path / "CT", 13))
    for received in (5, 10):
        gate.allow(5)
        _feedback(page, f"Received {received} of 13 files.")
        assert _ct_digest(repo, project_id) is None and repo.artifacts(project_id, Step.DICOM) == []
    gate.allow(3)
    _feedback(page, "CT stored: 16x16x13 voxels")
    page.locator(".rh-ct-summary", has_text="16 x 16 x 13 voxels").wait_for()
    assert len(repo.artifacts(project_id, Step.DICOM)) == 2  # the volume and its metadata
    assert read_nifti(repo.project_dir(project_id) / str(ProjectLayout().ct_volume)).hu.shape == (13, 16, 16)


def test_closing_the_page_halfway_leaves_the_previous_ct_byte_identical(page, browser, server, repo,
                                                                          tmp_path: Path) -> None:
    url = server[0]
    project_id = repo.create("CT interrupted").id
    previous = assemble_volume(group_series(make_ct_series(slices=5, shape=(16, 16), phi=False))[0]).volume
    store_ct(repo, project_id, previous, research_metadata(previous, VolumeFormat.NIFTI), CTImportRequest())
    digest = _ct_digest(repo, project_id)
    gate = UploadGate(page)
    _open_ct_page(page, url, "CT interrupted", "16 x 16 x 5 voxels")
    page.locator("input[type=file]").first.set_input_files(_series_files(tmp_path / "CT", 12, series=2))
    gate.allow(6)
    _feedback(page, "Received 6 of 12 files.")
    # Playwright hands websocket frames to the gate only during its own calls: evaluate while waiting.
    wait_until(lambda: page.evaluate("true") and gate.held > 0, what="the rest of the upload to wait at the gate")
    page.close()
    assert _ct_digest(repo, project_id) == digest
    context = browser.new_context(viewport={"width": 1360, "height": 820})
    try:
        again = context.new_page()
        again.set_default_timeout(120_000)
        _open_ct_page(again, url, "CT interrupted", "16 x 16 x 5 voxels")
        assert _ct_digest(repo, project_id) == digest
    finally:
        context.close()


def test_a_mixed_series_folder_opens_the_picker(page, server, repo, tmp_path: Path) -> None:
    project_id = repo.create("CT mixed").id
    _open_ct_page(page, server[0], "CT mixed", "No CT stored in this project yet.")
    files = (_series_files(tmp_path / "soft", 3, series=1, description="Sinus soft")
             + _series_files(tmp_path / "bone", 4, series=2, description="Sinus bone"))
    page.locator("input[type=file]").first.set_input_files(files)
    _feedback(page, "The upload holds 2 CT series: choose one and press Import.")
    picker = page.locator(".rh-ct-picker")
    picker.get_by_text("Sinus bone").first.wait_for()
    assert repo.artifacts(project_id, Step.DICOM) == []
    picker.get_by_role("button", name="Import the chosen series").click()
    page.locator(".rh-ct-summary", has_text="x 3 voxels").or_(
        page.locator(".rh-ct-summary", has_text="x 4 voxels")).wait_for(timeout=HANG_S * 1000)
    assert len(repo.artifacts(project_id, Step.DICOM)) == 2


def test_a_new_ct_replaces_the_stored_one_only_once_confirmed(page, server, repo, tmp_path: Path,
                                                             output_dir: Path) -> None:
    project_id = repo.create("CT replaced").id
    previous = assemble_volume(group_series(make_ct_series(slices=5, shape=(16, 16), phi=False))[0]).volume
    store_ct(repo, project_id, previous, research_metadata(previous, VolumeFormat.NIFTI), CTImportRequest())
    repo.write_artifacts(project_id, Step.GEOMETRY, {"geometry/default/labels.nii.gz": b"made from the first CT"})
    digest = _ct_digest(repo, project_id)
    _open_ct_page(page, server[0], "CT replaced", "16 x 16 x 5 voxels")
    page.locator("input[type=file]").first.set_input_files(_series_files(tmp_path / "first", 4, series=2))
    _feedback(page, "was read but not stored: This project already has a CT. Replacing it makes the segmentation")
    keep = page.get_by_role("button", name="Keep the current CT")
    keep.wait_for()
    assert page.locator("text=tap to undo >> visible=true").count() == 0  # the dropper offers no undo that would not undo
    page.screenshot(path=str(output_dir / "ct-replace-question.png"), full_page=True)
    keep.click()
    _feedback(page, "The new CT was not stored: the project keeps its CT.")
    assert _ct_digest(repo, project_id) == digest
    page.locator("input[type=file]").first.set_input_files(_series_files(tmp_path / "second", 4, series=3))
    page.get_by_role("button", name="Replace the CT").click()
    page.locator(".rh-ct-summary", has_text="16 x 16 x 4 voxels").wait_for(timeout=HANG_S * 1000)
    assert _ct_digest(repo, project_id) != digest
