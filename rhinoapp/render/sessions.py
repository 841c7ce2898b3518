"""The render key of a browser session (what opens its 3D panes' routes)."""

from __future__ import annotations

import base64
import hashlib
import hmac

__all__ = ["session_key"]


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
