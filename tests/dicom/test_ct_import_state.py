"""The CT import page model (no display) and a smoke test of its Panel page, against a real SQLite store."""

from __future__ import annotations

import asyncio
import io
import zipfile

import numpy as np
import pytest

from rhinoapp.config import Settings
from rhinoapp.core.workflow import Step, StepStatus
from rhinoapp.dicom.testing import PhiCollection, encode, make_ct_series
from rhinoapp.state.ct_import import CTImportState
from rhinoapp.state.session import SessionState
from rhinoapp.store import ProjectRepository
from rhinoapp.volumes import nifti_bytes


@pytest.fixture
def state(repo: ProjectRepository, settings: Settings) -> CTImportState:
    session = SessionState(repository=repo, settings=settings)
    session.open_project(repo.create("Case 1").id)
    return CTImportState(session=session)


def status(state: CTImportState) -> StepStatus:
    pid = state.session.current_project_id
    return state.session.repository.statuses([pid])[pid][Step.DICOM].status


@pytest.mark.slow
def test_zip_with_several_series_lists_them_then_imports_the_chosen(state: CTImportState,
                                                                     collection: PhiCollection) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in collection.files:
            archive.writestr(name, data)
    assert state.upload([buffer.getvalue()], filenames=["export.zip"]) is False
    assert "3 CT series: choose one" in state.feedback and "2 patients" in state.feedback
    assert [s.usable for s in state.candidates].count(True) == 3 and status(state) is StepStatus.POSSIBLE
    state.series = next(str(s.index) for s in state.candidates if s.description == "Sinus bone")
    assert state.import_series() is True and status(state) is StepStatus.DONE
    assert state.summary["series_description"] == "Sinus bone" and state.candidates == [] and state.progress == 100
    assert state.stored == 1 and state.volume.hu.shape == (4, 16, 16)


@pytest.mark.slow
def test_planes_are_shown_in_radiological_orientation(state: CTImportState) -> None:
    assert asyncio.run(state.upload_async([encode(ds) for ds in make_ct_series(slices=6, shape=(40, 40))]))
    axial = state.plane("axial")
    assert (axial.left, axial.right, axial.top, axial.bottom) == ("R", "L", "A", "P")
    rows, cols = np.nonzero(axial.hu == 2000)  # the marker: patient's left-anterior = viewer's right, top
    assert cols.mean() > 20 and rows.mean() < 20
    coronal, sagittal = state.plane("coronal"), state.plane("sagittal")
    assert (coronal.top, sagittal.left, sagittal.right) == ("S", "A", "P")
    assert coronal.hu.shape == (6, 40) and sagittal.hu.shape == (6, 40)
    state.window = "bone"
    assert state.window_range == (-500.0, 1500.0)
    assert (state.param.axial.bounds, state.axial) == ((0, 5), 3)


@pytest.mark.slow
def test_bad_uploads_and_volumes(state: CTImportState) -> None:
    assert state.upload([b"not a dicom file" * 10]) is False
    assert state.feedback_kind == "error" and "not DICOM" in state.feedback and status(state) is StepStatus.POSSIBLE
    assert state.upload([encode(ds) for ds in make_ct_series(slices=2, shape=(8, 8))]) is False
    assert "at least 3" in state.feedback and state.volume is None
    from rhinoapp.dicom import assemble_volume, group_series

    volume = assemble_volume(group_series(make_ct_series(slices=3, shape=(8, 8), phi=False))[0]).volume
    assert state.upload([nifti_bytes(volume)], filenames=["research.nii.gz"]) is True
    assert state.summary["source"] == "nifti" and status(state) is StepStatus.DONE
    state.session.forget_project(state.session.current_project_id)
    assert state.volume is None and state.upload([b"x"]) is False and "Open a project" in state.feedback


@pytest.mark.slow
def test_the_page_renders(state: CTImportState) -> None:
    pn = pytest.importorskip("panel")
    from rhinoapp.views.ct_import import CTImportPage

    state.upload([encode(ds) for ds in make_ct_series(slices=4, shape=(16, 16))])
    page = CTImportPage(state=state)
    root = pn.panel(page).get_root()
    assert root is not None and state.volume is not None
