"""The Projects page in real Chromium: create, see the status icons, refuse a duplicate, delete."""

from __future__ import annotations

from pathlib import Path

import pytest

from rhinoapp.config import Settings
from rhinoapp.store.database import open_store
from rhinoapp.store.repository import ProjectRepository
from tests.views.navigation import click_until, go_to

pytestmark = pytest.mark.browser

NAME_FIELD = "Project name, e.g. Case 12 pre-op"


def create(page, name: str, description: str = "") -> None:
    page.get_by_placeholder(NAME_FIELD).fill(name)
    page.get_by_placeholder("Optional: what this case is about").fill(description)
    page.get_by_placeholder("Optional: what this case is about").press("Tab")
    page.get_by_role("button", name="Create project").click()


def test_create_project_and_refuse_duplicate(page, output_dir: Path) -> None:
    page.get_by_role("heading", name="Projects").wait_for()
    for status in ("not-possible-yet", "possible", "in-progress", "done", "error"):
        assert page.locator(f'[data-legend="{status}"]').count() == 1

    create(page, "Case 42 pre-op", "septal deviation to the left")
    page.get_by_text('Project "Case 42 pre-op" created').wait_for()
    row = page.locator(".tabulator-row", has_text="Case 42 pre-op")
    row.wait_for()
    expected = {"dicom": "possible", "4pr": "possible", "geometry": "not-possible-yet", "simulation": "not-possible-yet",
                "analysis": "not-possible-yet"}
    for step, status in expected.items():
        icon = row.locator(f'[data-step="{step}"]')
        assert icon.get_attribute("data-status") == status
        assert icon.locator("svg").is_visible()
    page.screenshot(path=str(output_dir / "projects-created.png"), full_page=True)

    create(page, "case 42  PRE-OP")
    alert = page.get_by_text('A project named "case 42 PRE-OP" already exists: choose another name.')
    alert.wait_for()
    assert alert.is_visible()
    assert page.locator(".tabulator-row", has_text="Case 42 pre-op").count() == 1
    page.screenshot(path=str(output_dir / "projects-duplicate-refused.png"), full_page=True)

    create(page, "")
    page.get_by_text("The project name is empty").wait_for()


def test_open_lands_on_the_first_step_and_says_what_is_next(page) -> None:
    create(page, "Case 7")
    row = page.locator(".tabulator-row", has_text="Case 7")
    opened = page.locator(".rh-project", has_text="Project: Case 7")
    click_until(row.get_by_text("Open"), opened, what="project Case 7 to open")
    page.get_by_text("No CT stored in this project yet.").wait_for()  # no CT: the CT page, not Geometry
    page.locator(".rh-next", has_text="Next: Import the project's CT").wait_for()
    go_to(page, "Geometry", page.locator(".rh-geometry-message", has_text="This project has no CT yet"))
    page.locator(".rh-next", has_text="(CT page)").wait_for()  # the Next line points back to the CT page
    page.get_by_role("button", name="Go to CT").click()
    page.get_by_text("No CT stored in this project yet.").wait_for()


def test_search_filters_as_you_type_and_says_when_nothing_matches(page) -> None:
    for name in ("Search alpha", "Search beta"):
        create(page, name)
    box = page.locator(".rh-search input")
    box.press_sequentially("alp")  # no Enter: the table follows the keys
    page.locator(".tabulator-row", has_text="Search beta").wait_for(state="detached")
    page.locator(".tabulator-row", has_text="Search alpha").wait_for()
    box.press_sequentially("zz")
    page.locator(".rh-search-note", has_text="No project matches 'alpzz'.").wait_for()


def test_delete_removes_the_project_and_its_folder(page, server) -> None:
    create(page, "Case 9 to delete")
    row = page.locator(".tabulator-row", has_text="Case 9 to delete")
    row.wait_for()
    store = open_store(Settings(data_dir=server[1]))
    try:
        repo = ProjectRepository(store, owner="local")
        project = next(p for p in repo.list_projects() if p.name == "Case 9 to delete")
        folder = repo.project_dir(project.id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "notes.txt").write_text("kept until the project is deleted", encoding="utf-8")

        confirm = page.get_by_role("button", name="Delete project and its files")
        click_until(row.get_by_text("Delete", exact=True), confirm, what="the delete confirmation to show")
        page.get_by_text('Delete project "Case 9 to delete" with all its images').wait_for()
        confirm.click()
        page.get_by_text('Project "Case 9 to delete" deleted.').wait_for()
        row.wait_for(state="detached")
        assert not folder.exists()
        assert all(p.id != project.id for p in repo.list_projects())
        assert confirm.count() == 0  # the confirmation is gone with the project
    finally:
        store.close()
