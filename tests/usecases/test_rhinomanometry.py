"""The 4PR import's rules hold on the command line and on the 4PR page alike (the 4PR import runs no job)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rhinoapp.cli import main
from rhinoapp.core.errors import ValidationError
from rhinoapp.core.workflow import Step
from rhinoapp.rhinomanometry.io import write_csv
from rhinoapp.rhinomanometry.request import MAX_UPLOAD_MB, FourPRImportRequest
from rhinoapp.rhinomanometry.synthetic import generate
from rhinoapp.state.rhinomanometry import RhinomanometryState
from rhinoapp.state.session import SessionState
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.usecases.rhinomanometry import import_4pr

RULE = "A .pdf file is not a 4PR recording"


def test_a_file_of_another_kind_is_refused_by_the_cli_and_the_page(
        tmp_path: Path, repo: ProjectRepository, project_id: str, session: SessionState,
        capsys: pytest.CaptureFixture[str]) -> None:
    content = write_csv(generate(duration_s=12.0, seed=1).measurement).encode()
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(content)

    assert main(["rhinomanometry", str(scan)]) == 2
    assert RULE in capsys.readouterr().err

    state = RhinomanometryState(session=session)
    assert state.upload("scan.pdf", content) is False
    assert state.feedback_kind == "error" and RULE in state.feedback
    assert state.param.max_upload_mb.bounds == MAX_UPLOAD_MB.bounds
    with pytest.raises(ValidationError, match=RULE):
        import_4pr(repo, project_id, FourPRImportRequest(filename="scan.pdf", content=content))
    assert repo.artifacts(project_id) == []


def test_the_cli_stores_a_recording_as_the_page_does(tmp_path: Path, data_dir: Path, repo: ProjectRepository,
                                                     project_id: str, session: SessionState) -> None:
    content = write_csv(generate(duration_s=12.0, seed=1).measurement).encode()
    recording = tmp_path / "case.csv"
    recording.write_bytes(content)
    assert main(["rhinomanometry", str(recording), "--project", "Case 1", "--data-dir", str(data_dir)]) == 0
    state = RhinomanometryState(session=session)
    assert state.upload("case.csv", content) is False  # the project has a measurement: asks first
    assert state.confirm_replace() is True
    stored = repo.artifacts(project_id, Step.RHINOMANOMETRY)
    by_name: dict[str, set[str]] = {}
    for artifact in stored:
        by_name.setdefault(artifact.name.rsplit("/", 1)[1], set()).add(artifact.sha256)
    assert {name: len(digests) for name, digests in by_name.items()} == {"recording.csv": 1, "parameters.json": 1}
    assert len(state.measurements) == 2
