"""HTTP hardening of the app's tornado server: security headers, cookie flags, server-made session ids.

:func:`harden` applies to every route of a tornado application, Bokeh's and Panel's own handlers
included (pages, websockets, static files) as well as the render routes and ``/health``:

* every response gets :data:`SECURITY_HEADERS`: other sites cannot frame the app
  (``frame-ancestors 'self'``; the app's own frames keep working), browsers do not guess content
  types, and no URL leaks to other sites as a referrer;
* every cookie set is ``HttpOnly`` and ``SameSite=Lax`` unless its handler chose otherwise;
* a request that brings its own session id or token (``?bokeh-session-id=``, ``?bokeh-token=``,
  a ``Bokeh-Session-Id`` header) is refused with 403: the server makes (and signs) every
  session's id, so a link cannot choose a session for a victim or join a live one;
* over TLS, every response also carries ``Strict-Transport-Security`` and every cookie ``Secure``.

:func:`require_login` adds a gate in front of every route (pages, websockets, the render routes,
routes added later) but the login page and the public static files: a request without a logged-in
user is sent to the login page (GET) or refused with 403.

The render routes also set the headers themselves (:class:`SecureHeaders`), so they have them
under ``panel serve --plugins rhinoapp.render.plugin`` too, where the app cannot reach the
server's application to harden it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tornado.httputil import HTTPHeaders, HTTPServerRequest
from tornado.routing import Matcher
from tornado.web import Application, HTTPError, OutputTransform, RequestHandler

__all__ = ["HSTS", "SECURITY_HEADERS", "SESSION_ID_ARGUMENTS", "SecureHeaders", "SecurityHeaders", "harden",
           "hardened_cookie", "require_login"]

#: Headers on every response (name, value).
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", "frame-ancestors 'self'"),
    ("X-Frame-Options", "SAMEORIGIN"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
)
#: The HSTS header sent over TLS (one year).
HSTS = ("Strict-Transport-Security", "max-age=31536000")
#: Query arguments by which a client could name a session of its choosing.
SESSION_ID_ARGUMENTS = ("bokeh-session-id", "bokeh-token")
_SESSION_ID_HEADER = "Bokeh-Session-Id"


def hardened_cookie(value: str, *, secure: bool = False) -> str:
    """A ``Set-Cookie`` value with ``HttpOnly`` and ``SameSite=Lax`` (and ``Secure``) added where it has none.

    Examples
    --------
    >>> hardened_cookie("user=abc; Path=/")
    'user=abc; Path=/; HttpOnly; SameSite=Lax'
    >>> hardened_cookie("next=httponly; HttpOnly; SameSite=Strict", secure=True)
    'next=httponly; HttpOnly; SameSite=Strict; Secure'
    """
    attributes = {part.split("=", 1)[0].strip().lower() for part in value.split(";")[1:]}
    flags = (("HttpOnly", "httponly"), ("SameSite=Lax", "samesite"), *((("Secure", "secure"),) if secure else ()))
    added = [flag for flag, name in flags if name not in attributes]
    return "; ".join([value, *added])


class _HardenedHeaders(HTTPHeaders):
    """Response headers whose ``Set-Cookie`` values get :func:`hardened_cookie` as they are added.

    Tornado adds the cookies of ``set_cookie`` after the output transforms ran, to the headers
    object the transforms returned; this one hardens them on the way in.
    """

    secure = False

    def add(self, name: str, value: str, *args: Any, **kwargs: Any) -> None:
        if name.lower() == "set-cookie":
            value = hardened_cookie(value, secure=self.secure)
        super().add(name, value, *args, **kwargs)

    def __setitem__(self, name: str, value: str) -> None:
        if name.lower() == "set-cookie":
            value = hardened_cookie(value, secure=self.secure)
        super().__setitem__(name, value)


class SecurityHeaders(OutputTransform):
    """The output transform that gives every response :data:`SECURITY_HEADERS` and safe cookies."""

    def __init__(self, request: HTTPServerRequest) -> None:
        super().__init__(request)
        self._tls = request.protocol == "https"

    def transform_first_chunk(self, status_code: int, headers: HTTPHeaders, chunk: bytes,
                              finishing: bool) -> tuple[int, HTTPHeaders, bytes]:
        hardened = _HardenedHeaders()
        hardened.secure = self._tls
        for name, value in headers.get_all():
            hardened.add(name, value)
        for name, value in (*SECURITY_HEADERS, *((HSTS,) if self._tls else ())):
            if name not in hardened:
                hardened[name] = value
        policy = hardened["Content-Security-Policy"]
        if "frame-ancestors" not in policy:  # a handler's own policy keeps its rules and gains ours
            hardened["Content-Security-Policy"] = f"{policy}; {SECURITY_HEADERS[0][1]}"
        return status_code, hardened, chunk


class SecureHeaders:
    """Mixin for request handlers: :data:`SECURITY_HEADERS` on every response, without the transform."""

    def set_default_headers(self: Any) -> None:
        for name, value in SECURITY_HEADERS:
            self.set_header(name, value)


class _ClientChosenSession(Matcher):
    """Matches a request that names a session itself (argument or header), on any path."""

    def match(self, request: HTTPServerRequest) -> dict[str, Any] | None:
        arguments = request.query_arguments
        if any(name in arguments for name in SESSION_ID_ARGUMENTS) or _SESSION_ID_HEADER in request.headers:
            return {}
        return None


class _RefuseClientChosenSession(RequestHandler):
    """403 for every method: session ids are made by the server."""

    def _request_summary(self) -> str:  # the access log must not show the id or token
        return f"{self.request.method} {self.request.path} ({self.request.remote_ip})"

    def prepare(self) -> None:
        raise HTTPError(403, reason="Session ids are made by the server: open the page without bokeh-session-id or bokeh-token")


def harden(application: Application) -> None:
    """Apply the headers, the cookie flags and the refusal of client-chosen sessions to ``application``.

    Examples
    --------
    >>> application = Application([])
    >>> harden(application)
    >>> SecurityHeaders in application.transforms
    True
    """
    application.add_transform(SecurityHeaders)
    # Host rules come before the application's own routes, so this one is tried first everywhere.
    application.add_handlers(r".*", [(_ClientChosenSession(), _RefuseClientChosenSession)])


class _NotLoggedIn(Matcher):
    """Matches a request on a gated path whose client is not a logged-in user."""

    def __init__(self, user_of: Callable[[HTTPServerRequest], str | None], open_paths: tuple[str, ...]) -> None:
        self._user_of, self._open = user_of, open_paths

    def match(self, request: HTTPServerRequest) -> dict[str, Any] | None:
        path = request.path or "/"
        if any(path == p or (p.endswith("/") and path.startswith(p)) for p in self._open):
            return None
        return None if self._user_of(request) else {}


class _LoginRequired(RequestHandler):
    """Sends a page request to the login page; refuses every other request (403)."""

    login_path = "/login"
    home_path = "/"  # the app's page (its path under a prefix, e.g. behind JupyterHub)

    def _request_summary(self) -> str:
        return f"{self.request.method} {self.request.path} ({self.request.remote_ip})"

    def prepare(self) -> None:
        if (self.request.method == "GET" and "Upgrade" not in self.request.headers
                and self.request.path in (self.home_path, self.home_path.rstrip("/") or "/")):
            self.redirect(self.login_path)
            return
        raise HTTPError(403, reason="Sign in first")


def require_login(application: Application, user_of: Callable[[HTTPServerRequest], str | None], *,
                  login_path: str, open_paths: tuple[str, ...], home_path: str = "/") -> None:
    """Gate every route of ``application`` but ``open_paths`` (exact, or prefixes ending in ``/``).

    ``user_of`` names the logged-in user of a request (None when there is none). Call it after
    :func:`harden`, so the refusal of client-chosen sessions is still tried first. A page request
    for ``home_path`` (the app's page) is sent to ``login_path``; every other request gets 403.

    Examples
    --------
    >>> application = Application([])
    >>> require_login(application, lambda request: None, login_path="/login", open_paths=("/login",))
    >>> len(application.default_router.rules[0].target.rules)
    1
    """
    handler = type("LoginRequired", (_LoginRequired,), {"login_path": login_path, "home_path": home_path})
    application.add_handlers(r".*", [(_NotLoggedIn(user_of, (login_path, *open_paths)), handler)])
