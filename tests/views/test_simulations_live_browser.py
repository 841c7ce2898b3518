"""The live 3D view in Chromium: while a simulation job runs, the Simulations page's 3D view shows its
live checkpoints (wall pressure, velocity) and its image changes from one checkpoint to the next.

The server writes a live checkpoint every second (``RHINOAPP_LIVE_VIEW_INTERVAL_S``); the run has a
step limit far beyond what the test waits for, so it is still running when the second checkpoint is
shown, and the test cancels it. Progress is the job's own: the test waits on what the page shows.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.render.conftest import png_pixels
from tests.test_app import free_port, wait_for_http
from tests.views.navigation import click_until, go_to
from tests.views.panes3d import scene_token, wait_for_pane
from tests.views.test_simulations_browser import NAME, segmented_project, set_number
from tests.waiting import HANG_S, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.timeout(3 * HANG_S)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data = tmp_path_factory.mktemp("data")
    port = free_port()
    log = (tmp_path_factory.mktemp("log") / "serve.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "rhinoapp", "serve", "--data-dir", str(data), "--port", str(port)],
                               env={**os.environ, "RHINOAPP_DEMO": "false", "RHINOAPP_LIVE_VIEW_INTERVAL_S": "1"},
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_http(url, timeout=HANG_S)
        yield url, data
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
        log.close()


def test_the_3d_view_follows_the_checkpoints_of_a_running_simulation(page, server, output_dir: Path) -> None:
    url, data = server
    segmented_project(data)
    page.goto(url)
    opened = page.locator(".rh-project", has_text=f"Project: {NAME}")
    click_until(page.locator(".tabulator-row", has_text=NAME).get_by_text("Open"), opened, what=f"project {NAME} to open")
    go_to(page, "Simulations", page.get_by_role("heading", name="Simulations"))
    # The run must still be running when the view has drawn two checkpoints. At 1 mm it reached its steady state
    # after 14,040 steps, 91 s into a full suite with one core busy, before the view's first draw; at 0.7 mm (about
    # 170,000 cells, below the coarse start's size) it needs about four times as long (2.9 times the cells, 1.4 times
    # the steps), where this test takes about 60 s with one core busy. The step limit does not stop it earlier.
    set_number(page, ".rh-sim-resolution", "0.7")
    set_number(page, ".rh-sim-max-steps", "2000000")
    page.locator(".rh-sim-estimate", has_text="At 0.7 mm").wait_for()
    page.get_by_role("button", name="Run simulation").click()
    page.locator(".rh-sim-message", has_text="Simulating the airflow").wait_for(timeout=1000 * HANG_S)

    stage = wait_for_pane(page, ".rh-sim-3d")  # the first live checkpoint is shown (no run before this one)
    stage.scroll_into_view_if_needed()

    def drawn() -> tuple[np.ndarray] | None:  # the pixels of the pane once the airway covers part of it
        pixels = png_pixels(stage.screenshot())
        background = np.median(pixels.reshape(-1, 3), axis=0)
        covered = (np.abs(pixels.astype(int) - background).max(axis=2) > 40).mean()
        return (pixels,) if covered > 0.03 else None

    (first,) = wait_until(drawn, what="the first live checkpoint drawn in the 3D view", interval_s=0.5)
    first_scene = scene_token(page, ".rh-sim-3d")
    page.screenshot(path=str(output_dir / "simulations-live-1.png"), full_page=True)
    assert page.locator(".rh-sim-message", has_text="Simulating the airflow").count(), "the job is still running"

    def changed() -> bool:  # a later checkpoint: the pane is given its scene and draws it differently
        if scene_token(page, ".rh-sim-3d") == first_scene:
            return False
        found = drawn()
        if found is None or found[0].shape != first.shape:
            return False
        return bool((np.abs(found[0].astype(int) - first.astype(int)).max(axis=2) > 30).mean() > 0.002)

    wait_until(changed, what="a later live checkpoint drawn differently in the 3D view", interval_s=0.5)
    page.screenshot(path=str(output_dir / "simulations-live-2.png"), full_page=True)
    assert page.locator(".rh-sim-message", has_text="Simulating the airflow").count(), \
        "the image changed while the job ran"
    page.locator(".rh-sim-cancel").get_by_role("button").click()
    # The cancel ends the job, unless the run reached its steady state first: on an idle machine it did, 17,490
    # steps in 2 min 18 s, between the second checkpoint and the click. Either way the job has ended.
    ended = re.compile(r"cancelled|steady state reached")
    page.locator(".rh-sim-message", has_text=ended).wait_for(timeout=1000 * HANG_S)
