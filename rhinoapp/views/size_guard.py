"""Hold back a file chosen in a ``FileInput`` when it is larger than the page accepts.

Panel's ``FileInput`` sends the whole file in one websocket message (base64, a third larger); a
message above the server's limit (Bokeh's ``websocket_max_message_size``, 20 MiB by default) is
dropped with the connection, and the page shows nothing. This component, placed on the same
page, listens to the ``input`` event of the file input inside the element carrying ``css_class``
(the browser fires it before ``change``, which makes the input read and send the file). When a
chosen file is larger than :attr:`max_bytes`, it clears the input, stops that ``change`` so
nothing is read or sent, and sends the file's name and size to :attr:`on_refused`, which says so
on the page. The component shows nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import panel as pn
import param

__all__ = ["Refused", "SizeGuard"]

_ESM = """
export function render({ model }) {
  const guard = (event) => {
    const path = event.composedPath();
    const input = path[0];
    if (!(input instanceof HTMLInputElement) || input.type !== "file" || input.files === null) return;
    if (!path.some((node) => node.classList !== undefined && node.classList.contains(model.css_class))) return;
    const big = Array.from(input.files).find((file) => file.size > model.max_bytes);
    if (big === undefined) return;
    // ``change`` stays inside the input's shadow tree: stop it there, before the input's own listener.
    const stop = (change) => { if (change.target === input) change.stopImmediatePropagation(); };
    const root = input.getRootNode();
    root.addEventListener("change", stop, { capture: true, once: true });
    setTimeout(() => root.removeEventListener("change", stop, true), 0);  // the browser fires it at once
    input.value = "";  // nothing to send, and the same file can be chosen again
    model.send_msg({ refused: { name: big.name, size: big.size } });
  };
  document.addEventListener("input", guard, true);
  model.on("remove", () => document.removeEventListener("input", guard, true));
  return document.createElement("span");
}
"""

#: Called with the name and the size in bytes of a file held back.
Refused = Callable[[str, int], object]


class SizeGuard(pn.custom.JSComponent):
    """Holds back files larger than ``max_bytes`` chosen in the ``FileInput`` with ``css_class`` (see the module).

    Examples
    --------
    >>> seen = []
    >>> guard = SizeGuard(css_class="my-upload", max_bytes=10, on_refused=lambda name, size: seen.append((name, size)))
    >>> guard._handle_msg({"refused": {"name": "big.csv", "size": 60}})
    >>> guard._handle_msg({"refused": {"name": "odd.csv", "size": "a lot"}})  # not a size: ignored
    >>> seen
    [('big.csv', 60)]
    """

    css_class = param.String(default="", doc="CSS class of the FileInput whose files are checked.")
    max_bytes = param.Integer(default=0, bounds=(0, None), doc="Largest file sent, in bytes.")

    _esm = _ESM

    def __init__(self, *, on_refused: Refused | None = None, **params: Any) -> None:
        params.setdefault("width", 0)
        params.setdefault("height", 0)
        params.setdefault("margin", 0)
        super().__init__(**params)
        self._on_refused = on_refused

    def _handle_msg(self, data: Any) -> None:
        """Pass a held-back file's name and size to :attr:`on_refused` (anything else is ignored)."""
        refused = data.get("refused") if isinstance(data, dict) else None
        if self._on_refused is None or not isinstance(refused, dict):
            return
        name, size = refused.get("name"), refused.get("size")
        if isinstance(name, str) and isinstance(size, int) and not isinstance(size, bool):
            self._on_refused(name, size)
