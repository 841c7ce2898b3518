"""The rhinomanometry (4PR) page model, driven without any display against a real SQLite store."""

from __future__ import annotations

import asyncio
import io
import json

import openpyxl
import pytest

from rhinoapp.core.errors import StoreError
from rhinoapp.core.workflow import Step, StepStatus
from rhinoapp.rhinomanometry.io import read_csv, write_csv
from rhinoapp.rhinomanometry.model import Measurement, SignConvention
from rhinoapp.rhinomanometry.synthetic import generate
from rhinoapp.state import SessionState
from rhinoapp.state.rhinomanometry import RhinomanometryState


def recording(seed: int = 1, **options: object) -> bytes:
    return write_csv(generate(duration_s=12.0, seed=seed, **options).measurement).encode()


@pytest.fixture
def session(repo) -> SessionState:
    session = SessionState(repository=repo)
    session.open_project(repo.create("Case 1").id)
    return session


@pytest.fixture
def state(session: SessionState) -> RhinomanometryState:
    return RhinomanometryState(session=session)


def status(state: RhinomanometryState) -> StepStatus:
    pid = state.session.current_project_id
    return state.session.repository.statuses([pid])[pid][Step.RHINOMANOMETRY].status


def stored_names(state: RhinomanometryState) -> list[str]:
    return [a.name for a in state.session.repository.artifacts(state.session.current_project_id)]


def test_upload_stores_recording_and_parameters_and_marks_4pr_done(state: RhinomanometryState) -> None:
    events: list[str] = []
    state.param.watch(lambda e: events.append(e.name), ["result", "stored"])
    assert status(state) is StepStatus.POSSIBLE and state.result is None
    assert state.upload("case1.csv", recording()) is True
    [entry] = state.measurements
    assert state.selected == entry.id and state.param.selected.names == {entry.label: entry.id}
    assert stored_names(state) == [f"rhinomanometry/{entry.id}/parameters.json",
                                   f"rhinomanometry/{entry.id}/recording.csv"]
    assert status(state) is StepStatus.DONE
    assert state.feedback_kind == "success" and state.feedback.startswith("case1.csv stored: left (")
    assert "Total R150: 0." in state.feedback and state.stored == 1 and sorted(set(events)) == ["result", "stored"]
    folder = state.session.repository.project_dir(state.session.current_project_id) / "rhinomanometry" / entry.id
    assert read_csv((folder / "recording.csv").read_text()) == state.measurement
    assert json.loads((folder / "parameters.json").read_text()) == json.loads(json.dumps(state.result.as_dict()))


def test_workbook_upload(state: RhinomanometryState) -> None:
    m = generate(duration_s=12.0, seed=4).measurement
    book = openpyxl.Workbook()
    book.active.append(["Zeit [s]", "Seite", "dP [Pa]", "Fluss [ml/s]"])
    for r in m.recordings:
        for t, p, v in zip(r.t_s, r.dp_pa, r.flow_ml_s, strict=True):
            book.active.append([float(t), r.side.letter, float(p), float(v)])
    buffer = io.BytesIO()
    book.save(buffer)
    assert state.upload("export.xlsx", buffer.getvalue()) is True
    assert [s.side.value for s in state.result.sides] == ["left", "right"] and status(state) is StepStatus.DONE


def test_inverted_recording_is_stored_inspiration_positive(state: RhinomanometryState) -> None:
    assert state.upload("neg.csv", recording(inspiration_sign=SignConvention.INSPIRATION_NEGATIVE)) is True
    meta = state.measurement.metadata
    assert meta.inspiration_sign is SignConvention.INSPIRATION_POSITIVE
    assert ("recorded_inspiration_sign", "negative") in meta.extra
    assert state.result.side(state.measurement.sides[0]).mean("r150").value > 0


@pytest.mark.parametrize(("filename", "content", "phrase"), [
    ("empty.csv", b"", "The file is empty; export the recording again"),
    ("scan.pdf", b"%PDF-1.7", "A .pdf file is not a 4PR recording; upload the device's export as CSV"),
    ("noflow.csv", b"t_s,side,dp_pa\n0,L,0\n", "The header has no flow column"),
    ("book.xlsx", b"PK\x03\x04broken", "is not a readable XLSX workbook"),
    ("short.csv", b"t_s,side,dp_pa,flow_ml_s\n0,L,0,0\n0.01,L,1,2\n0.02,L,2,4\n", "left side holds no complete breath"),
])
def test_bad_files_give_a_plain_message_and_store_nothing(state: RhinomanometryState, filename: str, content: bytes,
                                                          phrase: str) -> None:
    assert state.upload(filename, content) is False
    assert state.feedback_kind == "error" and state.feedback.startswith(f"{filename} was not stored: ")
    assert phrase in state.feedback
    assert stored_names(state) == [] and state.measurements == [] and status(state) is StepStatus.POSSIBLE


def test_size_limit(state: RhinomanometryState) -> None:
    state.max_upload_mb = 0.01
    assert state.upload("big.csv", recording()) is False
    assert "MB allowed; a 4PR recording is far smaller" in state.feedback and stored_names(state) == []


def test_unforeseen_failure_is_reported_plainly(state: RhinomanometryState, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("numerical trouble")

    monkeypatch.setattr("rhinoapp.rhinomanometry.request.analyse", broken)
    assert state.upload("odd.csv", recording()) is False
    assert "could not analyse it (the details are in the server log)" in state.feedback and stored_names(state) == []


def test_store_failure_is_reported(state: RhinomanometryState, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*_args: object, **_kwargs: object) -> None:
        raise StoreError("The disk is full: free some space.")

    monkeypatch.setattr(state.session.repository, "write_artifacts", full)
    assert state.upload("case.csv", recording()) is False
    assert state.feedback == "case.csv could not be stored: The disk is full: free some space."
    assert state.stored == 0 and state.measurements == []


def test_no_project_open(repo) -> None:
    state = RhinomanometryState(session=SessionState(repository=repo))
    assert state.upload("case.csv", recording()) is False
    assert state.feedback.startswith("No project is open: open one on the Projects page")


def test_project_change_reloads(state: RhinomanometryState) -> None:
    session, repo = state.session, state.session.repository
    first = session.current_project_id
    state.upload("a.csv", recording(seed=1))
    assert state.upload("b.csv", recording(seed=2)) is False  # a second one waits for the user's confirmation
    assert state.replace_question and state.confirm_replace() and not state.replace_question
    newest, older = (m.id for m in state.measurements)
    assert [label.split(",")[0] for label in state.param.selected.names] == ["Measurement 2", "Measurement 1"]
    assert state.selected == newest
    shown = state.result.as_dict()
    session.open_project(repo.create("Case 2").id)
    assert (state.measurements, state.selected, state.result, state.feedback) == ([], None, None, "")
    session.open_project(first)
    assert [m.id for m in state.measurements] == [newest, older] and state.selected == newest
    assert state.result.as_dict() == shown  # read back from the stored recording
    state.selected = older
    assert state.measurement == read_csv(recording(seed=1).decode()).normalised()
    session.forget_project(first)
    assert state.result is None and state.measurements == []


def test_unreadable_stored_recording(state: RhinomanometryState) -> None:
    state.upload("a.csv", recording())
    [entry] = state.measurements
    folder = state.session.repository.project_dir(state.session.current_project_id) / "rhinomanometry" / entry.id
    (folder / "recording.csv").write_text("garbage", encoding="utf-8")
    state.selected = None
    state.selected = entry.id
    assert state.result is None and state.feedback_kind == "error"
    assert "could not be read" in state.feedback and "upload it again" in state.feedback


def test_upload_async_runs_the_analysis_off_the_loop(state: RhinomanometryState) -> None:
    seen: list[bool] = []
    state.param.watch(lambda e: seen.append(e.new), "busy")
    assert asyncio.run(state.upload_async("case.csv", recording())) is True
    assert seen == [True, False] and isinstance(state.measurement, Measurement) and status(state) is StepStatus.DONE
    assert asyncio.run(state.upload_async("bad.csv", b"nonsense")) is False and state.feedback_kind == "error"
