"""First start in Chromium: the demo project exists and its Geometry page shows the airway in 3D."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rhinoapp.config import Settings
from rhinoapp.core.workflow import JobKind, JobState
from rhinoapp.jobs.demo import DEMO_NAME
from rhinoapp.store.database import open_store
from rhinoapp.store.jobs import JobRecord, JobStore
from rhinoapp.store.repository import ProjectRepository
from tests.render.conftest import png_pixels
from tests.test_app import free_port, wait_for_http
from tests.views.navigation import go_to
from tests.views.panes3d import wait_for_pane
from tests.waiting import wait_until

#: Bound on the demo's segmentation job (about a minute; several on a loaded two-core machine): a hang.
JOB_S = 900
#: Playwright's bound on each step once the demo's job is done: only catches a hung page.
STEP_MS = 180_000


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    data = tmp_path / "data"
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "rhinoapp", "serve", "--data-dir", str(data),
                                "--port", str(port)], env={**os.environ, "RHINOAPP_DEMO": "true", "RHINOAPP_DEMO_SIMULATION": "false"},
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", timeout=STEP_MS / 1000)
        yield f"http://127.0.0.1:{port}/", data
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # also stops the demo's simulation job
        process.wait(timeout=30)
        log.close()


def finished_demo_segmentation(data: Path) -> JobRecord | None:
    """The demo's segmentation job once it has ended, read from the server's store; None before."""
    store = open_store(Settings(data_dir=data))
    try:
        demo = [p for p in ProjectRepository(store, owner="local").list_projects() if p.name == DEMO_NAME]
        jobs = [r for r in JobStore(store).recent(owner="local", project_id=demo[0].id)
                if r.kind is JobKind.SEGMENTATION] if demo else []
    finally:
        store.close()
    return jobs[-1] if jobs and not jobs[-1].state.is_active else None


@pytest.mark.timeout(JOB_S + 4 * STEP_MS / 1000)
def test_demo_project_geometry_is_rendered(browser, demo_server: tuple[str, Path], output_dir: Path) -> None:
    url, data = demo_server
    # The demo's segmentation runs as a job: wait for it to end, however long a loaded machine takes.
    job = wait_until(lambda: finished_demo_segmentation(data), what="the demo's segmentation job", ceiling_s=JOB_S,
                     interval_s=0.5)
    assert job.state is JobState.DONE, job.message

    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(STEP_MS)
    try:
        page.goto(url)
        row = page.locator(".tabulator-row", has_text=DEMO_NAME)
        row.locator('[data-step="geometry"][data-status="done"]').wait_for()
        header = page.locator(".rh-project", has_text=f"Project: {DEMO_NAME}")

        def opened() -> bool:  # a click on a row the table is redrawing can be lost: click until it opens
            if not header.is_visible():
                row.get_by_text("Open").click()
            return header.is_visible()

        wait_until(opened, what="the demo project to open", ceiling_s=STEP_MS / 1000, interval_s=0.5)
        # it opens on the first step that needs the user (its simulation, while that runs); go to Geometry
        go_to(page, "Geometry", page.get_by_role("heading", name="Geometry", exact=True))
        stage = wait_for_pane(page, ".rh-geometry-3d", timeout_s=STEP_MS / 1000)
        stage.scroll_into_view_if_needed()

        def drawn() -> bool:  # the airway covers part of the stage once a frame is painted
            pixels = png_pixels(stage.screenshot())
            background = pixels[5, 5].astype(int)
            return bool(pixels.std() > 20 and (np.abs(pixels.astype(int) - background).max(axis=2) > 40).mean() > 0.03)

        wait_until(drawn, what="the airway drawn in the 3D view", ceiling_s=STEP_MS / 1000, interval_s=0.5)
        page.screenshot(path=str(output_dir / "demo-geometry.png"), full_page=True)
    finally:
        context.close()
