"""State of the rhinomanometry (4PR) page: upload, the project's measurements, the one shown.

An upload is read by the tolerant importer (CSV or XLSX), analysed, and published as two
artifacts of the 4PR step, the files of ``ProjectLayout.measurement(<measurement-id>)``: the
recording in rhinoapp's open format (canonical units, inspiration positive) and the 4PR
parameters (:class:`~rhinoapp.rhinomanometry.RhinomanometryParameters`).

Their existence makes the project's 4PR status *done*. Where the project has a measurement, a new
one (which becomes the latest, the one the analysis uses) waits for the user's confirmation:
``replace_question`` says what would become outdated, :meth:`~RhinomanometryState.confirm_replace`
stores it and :meth:`~RhinomanometryState.keep_current` drops it. Problems never raise: they become
a plain-language ``feedback`` (what was wrong and what to do) and nothing is stored.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging

import param

from rhinoapp.core.errors import RhinoappError
from rhinoapp.core.failures import explain, is_unexpected
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.core.workflow import Step
from rhinoapp.rhinomanometry.analysis import analyse
from rhinoapp.rhinomanometry.classification import DEFAULT_OBSTRUCTION_CLASSES, ObstructionClasses
from rhinoapp.rhinomanometry.io import read_csv
from rhinoapp.rhinomanometry.model import Measurement
from rhinoapp.rhinomanometry.request import (
    ACCEPTED_SUFFIXES,
    DEFAULT_MAX_UPLOAD_MB,
    MAX_UPLOAD_MB,
    FourPRImportRequest,
    PreparedUpload,
    check_upload_size,
    prepare_import,
)
from rhinoapp.rhinomanometry.results import AnalysisResult
from rhinoapp.state.session import SessionState
from rhinoapp.usecases.outdating import replacement_of
from rhinoapp.usecases.rhinomanometry import store_4pr

__all__ = ["ACCEPTED_SUFFIXES", "PreparedUpload", "RhinomanometryState", "StoredMeasurement"]

_log = logging.getLogger(__name__)



@dataclasses.dataclass(frozen=True)
class StoredMeasurement:
    """A measurement stored in the project: its id, when it was uploaded, a label for people."""

    id: str
    created: dt.datetime
    label: str


def _sides_text(result: AnalysisResult) -> str:
    return " and ".join(f"{s.side.value} ({len(s.breaths)} breaths)" for s in result.sides)


class RhinomanometryState(param.Parameterized):
    """The 4PR measurements of the session's current project, and uploading new ones.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.rhinomanometry.io import write_csv
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
    max_upload_mb = param.Number(default=DEFAULT_MAX_UPLOAD_MB, bounds=MAX_UPLOAD_MB.bounds,
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
    feedback_kind = param.Selector(objects=["info", "success", "warning", "error"], default="info")
    replace_question = param.String(default="", doc="Non-empty while a new measurement waits for the user to "
                                                    "confirm it: what would become outdated.")

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self._just_stored: tuple[str, Measurement, AnalysisResult] | None = None
        self._waiting: tuple[str, PreparedUpload] | None = None  # a new measurement to confirm
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
        self._drop_waiting()
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

    def check_size(self, filename: str, size_bytes: int) -> bool:
        """Whether a file of ``size_bytes`` may be sent; False with the message naming the limit.

        The page calls it for a file the browser held back, before its bytes were sent.

        Examples
        --------
        >>> state = RhinomanometryState(session=SessionState(), max_upload_mb=10)
        >>> state.check_size("big.csv", 60_000_000), state.feedback_kind, state.feedback
        (False, 'error', 'big.csv was not stored: The file is 60.0 MB, more than the 10 MB allowed; a 4PR recording is far smaller: check that this is the exported recording.')
        """
        try:
            check_upload_size(size_bytes, self.max_upload_mb)
        except RhinoappError as error:
            self._say(f"{filename} was not stored: {error}", "error")
            return False
        return True

    def prepare_upload(self, filename: str, content: bytes) -> PreparedUpload:
        """Check, read and analyse an upload without changing anything (safe in a worker thread).

        Raises
        ------
        ValidationError
            When the file is too large, of another kind, unreadable, or holds no complete
            breath on a side; the message says what to do.
        """
        request = FourPRImportRequest(filename=filename, content=content, max_upload_mb=self.max_upload_mb)
        return prepare_import(request, classes=self.classes)

    def _prepare_or_message(self, filename: str, content: bytes) -> PreparedUpload | str:
        try:
            return self.prepare_upload(filename, content)
        except RhinoappError as error:
            return f"{filename} was not stored: {error}"
        except Exception as error:  # an unforeseen file: say so plainly, keep the details in the log
            if not is_unexpected(error):  # memory, a damaged workbook, an encoding: a sentence for each
                _log.warning("4PR upload refused: %s", type(error).__name__)
                return f"{filename} was not stored: {explain(error)}"
            _log.exception("4PR upload could not be analysed")
            return (f"{filename} was not stored: rhinoapp could not analyse it (the details are in the server log)."
                    " Check that it is a 4PR recording export; if it is, report the problem.")

    def _no_project(self) -> bool:
        if self.session.current_project_id is None:
            self._say("No project is open: open one on the Projects page, then upload its 4PR recording.", "error")
            return True
        return False

    def _drop_waiting(self) -> None:
        self._waiting = None
        self.replace_question = ""

    def confirm_replace(self) -> bool:
        """Store the measurement that waits for confirmation (it becomes the latest); True when stored."""
        waiting, project_id = self._waiting, self.session.current_project_id
        self._drop_waiting()
        if waiting is None or waiting[0] != project_id:
            self._say("No new measurement waits for confirmation: upload it again.", "error")
            return False
        return self.store(waiting[1], replace=True)

    def keep_current(self) -> None:
        """Drop the measurement that waits for confirmation; nothing is stored."""
        if self._waiting is None:
            return
        name = self._waiting[1].filename
        self._drop_waiting()
        self._say(f"{name} was not stored: the project keeps its measurements.", "info")

    def store(self, prepared: PreparedUpload, *, replace: bool = False) -> bool:
        """Publish a prepared upload in the current project and show it; False with a message on failure.

        Where the project has a measurement and ``replace`` is False, nothing is stored: the upload
        waits for :meth:`confirm_replace` and ``replace_question`` says what would become outdated.
        """
        if self._no_project():
            return False
        project_id = self.session.current_project_id
        self._drop_waiting()
        if not replace:
            try:
                found = replacement_of(self.session.repository, project_id, Step.RHINOMANOMETRY)
            except RhinoappError as error:
                self._say(f"{prepared.filename} was not stored: {error}", "error")
                return False
            if found is not None:
                self._waiting = (project_id, prepared)
                self.replace_question = found.question
                self._say(f"{prepared.filename} was read ({_sides_text(prepared.result)}) but not stored yet: "
                          f"{found.question} Store it as the latest measurement, or keep the current ones.", "warning")
                return False
        try:  # both files or neither
            mid = store_4pr(self.session.repository, project_id, prepared, replace=replace)
        except Exception as error:  # a full or read-only disk, a database failure: say so, nothing is stored
            if is_unexpected(error):
                _log.exception("4PR measurement of project %s not stored", project_id)
            else:
                _log.warning("4PR measurement of project %s not stored: %s", project_id, type(error).__name__)
            self._say(f"{prepared.filename} could not be stored: "
                      f"{explain(error, details='the details are in the server log')}", "error")
            return False
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
