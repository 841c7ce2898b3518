"""The download buttons hand out the shown run's and measurement's files, named by project, run and date."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import panel as pn

from rhinoapp.config import Settings
from rhinoapp.core.access import AuditAction
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.core.workflow import Step
from rhinoapp.rhinomanometry.io import write_csv
from rhinoapp.rhinomanometry.synthetic import generate
from rhinoapp.state.rhinomanometry import RhinomanometryState
from rhinoapp.state.session import SessionState
from rhinoapp.state.simulations import SimulationsState
from rhinoapp.store import ProjectRepository, open_store
from rhinoapp.store.audit import AuditLog, AuditQuery
from rhinoapp.usecases.exports import RunFile
from rhinoapp.views.downloads import MeasurementDownloads, RunDownloads
from tests.usecases.conftest import publish_run


def _buttons(viewer: pn.viewable.Viewer) -> dict[str, pn.widgets.FileDownload]:
    found = viewer.__panel__().select(pn.widgets.FileDownload)
    return {next(c for c in button.css_classes if c.startswith("rh-download-")): button for button in found}


def _click(button: pn.widgets.FileDownload) -> tuple[str, bytes]:
    button._transfer()  # what a click does: run the callback, hand its bytes to the browser
    return button.filename, base64.b64decode(button.data.split(",", 1)[1])


def test_run_and_measurement_buttons_hand_out_their_files(tmp_path: Path) -> None:
    store = open_store(Settings(data_dir=tmp_path))
    try:
        repo = ProjectRepository(store, owner="local")
        project = repo.create("Case 5")
        run_id = publish_run(repo, project.id)
        repo.write_artifacts(project.id, Step.RHINOMANOMETRY, {
            str(ProjectLayout().measurement("m1").recording): write_csv(generate(duration_s=12.0, seed=2).measurement)
            .encode()})
        session = SessionState(repository=repo)
        session.open_project(project.id)
        simulations = SimulationsState(session=session)
        simulations.reload()
        assert simulations.selected == run_id
        runs = _buttons(RunDownloads(state=simulations))
        assert len(runs) == len(RunFile) and runs["rh-download-results-json"].label == "Results (JSON)"
        name, content = _click(runs["rh-download-results-json"])
        assert name.startswith(f"Case-5_{run_id}_") and json.loads(content)["pressure_drop_pa"] == 20.0
        name, content = _click(runs["rh-download-zip"])
        assert name.endswith("_all.zip") and content[:2] == b"PK"

        measurements = RhinomanometryState(session=session)
        assert measurements.selected == "m1"
        buttons = _buttons(MeasurementDownloads(state=measurements))
        name, content = _click(buttons["rh-download-parameters-csv"])
        assert name.startswith("Case-5_m1_") and content.decode().startswith("side,parameter,mean,sd")
        # each file handed out is in the audit log, by project id and a fixed word for the file
        downloads = AuditLog(store).events(AuditQuery(action=AuditAction.DOWNLOAD, project_id=project.id))
        assert sorted(event.detail for event in downloads) == ["parameters_csv", "results_json", "zip"]

        viewer = RunDownloads(state=simulations)
        buttons = _buttons(viewer)
        simulations.selected = None  # nothing shown: the button says why instead of failing
        name, content = _click(buttons["rh-download-wall"])
        assert name == "download-problem.txt" and b"choose a finished run" in content and viewer.problem
    finally:
        store.close()
