"""Geometry page in Chromium: run the segmentation of the phantom, watch it, see the results in 2D and 3D."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from rhinoapp.config import Settings
from rhinoapp.store.database import open_store
from rhinoapp.store.jobs import JobStore
from tests.render.conftest import png_pixels
from tests.state.test_geometry import ct_project, phantom_ct
from tests.waiting import HANG_S, wait_until
from tests.views.navigation import click_until
from tests.views.panes3d import wait_for_pane

pytestmark = [pytest.mark.browser, pytest.mark.timeout(3 * HANG_S)]  # two segmentations at 0.4 mm, then 3D
DOCS_IMAGE = Path(__file__).resolve().parents[2] / "docs" / "images" / "geometry.png"


def test_run_segmentation_and_see_profile_metrics_and_3d_view(page, server, output_dir: Path) -> None:
    url, data = server
    store = open_store(Settings(data_dir=data))
    try:
        # 0.4 mm: the segmentation and surface compute for about 5 s on 2 cores (0.3 s at 1 mm), so that the page,
        # which polls twice a second, shows the bar between 0 and 100 on fast machines too
        ct_project(store, "Geometry demo", phantom_ct(0.4, septal_deviation=1.0))
    finally:
        store.close()
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(url)
    opened = page.locator(".rh-project", has_text="Project: Geometry demo")
    row = page.locator(".tabulator-row", has_text="Geometry demo")
    click_until(row.get_by_text("Open"), opened, what="project Geometry demo to open")
    page.get_by_role("heading", name="Geometry", exact=True).wait_for()  # opening a project shows its geometry
    page.locator(".rh-geometry-message", has_text="No airway segmented yet").wait_for()
    for plane in ("axial", "coronal", "sagittal"):
        page.locator(f".rh-geometry-{plane} canvas").first.wait_for()

    page.get_by_role("button", name="Run segmentation").click()
    bar = page.locator(".rh-geometry-progress .rh-progress")
    done = page.locator('.rh-geometry-progress[data-state="done"]')
    seen: list[int] = []
    running_shot = output_dir / "geometry-running.png"
    running_shot.unlink(missing_ok=True)
    deadline = time.monotonic() + HANG_S  # only catches a hung job
    while time.monotonic() < deadline and not done.count():
        # read without waiting: the bar goes away when the job ends
        value = next(iter(bar.evaluate_all("bars => bars.map(b => b.getAttribute('aria-valuenow'))")), None)
        if value is not None and (not seen or int(value) != seen[-1]):
            seen.append(int(value))
            if 0 < seen[-1] < 100 and not running_shot.exists():
                page.screenshot(path=str(running_shot), full_page=True)
        time.sleep(0.1)
    failed = page.locator('.rh-geometry-progress[data-state="error"]')
    assert done.count(), f"the job did not finish (error shown: {failed.count() > 0}); progress seen {seen}"
    assert [v for v in seen if 0 < v < 100], f"the progress bar did not move: {seen}"
    assert seen == sorted(seen) and bar.get_attribute("aria-valuenow") == "100"

    page.locator(".rh-geometry-message", has_text="Airway segmented").wait_for(timeout=1000 * HANG_S)
    page.locator(".rh-geometry-profile canvas").first.wait_for()
    table = page.locator("table.rh-geometry-metrics")
    shown = {(metric, side): float(table.locator(f'tr[data-metric="{metric}"] td[data-side="{side}"]').inner_text()
                                   .split()[0]) for metric in ("volume_ml", "mcsa_cm2") for side in ("left", "right")}
    for side in ("left", "right"):
        assert 5.0 < shown["volume_ml", side] < 30.0 and 0.2 < shown["mcsa_cm2", side] < 1.5, shown
    assert shown["volume_ml", "left"] < shown["volume_ml", "right"] - 0.5, shown  # the septum bends into the left side
    assert "0.24-1.21" in table.locator('tr[data-metric="mcsa_cm2"]').inner_text()
    for name in ("Surface (STL)", "Surface with face labels (VTP)", "Label map (NIfTI)"):
        page.get_by_text(name, exact=True).wait_for()

    stage = wait_for_pane(page, ".rh-geometry-3d")
    stage.scroll_into_view_if_needed()

    def drawn() -> bool:  # the airway covers part of the stage once a frame is painted
        pixels = png_pixels(stage.screenshot())
        background = pixels[5, 5].astype(int)
        return bool(pixels.std() > 20 and (np.abs(pixels.astype(int) - background).max(axis=2) > 40).mean() > 0.03)

    wait_until(drawn, what="the airway drawn in the 3D view (it stays blank)", interval_s=0.5)

    with page.expect_download() as download:
        page.get_by_text("Surface (STL)", exact=True).click()
    stl = Path(download.value.path()).read_bytes()
    assert len(stl) > 84 and len(stl) == 84 + 50 * int.from_bytes(stl[80:84], "little")  # binary STL

    page.evaluate("window.scrollTo(0, 0)")
    shot = output_dir / "geometry.png"
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get("RHINOAPP_UPDATE_DOCS_IMAGES") == "1":  # refresh the README's picture
        shutil.copyfile(shot, DOCS_IMAGE)

    # An expert correction: the seeds and outlet found are filled in; edit one seed and run again.
    boxes = page.locator(".rh-geometry-controls input[type=checkbox]")  # partial volume, seeds, outlet
    boxes.nth(1).click()
    boxes.nth(2).click()
    seed = page.locator(".rh-geometry-controls .rh-geometry-seed-left input")  # built once the box is ticked
    seed.wait_for()
    left = [float(v) for v in seed.input_value().strip("()[] ").split(",")]
    assert len(left) == 3 and left[0] > 0, left  # the patient's left is +x
    seed.fill(f"({left[0]}, {left[1]}, {left[2] - 1.0})")
    seed.press("Enter")  # the value reaches the server before the click below: one websocket, in order
    page.get_by_role("button", name="Run segmentation").click()
    page.locator('.rh-geometry-progress[data-state="running"], .rh-geometry-progress[data-state="queued"]').wait_for()
    page.locator('.rh-geometry-progress[data-state="done"]').wait_for(timeout=1000 * HANG_S)
    store = open_store(Settings(data_dir=data))
    try:
        latest = JobStore(store).recent(owner="local", limit=1)[0]
    finally:
        store.close()
    assert latest.parameters["seed_left"] == [left[0], left[1], left[2] - 1.0] and "outlet_z_mm" in latest.parameters
    page.locator(".rh-geometry-message", has_text="Airway segmented").wait_for(timeout=1000 * HANG_S)
