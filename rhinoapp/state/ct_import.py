"""State of the CT import: upload, series picker, the stored volume and its slice views.

An upload (DICOM files or zips, or one NIfTI/NRRD volume) is de-identified in memory as it is
read (:mod:`rhinoapp.dicom`); only de-identified series are kept while the user picks one. A
browser upload arrives file by file: its files are collected (:class:`UploadCollection`) and the
upload is read once, when all of them arrived; an interrupted upload stores nothing. The
import stores the CT volume and its metadata (``ProjectLayout.ct_volume``, ``ct_metadata``) together (step DICOM), which makes the
project's DICOM status *done*. A project that has a CT keeps it until the user confirms the
replacement: the new volume waits in memory, ``replace_question`` says what would become outdated,
and :meth:`~CTImportState.confirm_replace` stores it or :meth:`~CTImportState.keep_current` drops it.
Problems never raise: they become ``feedback`` and nothing is stored.
No Panel here: the page (:mod:`rhinoapp.views.ct_import`) only binds widgets to these parameters.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import param

from rhinoapp.core.errors import RhinoappError
from rhinoapp.core.failures import explain, is_unexpected
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.core.volume import CTMetadata, CTVolume
from rhinoapp.core.workflow import Step
from rhinoapp.dicom import SeriesSummary, TiltPolicy, UploadLimits, read_uploaded
from rhinoapp.dicom.request import CTImportRequest
from rhinoapp.state.session import SessionState
from rhinoapp.state.slice_viewer import SliceViewerState
from rhinoapp.state.upload_collection import UploadCollection
from rhinoapp.usecases.ct_import import PendingUpload, assemble_series, open_upload, research_volume, store_ct
from rhinoapp.usecases.outdating import replacement_of
from rhinoapp.volumes import read_nifti

__all__ = ["CTImportState"]

_log = logging.getLogger(__name__)

VOLUME, METADATA = str(ProjectLayout().ct_volume), str(ProjectLayout().ct_metadata)


class CTImportState(param.Parameterized):
    """The current project's CT: importing one and looking at it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.dicom.testing import encode, make_ct_series
    >>> from rhinoapp.store import open_store, ProjectRepository
    >>> settings = Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))
    >>> repo = ProjectRepository(open_store(settings), owner="local")
    >>> session = SessionState(repository=repo, settings=settings)
    >>> session.open_project(repo.create("Case 5").id)
    >>> state = CTImportState(session=session)
    >>> state.upload([encode(ds) for ds in make_ct_series(slices=4, shape=(16, 16))])
    True
    >>> state.feedback_kind, state.volume.hu.shape, state.summary["series_description"]
    ('success', (4, 16, 16), 'Sinus 0.75 H30s')
    """

    session = param.ClassSelector(class_=SessionState, constant=True, doc="The session whose project is used.")
    candidates = param.List(default=[], item_type=SeriesSummary, doc="Series of the pending upload.")
    series = param.Selector(default=None, objects={}, allow_None=True, label="Series",
                            doc="List number (as text) of the series to import.")
    tilt = param.Selector(objects=[p.value for p in TiltPolicy], default=CTImportRequest().tilt.value,
                          doc="What to do with a gantry-tilted or unevenly spaced series.")
    progress = param.Integer(default=0, bounds=(0, 100), doc="Progress of the running upload, in percent.")
    busy = param.Boolean(default=False, doc="True while an upload is read or imported.")
    volume = param.ClassSelector(class_=CTVolume, default=None, allow_None=True, doc="The stored volume.")
    summary = param.Dict(default={}, doc="The stored volume's metadata (volume/ct.json).")
    viewer = param.ClassSelector(class_=SliceViewerState, constant=True, doc="The slice views of the volume.")
    stored = param.Integer(default=0, doc="Counts the imports stored; other pages watch it to refresh.")
    feedback = param.String(default="", doc="Last message for the user.")
    feedback_kind = param.Selector(objects=["info", "success", "warning", "error"], default="info")
    replace_question = param.String(default="", doc="Non-empty while a new CT waits for the user to confirm "
                                                    "that it replaces the project's CT: what would become outdated.")

    def __init__(self, **params: object) -> None:
        params.setdefault("viewer", SliceViewerState())
        super().__init__(**params)
        self._pending: PendingUpload | None = None
        self._waiting: tuple[str, CTVolume, dict, CTImportRequest] | None = None  # a replacement to confirm
        self._closed = False
        self._collection = UploadCollection(max_bytes=self.session.settings.max_upload_mb * 1024 * 1024)
        self.reload()

    # -- the stored volume ---------------------------------------------------------------------
    @param.depends("session.current_project_id", watch=True)
    def reload(self) -> None:
        """Read the current project's stored volume and metadata (or clear them)."""
        self._forget_pending()
        self._collection.clear()
        volume, summary = None, {}
        project_id = self.session.current_project_id
        if project_id is not None:
            try:
                names = {a.name: a.path for a in self.session.repository.artifacts(project_id, Step.DICOM)}
                if VOLUME in names and METADATA in names:
                    volume = read_nifti(names[VOLUME])
                    summary = dict(CTMetadata.from_json(names[METADATA].read_bytes()).document)
            except (RhinoappError, OSError, ValueError) as error:
                _log.warning("stored CT of project %s could not be read: %s", project_id, type(error).__name__)
                self._say("The stored CT could not be read; import it again.", "error")
        self._show(volume, summary)

    def _show(self, volume: CTVolume | None, summary: dict) -> None:
        self.param.update(volume=volume, summary=summary)
        self.viewer.volume = volume

    # -- importing -----------------------------------------------------------------------------
    def _say(self, text: str, kind: str) -> None:
        self.param.update(feedback=text, feedback_kind=kind)

    def _forget_pending(self) -> None:
        self._pending = None
        self._waiting = None
        self.replace_question = ""
        self.param.series.objects = {}
        self.param.update(candidates=[], series=None)

    def upload(self, contents: Sequence[bytes], *, filenames: Sequence[str] = ()) -> bool:
        """Read an upload; import it at once when it holds one usable series (or is a volume file).

        With several candidate series, they are listed in ``candidates`` and :meth:`import_series`
        imports the one chosen in ``series``. Returns True when something was stored.
        """
        project_id = self.session.current_project_id
        if self._closed:
            return False
        if project_id is None:
            self._say("Open a project first: the CT is stored in the open project.", "error")
            return False
        self._forget_pending()
        self.param.update(busy=True, progress=0)
        try:
            settings = self.session.settings
            found = (research_volume(contents[0], filename=filenames[0], limits=settings.input_limits)
                     if len(filenames) == 1 else None)
            if found is not None:
                return self._store(project_id, *found)
            blobs = read_uploaded(contents, UploadLimits.of(settings.input_limits))
            total = len(blobs)
            pending = open_upload(blobs, settings=settings, project_id=project_id,
                                  progress=lambda done: setattr(self, "progress", min(90, 90 * done // total)))
            del blobs
            self._pending = pending
            loaded = pending.loaded
            self.candidates = loaded.summaries()
            self.param.series.objects = {s.line(): str(s.index) for s in self.candidates if s.usable}
            usable = [s for s in self.candidates if s.usable]
            if len(usable) == 1:
                self.series = str(usable[0].index)
                return self.import_series()
            note = (f" It holds files of {loaded.patient_count} patients: check the series." if
                    loaded.patient_count > 1 else "")
            if usable:
                self.series = str(usable[0].index)
                self._say(f"The upload holds {len(usable)} CT series: choose one and press Import.{note}", "info")
            else:
                reasons = "; ".join(sorted({s.reason for s in self.candidates})) or loaded.skipped_text()
                self._say(f"No series can be imported ({reasons}); upload a CT series of at least 3 slices.", "error")
            return False
        except Exception as error:  # every failure ends in the message area; nothing was stored
            return self._failed(error, "upload")
        finally:
            self.busy = False

    async def upload_async(self, contents: Sequence[bytes], *, filenames: Sequence[str] = ()) -> bool:
        """As :meth:`upload`, in a worker thread so that the server stays responsive (progress updates)."""
        return await asyncio.to_thread(self.upload, contents, filenames=filenames)

    # -- a browser upload, file by file -------------------------------------------------------
    def expect_files(self, names: Sequence[str]) -> bool:
        """A new browser upload of the files ``names`` begins; an unfinished one is dropped.

        Returns True when it is already complete (its files arrived first): call :meth:`finish_upload`.
        """
        if self._closed or not names:
            return False
        complete = self._collection.announce(names)
        self._report_collection()
        return complete

    def withdraw_files(self, names: Sequence[str]) -> bool:
        """The browser will not send ``names`` (refused or removed there); True when the upload is now complete."""
        was_collecting = self._collection.collecting
        complete = self._collection.withdraw(names)
        if was_collecting and self._collection.total == 0:  # every file of the upload was withdrawn: nothing to wait for
            self.param.update(busy=False, progress=0)
        self._report_collection()
        return complete

    def receive_file(self, name: str, content: bytes) -> bool:
        """Keep one file of the browser upload; True when it completes the upload (call :meth:`finish_upload`).

        Nothing is read or stored before the upload is complete.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from rhinoapp.config import Settings
        >>> from rhinoapp.dicom.testing import encode, make_ct_series
        >>> from rhinoapp.store import open_store, ProjectRepository
        >>> settings = Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))
        >>> repo = ProjectRepository(open_store(settings), owner="local")
        >>> session = SessionState(repository=repo, settings=settings)
        >>> session.open_project(repo.create("Case 6").id)
        >>> state = CTImportState(session=session)
        >>> files = {f"{i}.dcm": encode(ds) for i, ds in enumerate(make_ct_series(slices=3, shape=(8, 8)))}
        >>> state.expect_files(list(files))
        False
        >>> [state.receive_file(name, data) for name, data in files.items()], state.volume is None
        ([False, False, True], True)
        >>> state.finish_upload(), state.volume.hu.shape
        (True, (3, 8, 8))
        """
        if self._closed:
            return False
        try:
            complete = self._collection.add(name, content)
        except RhinoappError as error:
            self.param.update(busy=False, progress=0)
            self._say(str(error), "error")
            return False
        self._report_collection()
        return complete

    def _report_collection(self) -> None:
        collection = self._collection
        if collection.collecting:
            self.param.update(busy=True, progress=min(99, 100 * collection.received // collection.total))
            self._say(collection.progress_text(), "info")

    def _collected(self) -> tuple[list[bytes], list[str]]:
        files = self._collection.take()
        return [content for _, content in files], [name for name, _ in files]

    def finish_upload(self) -> bool:
        """Read the complete browser upload, as :meth:`upload` does; False (nothing read) while it is incomplete."""
        contents, names = self._collected()
        return bool(contents) and self.upload(contents, filenames=names)

    async def finish_upload_async(self) -> bool:
        """As :meth:`finish_upload`, reading and storing in a worker thread (off the server's event loop)."""
        contents, names = self._collected()
        return bool(contents) and await self.upload_async(contents, filenames=names)

    def close(self) -> None:
        """The session ended: forget the upload being collected; nothing is imported or stored from now on."""
        self._closed = True
        self._collection.clear()
        self._forget_pending()

    async def import_series_async(self) -> bool:
        """As :meth:`import_series`, in a worker thread."""
        return await asyncio.to_thread(self.import_series)

    def import_series(self) -> bool:
        """Assemble and store the chosen series of the pending upload."""
        project_id = self.session.current_project_id
        if self._pending is None or project_id is None or self.series is None:
            self._say("Upload a CT first, then choose a series.", "error")
            return False
        self.busy = True
        try:
            return self._store(project_id, *assemble_series(self._pending, self.request()))
        except Exception as error:  # every failure ends in the message area; nothing was stored
            return self._failed(error, "import")
        finally:
            self.busy = False

    def _failed(self, error: Exception, what: str) -> bool:
        """Say why ``what`` failed (False); log the traceback when the failure was not foreseen."""
        if is_unexpected(error):
            _log.exception("CT %s failed", what)
        else:
            _log.warning("CT %s refused: %s", what, type(error).__name__)
        text = explain(error, details="the details are in the server log")
        self._say(text[:1].upper() + text[1:], "error")
        return False

    def request(self) -> CTImportRequest:
        """The import request of the chosen series and tilt policy."""
        return CTImportRequest(series=self.series, tilt=self.tilt)

    # -- replacing the project's CT -------------------------------------------------------------
    def confirm_replace(self) -> bool:
        """Store the new CT that waits for confirmation over the project's CT; True when stored."""
        waiting = self._waiting
        if waiting is None or self._closed or waiting[0] != self.session.current_project_id:
            self._forget_pending()
            self._say("No new CT waits for confirmation: upload it again.", "error")
            return False
        self.busy = True
        try:
            return self._store(*waiting[:3], request=waiting[3], replace=True)
        except Exception as error:  # every failure ends in the message area; the previous CT stays
            return self._failed(error, "import")
        finally:
            self.busy = False

    async def confirm_replace_async(self) -> bool:
        """As :meth:`confirm_replace`, in a worker thread."""
        return await asyncio.to_thread(self.confirm_replace)

    def keep_current(self) -> None:
        """Drop the new CT that waits for confirmation; the project keeps its CT."""
        if self._waiting is None:
            return
        self._forget_pending()
        self.progress = 0
        self._say("The new CT was not stored: the project keeps its CT.", "info")

    def _store(self, project_id: str, volume: CTVolume, metadata: dict, *, request: CTImportRequest | None = None,
               replace: bool = False) -> bool:
        if self._closed:
            _log.info("project %s: the session closed before its CT was stored; nothing stored", project_id)
            return False
        request = request or self.request()
        if not replace:
            request.check_volume(volume)  # a volume the import refuses asks no question
            found = replacement_of(self.session.repository, project_id, Step.DICOM)
            if found is not None:
                self._forget_pending()
                self._waiting = (project_id, volume, metadata, request)
                size = "x".join(map(str, volume.hu.shape[::-1]))
                self.param.update(replace_question=found.question, progress=100)
                self._say(f"The new CT ({size} voxels) was read but not stored: {found.question} "
                          "Replace the CT, or keep the current one.", "warning")
                return False
        typed = store_ct(self.session.repository, project_id, volume, metadata, request, replace=replace)
        self._forget_pending()
        self.progress = 100
        self._show(volume, metadata)
        size = "x".join(map(str, typed.dimensions_ijk))
        notes = "".join(f" Note: {n}." for n in metadata.get("assembly", {}).get("notes", []))
        notes += "".join(f" Warning: {w}." for w in typed.warnings)
        self._say(f"CT stored: {size} voxels, {' x '.join(f'{v:.3g}' for v in typed.spacing_mm)} mm.{notes}",
                  "warning" if typed.warnings else "success")
        self.stored += 1
        return True
