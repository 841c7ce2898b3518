"""Opening a project lands on the first step that needs the user; every page can say what comes next."""

from __future__ import annotations

from rhinoapp.core.workflow import Step
from rhinoapp.state.session import Page, SessionState


def test_opening_a_project_goes_to_the_first_step_that_needs_the_user(repo) -> None:
    session = SessionState(repository=repo)
    pid = repo.create("Case 1").id
    steps = [(None, Page.CT, "import the project's CT"),
             ((Step.DICOM, {"volume/ct.nii.gz": b"ct", "volume/ct.json": b"{}"}), Page.GEOMETRY, "segment"),
             ((Step.GEOMETRY, {"geometry/default/labels.nii.gz": b"l"}), Page.SIMULATIONS, "run an airflow"),
             ((Step.SIMULATION, {"simulations/r1/results.json": b"{}"}), Page.ANALYSIS, "upload the 4PR"),
             ((Step.RHINOMANOMETRY, {"rhinomanometry/m1/recording.csv": b"r"}), Page.ANALYSIS, "compare")]
    for written, page, words in steps:
        if written is not None:
            repo.write_artifacts(pid, written[0], written[1])
        session.param.update(page=Page.PROJECTS.value, current_project_id=None)
        session.open_project(pid)
        assert session.page == page.value and session.next_step().text.startswith(words)
    repo.write_artifacts(pid, Step.DICOM, {"volume/ct.nii.gz": b"another ct"})  # the geometry is outdated now
    session.open_project(pid)
    assert session.page == Page.GEOMETRY.value and session.next_step().text.endswith("again: its inputs changed since")
    session.open_project(pid, page=Page.JOBS)
    assert session.page == Page.JOBS.value


def test_without_a_project_the_next_step_is_the_projects_page(repo) -> None:
    assert SessionState(repository=repo).next_step().page is Page.PROJECTS
