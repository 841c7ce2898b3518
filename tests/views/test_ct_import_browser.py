"""CT page in Chromium: drop a de-identifiable DICOM series, see the summary and the slices, DICOM done."""

from __future__ import annotations

from pathlib import Path

from rhinoapp.config import Settings
from rhinoapp.dicom.testing import encode, make_ct_series
from rhinoapp.store.database import open_store
from rhinoapp.store.repository import ProjectRepository
from tests.views.navigation import click_until, go_to
from tests.waiting import HANG_S


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
