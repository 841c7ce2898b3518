"""Settings of the OpenID Connect login: the issuer, this app's client id and secret, scopes and the user claim.

In the TOML file (or as ``RHINOAPP_OIDC_*`` variables, or ``serve --oidc-*`` flags)::

    [rhinoapp]
    oidc_issuer = "https://login.example.org/realms/clinic"   # Keycloak: the realm's URL
    oidc_client_id = "rhinoapp"
    oidc_client_secret_file = "/etc/rhinoapp/oidc-secret"     # or RHINOAPP_OIDC_CLIENT_SECRET
    oidc_scopes = "openid profile email"
    oidc_user_claim = "preferred_username"                    # or "sub", "email"
    oidc_redirect_uri = "https://rhino.example.org/login"     # behind a reverse proxy
    oidc_groups_claim = "groups"                              # the claim listing the user's groups

The client secret is read from ``RHINOAPP_OIDC_CLIENT_SECRET`` or from a file (never from a command
line flag, which other users of the machine can see); it is kept out of the settings' ``repr`` and
out of the logs.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

from rhinoapp.core.errors import ConfigurationError

if TYPE_CHECKING:
    from rhinoapp.config import Settings

__all__ = ["OidcSettings", "oidc_settings"]


@dataclasses.dataclass(frozen=True)
class OidcSettings:
    """Where the OpenID Connect provider is and how rhinoapp identifies itself to it.

    Parameters
    ----------
    issuer
        The provider's issuer URL; its discovery document is ``<issuer>/.well-known/openid-configuration``.
    client_id, client_secret
        This app's (confidential) client at the provider.
    scopes
        Scopes asked for; ``openid`` is always among them.
    user_claim
        The ID token claim that names the rhinoapp user (``preferred_username`` by default).
    groups_claim
        The ID token claim that lists the user's groups (``groups`` by default), stored with the
        account at each login for projects shared with a group.
    redirect_uri
        The URL the provider sends the browser back to (``<public URL>/login``); empty: the login
        page of the host and scheme the browser used.

    Examples
    --------
    >>> s = OidcSettings("https://id.example.org/realms/a", "rhinoapp", "s3cret")
    >>> s.scopes, "s3cret" in repr(s)
    (('openid', 'profile', 'email'), False)
    """

    issuer: str
    client_id: str
    client_secret: str = dataclasses.field(repr=False)
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    user_claim: str = "preferred_username"
    redirect_uri: str = ""
    groups_claim: str = "groups"

    @property
    def discovery_url(self) -> str:
        """The provider's discovery document.

        Examples
        --------
        >>> OidcSettings("https://id.example.org/realms/a/", "c", "s").discovery_url
        'https://id.example.org/realms/a/.well-known/openid-configuration'
        """
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


def _check_url(name: str, url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ConfigurationError(f"{name} {url!r} must be an https:// URL (plain http only on this machine, e.g. "
                                 "http://127.0.0.1:8080 for a test provider): fix it in the settings.")


def oidc_settings(settings: Settings) -> OidcSettings | None:
    """The OpenID Connect settings of ``settings``, or None when no issuer is configured.

    Reads the client secret from ``oidc_client_secret`` (``RHINOAPP_OIDC_CLIENT_SECRET``) or from the
    file ``oidc_client_secret_file``.

    Raises
    ------
    ConfigurationError
        An issuer without a client id or secret, a secret given twice or unreadable, a URL that is
        not https (plain http is allowed on loopback only), or scopes without ``openid``.

    Examples
    --------
    >>> from rhinoapp.config import Settings
    >>> oidc_settings(Settings()) is None
    True
    >>> oidc_settings(Settings(oidc_issuer="https://id.example.org", oidc_client_id="rh", oidc_client_secret="x")).user_claim
    'preferred_username'
    >>> oidc_settings(Settings(oidc_issuer="https://id.example.org", oidc_client_id="rh"))
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ConfigurationError: The OpenID Connect login needs the client secret: set RHINOAPP_OIDC_CLIENT_SECRET or oidc_client_secret_file (--oidc-client-secret-file) to the secret the provider shows for client 'rh'.
    """
    if not settings.oidc_issuer:
        if settings.oidc_client_id or settings.oidc_client_secret or settings.oidc_client_secret_file:
            raise ConfigurationError("An OpenID Connect client is configured without its provider: set oidc_issuer "
                                     "(RHINOAPP_OIDC_ISSUER, --oidc-issuer) to the provider's issuer URL.")
        return None
    _check_url("oidc_issuer", settings.oidc_issuer)
    if settings.oidc_redirect_uri:
        _check_url("oidc_redirect_uri", settings.oidc_redirect_uri)
    if not settings.oidc_client_id:
        raise ConfigurationError("The OpenID Connect login needs the client id registered at the provider: set "
                                 "oidc_client_id (RHINOAPP_OIDC_CLIENT_ID, --oidc-client-id).")
    secret = settings.oidc_client_secret
    if settings.oidc_client_secret_file:
        if secret:
            raise ConfigurationError("The OpenID Connect client secret is given twice: keep either "
                                     "RHINOAPP_OIDC_CLIENT_SECRET or oidc_client_secret_file.")
        path = Path(settings.oidc_client_secret_file).expanduser()
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ConfigurationError(f"The OpenID Connect client secret file {path} cannot be read "
                                     f"({error.strerror}): fix oidc_client_secret_file.") from None
    if not secret:
        raise ConfigurationError("The OpenID Connect login needs the client secret: set RHINOAPP_OIDC_CLIENT_SECRET "
                                 "or oidc_client_secret_file (--oidc-client-secret-file) to the secret the provider "
                                 f"shows for client {settings.oidc_client_id!r}.")
    scopes = tuple(settings.oidc_scopes.replace(",", " ").split())
    if "openid" not in scopes:
        raise ConfigurationError(f"oidc_scopes {settings.oidc_scopes!r} must include 'openid' (e.g. "
                                 "'openid profile email').")
    if not settings.oidc_user_claim.strip():
        raise ConfigurationError("oidc_user_claim is empty: use preferred_username, sub or email.")
    return OidcSettings(settings.oidc_issuer, settings.oidc_client_id, secret, scopes,
                        settings.oidc_user_claim.strip(), settings.oidc_redirect_uri,
                        settings.oidc_groups_claim.strip() or "groups")
