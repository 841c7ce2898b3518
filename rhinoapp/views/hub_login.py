"""Login through JupyterHub: rhinoapp as a hub service whose users sign in with the hub's OAuth.

:class:`HubAuthProvider` is the provider ``serve --jupyterhub`` uses (:mod:`rhinoapp.config.hub`
says what the hub tells it). The hub's proxy serves rhinoapp under ``/services/<name>/``; a browser
without a rhinoapp login is sent to ``<prefix>login``, which runs the OAuth flow of the hub's own
library (:class:`jupyterhub.services.auth.HubOAuth`: a state cookie, PKCE, the hub's authorize page,
its login when the user has not signed in there yet, then
:class:`~jupyterhub.services.auth.HubOAuthCallbackHandler` at ``<prefix>oauth_callback``, which
trades the code for a hub token and keeps it in a cookie). Back at ``<prefix>login``, the hub
names the user (``GET /hub/api/user`` with that token); rhinoapp checks the scopes the hub asks
for (``access:services!service=<name>``), then signs in that user exactly as the local login does
(the signed ``user`` cookie, scoped to the prefix), so every route, the audit log and the sharing
rules work unchanged.

Mapping of hub users to rhinoapp accounts: a hub user gets a rhinoapp account of the same name at
the first login (with a random password nobody knows: the account is only entered through the hub);
the account's admin flag follows the hub's ``admin`` flag at every login (hub admins are rhinoapp
admins, others are not), and its groups are the hub user's ``groups`` (for group shares). An account disabled with ``rhinoapp users disable`` stays locked out even
when the hub lets the user in. A hub user whose name rhinoapp cannot take (see
:func:`~rhinoapp.store.accounts.validate_user_name`) is refused. Every login (allowed or refused)
and logout is audited. Logging out of rhinoapp does not log out of the hub (the page links there).
"""

from __future__ import annotations

import html
import secrets
from typing import Any

from jupyterhub.services.auth import (  # type: ignore[import-untyped]
    HubOAuth,
    HubOAuthCallbackHandler,
    HubOAuthenticated,
    UserNotAllowed,
)
from panel.auth import BasicAuthProvider
from tornado.web import RequestHandler

from rhinoapp.config.hub import HubSettings
from rhinoapp.core.access import AuditAction, AuditOutcome
from rhinoapp.core.errors import ConfigurationError, ConflictError, ValidationError
from rhinoapp.store.accounts import AccountStore, usable_groups, validate_user_name
from rhinoapp.store.audit import AuditLog
from rhinoapp.store.database import Store
from rhinoapp.views.login import LOGIN_PATH, LOGOUT_PATH, USER_COOKIE, AccountAuthProvider, LogoutHandler, login_page

__all__ = ["HubAuthProvider", "hub_oauth"]


def hub_oauth(hub: HubSettings) -> HubOAuth:
    """The hub's OAuth client for this service, configured from ``hub`` (not from the process's environment).

    Examples
    --------
    >>> from rhinoapp.config.hub import hub_settings_from
    >>> auth = hub_oauth(hub_settings_from({"JUPYTERHUB_API_TOKEN": "t", "JUPYTERHUB_SERVICE_NAME": "rh",
    ...                                     "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:10101"}))
    >>> auth.base_url, auth.cookie_name, auth.login_url.startswith("/hub/api/oauth2/authorize?client_id=service-rh")
    ('/services/rh/', 'service-rh', True)
    """
    options: dict[str, Any] = {
        "api_token": hub.api_token, "api_url": hub.api_url, "base_url": hub.prefix, "hub_prefix": hub.hub_prefix,
        "oauth_client_id": hub.client_id, "oauth_redirect_uri": hub.callback_url,
    }
    if hub.access_scopes:
        options["access_scopes"] = set(hub.access_scopes)
    return HubOAuth(**options)


class _HubLoginHandler(HubOAuthenticated, RequestHandler):
    """Starts the hub's OAuth flow, or, once the hub named the user, signs them in to rhinoapp."""

    store: Store
    hub: HubSettings
    max_age_days: float

    def _refuse(self, name: str, outcome: AuditOutcome, detail: str, message: str) -> None:
        AuditLog(self.store).record(name or "-", AuditAction.LOGIN, outcome, detail=detail,
                                    remote=self.request.remote_ip or "")
        self.set_status(403)
        self.set_header("Cache-Control", "no-store")
        self.write(login_page(title="Not allowed", root=self.hub.prefix, body=(
            f"<h1>Not allowed</h1><p class='rh-error' role='alert'>{html.escape(message)}</p>"
            f"<a class='rh-button' href='{self.hub.hub_prefix}home'>Back to JupyterHub</a>")))

    async def get(self) -> None:
        model = await self.hub_auth.get_user(self, sync=False)
        if not model:  # no hub token yet (or an expired one): the hub's authorize page, then back here
            self.redirect(self.get_login_url())
            return
        name = str(model.get("name", ""))
        try:
            self.check_hub_user(model)
        except UserNotAllowed:
            self._refuse(name, AuditOutcome.DENIED, "hub-scopes", "JupyterHub does not give you access to rhinoapp: "
                         f"ask its admin for the scope access:services!service={self.hub.service_name}.")
            return
        if model.get("kind", "user") != "user":
            self._refuse(name, AuditOutcome.DENIED, "hub-service", "Only hub users can sign in to rhinoapp.")
            return
        try:
            name = validate_user_name(name)
        except ValidationError as error:
            self._refuse(name, AuditOutcome.FAILURE, "hub-user-name", str(error))
            return
        if not self._account(name, admin=bool(model.get("admin", False))):
            self._refuse(name, AuditOutcome.DENIED, "disabled", "Your rhinoapp account is disabled: ask an admin "
                         f"(`rhinoapp users passwd {name}` enables it again).")
            return
        AccountStore(self.store).record_login(name, groups=usable_groups(model["groups"]) if "groups" in model else None)
        AuditLog(self.store).record(name, AuditAction.LOGIN, AuditOutcome.SUCCESS, detail="jupyterhub",
                                    remote=self.request.remote_ip or "")
        self.set_signed_cookie(USER_COOKIE, name, expires_days=self.max_age_days, path=self.hub.prefix, httponly=True,
                               secure=self.request.protocol == "https", samesite="Lax")
        _ = self.xsrf_token  # sets the _xsrf cookie (the hub's kind, under the prefix): "Sign out" posts its token
        self.redirect(self.hub.prefix)

    def _account(self, name: str, *, admin: bool) -> bool:
        """Make or update the rhinoapp account of hub user ``name``; False when it is disabled."""
        accounts = AccountStore(self.store)
        account = accounts.get(name)
        if account is None:
            try:
                accounts.add(name, secrets.token_urlsafe(32), admin=admin)  # entered through the hub only
            except ConflictError:  # a second tab of the same user made it meanwhile
                return accounts.active(name)
            AuditLog(self.store).record(name, AuditAction.ACCOUNT, detail="created-from-jupyterhub",
                                        remote=self.request.remote_ip or "")
            return True
        if account.disabled:
            return False
        if account.admin != admin:  # the hub decides who is an admin
            accounts.set_admin(name, admin)
        return True


class _HubLogoutHandler(LogoutHandler):
    """Signs out as the local logout does (a form post with the XSRF token); clears the hub token cookie too."""

    hub: HubSettings
    oauth: HubOAuth

    def prepare(self) -> None:
        self.root = self.hub.prefix

    def set_cookie(self, name: str, value: str | bytes, *args: Any, **kwargs: Any) -> None:
        if name == "_xsrf":  # the confirm form's token: rhinoapp's, under its prefix (the hub keeps its own)
            kwargs["path"] = self.hub.prefix
        super().set_cookie(name, value, *args, **kwargs)

    def _clear(self) -> None:
        self.clear_cookie(USER_COOKIE, path=self.hub.prefix)
        self.oauth.clear_cookie(self)

    def _signed_out(self) -> None:
        self._page("Signed out", (
            "<h1>Signed out</h1><p>You have signed out of rhinoapp; you are still signed in to JupyterHub.</p>"
            f"<a class='rh-button' href='{self.hub.prefix}{LOGIN_PATH.lstrip('/')}'>Sign in again</a> "
            f"<a class='rh-button' href='{self.hub.hub_prefix}logout'>Sign out of JupyterHub</a>"))


class HubAuthProvider(AccountAuthProvider):
    """Panel's auth provider for rhinoapp behind JupyterHub (see the module's docstring for the rules).

    Its paths are relative to the service prefix (Bokeh adds the prefix to every route).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.config.hub import hub_settings_from
    >>> from rhinoapp.store.database import open_store
    >>> hub = hub_settings_from({"JUPYTERHUB_API_TOKEN": "t", "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:10101"})
    >>> provider = HubAuthProvider(open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))), hub, session_hours=8)
    >>> [path for path, _ in provider.endpoints]
    ['/login', '/logout', '/oauth_callback']
    """

    def __init__(self, store: Store, hub: HubSettings, *, session_hours: int) -> None:
        if not hub.callback_url.startswith(hub.prefix):
            raise ConfigurationError(f"The hub's OAuth callback {hub.callback_url!r} is not under the service prefix "
                                     f"{hub.prefix!r}: leave oauth_redirect_uri at its default in the services entry.")
        self._store, self.max_age_days, self.hub = store, session_hours / 24, hub
        self.oauth = oauth = hub_oauth(hub)
        options = {"store": store, "hub": hub, "max_age_days": self.max_age_days}
        self._login = type("HubLoginHandler", (_HubLoginHandler,), {**options, "_hub_auth": oauth})
        self._logout = type("HubLogoutHandler", (_HubLogoutHandler,), {**options, "oauth": oauth})
        self._callback = type("HubCallbackHandler", (HubOAuthCallbackHandler,), {"_hub_auth": oauth})
        self.callback_path = "/" + hub.callback_url[len(hub.prefix):].lstrip("/")
        BasicAuthProvider.__init__(self, login_endpoint=LOGIN_PATH, logout_endpoint=LOGOUT_PATH)

    @property
    def endpoints(self) -> list[tuple[str, type[RequestHandler]]]:
        return [*super().endpoints, (self.callback_path, self._callback)]
