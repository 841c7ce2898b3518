"""Login through an OpenID Connect provider (Keycloak, an institute's IdP) with Panel's OAuth machinery.

:class:`OidcAuthProvider` serves Panel's ``generic`` OAuth login handler
(:class:`panel.auth.GenericLoginHandler`: authorization-code flow, the code exchanged for tokens at
the provider's token endpoint with the client secret) at ``/login``, pointed at the endpoints of the
provider's discovery document (:func:`discover`, read once at start, so an unreachable or
misconfigured provider stops ``serve`` with a message saying what to fix).

The rhinoapp user is the ID token's ``oidc_user_claim`` (``preferred_username`` by default; ``sub``
or ``email`` where names are not unique or not sent). A user's first login adds an account of that
name with a random password nobody knows, so sharing, ``rhinoapp users disable`` and the CLI's
``--user`` work for them as for local accounts (a local account of the same name, e.g. an admin made
with ``rhinoapp users add NAME --admin`` before that first login, is theirs). Logins, refused logins
and logouts are audited (detail ``oidc``); the login cookie is the same signed, HTTP-only,
``SameSite=Lax`` cookie as the local login's, lasting ``session_hours``. A wrong password is refused
by the provider itself (and audited there): the browser never comes back to rhinoapp.

The account's groups are the ID token's ``oidc_groups_claim`` (``groups`` by default, as Keycloak's
group mapper sends it), replaced at each login; a provider that sends no such claim leaves them as
they are. Projects shared with a group reach its members (:mod:`rhinoapp.store.sharing`).
"""

from __future__ import annotations

import dataclasses
import html
import json
import logging
import secrets
import urllib.error
import urllib.request
from typing import Any

from panel.auth import GenericLoginHandler
from panel.io.state import state as panel_state
from panel.util import decode_token
from tornado.web import HTTPError

from rhinoapp.config.oidc import OidcSettings
from rhinoapp.core.access import AuditAction, AuditOutcome
from rhinoapp.core.errors import ConfigurationError, ConflictError, ValidationError
from rhinoapp.store.accounts import AccountStore, usable_groups, validate_user_name
from rhinoapp.store.audit import AuditLog
from rhinoapp.store.database import Store
from rhinoapp.views.login import LOGIN_PATH, USER_COOKIE, AccountAuthProvider, login_page

__all__ = ["OidcAuthProvider", "OidcEndpoints", "discover", "endpoints_of"]

_log = logging.getLogger(__name__)
_DETAIL = "oidc"


@dataclasses.dataclass(frozen=True)
class OidcEndpoints:
    """The provider's endpoints, from its discovery document."""

    authorization: str
    token: str
    userinfo: str = ""
    end_session: str = ""


def endpoints_of(document: Any, *, issuer: str, url: str) -> OidcEndpoints:
    """The endpoints of a discovery ``document`` (read from ``url``), checked against the configured ``issuer``.

    Raises
    ------
    ConfigurationError
        The document names another issuer, lacks an endpoint, or cannot take the client secret in
        the token request's body (``client_secret_post``, what Panel sends).

    Examples
    --------
    >>> doc = {"issuer": "https://id.example.org", "authorization_endpoint": "https://id.example.org/auth",
    ...        "token_endpoint": "https://id.example.org/token"}
    >>> endpoints_of(doc, issuer="https://id.example.org/", url="u").token
    'https://id.example.org/token'
    >>> endpoints_of({**doc, "issuer": "https://other.example.org"}, issuer="https://id.example.org", url="u")
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ConfigurationError: The OpenID Connect provider at u calls itself 'https://other.example.org', not 'https://id.example.org': set oidc_issuer to exactly its issuer.
    """
    if not isinstance(document, dict):
        raise ConfigurationError(f"{url} is not an OpenID Connect discovery document: check oidc_issuer.")
    if str(document.get("issuer", "")).rstrip("/") != issuer.rstrip("/"):
        raise ConfigurationError(f"The OpenID Connect provider at {url} calls itself {document.get('issuer')!r}, not "
                                 f"{issuer!r}: set oidc_issuer to exactly its issuer.")
    missing = [key for key in ("authorization_endpoint", "token_endpoint") if not isinstance(document.get(key), str)]
    if missing:
        raise ConfigurationError(f"The discovery document {url} has no {' and no '.join(missing)}: the provider "
                                 "does not offer the authorization-code flow rhinoapp uses.")
    methods = document.get("token_endpoint_auth_methods_supported")
    if isinstance(methods, list) and "client_secret_post" not in methods:
        raise ConfigurationError(f"The provider at {issuer} does not take client secrets in the token request's body "
                                 "(client_secret_post): allow that authentication method for the rhinoapp client.")
    return OidcEndpoints(document["authorization_endpoint"], document["token_endpoint"],
                         str(document.get("userinfo_endpoint") or ""), str(document.get("end_session_endpoint") or ""))


def discover(oidc: OidcSettings, *, timeout_s: float = 10.0) -> OidcEndpoints:
    """Read the provider's discovery document (once, when ``serve`` starts).

    Raises
    ------
    ConfigurationError
        The provider cannot be reached, or its answer is not a usable discovery document for
        ``oidc.issuer`` (each message says what to check).
    """
    url = oidc.discovery_url
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (https, or http on loopback)
            document = json.loads(response.read(1_000_000))
    except urllib.error.HTTPError as error:
        raise ConfigurationError(f"The OpenID Connect provider answered {error.code} for its discovery document {url}: "
                                 "check oidc_issuer (for Keycloak: https://HOST/realms/REALM).") from None
    except (urllib.error.URLError, OSError) as error:
        raise ConfigurationError(f"The OpenID Connect provider at {oidc.issuer} cannot be reached "
                                 f"({getattr(error, 'reason', error)}): check oidc_issuer and that this server reaches "
                                 "the provider (DNS, firewall, proxy, its TLS certificate).") from None
    except ValueError:
        raise ConfigurationError(f"{url} did not answer with JSON: check oidc_issuer.") from None
    endpoints = endpoints_of(document, issuer=oidc.issuer, url=url)
    _log.info("OpenID Connect provider %s: logins through %s", oidc.issuer, endpoints.authorization)
    return endpoints


class _OidcLoginHandler(GenericLoginHandler):
    """Panel's generic OAuth login handler, which then signs the user in as a rhinoapp account."""

    store: Store
    max_age_days: float
    user_claim: str
    groups_claim: str
    configured_redirect_uri: str
    _audited = False
    _id_token: Any = None

    def set_secure_cookie(self, name: str, value: str | bytes, *args: Any, **kwargs: Any) -> None:
        if name == "id_token":  # Panel stores the provider's claims there: keep them for the groups
            self._id_token = value
        super().set_secure_cookie(name, value, *args, **kwargs)

    def _groups(self) -> tuple[str, ...] | None:
        """The groups the provider's claims name; None when it sent no groups claim (or no readable token)."""
        token = self._id_token
        if token is None:
            return None
        try:
            if panel_state.encryption:
                token = panel_state.encryption.decrypt(token if isinstance(token, bytes) else token.encode())
            claims = decode_token(token.decode() if isinstance(token, bytes) else token)
        except (ValueError, TypeError):
            _log.warning("the provider's ID token could not be read: the user's groups stay as they were")
            return None
        return usable_groups(claims[self.groups_claim]) if isinstance(claims, dict) and self.groups_claim in claims else None

    @property
    def _redirect_uri(self) -> str:  # Panel's default is the app's root; the code comes back to this page
        return self.configured_redirect_uri or f"{self.request.protocol}://{self.request.host}{LOGIN_PATH}"

    def _audit(self, user: str, outcome: AuditOutcome) -> None:
        self._audited = True
        AuditLog(self.store).record(user, AuditAction.LOGIN, outcome, detail=_DETAIL, remote=self.request.remote_ip or "")

    async def get(self) -> None:
        try:
            await super().get()
        except HTTPError:
            if not self._audited:  # the provider refused, the state did not match, the token request failed
                self._audit("-", AuditOutcome.FAILURE)
            raise

    async def get_authenticated_user(self, redirect_uri: str, client_id: str, state: str,
                                     client_secret: str | None = None, code: str | None = None) -> Any:
        claim = await super().get_authenticated_user(redirect_uri, client_id, state, client_secret=client_secret,
                                                     code=code)
        return claim if code is None else self._sign_in(claim)  # without a code: redirected to the provider

    def _sign_in(self, claim: Any) -> str:
        try:
            name = validate_user_name(str(claim or ""))
        except ValidationError:
            self._audit("-", AuditOutcome.FAILURE)
            raise HTTPError(403, f"The provider's {self.user_claim} claim is not a rhinoapp user name (letters, "
                                 "digits and . _ @ -): set oidc_user_claim to another claim, e.g. sub.",
                            reason="user name not allowed") from None
        accounts = AccountStore(self.store)
        account = accounts.get(name)
        if account is None:  # first login: an account to share with and to manage, without a usable password
            try:
                accounts.add(name, secrets.token_urlsafe(32))
            except ConflictError:
                pass  # made by a concurrent first login
        elif account.disabled:
            self._audit(name, AuditOutcome.DENIED)
            raise HTTPError(403, "This account is disabled in rhinoapp: ask an administrator.", reason="disabled")
        accounts.record_login(name, groups=self._groups())
        self._audit(name, AuditOutcome.SUCCESS)
        self.set_signed_cookie(USER_COOKIE, name, expires_days=self.max_age_days, httponly=True,
                               secure=self.request.protocol == "https", samesite="Lax")
        _ = self.xsrf_token  # sets the _xsrf cookie: the header's "Sign out" form posts its token
        return name

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        message = error.log_message if isinstance(error, HTTPError) and error.log_message else ""
        self.clear_all_cookies()
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(login_page(title="Sign-in failed", body=(
            "<h1>Sign-in failed</h1><p class='rh-error' role='alert'>"
            f"{html.escape(message or 'The identity provider did not sign you in.')}</p>"
            f"<a class='rh-button' href='{LOGIN_PATH}'>Try again</a>")))


class OidcAuthProvider(AccountAuthProvider):
    """Logins at an OpenID Connect provider; sessions, logout and the gate as with local accounts.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store.database import open_store
    >>> store = open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp())))
    >>> oidc = OidcSettings("https://id.example.org", "rhinoapp", "s3cret")
    >>> provider = OidcAuthProvider(store, session_hours=8, oidc=oidc,
    ...                             endpoints=OidcEndpoints("https://id.example.org/auth", "https://id.example.org/token"))
    >>> provider.login_url, provider.server_options()["oauth_extra_params"]["scope"]
    ('/login', ['openid', 'profile', 'email'])
    """

    def __init__(self, store: Store, *, session_hours: int, oidc: OidcSettings, endpoints: OidcEndpoints) -> None:
        self.oidc, self.discovered = oidc, endpoints
        self._oidc_login = type("OidcLoginHandler", (_OidcLoginHandler,), {  # before Bokeh's check of the handlers
            "store": store, "max_age_days": session_hours / 24, "user_claim": oidc.user_claim,
            "groups_claim": oidc.groups_claim,
            "configured_redirect_uri": oidc.redirect_uri, "_login_endpoint": LOGIN_PATH})
        super().__init__(store, session_hours=session_hours)

    @property
    def login_handler(self) -> type[GenericLoginHandler]:
        return self._oidc_login

    def server_options(self) -> dict[str, Any]:
        """The ``pn.serve`` options that point Panel's OAuth configuration at the provider."""
        return {
            "oauth_key": self.oidc.client_id,
            "oauth_secret": self.oidc.client_secret,
            "oauth_jwt_user": self.oidc.user_claim,
            "oauth_extra_params": {"AUTHORIZE_URL": self.discovered.authorization, "TOKEN_URL": self.discovered.token,
                                   "USER_URL": self.discovered.userinfo, "LOGOUT_URL": self.discovered.end_session,
                                   "scope": list(self.oidc.scopes)},
        }
