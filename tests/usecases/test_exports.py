"""Downloads of a finished run and of a 4PR measurement: each file opens with its reader, names say what it is."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rhinoapp.core.errors import NotFoundError
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.core.workflow import Step
from rhinoapp.rhinomanometry.io import write_csv
from rhinoapp.rhinomanometry.synthetic import generate
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.usecases.exports import MeasurementFile, RunFile, measurement_export, run_export
from tests.usecases.conftest import FIELDS_GEOMETRY, field_arrays, publish_run

@pytest.fixture
def finished_run(repo: ProjectRepository, project_id: str) -> str:
    return publish_run(repo, project_id)


def _rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def _read_vtk(path: Path) -> object:
    from vtkmodules.vtkIOXML import vtkXMLImageDataReader, vtkXMLPolyDataReader

    reader = vtkXMLImageDataReader() if path.suffix == ".vti" else vtkXMLPolyDataReader()
    reader.SetFileName(str(path))
    reader.Update()
    return reader.GetOutput()


def test_every_run_file_opens_with_its_reader(repo: ProjectRepository, project_id: str, finished_run: str,
                                              tmp_path: Path) -> None:
    repo.update(project_id, name="Case 1 (Dr. Müller), pre-op")  # a label the user typed: reduced to safe characters
    files = {kind: run_export(repo, project_id, finished_run, kind) for kind in RunFile}
    for kind, export in files.items():
        assert export.name.startswith("Case-1-Dr-M-ller-pre-op_run-0001_20") and export.name.endswith(kind.suffix)
        assert "/" not in export.name and " " not in export.name
    assert json.loads(files[RunFile.RESULTS_JSON].content)["pressure_drop_pa"] == 20.0
    results = {row["key"]: row for row in _rows(files[RunFile.RESULTS_CSV].content)}
    assert results["pressure_drop_pa"]["compared"] == "within" and results["resistance_total"]["compared"] == "within"
    assert float(results["resistance_total"]["healthy_high"]) == pytest.approx(20.0 / 250.0)
    assert results["wss_max_pa"]["range_source"] == "no published healthy range"
    sides = {row["side"]: row for row in _rows(files[RunFile.PER_SIDE_CSV].content)}
    assert float(sides["left"]["flow_ml_s"]) == 130.0 and float(sides["left"]["mcsa_cm2"]) == 0.55
    sections = _rows(files[RunFile.CROSS_SECTIONS_CSV].content)
    assert len(sections) == 6 and sections[0] == {"side": "left", "distance_from_nostril_mm": "0.0", "area_cm2": "1.2"}
    profile = _rows(files[RunFile.PRESSURE_PROFILE_CSV].content)
    assert [float(row["mean_pressure_pa"]) for row in profile] == [-1.0, -8.0, -19.5]
    assert [row["step"] for row in _rows(files[RunFile.CONVERGENCE_CSV].content)] == ["100", "200"]
    for kind in (RunFile.FIELDS, RunFile.WALL):  # VTK's own readers, as ParaView uses them
        path = tmp_path / files[kind].name
        path.write_bytes(files[kind].content)
        data = _read_vtk(path)
        assert data.GetNumberOfPoints() > 100
        names = {data.GetPointData().GetArrayName(i) for i in range(data.GetPointData().GetNumberOfArrays())}
        assert ({"pressure_pa", "velocity_m_s"} <= names) if kind is RunFile.FIELDS else {"pressure", "wss"} <= names
    with zipfile.ZipFile(io.BytesIO(files[RunFile.ZIP].content)) as archive:
        assert archive.testzip() is None
        inside = {Path(name).name for name in archive.namelist()}
        assert inside == {files[kind].name for kind in RunFile if kind is not RunFile.ZIP}


def test_the_fields_open_as_nifti_with_their_place(repo: ProjectRepository, project_id: str, finished_run: str,
                                                   tmp_path: Path) -> None:
    nib = pytest.importorskip("nibabel")
    arrays = field_arrays()
    expected = {RunFile.PRESSURE_NIFTI: arrays["pressure_pa"],
                RunFile.SPEED_NIFTI: np.linalg.norm(arrays["velocity_m_s"], axis=-1)}
    for kind, values in expected.items():
        export = run_export(repo, project_id, finished_run, kind)
        path = tmp_path / export.name
        path.write_bytes(export.content)
        image = nib.load(path)
        assert export.name.endswith(".nii.gz") and image.shape == FIELDS_GEOMETRY.shape[::-1]
        assert nib.aff2axcodes(image.affine) == ("L", "P", "S")  # LPS data in a RAS affine, like the CT
        assert np.allclose(image.affine, FIELDS_GEOMETRY.affine_ras)
        assert np.allclose(np.asarray(image.dataobj).transpose(2, 1, 0), values)


def test_the_fields_open_in_pyvista_too(repo: ProjectRepository, project_id: str, finished_run: str,
                                        tmp_path: Path) -> None:
    pyvista = pytest.importorskip("pyvista")
    for kind in (RunFile.FIELDS, RunFile.WALL):
        export = run_export(repo, project_id, finished_run, kind)
        path = tmp_path / export.name
        path.write_bytes(export.content)
        assert pyvista.read(path).n_points > 100


def test_another_users_project_or_run_is_not_found(repo: ProjectRepository, project_id: str, finished_run: str) -> None:
    stranger = ProjectRepository(repo.store, owner="someone-else")
    with pytest.raises(NotFoundError):
        run_export(stranger, project_id, finished_run, RunFile.RESULTS_JSON)
    with pytest.raises(NotFoundError, match="No finished run"):
        run_export(repo, project_id, "run-9999", RunFile.ZIP)
    with pytest.raises(NotFoundError):
        measurement_export(stranger, project_id, "m1", MeasurementFile.LOOPS_CSV)


def test_measurement_files_open_as_csv_and_json(repo: ProjectRepository, project_id: str) -> None:
    measurement = generate(duration_s=12.0, seed=3).measurement
    repo.write_artifacts(project_id, Step.RHINOMANOMETRY,
                         {str(ProjectLayout().measurement("m1").recording): write_csv(measurement).encode()})
    parameters = measurement_export(repo, project_id, "m1", MeasurementFile.PARAMETERS_CSV)
    assert parameters.name.startswith("Case-1_m1_20") and parameters.name.endswith("_4pr_parameters.csv")
    rows = _rows(parameters.content)
    r150 = {row["side"]: row for row in rows if row["parameter"] == "r150"}
    assert set(r150) == {"left", "right", "both"} and r150["left"]["unit"] == "Pa·s/ml"
    assert float(r150["left"]["mean"]) > 0
    document = json.loads(measurement_export(repo, project_id, "m1", MeasurementFile.PARAMETERS_JSON).content)
    assert {side["side"] for side in document["sides"]} == {"left", "right"}
    loops = _rows(measurement_export(repo, project_id, "m1", MeasurementFile.LOOPS_CSV).content)
    assert {row["side"] for row in loops} == {"left", "right"} and len({row["phase"] for row in loops}) == 4
    assert all(abs(float(row["pressure_difference_pa"])) < 1e4 for row in loops)
    with pytest.raises(NotFoundError, match="No 4PR measurement"):
        measurement_export(repo, project_id, "m2", MeasurementFile.LOOPS_CSV)
