"""A trame pane whose render worker is a job on the single-node Slurm cluster, joined through the relay.

The page is ``tests/render/trame_demo_server.py --slurm-partition cpu``: each browser session's
worker is submitted with ``sbatch`` and dials back to ``/render-relay/...`` on the server's port.
Skipped with the reason when the Slurm dev cluster is not running (``make test`` starts it).
"""

from __future__ import annotations

import asyncio
import base64
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from tests.jobs.test_runner_slurm import _cluster_up
from tests.views.test_trame_view_browser import Demo, Pane, demo_server
from tests.waiting import HANG_S, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slurm,
              pytest.mark.skipif(bool(_cluster_up()), reason=_cluster_up() or "Slurm available")]


def render_jobs() -> dict[str, str]:
    """The render jobs Slurm knows, by id: their state."""
    out = subprocess.run(["squeue", "-h", "-t", "all", "-n", "rhinoapp-render", "-o", "%i %T"], capture_output=True,
                         text=True, timeout=30).stdout
    return dict(line.split() for line in out.splitlines() if line.strip())


def running() -> set[str]:
    return {job for job, state in render_jobs().items() if state in ("PENDING", "RUNNING", "CONFIGURING")}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("relay")
    with demo_server(folder / "relay-demo.log", "--slurm-partition", "cpu", "--spool", str(folder / "jobs")) as served:
        yield served


def relay_status(demo: Demo, path: str, user: str, key: str) -> int:
    """101 when the relay's websocket ``path`` opens with these credentials, else the refusal's status."""
    async def connect() -> int:
        token = base64.b64encode(f"{user}:{key}".encode()).decode()
        url = demo.url.replace("http://", "ws://") + path
        try:
            connection = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"Basic {token}"},
                                                             request_timeout=60))
        except HTTPClientError as error:
            return error.code
        connection.close()
        return 101

    with ThreadPoolExecutor(1) as pool:  # Playwright's loop runs on this thread
        return pool.submit(asyncio.run, connect()).result()


def open_pane(browser, demo: Demo) -> Pane:
    context = browser.new_context(viewport={"width": 900, "height": 640})
    page = context.new_page()
    page.set_default_timeout(1000 * HANG_S)
    page.goto(f"{demo.url}?triangles=5000")
    return Pane(context, page)


def test_a_render_job_draws_through_the_relay_and_is_cancelled_with_the_session(browser, demo) -> None:
    before = running()
    pane = open_pane(browser, demo)
    try:
        pane.page.wait_for_selector(".rh-trame-message:has-text('Waiting for a render node')", state="attached")
        job = wait_until(lambda: (running() - before) or None, what="the render job in the queue", interval_s=0.5).pop()
        pane.page.wait_for_selector(".rh-trame[data-state=loaded]")
        picture = wait_until(pane.drawn, what="the airway drawn by the render job")[0]
        assert picture.std() > 20, "the pane is blank"
        assert render_jobs()[job] == "RUNNING"
        for user, key in (("someone", "guess"), ("", ""), (job, "not-the-key")):
            assert relay_status(demo, "render-relay/control", user, key) == 403
            assert relay_status(demo, f"render-relay/{pane.view_id}", user, key) == 403
    finally:
        pane.context.close()
    wait_until(lambda: job not in running() or None, what="the render job cancelled with the session", interval_s=0.5)


def test_a_cancelled_job_shows_why(browser, demo) -> None:
    before = running()
    pane = open_pane(browser, demo)
    try:
        pane.page.wait_for_selector(".rh-trame[data-state=loaded]")
        job = wait_until(lambda: (running() - before) or None, what="the render job", interval_s=0.5).pop()
        subprocess.run(["scancel", job], check=True, timeout=30)
        pane.page.wait_for_selector(".rh-trame[data-state=failed]")
        assert f"The render job {job} was cancelled" in pane.page.locator(".rh-trame-message").inner_text()
    finally:
        pane.context.close()
