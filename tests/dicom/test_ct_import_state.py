"""The CT import page model (no display) and a smoke test of its Panel page, against a real SQLite store."""

from __future__ import annotations

import asyncio
import hashlib
import io
import threading
import zipfile

import numpy as np
import pytest

from rhinoapp.config import Settings
from rhinoapp.core.layout import ProjectLayout
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
def test_slices_are_shown_in_radiological_orientation_in_patient_millimetres(state: CTImportState) -> None:
    assert asyncio.run(state.upload_async([encode(ds) for ds in make_ct_series(slices=6, shape=(40, 40))]))
    viewer = state.viewer
    assert viewer.volume is state.volume
    axial = viewer.image("axial")
    assert (axial.horizontal, axial.vertical, axial.invert_vertical) == ("x", "y", True)
    rows, cols = np.nonzero(axial.values == 2000)  # the marker: patient's left-anterior
    # the first row holds the highest y (posterior); drawn with y growing downwards, anterior is at the top
    assert cols.mean() > 20 and rows.mean() > 20
    coronal, sagittal = viewer.image("coronal"), viewer.image("sagittal")
    assert coronal.values.shape == (6, 40) and sagittal.values.shape == (6, 40)
    geometry = state.volume.geometry
    low = geometry.index_to_physical((0, 0, 0))
    assert axial.bounds[0] == pytest.approx(low[0] - geometry.spacing_mm[0] / 2)  # LPS mm, not centred
    viewer.preset = "bone"
    assert viewer.window_range == (-500.0, 1500.0)
    assert (viewer.param.axial.bounds, viewer.axial) == ((0, 5), 3)


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


@pytest.mark.slow
def test_a_tilted_unevenly_spaced_series_is_refused_by_name_or_resampled_with_a_warning(state: CTImportState) -> None:
    pn = pytest.importorskip("panel")
    from rhinoapp.views.ct_import import CTImportPage

    upload = [encode(ds) for ds in make_ct_series(positions_mm=(0.0, 4.0, 8.0, 9.0, 16.0, 23.0), shape=(16, 16),
                                                  tilt_deg=18.5)]
    assert state.upload(upload) is False and state.feedback_kind == "error"
    assert "Uneven slice spacing" in state.feedback and "gantry tilt of 18.5 degrees" in state.feedback
    assert "missing slices" not in state.feedback and "'resample' under Gantry tilt" in state.feedback
    state.tilt = "resample"
    assert state.upload(upload) is True and state.feedback_kind == "warning"
    assert "Warning: resampled onto a regular orthogonal grid" in state.feedback
    [warning] = state.summary["assembly"]["warnings"]
    assert "interpolated, not measured" in warning
    summary = CTImportPage(state=state)._summary()
    assert isinstance(summary, pn.pane.Markdown) and "**Warning:** resampled onto" in summary.object


def series_files(folder: str, slices: int, **kwargs: object) -> dict[str, bytes]:
    """A CT series as the browser names a dropped folder's files."""
    return {f"/{folder}/IM{i:04d}": encode(ds) for i, ds in enumerate(make_ct_series(slices=slices, shape=(16, 16),
                                                                                        **kwargs))}


def stored_ct_digest(state: CTImportState) -> str | None:
    pid = state.session.current_project_id
    path = state.session.repository.project_dir(pid) / str(ProjectLayout().ct_volume)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def deliver(state: CTImportState, files: dict[str, bytes]) -> list[bool]:
    return [state.receive_file(name, data) for name, data in files.items()]


@pytest.mark.slow
def test_a_folder_arriving_in_batches_is_read_once_when_complete(state: CTImportState) -> None:
    files = series_files("CT", 13)
    names = list(files)
    assert state.expect_files(names) is False
    batches = [names[i:i + 4] for i in range(0, 13, 4)]
    for batch in batches[:-1]:
        assert deliver(state, {n: files[n] for n in batch}) == [False] * len(batch)
        received = names.index(batch[-1]) + 1
        assert state.feedback == f"Received {received} of 13 files." and state.busy
        assert state.volume is None and stored_ct_digest(state) is None and status(state) is StepStatus.POSSIBLE
    assert state.finish_upload() is False  # incomplete: nothing read
    assert deliver(state, {n: files[n] for n in batches[-1]})[-1] is True
    assert state.finish_upload() is True
    assert state.stored == 1 and state.volume.hu.shape == (13, 16, 16) and status(state) is StepStatus.DONE
    assert state.finish_upload() is False and state.stored == 1  # the upload was read once


@pytest.mark.slow
def test_an_interrupted_upload_leaves_the_previous_ct_byte_identical(state: CTImportState) -> None:
    previous = series_files("first", 5)
    state.expect_files(list(previous))
    assert deliver(state, previous)[-1] and state.finish_upload()
    digest = stored_ct_digest(state)
    files = series_files("second", 12, series=2)
    state.expect_files(list(files))
    deliver(state, dict(list(files.items())[:6]))
    assert state.feedback == "Received 6 of 12 files."
    state.close()  # the page closed: its session ends
    assert deliver(state, dict(list(files.items())[6:])) == [False] * 6
    assert state.finish_upload() is False and state.upload(list(files.values())) is False
    assert stored_ct_digest(state) == digest and state.stored == 1


@pytest.mark.slow
def test_files_of_an_earlier_upload_are_not_mixed_in(state: CTImportState) -> None:
    first = series_files("a", 4, series=1)
    state.expect_files(list(first))
    deliver(state, first)
    assert state.finish_upload() and state.volume.hu.shape[0] == 4
    unfinished = series_files("b", 6, series=2)
    state.expect_files(list(unfinished))
    deliver(state, dict(list(unfinished.items())[:3]))
    second = series_files("c", 7, series=3)
    state.expect_files(list(second))  # a new drop replaces the unfinished one
    assert state.feedback == "Received 0 of 7 files."
    deliver(state, dict(list(unfinished.items())[3:]))  # stragglers of the replaced drop
    assert deliver(state, second)[-1] is True and not state.finish_upload()  # the project has a CT: asks first
    assert state.volume.hu.shape[0] == 4 and state.confirm_replace()
    assert state.volume.hu.shape[0] == 7 and state.stored == 2 and state.candidates == []


@pytest.mark.slow
def test_a_complete_mixed_series_upload_opens_the_picker(state: CTImportState) -> None:
    files = {**series_files("x/1", 4, series=1, description="Sinus soft"),
             **series_files("x/2", 5, series=2, description="Sinus bone")}
    names = list(files)
    deliver(state, dict(list(files.items())[:3]))  # files may reach the server before the announcement
    state.expect_files(names)
    assert deliver(state, dict(list(files.items())[3:]))[-1] is True
    assert state.finish_upload() is False and "2 CT series: choose one" in state.feedback
    assert len(state.candidates) == 2 and stored_ct_digest(state) is None
    state.series = next(str(s.index) for s in state.candidates if s.description == "Sinus bone")
    assert state.import_series() is True and state.volume.hu.shape[0] == 5 and state.stored == 1


@pytest.mark.slow
def test_withdrawn_files_complete_the_upload(state: CTImportState) -> None:
    files = series_files("w", 4)
    state.expect_files([*files, "/w/too-large.dcm"])
    deliver(state, files)
    assert state.feedback == "Received 4 of 5 files." and state.withdraw_files(["/w/too-large.dcm"]) is True
    assert state.finish_upload() and state.volume.hu.shape[0] == 4


@pytest.mark.slow
def test_the_upload_is_read_off_the_event_loop(state: CTImportState) -> None:
    threads = set()
    state.param.watch(lambda _event: threads.add(threading.current_thread()), "progress")
    files = series_files("t", 5)
    state.expect_files(list(files))
    deliver(state, files)

    async def finish() -> tuple[bool, threading.Thread]:
        return await state.finish_upload_async(), threading.current_thread()

    stored, loop_thread = asyncio.run(finish())
    assert stored and state.volume.hu.shape[0] == 5
    assert threads - {loop_thread}, "the upload was read on the event loop's thread"
