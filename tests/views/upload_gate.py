"""Hold a page's file uploads on their way to the server, and let them through in batches the test chooses.

Bokeh sends each message over the websocket as a header frame, a metadata frame, a content frame
and, per binary buffer, a reference frame and the buffer; the header says how many buffers
follow. The gate reassembles messages from the page, passes every message through until
``allowed`` file uploads (``upload_event``, one per file here) went, and then holds that message and
all later ones, in order, until :meth:`UploadGate.allow` lets more through. Messages from the
server are not touched. This drives "files arrive in batches" and "the page closes halfway"
from events the test controls instead of the timing of the browser.
"""

from __future__ import annotations

import json
import re

__all__ = ["UploadGate"]

_WEBSOCKET = re.compile(r".*/ws(\?.*)?$")


class UploadGate:
    """Route ``page``'s Bokeh websocket through a gate that lets ``allowed`` file uploads through at first.

    Install it before the page loads the app (``page.goto``).
    """

    def __init__(self, page, *, allowed: int = 0) -> None:
        self.allowed, self.sent, self._frames, self._held, self._server = allowed, 0, [], [], None
        page.route_web_socket(_WEBSOCKET, self._route)

    @property
    def held(self) -> int:
        """File uploads waiting at the gate."""
        return sum(1 for frames in self._held if _is_upload(frames))

    def allow(self, count: int) -> None:
        """Let ``count`` more file uploads through (with the messages between them)."""
        self.allowed += count
        self._flush()

    def _route(self, route) -> None:
        self._server = route.connect_to_server()
        self._frames, self._held = [], []
        route.on_message(self._from_page)

    def _from_page(self, frame) -> None:
        self._frames.append(frame)
        try:
            header = json.loads(self._frames[0])
        except (TypeError, ValueError):  # not the start of a Bokeh message: pass it on as it is
            self._server.send(self._frames.pop())
            return
        if len(self._frames) < 3 + 2 * int(header.get("num_buffers") or 0):
            return
        self._held.append(self._frames)
        self._frames = []
        self._flush()

    def _flush(self) -> None:
        while self._held:
            frames = self._held[0]
            if _is_upload(frames):
                if self.sent >= self.allowed:
                    return
                self.sent += 1
            self._held.pop(0)
            for frame in frames:
                self._server.send(frame)


def _is_upload(frames: list) -> bool:
    return isinstance(frames[2], str) and '"upload_event"' in frames[2]
