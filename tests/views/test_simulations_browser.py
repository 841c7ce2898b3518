"""Simulations page in Chromium: estimate, Run, progress and live convergence, results table, 3D flow view.

The project (phantom CT, 1 mm) is written into the server's data directory with its airway
segmented by the segmentation task function itself; the simulation runs as a real job of the
server at 1 mm with a step limit (about 40,000 fluid cells, a few seconds of stepping).
"""

from __future__ import annotations

import json
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rhinoapp.config import Settings
from rhinoapp.core.workflow import JobKind, Step
from rhinoapp.jobs.geometry_task import airway_segmentation
from rhinoapp.jobs.progress import TaskContext
from rhinoapp.jobs.requests import JobRequest
from rhinoapp.store.database import open_store
from rhinoapp.store.repository import ProjectRepository
from tests.jobs.conftest import project_with_phantom
from tests.render.conftest import png_pixels
from tests.waiting import HANG_S, wait_until
from tests.views.navigation import click_until, go_to
from tests.views.panes3d import scene_token, wait_for_pane

pytestmark = [pytest.mark.browser, pytest.mark.timeout(3 * HANG_S)]  # segmentation, simulation, 3D
NAME = "Airflow demo"


def segmented_project(data: Path) -> str:
    """A phantom project in ``data`` whose airway geometry is published, as the segmentation job does it."""
    store = open_store(Settings(data_dir=data))
    try:
        project_id = project_with_phantom(store, name=NAME)
        repo = ProjectRepository(store, owner="local")
        request = JobRequest.create(job_id="browser-test", owner="local", project_id=project_id,
                                    project_dir=str(repo.project_dir(project_id)), kind=JobKind.SEGMENTATION,
                                    parameters={"target_triangles": 20000})
        with tempfile.TemporaryDirectory() as staging:
            airway_segmentation(request, Path(staging), TaskContext("browser-test", publish=lambda _message: None,
                                                                    is_cancelled=lambda: False))
            folder = Path(staging) / "geometry" / "default"
            repo.write_artifacts(project_id, Step.GEOMETRY,
                                 {f"geometry/default/{path.name}": path.read_bytes() for path in folder.iterdir()})
    finally:
        store.close()
    return project_id


def set_number(page, css: str, value: str) -> None:
    field = page.locator(f"{css} input")
    field.fill(value)
    field.press("Enter")


def test_run_a_simulation_and_see_convergence_results_and_flow(page, server, output_dir: Path) -> None:
    url, data = server
    segmented_project(data)
    page.goto(url)
    opened = page.locator(".rh-project", has_text=f"Project: {NAME}")
    row = page.locator(".tabulator-row", has_text=NAME)
    click_until(row.get_by_text("Open"), opened, what=f"project {NAME} to open")
    go_to(page, "Simulations", page.get_by_role("heading", name="Simulations"))
    # the automatic resolution is proposed, with the estimate at this machine's measured speed
    page.locator(".rh-sim-proposal", has_text="Resolution: Automatic (").wait_for()
    page.locator(".rh-sim-estimate", has_text="measured on this machine").wait_for()
    page.get_by_text("No simulation yet: choose the flow and resolution and press Run.").wait_for()

    # the user's spacing overrides the automatic one: 1 mm (stable at this flow) with a step limit, about
    # 40,000 fluid cells and a few seconds of stepping, so that the page sees the bar and the plot move
    set_number(page, ".rh-sim-resolution", "1")
    page.locator(".rh-sim-proposal", has_text="Resolution: 1 mm, given by you").wait_for()
    set_number(page, ".rh-sim-max-steps", "1500")
    estimate = page.locator(".rh-sim-estimate", has_text="At 1 mm and 250 ml/s")
    estimate.wait_for()
    page.locator(".rh-sim-estimate", has_text="1,500 steps").wait_for()
    assert "fluid cells" in estimate.text_content()
    page.get_by_role("button", name="Run simulation").click()
    bar = page.locator(".rh-sim-progress .rh-progress")
    bar.wait_for(timeout=1000 * HANG_S)  # the server's job cluster starts with its first job
    seen: list[int] = []
    live_plot = False
    deadline = time.monotonic() + HANG_S  # only catches a hung job
    while time.monotonic() < deadline:
        # read without waiting: the bar goes away when the job ends
        found = next(iter(bar.evaluate_all("bars => bars.map(b => b.getAttribute('aria-valuenow'))")), None)
        value = None if found is None else int(found or 0)
        if value is not None and (not seen or value != seen[-1]):
            seen.append(value)
        running = page.locator(".rh-sim-message", has_text="Simulating the airflow").count() > 0
        if running and page.locator(".rh-sim-last", has_text="Step ").count():
            if not live_plot:
                page.screenshot(path=str(output_dir / "simulations-running.png"), full_page=True)
            live_plot = True
        if page.locator(".rh-sim-results").count():
            break
        if page.locator('.rh-sim-progress[data-state="error"]').count():
            break
        time.sleep(0.1)
    message = page.locator(".rh-sim-message").first.text_content() if page.locator(".rh-sim-message").count() else ""
    assert page.locator(".rh-sim-results").count(), f"no results ({message}); progress seen {seen}"
    assert any(0 < v < 100 for v in seen) and seen == sorted(seen), f"the progress bar did not move: {seen}"
    assert live_plot, "the convergence plot did not show samples while the job ran"
    assert page.locator(".rh-sim-convergence canvas").count() >= 1
    page.locator(".rh-sim-last", has_text="Step 1,500:").wait_for()

    page.locator(".rh-sim-message", has_text="not steady yet (step limit)").wait_for()
    table = page.locator(".rh-sim-results")
    for label in ("Pressure drop, nostrils to nasopharynx", "Resistance, left side", "Flow partition, left side",
                  "Wall shear stress, maximum", "Mass conservation error", "Steady state reached"):
        assert table.locator("td", has_text=label).count() == 1, label
    assert table.locator("td", has_text="24-76").count() == 1
    assert table.locator('[data-key="steps"] td', has_text="1,500").count() == 1
    page.locator(".rh-sim-accuracy", has_text="Read the pressure drop and the resistance as upper bounds").wait_for()

    stage = wait_for_pane(page, ".rh-sim-3d")
    stage.scroll_into_view_if_needed()

    def drawn() -> bool:  # the flow covers part of the stage once a frame is painted
        pixels = png_pixels(stage.screenshot())
        background = np.median(pixels.reshape(-1, 3), axis=0)
        return bool(pixels.std() > 20 and (np.abs(pixels.astype(int) - background).max(axis=2) > 40).mean() > 0.03)

    wait_until(drawn, what="the flow drawn in the 3D view (it stays blank)", interval_s=0.5)
    page.screenshot(path=str(output_dir / "simulations.png"), full_page=True)

    before = scene_token(page, ".rh-sim-3d")
    page.get_by_role("button", name="Wall shear stress").click()
    wait_until(lambda: scene_token(page, ".rh-sim-3d") != before, what="a new scene after colouring by wall shear stress")

    before = scene_token(page, ".rh-sim-3d")
    set_number(page, ".rh-sim-colour-low", "0")
    set_number(page, ".rh-sim-colour-high", "0.5")
    wait_until(lambda: scene_token(page, ".rh-sim-3d") != before, what="a new scene after setting the colour range")

    for css, label in (("results-json", "Results (JSON)"), ("zip", "All files (zip)")):
        with page.expect_download() as info:
            page.locator(f".rh-download-{css}").get_by_text(label).click()
        download = info.value
        name = download.suggested_filename
        assert name.startswith("Airflow-demo_") and name.endswith("_results.json" if css == "results-json" else "_all.zip")
        saved = output_dir / name
        download.save_as(saved)
        if css == "results-json":
            assert json.loads(saved.read_text(encoding="utf-8"))["steps"] == 1500
        else:
            with zipfile.ZipFile(saved) as archive:
                assert any(entry.endswith("_fields.vti") for entry in archive.namelist())
