"""A drop zone for uploads: drag and drop or browse, files handed over one by one as they arrive.

The CT page and the 4PR page take their files the same way: a Panel ``FileDropper`` (chunked, so
large files pass the websocket) with an :class:`~rhinoapp.views.upload_tally.UploadTally` that
announces each drop's files before they arrive and reports the files the browser refuses. FilePond's
"tap to undo" offer is hidden: a received file is on the server, and taking it off the list would
undo nothing (the pages ask before anything stored is replaced). It is hidden by a stylesheet, not
by FilePond's options: changing those while a drop's files are listed disturbs the drop. :class:`DropZone` hands
each received file to ``on_file`` once and forgets it, so a file is never read twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import panel as pn
import param

from rhinoapp.views.upload_tally import Callback, UploadTally

__all__ = ["DropZone"]

_NO_UNDO = """
.filepond--action-revert-item-processing { display: none !important; }
[data-filepond-item-state="processing-complete"] .filepond--file-status-sub { visibility: hidden; }
"""


class DropZone(pn.viewable.Viewer):
    """A ``FileDropper`` whose files go to ``on_file(name, content)``, one call per file received.

    Parameters
    ----------
    css_class
        CSS class of the drop zone (tests and the tally find it by this class).
    max_mb
        Largest file (and drop) accepted, in megabytes; the browser refuses larger ones before sending.
    multiple
        Whether a drop may hold several files (a DICOM folder) or one (a 4PR recording).
    on_file
        Called with each received file's name and bytes; returns True when the upload is complete.
    on_complete
        Called (scheduled on the session) when ``on_file``, ``on_announce`` or ``on_withdraw`` said
        the upload is complete.
    on_announce, on_withdraw, on_refused
        As :class:`~rhinoapp.views.upload_tally.UploadTally`'s callbacks.

    Examples
    --------
    >>> got = []
    >>> zone = DropZone(css_class="my-drop", max_mb=5, on_file=lambda name, data: got.append((name, data)))
    >>> zone.dropper.value = {"a.csv": "t,p\\n", "b.bin": b"\\x00"}
    >>> got, zone.dropper.value
    ([('a.csv', b't,p\\n'), ('b.bin', b'\\x00')], {})
    """

    disabled = param.Boolean(default=False, doc="True while the page cannot take a file (busy).")

    def __init__(self, *, css_class: str, max_mb: float, on_file: Callable[[str, bytes], object],
                 multiple: bool = True, on_complete: Callable[[], Any] | None = None,
                 on_announce: Callable[[list[str]], object] | None = None, on_withdraw: Callback | None = None,
                 on_refused: Callable[[str, int], object] | None = None, **params: Any) -> None:
        super().__init__(**params)
        limit = f"{max_mb:g}MB"
        self._on_file, self._on_complete = on_file, on_complete
        self._announce, self._withdraw = on_announce, on_withdraw
        self.dropper = pn.widgets.FileDropper(multiple=multiple, max_file_size=limit, max_total_file_size=limit,
                                              chunk_size=8_000_000, sizing_mode="stretch_width",
                                              css_classes=[css_class], disabled=self.param.disabled,
                                              stylesheets=[_NO_UNDO])
        self.tally = UploadTally(css_class=css_class, on_announce=self._on_announce if on_announce else None,
                                 on_withdraw=self._on_withdraw if on_withdraw else None, on_refused=on_refused)
        self.dropper.param.watch(self._on_files, "value")

    def _complete(self, complete: object) -> None:
        if complete and self._on_complete is not None:
            pn.state.execute(self._on_complete)

    def _on_announce(self, names: list[str]) -> None:
        self._complete(self._announce(names) if self._announce else False)

    def _on_withdraw(self, names: list[str]) -> None:
        self._complete(self._withdraw(names) if self._withdraw else False)

    def _on_files(self, event: param.parameterized.Event) -> None:
        # The dropper keeps every file it received in ``value`` (a dict it fills in place): each one
        # is handed over once and taken out, so files of an earlier upload are never read again.
        complete = False
        for name in list(event.new):
            content = event.new.pop(name)
            data = content if isinstance(content, bytes) else content.encode()  # text/* files come decoded
            complete = bool(self._on_file(name, data)) or complete
        self._complete(complete)

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self.dropper, self.tally, sizing_mode="stretch_width", margin=0)
