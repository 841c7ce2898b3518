"""A new CT or 4PR measurement never silently replaces the project's: the use cases, the CLI and the pages ask."""

from __future__ import annotations

from pathlib import Path

import pytest

from rhinoapp.cli import main
from rhinoapp.core.workflow import Step
from rhinoapp.dicom.request import CTImportRequest
from rhinoapp.rhinomanometry.io import write_csv
from rhinoapp.rhinomanometry.request import FourPRImportRequest
from rhinoapp.rhinomanometry.synthetic import generate
from rhinoapp.state.ct_import import CTImportState
from rhinoapp.state.rhinomanometry import RhinomanometryState
from rhinoapp.state.session import SessionState
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.usecases.ct_import import research_volume
from rhinoapp.usecases.ct_import import store_ct as store_ct_volume
from rhinoapp.usecases.outdating import ReplaceRefused, replacement_of
from rhinoapp.usecases.rhinomanometry import import_4pr
from rhinoapp.volumes import nifti_bytes
from tests.usecases.conftest import small_ct


def _digests(repo: ProjectRepository, project_id: str, step: Step) -> dict[str, str]:
    return {a.name: a.sha256 for a in repo.artifacts(project_id, step)}


def _volume_file(tmp_path: Path, slices: int) -> Path:
    path = tmp_path / f"ct{slices}.nii.gz"
    path.write_bytes(nifti_bytes(small_ct(slices=slices)))
    return path


def test_what_a_new_ct_makes_outdated_is_named(repo: ProjectRepository, project_id: str) -> None:
    assert replacement_of(repo, project_id, Step.DICOM) is None
    store_ct_volume(repo, project_id, *research_volume(nifti_bytes(small_ct(4)), filename="a.nii.gz"),
                    CTImportRequest())
    assert replacement_of(repo, project_id, Step.DICOM).outdated == ()
    repo.write_artifacts(project_id, Step.GEOMETRY, {"geometry/default/labels.nii.gz": b"labels"})
    for run in ("run-1", "run-2"):
        repo.write_artifacts(project_id, Step.SIMULATION, {f"simulations/{run}/results.json": b"{}"})
    question = replacement_of(repo, project_id, Step.DICOM).question
    assert "the segmentation and airway geometry and 2 simulation runs outdated" in question


def test_the_cli_refuses_to_replace_a_ct_without_replace(tmp_path: Path, data_dir: Path, repo: ProjectRepository,
                                                        project_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = _volume_file(tmp_path, 4), _volume_file(tmp_path, 6)
    assert main(["import", str(first), "--project", "Case 1", "--data-dir", str(data_dir)]) == 0
    repo.write_artifacts(project_id, Step.GEOMETRY, {"geometry/default/labels.nii.gz": b"labels"})
    before = _digests(repo, project_id, Step.DICOM)
    capsys.readouterr()
    assert main(["import", str(second), "--project", "Case 1", "--data-dir", str(data_dir)]) == 2
    error = capsys.readouterr().err
    assert "already has a CT" in error and "segmentation and airway geometry" in error and "--replace" in error
    assert _digests(repo, project_id, Step.DICOM) == before  # nothing half-written
    assert main(["import", str(second), "--project", "Case 1", "--replace", "--data-dir", str(data_dir)]) == 0
    assert _digests(repo, project_id, Step.DICOM) != before
    statuses = repo.statuses([project_id])[project_id]
    assert statuses[Step.GEOMETRY].outdated  # what was made from the old CT says so


def test_a_second_4pr_measurement_needs_replace(repo: ProjectRepository, project_id: str) -> None:
    request = FourPRImportRequest(filename="a.csv", content=write_csv(generate(duration_s=12.0, seed=1).measurement)
                                  .encode())
    import_4pr(repo, project_id, request)
    before = _digests(repo, project_id, Step.RHINOMANOMETRY)
    with pytest.raises(ReplaceRefused, match="already has 1 4PR measurement"):
        import_4pr(repo, project_id, request)
    assert _digests(repo, project_id, Step.RHINOMANOMETRY) == before
    import_4pr(repo, project_id, request, replace=True)
    assert len(_digests(repo, project_id, Step.RHINOMANOMETRY)) == 4  # the earlier measurement is kept


def test_the_ct_page_keeps_the_ct_until_the_user_confirms(tmp_path: Path, repo: ProjectRepository,
                                                          project_id: str, session: SessionState) -> None:
    state = CTImportState(session=session)
    assert state.upload([_volume_file(tmp_path, 4).read_bytes()], filenames=["a.nii.gz"]) is True
    before = _digests(repo, project_id, Step.DICOM)
    assert state.upload([_volume_file(tmp_path, 6).read_bytes()], filenames=["b.nii.gz"]) is False
    assert state.feedback_kind == "warning" and "Replace the CT, or keep the current one" in state.feedback
    assert _digests(repo, project_id, Step.DICOM) == before and state.volume.hu.shape[0] == 4
    state.keep_current()
    assert state.replace_question == "" and "keeps its CT" in state.feedback
    assert state.confirm_replace() is False and _digests(repo, project_id, Step.DICOM) == before
    state.upload([_volume_file(tmp_path, 6).read_bytes()], filenames=["b.nii.gz"])
    assert state.confirm_replace() is True and state.volume.hu.shape[0] == 6 and state.feedback_kind == "success"
    assert _digests(repo, project_id, Step.DICOM) != before and state.replace_question == ""


def test_the_4pr_page_keeps_the_measurements_until_the_user_confirms(repo: ProjectRepository, project_id: str,
                                                                     session: SessionState) -> None:
    state = RhinomanometryState(session=session)
    content = write_csv(generate(duration_s=12.0, seed=2).measurement).encode()
    assert state.upload("a.csv", content) is True
    assert state.upload("b.csv", content) is False and "already has 1 4PR measurement" in state.replace_question
    state.keep_current()
    assert len(state.measurements) == 1 and state.feedback == "b.csv was not stored: the project keeps its measurements."
    state.upload("b.csv", content)
    assert state.confirm_replace() is True and len(state.measurements) == 2 and state.replace_question == ""
