"""State of the Geometry page's import dialog: an existing segmentation made into a geometry variant.

The user uploads a label map (NIfTI, NRRD) or a closed airway surface (STL, VTP). For a label map
the labels found are listed with their voxel counts and the user says, per label, which target it
is (left cavity, right cavity, nasopharynx, sinus, the whole airway, or left out; the segment names
of a 3D Slicer segmentation choose first, else where the labels lie, and a single label is offered as the whole
airway); :meth:`GeometryImportState.run_import`
then resamples it onto the project's CT, finds the openings, builds surface and metrics and
publishes the variant (:func:`~rhinoapp.usecases.geometry_import.store_import`). In a project without
a CT a label map is imported alone, on its own grid, its openings where its labels end. Problems never
raise: they become ``message``; nothing is stored on any error. No Panel here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

import param

from rhinoapp.core.errors import RhinoappError
from rhinoapp.segmentation.label_import import LabelMapping, Target
from rhinoapp.state.job_page import MessageKind
from rhinoapp.state.session import SessionState

__all__ = ["IGNORE", "TARGET_CHOICES", "GeometryImportState"]

_log = logging.getLogger(__name__)

#: The choice that leaves a label out.
IGNORE = "leave out"
#: The choices per label, in the dialog's order.
TARGET_CHOICES = (IGNORE, *(t.value for t in Target))


def _guessed_targets(counts: dict[int, int], mapping: LabelMapping | None) -> dict[int, str]:
    """The first choice per label: what the segment names or the labels' places say (``mapping``), the whole airway
    for a single label, else left out."""
    if mapping is not None:
        chosen = mapping.as_dict()
        return {label: chosen.get(str(label), IGNORE) for label in counts}
    # a single label is most likely the whole airway (a binary mask): offered as such, changeable
    return {label: Target.AIRWAY.value if len(counts) == 1 else IGNORE for label in counts}


class _EmptyLabelMap(RhinoappError, ValueError):
    """An uploaded label map without a single label."""


@dataclasses.dataclass(frozen=True)
class _Read:
    """What an upload holds: a surface, or a label map's voxel counts and segment names per label, and the mapping
    proposed with where it comes from (:class:`~rhinoapp.usecases.geometry_import.MappingSource`'s text)."""

    is_surface: bool
    counts: dict[int, int] = dataclasses.field(default_factory=dict)
    names: dict[int, str] = dataclasses.field(default_factory=dict)
    mapping: LabelMapping | None = None
    source: str = ""


class GeometryImportState(param.Parameterized):
    """Upload, the labels found, the mapping per label, and the import, without any widget.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store import open_store, ProjectRepository
    >>> repo = ProjectRepository(open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))), owner="local")
    >>> state = GeometryImportState(session=SessionState(repository=repo))
    >>> state.upload(b"solid", "notes.txt")
    >>> state.message_kind, state.message.split(":")[0]
    ('error', 'notes.txt')
    """

    session = param.ClassSelector(class_=SessionState, constant=True)
    filename = param.String(default="", doc="The uploaded file's name.")
    is_surface = param.Boolean(default=False, doc="The upload is a surface (no labels to map).")
    labels_found = param.List(default=[], doc="(label, voxel count) of the uploaded label map.")
    label_names = param.Dict(default={}, doc="Segment name per label, where the file names them (3D Slicer).")
    targets = param.Dict(default={}, doc="The chosen target per label (one of TARGET_CHOICES).")
    variant = param.String(default="imported", label="Geometry variant name",
                           doc="The imported airway is stored as geometry/<variant>/; choose it on the Simulation page.")
    can_import = param.Boolean(default=False, doc="An upload is ready and a project is open.")
    busy = param.Boolean(default=False, doc="An import is running.")
    reading = param.Boolean(default=False, doc="An upload is being read (its labels and where they lie).")
    message = param.String(default="", doc="What happened, or what to do.")
    message_kind = param.String(default=MessageKind.INFO.value)
    imported = param.Integer(default=0, doc="Counts the successful imports (pages follow it to refresh).")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._data: bytes | None = None
        self._reads = 0  # counts the uploads started: only the latest one's reading is shown

    def _say(self, text: str, kind: MessageKind) -> None:
        self.param.update(message=text, message_kind=kind.value)

    @param.depends("session.current_project_id", watch=True)
    def _update_can_import(self) -> None:
        self.can_import = (self._data is not None and not self.busy and not self.reading
                           and self.session.current_project_id is not None)

    def _read(self, data: bytes, filename: str) -> _Read:
        """Read the upload: its kind and, for a label map, its labels and the mapping proposed (no param changes:
        this runs in a worker thread for :meth:`upload_async`). Raises :class:`RhinoappError` on bad input."""
        from rhinoapp.usecases.geometry_import import SourceKind, survey_labels

        kind = SourceKind.of(filename)
        limits = self.session.settings.input_limits
        limits.check_bytes(len(data), "the uploaded file")
        if kind.is_surface:
            return _Read(is_surface=True)
        survey = survey_labels(data, filename, limits=limits)
        if not survey.counts:
            raise _EmptyLabelMap("the label map holds no label (every voxel is 0); export the segmentation again.")
        return _Read(False, dict(survey.counts), dict(survey.names), survey.mapping,
                     survey.source.value if survey.source is not None else "")

    def _start(self, filename: str) -> int:
        self._data = None
        self._reads += 1
        self.param.update(filename=filename, labels_found=[], label_names={}, targets={}, is_surface=False)
        self._update_can_import()
        return self._reads

    def _show(self, data: bytes, read: _Read) -> None:
        """Show what :meth:`_read` found: the labels with their first targets, and what to do next."""
        self._data = data
        self.param.update(is_surface=read.is_surface, labels_found=sorted(read.counts.items()),
                          label_names=read.names, targets=_guessed_targets(read.counts, read.mapping))
        if read.is_surface:
            text = "Surface read: its nostrils and outlet are found automatically when you import it."
        elif len(read.counts) > 1 and read.mapping is not None and read.source:
            text = (f"{len(read.counts)} labels found; their targets were chosen from {read.source}: check "
                    "them, then import.")
        elif len(read.counts) == 1:
            text = ("1 label found, taken as the whole airway: it is split into left, right and nasopharynx from its "
                    "nostrils when you import it (choose another target if it is something else).")
        else:
            text = f"{len(read.counts)} labels found: choose what each one is, then import."
        self._say(text, MessageKind.INFO)
        self._update_can_import()

    def upload(self, data: bytes, filename: str) -> None:
        """Take an uploaded file; for a label map, list its labels with the targets their names or places propose."""
        self._start(filename)
        try:
            read = self._read(data, filename)
        except RhinoappError as error:
            self._say(f"{filename}: {error}", MessageKind.ERROR)
            return
        self._show(data, read)

    async def upload_async(self, data: bytes, filename: str) -> None:
        """:meth:`upload` with the file read in a worker thread (a label map of a whole head takes a second or
        two), the page saying so meanwhile; of uploads that overlap, the last one is shown."""
        token = self._start(filename)
        self.reading = True
        self._say(f"Reading {filename}: its labels and where they lie ...", MessageKind.INFO)
        try:
            read = await asyncio.to_thread(self._read, data, filename)
        except RhinoappError as error:
            if token == self._reads:
                self._say(f"{filename}: {error}", MessageKind.ERROR)
            return
        finally:
            if token == self._reads:
                self.reading = False
                self._update_can_import()
        if token == self._reads:
            self._show(data, read)

    def set_target(self, label: int, target: str) -> None:
        """Choose ``target`` (one of :data:`TARGET_CHOICES`) for ``label``."""
        if target not in TARGET_CHOICES:
            raise ValueError(f"target must be one of {TARGET_CHOICES}, got {target!r}")
        self.targets = {**self.targets, int(label): target}

    def mapping(self) -> LabelMapping | None:
        """The chosen mapping (None for a surface); a missing or doubled target raises its clear error."""
        if self.is_surface:
            return None
        return LabelMapping.of({label: target for label, target in self.targets.items() if target != IGNORE})

    async def run_import(self) -> bool:
        """Import the upload into the open project as geometry variant ``variant``; True when stored."""
        from rhinoapp.usecases.geometry_import import ImportRequest

        project_id = self.session.current_project_id
        if self._data is None or project_id is None:
            self._say("Upload a label map or a surface first (and open a project).", MessageKind.WARNING)
            return False
        try:
            request = ImportRequest(filename=self.filename, mapping=self.mapping(), variant=self.variant)
        except RhinoappError as error:
            self._say(f"Not imported: {error}", MessageKind.ERROR)
            return False
        self.busy = True
        self._update_can_import()
        self._say(f"Importing {self.filename} ...", MessageKind.INFO)
        try:
            report = await asyncio.to_thread(self._store, project_id, self._data, request)
        except RhinoappError as error:
            self._say(f"Not imported, nothing was stored: {error}", MessageKind.ERROR)
            return False
        except Exception:  # the page must keep working; the log has the details
            _log.exception("import of %s failed", self.filename)
            self._say("Not imported, nothing was stored: an unexpected error occurred (see the log).",
                      MessageKind.ERROR)
            return False
        finally:
            self.busy = False
            self._update_can_import()
        warnings = (report.document.get("provenance") or {}).get("warnings") or []
        text = (f"Imported {self.filename} as geometry variant '{request.variant}' (left {report.volume_ml('left'):.1f} "
                f"ml, right {report.volume_ml('right'):.1f} ml); choose it on the Simulation page.")
        self._say(" ".join([text, *warnings]), MessageKind.WARNING if warnings else MessageKind.SUCCESS)
        self.imported += 1
        return True

    def _store(self, project_id: str, data: bytes, request: Any) -> Any:
        from rhinoapp.core.errors import NotFoundError
        from rhinoapp.usecases.geometry_import import import_into_project

        repo = self.session.repository
        if repo is None:
            raise NotFoundError("No project store is open; open a project first.")
        return import_into_project(repo, project_id, data, request, limits=self.session.settings.input_limits)
