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

from tests.test_app import free_port, wait_for_http
from tests.render.conftest import png_pixels


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "rhinoapp", "serve", "--data-dir", str(tmp_path / "data"),
                                "--port", str(port)], env={**os.environ, "RHINOAPP_DEMO": "true"},
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", timeout=60)
        yield f"http://127.0.0.1:{port}/"
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # also stops the demo's simulation job
        process.wait(timeout=30)
        log.close()


def test_demo_project_geometry_is_rendered(browser, demo_server: str, output_dir: Path) -> None:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(demo_server)
        row = page.locator(".tabulator-row", has_text="Demo - synthetic nose")
        row.wait_for(timeout=60_000)
        # The demo's segmentation runs as a job: wait until its Geometry status is done.
        for _ in range(60):
            if row.locator('[data-step="geometry"][data-status="done"]').count():
                break
            page.wait_for_timeout(2000)
            page.get_by_role("button", name="Jobs", exact=True).click()
            page.get_by_role("button", name="Projects", exact=True).click()
        row.locator('[data-step="geometry"][data-status="done"]').wait_for()
        page.wait_for_timeout(1000)  # the table may still be redrawing after the refresh
        row.get_by_text("Open").click()
        page.locator(".rh-project", has_text="Project: Demo - synthetic nose").wait_for()
        page.get_by_role("heading", name="Geometry", exact=True).wait_for()
        page.locator('.rh-geometry-3d .rh-rv-frame[data-seq]').wait_for(timeout=60_000)
        stage = page.locator(".rh-geometry-3d .rh-rv-stage")
        stage.scroll_into_view_if_needed()
        page.wait_for_timeout(1000)
        pixels = png_pixels(stage.screenshot())
        background = pixels[5, 5].astype(int)
        assert pixels.std() > 20 and (np.abs(pixels.astype(int) - background).max(axis=2) > 40).mean() > 0.03
        page.screenshot(path=str(output_dir / "demo-geometry.png"), full_page=True)
    finally:
        context.close()
