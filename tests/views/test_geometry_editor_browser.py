"""Correction tools in Chromium: the automatic airway takes a bridged ethmoid cell in; the user erases the bridge,
removes the cell, undoes and redoes, and saves; the saved variant's Dice rises and an undone save equals the automatic airway.

Every step waits for the server to show that it holds what the next step needs, so no click lands
on a state the browser has not yet sent: the tool, brush radius and variant name in the editor's
status line; the slice and the voxel under the pointer in the viewer's readout (hovering is
repeated until the readout names the voxel to click, which also proves the view is drawn and
listening); each edit's outcome in the editor's message before the next one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rhinoapp.config import Settings
from rhinoapp.core.volume import ImageGeometry
from rhinoapp.core.workflow import JobKind, Step
from rhinoapp.jobs.geometry_task import airway_segmentation
from rhinoapp.jobs.progress import TaskContext
from rhinoapp.jobs.requests import JobRequest
from rhinoapp.store.database import open_store
from rhinoapp.store.geometry_results import read_result
from rhinoapp.state.slice_viewer import DisplayGrid
from rhinoapp.store.repository import ProjectRepository
from tests.state.test_geometry import FAST, ct_project
from tests.state.test_geometry_editor import CELL_MM, ERASE_MM, ERASE_RADIUS_MM, bridged_ethmoid, dice
from tests.waiting import HANG_S, wait_until
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.views.navigation import click_until, go_to

pytestmark = [pytest.mark.browser, pytest.mark.timeout(3 * HANG_S)]

# Screen position of a plot position (LPS mm) on the slice plot whose title starts with the plane's name.
_SCREEN = """([title, x, y]) => {
  const view = Bokeh.index.query_one(v => v.frame != null && v.model.title != null
                                          && String(v.model.title.text).startsWith(title));
  if (view == null) return null;
  const box = view.canvas.el.getBoundingClientRect();
  return [box.left + view.frame.x_scale.compute(x), box.top + view.frame.y_scale.compute(y)];
}"""
_SET_SLIDER = """([title, value]) => {
  const view = Bokeh.index.query_one(v => v.model.title === title && "value" in v.model && "step" in v.model);
  if (view == null) return false;
  view.model.value = value;
  return true;
}"""


def coronal_view_position(geometry: ImageGeometry, point_mm: tuple[float, ...]) -> tuple[int, tuple[int, ...], float, float]:
    """(coronal slice index, voxel (i, j, k), x and z in mm) of the centre of the voxel holding an LPS point."""
    ijk = tuple(int(v) for v in np.rint(geometry.physical_to_index(point_mm)))
    centre = geometry.index_to_physical(ijk)
    return DisplayGrid.of(geometry).index(1, float(centre[1])), ijk, float(centre[0]), float(centre[2])


def publish_automatic_airway(data: Path) -> tuple[str, object]:
    store = open_store(Settings(data_dir=data))
    try:
        ct, _ = bridged_ethmoid()
        project_id = ct_project(store, "Ethmoid bridge", ct)
        repo = ProjectRepository(store, owner="local")
        out = data.parent / f"staged-{project_id}"
        request = JobRequest.create(job_id="direct", owner="local", project_id=project_id,
                                    project_dir=str(repo.project_dir(project_id)), kind=JobKind.SEGMENTATION,
                                    parameters={"target_triangles": FAST})
        airway_segmentation(request, out, TaskContext("direct", publish=lambda _m: None, is_cancelled=lambda: False))
        repo.write_artifacts(project_id, Step.GEOMETRY, {p.relative_to(out).as_posix(): p.read_bytes()
                                                         for p in (out / "geometry/default").iterdir()})
        return project_id, repo.project_dir(project_id)
    finally:
        store.close()


def test_remove_a_wrong_ethmoid_cell_with_the_tools_undo_redo_and_save(page, server) -> None:
    url, data = server
    project_id, project_dir = publish_automatic_airway(data)
    ct, truth = bridged_ethmoid()
    page.set_viewport_size({"width": 1500, "height": 1100})
    page.goto(url)
    opened = page.locator(".rh-project", has_text="Project: Ethmoid bridge")
    click_until(page.locator(".tabulator-row", has_text="Ethmoid bridge").get_by_text("Open"), opened,
                what="project Ethmoid bridge to open")
    # the project opens on its first open step (Simulations: it has an airway); the tools are on Geometry
    go_to(page, "Geometry", page.get_by_role("heading", name="Geometry", exact=True))
    page.locator(".rh-geometry-message", has_text="Airway segmented").wait_for(timeout=1000 * HANG_S)
    editor = page.locator(".rh-geometry-editor")
    editor.wait_for()
    message = page.locator(".rh-edit-message")

    readout, status = page.locator(".rh-geometry-readout"), editor.locator(".rh-edit-status")
    index, _, _, _ = coronal_view_position(ct.geometry, CELL_MM)
    assert page.evaluate(_SET_SLIDER, ["Coronal slice", index]), "no coronal slice slider"
    page.locator(".rh-geometry-coronal canvas").first.wait_for()

    def click_at(point_mm: tuple[float, ...]) -> None:
        _, (i, j, k), x, z = coronal_view_position(ct.geometry, point_mm)
        under = readout.filter(has_text=f"voxel {i}, {j}, {k}")

        position: list[float] = []

        def aimed() -> bool:  # the server has the slice and sees the pointer on this voxel
            # the slice views wrap below each other on narrower windows: bring the coronal one into view
            page.locator(".rh-geometry-coronal canvas").first.scroll_into_view_if_needed()
            position[:] = page.wait_for_function(f"() => ({_SCREEN})(['coronal', {x}, {z}])").json_value()
            page.mouse.move(1, 1)
            page.mouse.move(*position)
            try:
                under.wait_for(timeout=5_000)
            except PlaywrightTimeoutError:
                return False
            return True

        wait_until(aimed, what=f"the readout to show voxel {i}, {j}, {k}", interval_s=0)
        page.mouse.click(*position)

    def tool(name: str) -> None:
        editor.locator(".rh-edit-tool").get_by_role("button", name=name, exact=True).click()
        status.filter(has_text=f"Tool: {name} ·").wait_for(timeout=1000 * HANG_S)

    def save(variant: str) -> None:
        field = editor.locator(".rh-edit-variant input")
        field.fill(variant)
        field.press("Enter")
        status.filter(has_text=f"Save as variant '{variant}'").wait_for(timeout=1000 * HANG_S)
        editor.get_by_role("button", name="Save as variant").click()
        refused = message.filter(has_text="Not saved")
        message.filter(has_text=f"Saved as geometry variant '{variant}'").or_(refused).wait_for(timeout=1000 * HANG_S)
        # the alert's text lies in its shadow root: read it there for the failure message
        assert refused.count() == 0, refused.first.evaluate("e => (e.shadowRoot || e).textContent")

    # erase the bridge with a brush of the right size, then remove the cell, now on its own
    tool("Erase")
    slider = page.evaluate(_SET_SLIDER, ["Brush radius (mm)", ERASE_RADIUS_MM])
    assert slider, "no brush size slider"
    status.filter(has_text=f"brush {ERASE_RADIUS_MM:g} mm").wait_for(timeout=1000 * HANG_S)
    click_at(ERASE_MM)
    message.filter(has_text="Erase:").wait_for(timeout=1000 * HANG_S)
    tool("Remove region")
    click_at(CELL_MM)
    message.filter(has_text="Remove-region:").wait_for(timeout=1000 * HANG_S)

    editor.get_by_role("button", name="Undo").click()
    message.filter(has_text="Undone: remove-region").wait_for()
    editor.get_by_role("button", name="Undo").click()
    message.filter(has_text="Undone: erase").wait_for()
    save("undone")
    editor.get_by_role("button", name="Redo").click()
    message.filter(has_text="Redone: erase").wait_for()
    editor.get_by_role("button", name="Redo").click()
    message.filter(has_text="Redone: remove-region").wait_for()
    save("corrected")

    base = read_result(project_dir / "geometry" / "default", "default")
    undone = read_result(project_dir / "geometry" / "undone", "undone")
    corrected = read_result(project_dir / "geometry" / "corrected", "corrected")
    assert np.array_equal(undone.labels.labels, base.labels.labels), "undo did not restore the automatic airway"
    assert undone.report.document["provenance"]["edits"] == []
    edits = corrected.report.document["provenance"]["edits"]
    assert [e["op"] for e in edits] == ["erase", "remove-region"] and edits[0]["radius_mm"] == ERASE_RADIUS_MM
    cell = tuple(ct.geometry.physical_to_index(CELL_MM).round().astype(int)[::-1])
    assert base.labels.labels[cell] > 0 and corrected.labels.labels[cell] == 0
    before, after = dice(base.labels.labels, truth.labels), dice(corrected.labels.labels, truth.labels)
    assert after > before, (before, after)
    print(f"Dice of the airway (labels 1-3): automatic {before:.4f}, corrected {after:.4f}")  # noqa: T201
