"""The Analysis page's report button downloads the open project's PDF report."""

from __future__ import annotations

import io
import zipfile

import pytest

from rhinoapp.core.access import AuditAction
from rhinoapp.render.paraview_launch import pvpython_path
from rhinoapp.render.spec import Colouring, SceneSpec, Synthetic
from rhinoapp.render.trame_service import default_trame_service
from rhinoapp.state.analysis import AnalysisState
from rhinoapp.state.session import SessionState
from rhinoapp.store.audit import AuditLog, AuditQuery
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


@pytest.mark.slow
@pytest.mark.skipif(pvpython_path() is None, reason="ParaView's pvpython is not installed (Debian's paraview and "
                    "python3-paraview: scripts/install-system-deps.sh)")
def test_paraview_button_hands_out_the_shown_scene_as_a_state_zip_and_audits_it(repo: ProjectRepository) -> None:  # noqa: F811
    project_id = repo.create("ParaView case").id
    session = SessionState(repository=repo)
    state = AnalysisState(session=session)
    view = SimulationComparison(state=state)
    view._paraview.callback()
    assert view._paraview.filename == "download-problem.txt" and view._problem.visible  # no project, no scene: why
    session.open_project(project_id)
    state.scene = SceneSpec(synthetic=Synthetic(3000), colouring=Colouring.PRESSURE)
    content = view._paraview.callback().getvalue()
    assert view._paraview.filename == f"rhinoapp-paraview-RHINO-{project_id[:8].upper()}.zip" and not view._problem.visible
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert "rhinoapp-paraview/scene.pvsm" in archive.namelist()
    downloads = AuditLog(repo.store).events(AuditQuery(action=AuditAction.DOWNLOAD, project_id=project_id))
    assert [event.detail for event in downloads] == ["paraview"]
    default_trame_service().x_display.stop()  # pvpython drew on the server's shared Xvfb (if one was started)
