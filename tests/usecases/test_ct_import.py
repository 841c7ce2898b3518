"""The CT import's rules hold on the command line and on the CT page alike (the CT import runs no job)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rhinoapp.cli import main
from rhinoapp.dicom.request import CTImportRequest
from rhinoapp.state.ct_import import CTImportState
from rhinoapp.state.session import SessionState
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.usecases.ct_import import research_volume, store_ct
from rhinoapp.volumes import nifti_bytes
from tests.usecases.conftest import small_ct

RULE = "fewer than 3; upload a complete CT"


def test_a_volume_of_too_few_slices_is_refused_by_the_cli_and_the_page(
        tmp_path: Path, data_dir: Path, repo: ProjectRepository, project_id: str, session: SessionState,
        capsys: pytest.CaptureFixture[str]) -> None:
    flat = tmp_path / "flat.nii.gz"
    flat.write_bytes(nifti_bytes(small_ct(slices=2)))

    assert main(["import", str(flat), "--project", "Case 1", "--data-dir", str(data_dir)]) == 2
    assert RULE in capsys.readouterr().err

    state = CTImportState(session=session)
    assert state.upload([flat.read_bytes()], filenames=["flat.nii.gz"]) is False
    assert state.feedback_kind == "error" and RULE in state.feedback
    assert repo.artifacts(project_id) == []

    with pytest.raises(ValueError, match=RULE):  # the use case itself, for any other caller
        store_ct(repo, project_id, *research_volume(flat), CTImportRequest())
    assert repo.artifacts(project_id) == []


def test_a_complete_volume_is_stored_the_same_way_by_both(tmp_path: Path, data_dir: Path, repo: ProjectRepository,
                                                          project_id: str, session: SessionState) -> None:
    volume = tmp_path / "ct.nii.gz"
    volume.write_bytes(nifti_bytes(small_ct(slices=4)))
    assert main(["import", str(volume), "--project", "Case 1", "--data-dir", str(data_dir)]) == 0
    by_cli = {a.name: a.sha256 for a in repo.artifacts(project_id)}
    state = CTImportState(session=session)
    assert state.upload([volume.read_bytes()], filenames=["ct.nii.gz"]) is False  # the project has a CT: asks first
    assert state.replace_question.startswith("This project already has a CT.")
    assert state.confirm_replace() is True
    assert {a.name: a.sha256 for a in repo.artifacts(project_id)} == by_cli == {
        "volume/ct.nii.gz": by_cli["volume/ct.nii.gz"], "volume/ct.json": by_cli["volume/ct.json"]}
    assert state.param.tilt.default == CTImportRequest().tilt.value
