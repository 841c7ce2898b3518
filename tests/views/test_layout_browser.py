"""Every page of the demo project in Chromium at 1024x768, at 1920x1080 and at 125 % zoom (issue 17).

The layout holds: no console errors, every control (button, input, table cell) inside the viewport or
inside the scroll container that holds it (a table scrolls inside its card, the page never scrolls
sideways), no table cell or column title too narrow for its text, the sidebar's background down to the
bottom of the page. Screenshots of each page go to the test outputs (test-output/layout-*.png).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rhinoapp.config import Settings
from rhinoapp.core.workflow import JobKind, JobState
from rhinoapp.jobs.demo import DEMO_NAME
from rhinoapp.store.database import open_store
from rhinoapp.store.jobs import JobRecord, JobStore
from tests.render.conftest import png_pixels
from tests.test_app import free_port, wait_for_http
from tests.views.navigation import click_until, go_to
from tests.views.test_demo_browser import JOB_S, STEP_MS, finished_demo_segmentation
from tests.waiting import wait_until

#: The sizes a clinician's screens have (CSS pixels), and the scale of a 1920 px screen zoomed to 125 %.
SIZES = {"1024x768": (1024, 768, 1.0), "1920x1080": (1920, 1080, 1.0), "1920x1080-zoom125": (1536, 864, 1.25)}
#: The pages of the sidebar, in order; at 125 % zoom only the widest table's page is visited (CI time).
PAGES = ("Projects", "CT", "Geometry", "Simulations", "Analysis", "Jobs")
ZOOMED_PAGES = ("Jobs",)

#: Finds the controls the user can see and whatever would keep them out of reach. Panel draws every
#: component in a shadow root, so the walk goes through shadow roots and up through their hosts.
_UNREACHABLE_JS = """
() => {
  const SELECTOR = 'button, input:not([type=hidden]), select, textarea, a[href], [role=button], '
                 + '.tabulator-cell, .tabulator-col, .tabulator-col-title';
  // the header of a table scrolls with its body (Tabulator moves it), though it hides its overflow
  const SCROLLS_WITH_BODY = ['tabulator-header', 'tabulator-header-contents'];
  const width = document.documentElement.clientWidth;
  const up = (el) => el.assignedSlot || el.parentElement || (el.parentNode && el.parentNode.host) || null;
  const name = (el) => {
    const text = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 40);
    return `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} "${text}"`;
  };
  const found = [];
  const collect = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.matches(SELECTOR)) found.push(el);
      if (el.shadowRoot) collect(el.shadowRoot);
    }
  };
  collect(document);
  const problems = [];
  let checked = 0;
  for (const el of found) {
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (r.width === 0 || r.height === 0 || style.visibility === 'hidden') continue;
    if (el.closest('.tabulator-col.empty, .tabulator-cell.empty')) continue;  // Panel's 1 px filler column
    checked += 1;
    if (el.matches('.tabulator-cell, .tabulator-col-title') && el.scrollWidth > el.clientWidth + 1) {
      problems.push(`${name(el)} is too narrow for its text (${el.clientWidth} < ${el.scrollWidth} px)`);
    }
    let box = {left: r.left, right: r.right, top: r.top, bottom: r.bottom};
    let inside = 'the viewport';
    let ok = true;
    for (let a = up(el); a && a !== document.body && a !== document.documentElement; a = up(a)) {
      if (!(a instanceof Element)) continue;
      const s = getComputedStyle(a);
      const ar = a.getBoundingClientRect();
      for (const [axis, lo, hi] of [['x', 'left', 'right'], ['y', 'top', 'bottom']]) {
        const overflow = axis === 'x' ? s.overflowX : s.overflowY;
        if (overflow === 'visible') continue;
        if (overflow === 'auto' || overflow === 'scroll' || SCROLLS_WITH_BODY.some((c) => a.classList.contains(c))) {  // reachable by scrolling a: a must be reachable
          box[lo] = Math.max(Math.min(box[lo], ar[hi]), ar[lo]);
          box[hi] = Math.min(Math.max(box[hi], ar[lo]), ar[hi]);
          if (axis === 'x') inside = name(a);
        } else if (box[lo] < ar[lo] - 1 || box[hi] > ar[hi] + 1) {
          problems.push(`${name(el)} is cut off (${axis}) by ${name(a)}`);
          ok = false;
          break;
        }
      }
      if (!ok) break;
    }
    if (ok && (box.left < -1 || box.right > width + 1)) {
      problems.push(`${name(el)} in ${inside} spans x ${Math.round(r.left)}..${Math.round(r.right)}, `
                    + `outside the viewport 0..${width}`);
    }
  }
  const page = document.documentElement;
  if (page.scrollWidth > page.clientWidth + 1) problems.push(`the page scrolls sideways (${page.scrollWidth} px)`);
  return {checked, problems};
}
"""

#: The sidebar's background (the shell's _SIDEBAR), which must reach the bottom of every page.
SIDEBAR_RGB = (0xF4, 0xF6, 0xF9)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One demo server for every size: its project once the segmentation is done (the simulation may run on)."""
    data = tmp_path_factory.mktemp("data")
    port = free_port()
    log = (tmp_path_factory.mktemp("log") / "serve.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "rhinoapp", "serve", "--data-dir", str(data), "--port", str(port)],
                               # no demo simulation: its two busy cores would only slow the pages measured here
                               env={**os.environ, "RHINOAPP_DEMO": "true", "RHINOAPP_DEMO_SIMULATION": "false"},
                               stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", timeout=STEP_MS / 1000)
        job = wait_until(lambda: finished_demo_segmentation(data), what="the demo's segmentation job",
                         ceiling_s=JOB_S, interval_s=0.5)
        assert job.state is JobState.DONE, job.message
        assert not _demo_simulations(data), "RHINOAPP_DEMO_SIMULATION=false still ran the demo's simulation"
        yield f"http://127.0.0.1:{port}/"
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # also stops the demo's simulation job
        process.wait(timeout=30)
        log.close()


def _demo_simulations(data: Path) -> list[JobRecord]:
    store = open_store(Settings(data_dir=data))
    try:
        return [r for r in JobStore(store).recent(owner="local") if r.kind is JobKind.SIMULATION]
    finally:
        store.close()


def _shown(page, name: str):
    """What shows once the page ``name`` is drawn with the demo's data."""
    return {
        "Projects": page.locator(".tabulator-row", has_text=DEMO_NAME),
        "CT": page.locator(".rh-ct-summary"),
        "Geometry": page.locator(".rh-geometry-3d .rh-trame[data-state=\"loaded\"]"),
        "Simulations": page.get_by_role("heading", name="Simulations", exact=True),
        "Analysis": page.get_by_role("heading", name="Pressure-flow loops"),
        "Jobs": page.locator(".tabulator-row", has_text=DEMO_NAME).first,
    }[name]


@pytest.mark.timeout(JOB_S + 6 * STEP_MS / 1000)
@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_fits_and_logs_no_error(browser, demo: str, size: str, output_dir: Path) -> None:
    width, height, scale = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=scale)
    page = context.new_page()
    page.set_default_timeout(STEP_MS)
    errors: list[str] = []
    visiting = ["Projects"]
    page.on("console", lambda message: message.type == "error" and errors.append(f"{visiting[-1]}: {message.text}"))
    page.on("pageerror", lambda error: errors.append(f"{visiting[-1]}: {error}"))
    try:
        page.goto(demo)
        row = page.locator(".tabulator-row", has_text=DEMO_NAME)
        click_until(row.get_by_text("Open"), page.locator(".rh-project", has_text=f"Project: {DEMO_NAME}"),
                    what="the demo project to open")
        problems: dict[str, list[str]] = {}
        for name in ZOOMED_PAGES if scale != 1.0 else PAGES:
            visiting.append(name)
            go_to(page, name, _shown(page, name))
            pixels = png_pixels(page.screenshot(path=str(output_dir / f"layout-{size}-{name.lower()}.png"),
                                                full_page=True))
            found = page.evaluate(_UNREACHABLE_JS)
            assert found["checked"] > 0, f"no control found on the {name} page"
            bottom_left = tuple(int(v) for v in pixels[-2, round(20 * scale)])
            if max(abs(v - w) for v, w in zip(bottom_left, SIDEBAR_RGB)) > 2:
                found["problems"].append(f"the sidebar ends above the bottom of the page (colour {bottom_left} there)")
            if found["problems"]:
                problems[name] = found["problems"]
        assert not problems, problems
        assert not errors, errors
    finally:
        context.close()
