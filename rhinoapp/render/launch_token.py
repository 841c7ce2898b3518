"""A one-time launch token for a desktop window: the only way into a server started for one user.

``rhinoapp desktop`` serves the app on a loopback port that every local user could reach. With
:func:`guard`, every request needs the launch cookie; the window opens ``/?launch-token=<token>``,
the server answers that first request by setting the cookie (``HttpOnly``, ``SameSite=Strict``) and
redirecting to the page without the token, and forgets the token: a second use of the same URL,
or any request without the cookie, gets 403.
"""

from __future__ import annotations

import secrets
from typing import Any

from tornado.httputil import HTTPServerRequest
from tornado.routing import Matcher
from tornado.web import Application, HTTPError, RequestHandler

from rhinoapp.render.security import SecureHeaders

__all__ = ["COOKIE", "TOKEN_ARGUMENT", "LaunchToken", "guard"]

#: The query argument that carries the launch token, and the cookie it is exchanged for.
TOKEN_ARGUMENT, COOKIE = "launch-token", "rhinoapp-launch"


class LaunchToken:
    """The token of one launch and the cookie value it is exchanged for, once.

    Examples
    --------
    >>> launch = LaunchToken()
    >>> launch.exchange("wrong") is None
    True
    >>> cookie = launch.exchange(launch.token)
    >>> launch.admits(cookie), launch.exchange(launch.token) is None, launch.admits("other")
    (True, True, False)
    """

    def __init__(self) -> None:
        self.token = secrets.token_urlsafe(32)
        self._cookie = secrets.token_urlsafe(32)
        self._used = False

    def exchange(self, token: str) -> str | None:
        """The cookie value for the right token, the first time only; ``None`` otherwise."""
        if self._used or not secrets.compare_digest(token.encode(), self.token.encode()):
            return None
        self._used = True
        return self._cookie

    def admits(self, cookie: str | None) -> bool:
        """Whether ``cookie`` is the launch cookie."""
        return bool(cookie) and secrets.compare_digest(str(cookie).encode(), self._cookie.encode())


class _WithoutCookie(Matcher):
    """Matches every request that lacks the launch cookie."""

    def __init__(self, launch: LaunchToken) -> None:
        self.launch = launch

    def match(self, request: HTTPServerRequest) -> dict[str, Any] | None:
        morsel = request.cookies.get(COOKIE)
        return None if self.launch.admits(morsel.value if morsel is not None else None) else {}


class _Exchange(SecureHeaders, RequestHandler):
    """Sets the launch cookie for the launch token (once) and redirects; 403 for everything else."""

    def initialize(self, launch: LaunchToken) -> None:
        self.launch = launch

    def _request_summary(self) -> str:  # the access log must not show the token
        return f"{self.request.method} {self.request.path} ({self.request.remote_ip})"

    def prepare(self) -> None:
        cookie = self.launch.exchange(self.get_query_argument(TOKEN_ARGUMENT, ""))
        if cookie is None or self.request.method != "GET":
            raise HTTPError(403, reason="This app was opened for its desktop window only: start it again with "
                                        "`rhinoapp desktop` (its link works once)")
        self.set_cookie(COOKIE, cookie, path="/", httponly=True, samesite="Strict")
        self.redirect(self.request.path)


def guard(application: Application, launch: LaunchToken) -> None:
    """Admit only requests with the launch cookie of ``launch`` to ``application`` (all routes)."""
    application.add_handlers(r".*", [(_WithoutCookie(launch), _Exchange, {"launch": launch})])
