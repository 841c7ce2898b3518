"""Collecting the files of one browser upload until all of them arrived, so that it is imported once.

A browser sends a dropped folder file by file; the page tells which files the drop holds (their
names, as the browser sends them) when it starts. :class:`UploadCollection` keeps the files of
that upload only and says when it is complete. An announcement may reach the server after the
first files of its drop (the browser sends both on its own schedule): files no upload expects wait
until the next announcement claims them, and are dropped if it does not. A new announcement
replaces an unfinished upload, whose files are dropped. Everything kept counts against one size
limit, so a client that never announces cannot fill the memory. No Panel here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from rhinoapp.dicom.upload import UploadError

__all__ = ["UploadCollection"]


class UploadCollection:
    """The files of the current upload, collected until every announced file arrived.

    Parameters
    ----------
    max_bytes
        Most bytes kept at once (announced and waiting files together).

    Examples
    --------
    >>> collection = UploadCollection(max_bytes=100)
    >>> collection.add("b.dcm", b"2")           # before its announcement: waits
    False
    >>> collection.announce(["a.dcm", "b.dcm"])  # claims the waiting file
    False
    >>> collection.received, collection.total, collection.progress_text()
    (1, 2, 'Received 1 of 2 files.')
    >>> collection.add("a.dcm", b"1")
    True
    >>> collection.take()
    [('b.dcm', b'2'), ('a.dcm', b'1')]
    >>> collection.total, collection.received
    (0, 0)
    """

    def __init__(self, *, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self._expected: Counter[str] = Counter()  # files still awaited, by name
        self._files: list[tuple[str, bytes]] = []  # files of the current upload, as they arrived
        self._waiting: list[tuple[str, bytes]] = []  # files no announcement claimed yet
        self._total = 0

    @property
    def total(self) -> int:
        """Files the current upload holds (0 when none is announced)."""
        return self._total

    @property
    def received(self) -> int:
        """Files of the current upload received so far."""
        return len(self._files)

    @property
    def collecting(self) -> bool:
        """Whether an announced upload still awaits files."""
        return self._total > 0 and self.received < self._total

    @property
    def complete(self) -> bool:
        """Whether every file of the announced upload arrived."""
        return self._total > 0 and self.received >= self._total

    def progress_text(self) -> str:
        """The progress for the user, e.g. ``Received 31 of 52 files.``"""
        return f"Received {self.received} of {self.total} files."

    def announce(self, names: Iterable[str]) -> bool:
        """Start a new upload of the files ``names``; an unfinished one is dropped.

        Files that arrived before the announcement and are among ``names`` are claimed; other
        waiting files are dropped. Returns :attr:`complete`.
        """
        self._expected, self._files = Counter(str(n) for n in names), []
        self._total = sum(self._expected.values())
        waiting, self._waiting = self._waiting, []
        for name, content in waiting:
            if self._expected[name] > 0:
                self._claim(name, content)
        return self.complete

    def withdraw(self, names: Iterable[str]) -> bool:
        """The browser will not send ``names`` after all (refused or removed there); returns :attr:`complete`."""
        for name in names:
            if self._expected[name] > 0:
                self._expected[name] -= 1
                self._total -= 1
        return self.complete

    def add(self, name: str, content: bytes) -> bool:
        """Keep one file that arrived; returns True when it completes the current upload.

        Raises :class:`~rhinoapp.dicom.upload.UploadError` (and forgets everything) when the
        files kept would exceed ``max_bytes``.
        """
        kept = sum(len(c) for _, c in self._files) + sum(len(c) for _, c in self._waiting)
        if kept + len(content) > self.max_bytes:
            self.clear()
            raise UploadError(f"the upload is larger than the limit of {self.max_bytes // (1024 * 1024)} MB; upload "
                              "one series at a time or raise max_upload_mb in the settings.")
        if self._expected[name] > 0:
            self._claim(name, content)
            return self.complete
        self._waiting.append((name, content))
        return False

    def _claim(self, name: str, content: bytes) -> None:
        self._expected[name] -= 1
        self._files.append((name, content))

    def take(self) -> list[tuple[str, bytes]]:
        """The files of the complete upload, in arrival order, and the collection starts afresh; [] while incomplete."""
        if not self.complete:
            return []
        files = self._files
        self._expected, self._files, self._total = Counter(), [], 0
        return files

    def clear(self) -> None:
        """Forget the current upload and every waiting file."""
        self._expected, self._files, self._waiting, self._total = Counter(), [], [], 0
