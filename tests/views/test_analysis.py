"""The Analysis page's report button downloads the open project's PDF report."""

from __future__ import annotations

import pytest

from rhinoapp.state.analysis import AnalysisState
from rhinoapp.state.session import SessionState
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.views.analysis import SimulationComparison
from tests.report.conftest import add_ct, data_dir, repo  # noqa: F401  (fixtures)


@pytest.mark.slow
def test_report_button_downloads_the_open_projects_pdf(repo: ProjectRepository) -> None:  # noqa: F811
    project_id = repo.create("Download case").id
    add_ct(repo, project_id)
    session = SessionState(repository=repo)
    view = SimulationComparison(state=AnalysisState(session=session))
    assert view._download.disabled
    session.open_project(project_id)
    assert not view._download.disabled
    assert view._download.filename == f"rhinoapp-report-RHINO-{project_id[:8].upper()}.pdf"
    pdf = view._download.callback().getvalue()
    assert pdf.startswith(b"%PDF-") and b"rhinoapp report RHINO-" in pdf
