"""Tell the server which files a drop on a ``FileDropper`` holds, before they all arrived.

Panel's ``FileDropper`` sends the files of a drop (a folder, or several files) one by one, each
when its upload finished, and says nothing about the drop as a whole. Its browser side (FilePond)
knows the drop's files as soon as they are listed: this component, placed on the same page,
listens to FilePond's ``updatefiles`` event of the dropper carrying ``css_class`` and sends the
names of the newly listed files (as the dropper will send them: the relative path of a dropped
folder's file, else the file name) to :attr:`on_announce`; files FilePond refuses (too large) or
that the user removes before they were sent go to :attr:`on_withdraw`; each file FilePond refuses
goes to :attr:`on_refused` with its size in bytes (to say why). The component shows nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import panel as pn
import param

__all__ = ["Callback", "UploadTally"]

_ESM = """
const DONE = 5, LOAD_ERROR = 8;  // FilePond.FileStatus.PROCESSING_COMPLETE and LOAD_ERROR
const nameOf = (item) => item.relativePath || item.filename;

export function render({ model }) {
  const counted = new Set();  // FilePond ids of the items already announced or refused
  const mine = (event) => event.composedPath().some(
    (node) => node.classList !== undefined && node.classList.contains(model.css_class));
  const listed = (event) => {
    if (!mine(event)) return;
    const fresh = event.detail.pond.getFiles().filter((item) => !counted.has(item.id));
    fresh.forEach((item) => counted.add(item.id));
    const names = fresh.filter((item) => item.status !== LOAD_ERROR).map(nameOf);
    if (names.length) model.send_msg({ announce: names });
  };
  const refused = (event) => {
    const item = event.detail.file;
    if (!mine(event) || !event.detail.error || !item) return;
    model.send_msg({ refused: [[nameOf(item), item.fileSize]] });
    if (counted.has(item.id)) model.send_msg({ withdraw: [nameOf(item)] });
    else counted.add(item.id);
  };
  const removed = (event) => {
    const item = event.detail.file;
    if (mine(event) && item && counted.has(item.id) && item.status !== DONE && item.status !== LOAD_ERROR) {
      model.send_msg({ withdraw: [nameOf(item)] });
    }
  };
  const events = [["FilePond:updatefiles", listed], ["FilePond:addfile", refused], ["FilePond:removefile", removed]];
  events.forEach(([name, handler]) => document.addEventListener(name, handler));
  model.on("remove", () => events.forEach(([name, handler]) => document.removeEventListener(name, handler)));
  return document.createElement("span");
}
"""


Callback = Callable[[list[str]], object]


class UploadTally(pn.custom.JSComponent):
    """Announces the files of each drop on the ``FileDropper`` with ``css_class`` (see the module).

    Examples
    --------
    >>> seen = []
    >>> tally = UploadTally(css_class="my-upload", on_announce=seen.append)
    >>> tally._handle_msg({"announce": ["a/1.dcm", "a/2.dcm"]})
    >>> seen
    [['a/1.dcm', 'a/2.dcm']]
    """

    css_class = param.String(default="", doc="CSS class of the FileDropper whose drops are announced.")

    _esm = _ESM

    def __init__(self, *, on_announce: Callback | None = None, on_withdraw: Callback | None = None,
                 on_refused: Callable[[str, int], object] | None = None, **params: Any) -> None:
        params.setdefault("width", 0)
        params.setdefault("height", 0)
        params.setdefault("margin", 0)
        super().__init__(**params)
        self._callbacks = {"announce": on_announce, "withdraw": on_withdraw}
        self._on_refused = on_refused

    def _handle_msg(self, data: Any) -> None:
        """Pass the names the browser sent to the matching callback (anything else is ignored).

        Examples
        --------
        >>> refused = []
        >>> tally = UploadTally(css_class="my-upload", on_refused=lambda name, size: refused.append((name, size)))
        >>> tally._handle_msg({"refused": [["big.csv", 60_000_000], "junk"]})
        >>> refused
        [('big.csv', 60000000)]
        """
        if not isinstance(data, dict):
            return
        for entry in data.get("refused") or []:
            if self._on_refused is not None and isinstance(entry, list) and len(entry) == 2:
                try:
                    name, size = str(entry[0]), int(entry[1])
                except (TypeError, ValueError):
                    continue
                self._on_refused(name, size)
        for key, callback in self._callbacks.items():
            names = data.get(key)
            if callback is not None and isinstance(names, list):
                callback([str(name) for name in names])
