"""Login with the local accounts through Panel's auth machinery: provider, login and logout pages.

:class:`AccountAuthProvider` is a Panel :class:`~panel.auth.BasicAuthProvider` whose login handler
checks the accounts table (:class:`~rhinoapp.store.accounts.AccountStore`) instead of a password
file. The login form carries tornado's XSRF token; failed attempts are counted per name (5 within
5 minutes) and per address (25: users behind one NAT share it) with
:class:`~rhinoapp.core.throttle.LoginThrottle`, and audited, successful ones too. The
``user`` cookie is signed, ``HttpOnly``, ``SameSite=Lax``, ``Secure`` over TLS and expires after
``session_hours``; an account disabled meanwhile loses access at its next request.
"""

from __future__ import annotations

import html
import time
from typing import Any

from panel.auth import BasicAuthProvider
from panel.io.state import state
from tornado.web import RequestHandler, decode_signed_value
from tornado.websocket import WebSocketHandler

from rhinoapp.core.access import AuditAction, AuditOutcome
from rhinoapp.core.throttle import LoginThrottle
from rhinoapp.store.accounts import AccountStore
from rhinoapp.store.audit import AuditLog
from rhinoapp.store.database import Store

__all__ = ["LOGIN_PATH", "LOGOUT_PATH", "USER_COOKIE", "AccountAuthProvider", "cookie_user", "login_page",
           "LogoutHandler", "signout_form"]

LOGIN_PATH, LOGOUT_PATH, USER_COOKIE = "/login", "/logout", "user"
_STYLE = """
body { margin: 0; font-family: "Liberation Sans", "Helvetica Neue", Arial, sans-serif; color: #1d2733;
       background: #f4f6f9; }
header { background: #12355b; color: #fff; padding: 12px 24px; display: flex; align-items: center; gap: 12px; }
header img { width: 36px; height: 36px; } header span { font-size: 20px; font-weight: 700; letter-spacing: .02em; }
main { max-width: 360px; margin: 64px auto; background: #fff; border: 1px solid #d9dee5; border-radius: 8px;
       padding: 24px 28px; }
h1 { color: #12355b; font-size: 22px; margin-top: 0; } label { display: block; margin: 12px 0 4px; font-size: 14px; }
input[type=text], input[type=password] { width: 100%; box-sizing: border-box; padding: 8px; font-size: 15px;
       border: 1px solid #d9dee5; border-radius: 4px; }
button, a.rh-button { margin-top: 18px; background: #2f6fb5; color: #fff; border: 0; border-radius: 4px;
       padding: 9px 18px; font-size: 15px; cursor: pointer; text-decoration: none; display: inline-block; }
.rh-error { background: #fdecee; color: #b00020; border-radius: 4px; padding: 8px; font-size: 14px; }
.rh-note { color: #5b6774; font-size: 13px; }
"""


def login_page(*, title: str, body: str, root: str = "/") -> str:
    """A page in the app's style around ``body`` (HTML the caller escaped); ``root`` is the app's path (its prefix).

    Examples
    --------
    >>> "<h1>Sign in</h1>" in login_page(title="Sign in", body="<h1>Sign in</h1>")
    True
    """
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)} · rhinoapp</title>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{_STYLE}</style></head>"
            f"<body><header><img src='{root}assets/logo.svg' alt=''><span>rhinoapp</span></header>"
            f"<main>{body}</main></body></html>")


def cookie_user(value: str | bytes | None, *, secret: str, max_age_days: float) -> str | None:
    """The user name in a signed ``user`` cookie, or None when it is missing, forged or expired.

    Examples
    --------
    >>> from tornado.web import create_signed_value
    >>> cookie = create_signed_value("s" * 32, USER_COOKIE, "ana")
    >>> cookie_user(cookie, secret="s" * 32, max_age_days=1), cookie_user(cookie, secret="t" * 32, max_age_days=1)
    ('ana', None)
    """
    if not value:
        return None
    decoded = decode_signed_value(secret, USER_COOKIE, value, max_age_days=max_age_days)
    return decoded.decode("utf-8") if decoded else None


class _LoginHandler(RequestHandler):
    """GET shows the form; POST checks the account, sets the cookie and goes back to the app."""

    store: Store
    throttle: LoginThrottle  # per user name
    address_throttle: LoginThrottle  # per client address (many users may share one, behind a NAT)
    max_age_days: float

    def _form(self, error: str = "") -> None:
        message = f"<p class='rh-error' role='alert'>{html.escape(error)}</p>" if error else ""
        self.set_header("Cache-Control", "no-store")
        self.write(login_page(title="Sign in", body=(
            f"<h1>Sign in</h1>{message}<form method='post' action='{LOGIN_PATH}'>{self.xsrf_form_html()}"
            "<label for='username'>User name</label><input type='text' id='username' name='username' "
            "autocomplete='username' required autofocus>"
            "<label for='password'>Password</label><input type='password' id='password' name='password' "
            "autocomplete='current-password' required>"
            "<button type='submit'>Sign in</button></form>"
            "<p class='rh-note'>Accounts are managed with <code>rhinoapp users</code>.</p>")))

    def get(self) -> None:
        self._form()

    def post(self) -> None:
        self.check_xsrf_cookie()
        name, password = self.get_body_argument("username", "").strip(), self.get_body_argument("password", "")
        remote = self.request.remote_ip or ""
        names, addresses, now = (name.casefold(),), (remote,), time.monotonic()
        audit = AuditLog(self.store)
        if self.throttle.blocked(names, now=now) or self.address_throttle.blocked(addresses, now=now):
            audit.record(name or "-", AuditAction.LOGIN, AuditOutcome.DENIED, detail="rate-limited", remote=remote)
            self.set_status(429)
            self._form("Too many failed attempts: wait a few minutes, then try again.")
            return
        if not name or not AccountStore(self.store).verify(name, password):
            self.throttle.fail(names, now=now)
            self.address_throttle.fail(addresses, now=now)
            audit.record(name or "-", AuditAction.LOGIN, AuditOutcome.FAILURE, remote=remote)
            self.set_status(401)
            self._form("Wrong user name or password.")
            return
        self.throttle.succeed(names)
        AccountStore(self.store).record_login(name)  # a local account's groups are set on the Users page
        audit.record(name, AuditAction.LOGIN, AuditOutcome.SUCCESS, remote=remote)
        self.set_signed_cookie(USER_COOKIE, name, expires_days=self.max_age_days, httponly=True,
                               secure=self.request.protocol == "https", samesite="Lax")
        self.clear_cookie("is_guest")
        self.redirect("/")


class LogoutHandler(RequestHandler):
    """Signing out is a form post with the XSRF token; GET asks to confirm with that form.

    A link or a bookmark to the logout page still works (it shows the button), but a page of
    another site cannot sign anyone out: its request has no token. The logout is audited, the
    login cookies are cleared and the page links back to the login.
    """

    store: Store
    max_age_days: float
    root = "/"  # the app's path, before the login and logout paths

    def _user(self) -> str | None:
        return cookie_user(self.get_cookie(USER_COOKIE), secret=self.application.settings["cookie_secret"],
                           max_age_days=self.max_age_days)

    def _page(self, title: str, body: str) -> None:
        self.set_header("Cache-Control", "no-store")
        self.write(login_page(title=title, root=self.root, body=body))

    def get(self) -> None:
        if self._user() is None:  # nobody to sign out
            self._signed_out()
            return
        self._page("Sign out", (
            "<h1>Sign out</h1><p>Sign out of rhinoapp?</p>"
            f"<form method='post' action='{self.root}{LOGOUT_PATH.lstrip('/')}'>{self.xsrf_form_html()}"
            "<button type='submit'>Sign out</button></form>"))

    def post(self) -> None:
        self.check_xsrf_cookie()  # 403 without the token
        user = self._user()
        if user:
            AuditLog(self.store).record(user, AuditAction.LOGOUT, remote=self.request.remote_ip or "")
        self._clear()
        self._signed_out()

    def _clear(self) -> None:
        for name in (USER_COOKIE, "id_token", "access_token", "refresh_token", "oauth_expiry", "is_guest", "_xsrf"):
            self.clear_cookie(name)

    def _signed_out(self) -> None:
        self._page("Signed out", "<h1>Signed out</h1><p>You have signed out of rhinoapp.</p>"
                                 f"<a class='rh-button' href='{LOGIN_PATH}'>Sign in again</a>")


def signout_form(xsrf_cookie: str | None) -> str:
    """The header's "Sign out": a form posting to the logout page with the session's XSRF token.

    ``xsrf_cookie`` is the ``_xsrf`` cookie the session's page was requested with (the login pages
    set it); tornado takes the cookie's own value as the form's token. Without it, a link to the
    logout page, which asks to confirm with that form.

    Examples
    --------
    >>> "name='_xsrf' value='2|ab|cd|1'" in signout_form("2|ab|cd|1"), signout_form(None)
    (True, '<a class="rh-signout" href="logout">Sign out</a>')
    """
    if not xsrf_cookie:
        return '<a class="rh-signout" href="logout">Sign out</a>'
    return ("<form class='rh-signout' method='post' action='logout'>"
            f"<input type='hidden' name='_xsrf' value='{html.escape(xsrf_cookie, quote=True)}'>"
            "<button type='submit'>Sign out</button></form>")


class AccountAuthProvider(BasicAuthProvider):
    """Panel's basic auth provider, checking the local accounts of ``store``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store.database import open_store
    >>> provider = AccountAuthProvider(open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))), session_hours=8)
    >>> provider.login_url, provider.logout_url
    ('/login', '/logout')
    """

    def __init__(self, store: Store, *, session_hours: int, throttle: LoginThrottle | None = None) -> None:
        self._store = store
        self.max_age_days = session_hours / 24
        options = {"store": store, "max_age_days": self.max_age_days}
        self._login = type("LoginHandler", (_LoginHandler,), {
            **options, "throttle": throttle or LoginThrottle(),
            "address_throttle": LoginThrottle(max_failures=5 * (throttle or LoginThrottle()).max_failures)})
        self._logout = type("LogoutHandler", (LogoutHandler,), options)
        super().__init__(login_endpoint=LOGIN_PATH, logout_endpoint=LOGOUT_PATH)

    def user_of(self, cookie: str | bytes | None, secret: str) -> str | None:
        """The enabled account named by a signed cookie, else None."""
        user = cookie_user(cookie, secret=secret, max_age_days=self.max_age_days)
        return user if user and AccountStore(self._store).active(user) else None

    @property
    def get_user(self) -> Any:
        def get_user(handler: RequestHandler) -> str | None:
            user = self.user_of(handler.get_cookie(USER_COOKIE), handler.application.settings["cookie_secret"])
            if user and isinstance(handler, WebSocketHandler):  # Panel counts them down when sessions end
                state._active_users[user] += 1
            return user
        return get_user

    @property
    def login_handler(self) -> type[RequestHandler]:
        return self._login

    @property
    def logout_handler(self) -> type[RequestHandler]:
        return self._logout
