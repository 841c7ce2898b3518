"""State of the rhinomanometry (4PR) page: upload, the project's measurements, the one shown.

An upload is read by the tolerant importer (CSV or XLSX), analysed, and published as two
artifacts of the 4PR step, the files of ``ProjectLayout.measurement(<measurement-id>)``: the
recording in rhinoapp's open format (canonical units, inspiration positive) and the 4PR
parameters (:class:`~rhinoapp.rhinomanometry.RhinomanometryParameters`).

Their existence makes the project's 4PR status *done*. Problems never raise: they become a
plain-language ``feedback`` (what was wrong and what to do) and nothing is stored.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import uuid
from pathlib import PurePosixPath

import param

from rhinoapp.core.errors import RhinoappError, ValidationError
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.core.workflow import Step
from rhinoapp.rhinomanometry.analysis import analyse
from rhinoapp.rhinomanometry.classification import DEFAULT_OBSTRUCTION_CLASSES, ObstructionClasses
from rhinoapp.rhinomanometry.io import read_bytes, read_csv, write_csv
from rhinoapp.rhinomanometry.model import Measurement
from rhinoapp.rhinomanometry.parameters import RhinomanometryParameters
from rhinoapp.rhinomanometry.results import AnalysisResult
from rhinoapp.state.session import SessionState

__all__ = ["ACCEPTED_SUFFIXES", "PreparedUpload", "RhinomanometryState", "StoredMeasurement"]

_log = logging.getLogger(__name__)

#: File name endings the upload accepts (text exports and Excel workbooks).
ACCEPTED_SUFFIXES = (".csv", ".txt", ".tsv", ".dat", ".xlsx", ".xlsm", ".xls")


@dataclasses.dataclass(frozen=True)
class StoredMeasurement:
    """A measurement stored in the project: its id, when it was uploaded, a label for people."""

    id: str
    created: dt.datetime
    label: str


@dataclasses.dataclass(frozen=True)
class PreparedUpload:
    """An upload that was read and analysed, with the bytes of both artifacts, ready to store."""

    filename: str
    measurement: Measurement
    result: AnalysisResult
    recording_csv: bytes
    parameters_json: bytes


def _new_id() -> str:
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def _sides_text(result: AnalysisResult) -> str:
    return " and ".join(f"{s.side.value} ({len(s.breaths)} breaths)" for s in result.sides)


class RhinomanometryState(param.Parameterized):
    """The 4PR measurements of the session's current project, and uploading new ones.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.rhinomanometry.synthetic import generate
    >>> from rhinoapp.store import open_store, ProjectRepository
    >>> repo = ProjectRepository(open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))), owner="local")
    >>> session = SessionState(repository=repo)
    >>> session.open_project(repo.create("Case 4").id)
    >>> state = RhinomanometryState(session=session)
    >>> state.upload("case4.csv", write_csv(generate(seed=2).measurement).encode())
    True
    >>> len(state.measurements), [s.side.value for s in state.result.sides], state.feedback_kind
    (1, ['left', 'right'], 'success')
    """

    session = param.ClassSelector(class_=SessionState, constant=True, doc="The session whose project is used.")
    max_upload_mb = param.Number(default=10.0, bounds=(0.001, None),
                                 doc="Largest accepted upload in megabytes (a 4PR export is well below 1 MB).")
    classes = param.ClassSelector(class_=ObstructionClasses, default=DEFAULT_OBSTRUCTION_CLASSES,
                                  doc="Obstruction class limits, from configuration.")
    measurements = param.List(default=[], item_type=StoredMeasurement, doc="The project's measurements, newest first.")
    selected = param.Selector(default=None, objects={}, allow_None=True, label="Measurement",
                              doc="Id of the measurement shown (the options are labelled).")
    measurement = param.ClassSelector(class_=Measurement, default=None, allow_None=True,
                                      doc="The selected recording (inspiration positive).")
    result = param.ClassSelector(class_=AnalysisResult, default=None, allow_None=True,
                                 doc="The analysis of the selected recording.")
    busy = param.Boolean(default=False, doc="True while an upload is read and analysed.")
    stored = param.Integer(default=0, doc="Counts the uploads stored; other pages watch it to refresh.")
    feedback = param.String(default="", doc="Last message for the user.")
    feedback_kind = param.Selector(objects=["info", "success", "error"], default="info")

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self._just_stored: tuple[str, Measurement, AnalysisResult] | None = None
        self.reload()

    # -- reading the project ------------------------------------------------------------------
    def _read_list(self) -> list[StoredMeasurement]:
        """Re-read the current project's measurements into ``measurements`` and the selector."""
        project_id = self.session.current_project_id
        found: dict[str, dt.datetime] = {}
        if project_id is not None:
            try:
                artifacts = self.session.repository.artifacts(project_id, Step.RHINOMANOMETRY)
            except RhinoappError as error:
                self._say(str(error), "error")
                artifacts = []
            for info in artifacts:
                mid = ProjectLayout.measurement_of(info.name)
                if mid is not None and info.name == str(ProjectLayout().measurement(mid).recording):
                    found[mid] = info.created
        ordered = sorted(found.items(), key=lambda item: (item[1], item[0]), reverse=True)
        rows = [StoredMeasurement(mid, created, f"Measurement {n}, uploaded {created.astimezone():%Y-%m-%d %H:%M}")
                for n, (mid, created) in zip(range(len(ordered), 0, -1), ordered, strict=True)]
        self.param.selected.objects = {row.label: row.id for row in rows}
        self.measurements = rows
        return rows

    @param.depends("session.current_project_id", watch=True)
    def reload(self) -> None:
        """Re-read the current project's measurements; show the one shown before, else the newest."""
        self._say("", "info")
        rows = self._read_list()
        ids = [row.id for row in rows]
        keep = self.selected if self.selected in ids else (ids[0] if ids else None)
        if keep == self.selected:
            self._load_selected()
        else:
            self.selected = keep

    @param.depends("selected", watch=True)
    def _load_selected(self) -> None:
        if self.selected is None or self.session.current_project_id is None:
            self.param.update(measurement=None, result=None)
            return
        just_stored, self._just_stored = self._just_stored, None  # used once, right after storing
        if just_stored is not None and just_stored[0] == self.selected:
            self.param.update(measurement=just_stored[1], result=just_stored[2])
            return
        name = str(ProjectLayout().measurement(self.selected).recording)
        try:
            artifacts = self.session.repository.artifacts(self.session.current_project_id, Step.RHINOMANOMETRY)
            info = next(a for a in artifacts if a.name == name)
            measurement = read_csv(info.path.read_text(encoding="utf-8"), source=name)
            result = analyse(measurement, classes=self.classes)
        except (RhinoappError, OSError, StopIteration) as error:
            _log.warning("stored 4PR recording %s could not be read: %s", name, error)
            self.param.update(measurement=None, result=None)
            self._say(f"The stored recording {self.selected} could not be read ({error}); upload it again.", "error")
            return
        self.param.update(measurement=measurement, result=result)

    # -- uploading ---------------------------------------------------------------------------
    def _say(self, text: str, kind: str) -> None:
        self.param.update(feedback=text, feedback_kind=kind)

    def prepare_upload(self, filename: str, content: bytes) -> PreparedUpload:
        """Check, read and analyse an upload without changing anything (safe in a worker thread).

        Raises
        ------
        ValidationError
            When the file is too large, of another kind, unreadable, or holds no complete
            breath on a side; the message says what to do.
        """
        size_mb = len(content) / 1e6
        if not content:
            raise ValidationError("The file is empty; export the recording again and upload that file.")
        if size_mb > self.max_upload_mb:
            raise ValidationError(f"The file is {size_mb:.1f} MB, more than the {self.max_upload_mb:g} MB allowed;"
                                  " a 4PR recording is far smaller: check that this is the exported recording.")
        suffix = PurePosixPath(filename.lower()).suffix
        if suffix and suffix not in ACCEPTED_SUFFIXES:
            raise ValidationError(f"A {suffix} file is not a 4PR recording; upload the device's export as CSV or text"
                                  " (.csv, .txt) or as an Excel workbook (.xlsx).")
        recorded = read_bytes(content, filename=filename)
        measurement = recorded.normalised()
        if measurement is not recorded and "recorded_inspiration_sign" not in dict(recorded.metadata.extra):
            recorded_sign = ("recorded_inspiration_sign", recorded.metadata.inspiration_sign.value)
            extra = (*measurement.metadata.extra, recorded_sign)
            measurement = Measurement(dataclasses.replace(measurement.metadata, extra=extra), measurement.recordings)
        result = analyse(measurement, classes=self.classes)
        for side in result.sides:
            if not side.breaths:
                raise ValidationError(
                    f"The {side.side.value} side holds no complete breath (from the start of one inspiration to the"
                    " next); record or export at least two full breaths per side and upload again.")
        return PreparedUpload(filename, measurement, result, write_csv(measurement).encode("utf-8"),
                              RhinomanometryParameters.from_analysis(result).to_json())

    def _prepare_or_message(self, filename: str, content: bytes) -> PreparedUpload | str:
        try:
            return self.prepare_upload(filename, content)
        except RhinoappError as error:
            return f"{filename} was not stored: {error}"
        except Exception:  # an unforeseen file: say so plainly, keep the details in the log
            _log.exception("4PR upload could not be analysed")
            return (f"{filename} was not stored: rhinoapp could not analyse it (the details are in the server log)."
                    " Check that it is a 4PR recording export; if it is, report the problem.")

    def _no_project(self) -> bool:
        if self.session.current_project_id is None:
            self._say("No project is open: open one on the Projects page, then upload its 4PR recording.", "error")
            return True
        return False

    def store(self, prepared: PreparedUpload) -> bool:
        """Publish a prepared upload in the current project and show it; False with a message on failure."""
        if self._no_project():
            return False
        project_id, mid = self.session.current_project_id, _new_id()
        repo = self.session.repository
        try:  # both files or neither
            folder = ProjectLayout().measurement(mid)
            repo.write_artifacts(project_id, Step.RHINOMANOMETRY, {str(folder.recording): prepared.recording_csv,
                                                                  str(folder.parameters): prepared.parameters_json})
        except (RhinoappError, OSError) as error:
            _log.warning("4PR measurement %s of project %s not stored: %s", mid, project_id, error)
            self._say(f"{prepared.filename} could not be stored: {error}", "error")
            return False
        _log.info("4PR measurement %s stored in project %s", mid, project_id)
        self._just_stored = (mid, prepared.measurement, prepared.result)
        self._read_list()
        self.selected = mid
        self.stored += 1
        total = prepared.result.total.r150
        summary = f" Total R150: {total.value:.3f} Pa·s/ml." if total.value is not None else ""
        self._say(f"{prepared.filename} stored: {_sides_text(prepared.result)}.{summary}", "success")
        return True

    def upload(self, filename: str, content: bytes) -> bool:
        """Read, analyse and store an upload; True when stored, else False with a message."""
        if self._no_project():
            return False
        prepared = self._prepare_or_message(filename, content)
        if isinstance(prepared, str):
            self._say(prepared, "error")
            return False
        return self.store(prepared)

    async def upload_async(self, filename: str, content: bytes) -> bool:
        """As :meth:`upload`, but reading and analysis run in a worker thread (the server stays responsive)."""
        if self._no_project():
            return False
        self.param.update(busy=True, feedback=f"Reading {filename}…", feedback_kind="info")
        try:
            prepared = await asyncio.to_thread(self._prepare_or_message, filename, content)
        finally:
            self.busy = False
        if isinstance(prepared, str):
            self._say(prepared, "error")
            return False
        return self.store(prepared)
