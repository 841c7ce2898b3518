"""The Projects page model, driven without any display."""

from __future__ import annotations

import asyncio

import pytest

from rhinoapp.core.workflow import Step, StepStatus
from rhinoapp.state import Page, ProjectsState, SessionState


@pytest.fixture
def page(repo) -> ProjectsState:
    return ProjectsState(session=SessionState(repository=repo))


def test_create_lists_the_project_with_its_statuses(page: ProjectsState) -> None:
    events = []
    page.param.watch(lambda e: events.append(e.name), "rows")
    page.param.update(new_name=" Case 1 ", new_description="left septal spur")
    page.create_project()
    [row] = page.rows
    assert (row.project.name, row.project.description) == ("Case 1", "left septal spur")
    assert row.statuses[Step.DICOM].status is StepStatus.POSSIBLE
    assert row.statuses[Step.GEOMETRY].status is StepStatus.NOT_POSSIBLE_YET
    assert (page.new_name, page.feedback_kind) == ("", "success") and events == ["rows"]


@pytest.mark.parametrize(("name", "phrase"), [("", "empty"), ("a/b", "'/'"), ("Case 1", "already exists")])
def test_bad_names_give_a_message_and_change_nothing(page: ProjectsState, name: str, phrase: str) -> None:
    page.session.repository.create("Case 1")
    page.refresh()
    page.new_name = name
    page.create_project()
    assert page.feedback_kind == "error" and phrase in page.feedback
    assert len(page.rows) == 1 and page.new_name == name  # the user's text is kept to fix it


def test_open_rename_delete(page: ProjectsState) -> None:
    pid = page.session.repository.create("Case 1").id
    page.refresh()
    page.open_project(pid)
    assert (page.session.page, page.session.current_project_name) == (Page.CT.value, "Case 1")  # no CT yet
    page.start_rename(pid)
    assert page.rename_name == "Case 1"
    page.rename_name = "Case 1b"
    page.confirm_rename()
    assert page.session.current_project_name == "Case 1b" and page.rows[0].project.name == "Case 1b"
    page.request_delete(pid)
    assert page.delete_target == pid
    page.cancel()
    assert page.delete_target is None and len(page.rows) == 1
    page.request_delete(pid)
    asyncio.run(page.confirm_delete())
    assert page.rows == [] and page.session.current_project_id is None
    assert page.feedback == 'Project "Case 1b" deleted.'


def test_search_filters_rows(page: ProjectsState) -> None:
    for name in ("Alpha", "Beta", "Alphabet"):
        page.session.repository.create(name)
    page.search = "alpha"
    assert sorted(r.project.name for r in page.rows) == ["Alpha", "Alphabet"]


def test_project_deleted_elsewhere(page: ProjectsState, store) -> None:
    pid = page.session.repository.create("Case 1").id
    page.refresh()
    page.session.repository.delete(pid)  # e.g. from the CLI
    page.open_project(pid)
    assert page.feedback_kind == "error" and "refresh" in page.feedback and page.rows == []


def test_a_search_without_match_says_so(page: ProjectsState) -> None:
    page.session.repository.create("Alpha")
    page.search = "zeta "
    assert page.rows == [] and page.search_note == "No project matches 'zeta'."
    page.search = "alp"
    assert [r.project.name for r in page.rows] == ["Alpha"] and page.search_note == ""
