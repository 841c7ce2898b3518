"""Jobs page in Chromium: submit the CT volume check, watch the progress bar move, see it finish."""

from __future__ import annotations

import time
from pathlib import Path

from rhinoapp.config import Settings
from rhinoapp.store.database import open_store
from tests.jobs.conftest import project_with_volume
from tests.waiting import HANG_S
from tests.views.navigation import click_until, go_to


def test_submit_job_and_watch_progress_until_done(page, server, output_dir: Path) -> None:
    url, data = server
    store = open_store(Settings(data_dir=data))
    try:
        project_with_volume(store, name="Jobs demo")
    finally:
        store.close()
    page.goto(url)
    opened = page.locator(".rh-project", has_text="Project: Jobs demo")
    row = page.locator(".tabulator-row", has_text="Jobs demo")
    click_until(row.get_by_text("Open"), opened, what="project Jobs demo to open")
    go_to(page, "Jobs", page.get_by_role("heading", name="Jobs"))
    page.get_by_role("button", name="Check the CT volume").click()
    page.get_by_text("CT volume check submitted for Jobs demo.").wait_for()

    bar = page.locator(".rh-progress").first
    seen: list[int] = []
    deadline = time.monotonic() + HANG_S  # only catches a hung job
    state = page.locator(".rh-job-state").first
    shot = False
    while time.monotonic() < deadline:
        value = bar.get_attribute("aria-valuenow")
        if value is not None and (not seen or int(value) != seen[-1]):
            seen.append(int(value))
        if seen and 0 < seen[-1] < 100 and not shot:
            page.screenshot(path=str(output_dir / "jobs-running.png"), full_page=True)
            shot = True
        if state.get_attribute("data-state") == "done":
            break
        time.sleep(0.1)
    assert state.get_attribute("data-state") == "done", f"job did not finish; progress seen {seen}"
    # the page samples the job twice a second and this loop samples the page: how many of the job's
    # values it sees depends on the load, that it sees one between 0 and 100 does not (the job takes 4 s)
    assert any(0 < v < 100 for v in seen), f"the progress bar did not move: {seen}"
    assert seen == sorted(seen) and bar.get_attribute("aria-valuenow") == "100"
    row = page.locator(".tabulator-row", has_text="Jobs demo")
    assert "% air" in row.inner_text()
    page.screenshot(path=str(output_dir / "jobs-done.png"), full_page=True)
