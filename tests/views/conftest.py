"""A real `rhinoapp serve` process and Debian's chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import OUTPUT_DIR
from tests.test_app import free_port, wait_for_http
from tests.waiting import HANG_S

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data = tmp_path_factory.mktemp("data")
    port = free_port()
    log = (tmp_path_factory.mktemp("log") / "serve.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "rhinoapp", "serve", "--data-dir", str(data), "--port", str(port)],
                               env={**os.environ, "RHINOAPP_DEMO": "false",  # tests create their own projects
                                    "RHINOAPP_TRAME_LOG": "INFO"},  # what the 3D panes' processes did, in the log
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_http(url, timeout=HANG_S)
        yield url, data
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is not installed: run `make test` (it installs Debian's chromium) or apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[pytest.TestReport]:
    """Keeps each phase's report on the test item, so that the ``page`` fixture knows whether its test failed."""
    report: pytest.TestReport = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser, server, request: pytest.FixtureRequest):
    context = browser.new_context(viewport={"width": 1360, "height": 820})
    opened = context.new_page()
    opened.set_default_timeout(120_000)  # only catches a hung page: a loaded two-core machine is slow, not stuck
    opened.goto(server[0])
    yield opened
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:  # what the page showed when the test gave up, for the person reading CI
        name = "".join(c if c.isalnum() or c in "-_" else "_" for c in request.node.name)
        try:
            OUTPUT_DIR.mkdir(exist_ok=True)
            opened.screenshot(path=str(OUTPUT_DIR / f"failed-{name}.png"), full_page=True)
        except Exception as error:  # noqa: BLE001 - a page that cannot be drawn any more must not hide the failure
            print(f"no screenshot of the failed page: {error}")
    context.close()
