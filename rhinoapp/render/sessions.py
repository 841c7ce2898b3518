"""Values the render service keeps per browser session, and the ticket a page gets for a view."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
from typing import Any

from rhinoapp.render.client import WorkerClient
from rhinoapp.render.spec import SceneSpec

__all__ = ["Session", "ViewTicket", "session_key"]


def session_key(secret: bytes, session_id: str) -> str:
    """The render key of a browser session: an HMAC of its (signed) session id under the service's secret.

    A key opens the views of that session only, while the session lives; without the secret it
    cannot be made from a session id.

    Examples
    --------
    >>> a, b = session_key(b"secret", "session-a"), session_key(b"secret", "session-b")
    >>> a != b, a == session_key(b"secret", "session-a"), a != session_key(b"other", "session-a"), len(a)
    (True, True, True, 43)
    """
    digest = hmac.new(secret, b"rhinoapp-render-key:" + session_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclasses.dataclass(frozen=True)
class ViewTicket:
    """What a page needs to reach its view: the view id and the session's key (a secret)."""

    view_id: str
    key: str

    def path(self, leaf: str = "ws") -> str:
        """The route below the server's prefix, e.g. ``render/<view>/ws?key=...``."""
        return f"render/{self.view_id}/{leaf}?key={self.key}"


@dataclasses.dataclass(eq=False)
class Session:
    """One browser session's views, key, worker and connections (owned by the service's loop)."""

    key: str
    session_id: str = ""
    user: str = ""
    label: str = ""
    views: dict[str, SceneSpec | None] = dataclasses.field(default_factory=dict)
    sizes: dict[str, tuple[int, int]] = dataclasses.field(default_factory=dict)
    formats: dict[str, str] = dataclasses.field(default_factory=dict)
    worker: WorkerClient | None = None
    starting: asyncio.Task[WorkerClient] | None = None
    opened: set[str] = dataclasses.field(default_factory=set)
    sockets: dict[str, set[Any]] = dataclasses.field(default_factory=dict)
    failure: str = ""
    stop_timer: asyncio.TimerHandle | None = None
    waiters: dict[int, asyncio.Future[bytes]] = dataclasses.field(default_factory=dict)
