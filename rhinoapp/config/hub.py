"""JupyterHub service settings: what the hub tells a service it starts, read from ``JUPYTERHUB_*`` variables.

``rhinoapp serve --jupyterhub`` runs rhinoapp as a JupyterHub service: the hub's proxy forwards
``/services/<name>/`` to it, and the users sign in through the hub's OAuth. A hub-managed service
(``services`` entry with a ``command`` in ``jupyterhub_config.py``) gets every variable from the hub;
an external one (a ``services`` entry with a ``url`` and an ``api_token`` only) needs at least
``JUPYTERHUB_API_TOKEN``, ``JUPYTERHUB_API_URL``, ``JUPYTERHUB_SERVICE_NAME`` and
``JUPYTERHUB_SERVICE_URL`` set by whoever starts it; the rest follows from those.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from urllib.parse import urlsplit

from rhinoapp.core.errors import ConfigurationError

__all__ = ["HubSettings", "hub_settings_from"]

_NEEDED = ("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_SERVICE_URL")
_HOW = ("Run `rhinoapp serve --jupyterhub` as a JupyterHub service: list it in `c.JupyterHub.services` with a "
        "`command` (the hub sets every variable) or, for an external service, set JUPYTERHUB_API_TOKEN (the "
        "service's api_token), JUPYTERHUB_API_URL, JUPYTERHUB_SERVICE_NAME and JUPYTERHUB_SERVICE_URL (its url); "
        "see docs/deployment.md.")


@dataclasses.dataclass(frozen=True)
class HubSettings:
    """How rhinoapp reaches the hub that fronts it, and where the hub's proxy serves it.

    Parameters
    ----------
    api_token
        The service's API token (the hub's OAuth client secret for it too).
    api_url
        The hub's internal API, e.g. ``http://127.0.0.1:8081/hub/api``.
    service_name
        The service's name in ``c.JupyterHub.services``.
    service_url
        Where the hub's proxy sends ``/services/<name>/``; rhinoapp listens there.
    prefix
        The path the proxy serves rhinoapp under, ``/services/<name>/``.
    client_id
        The service's OAuth client id, ``service-<name>``.
    hub_prefix
        The hub's own path, ``/hub/`` (under the hub's ``base_url``).
    callback_url
        The OAuth redirect URI the hub registered for the service.
    public_url
        The public URL of the service (set when ``c.JupyterHub.public_url`` is); its host is
        allowed as the websocket origin.
    access_scopes
        The scopes a user needs to enter (``access:services!service=<name>``, from the hub).

    Examples
    --------
    >>> hub = hub_settings_from({"JUPYTERHUB_API_TOKEN": "t", "JUPYTERHUB_SERVICE_NAME": "rhinoapp",
    ...                          "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:10101"})
    >>> hub.prefix, hub.client_id, hub.callback_url, hub.address, hub.port
    ('/services/rhinoapp/', 'service-rhinoapp', '/services/rhinoapp/oauth_callback', '127.0.0.1', 10101)
    """

    api_token: str
    api_url: str
    service_name: str
    service_url: str
    prefix: str
    client_id: str
    hub_prefix: str = "/hub/"
    callback_url: str = ""
    public_url: str = ""
    access_scopes: tuple[str, ...] = ()

    @property
    def address(self) -> str:
        """The address of :attr:`service_url` (where ``serve`` listens)."""
        return urlsplit(self.service_url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        """The port of :attr:`service_url`."""
        parts = urlsplit(self.service_url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def public_origin(self) -> str:
        """``host[:port]`` of :attr:`public_url` (the origin of the pages the browser shows), or ``""``.

        Examples
        --------
        >>> HubSettings("t", "u", "rh", "http://127.0.0.1:1", "/services/rh/", "service-rh",
        ...             public_url="https://hub.example.org/services/rh/").public_origin
        'hub.example.org'
        """
        return urlsplit(self.public_url).netloc if self.public_url else ""


def _scopes(raw: str, name: str) -> tuple[str, ...]:
    if not raw:
        return ()
    try:
        scopes = json.loads(raw)
    except json.JSONDecodeError:
        raise ConfigurationError(f"{name} must be a JSON list of scopes, not {raw!r}: {_HOW}") from None
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise ConfigurationError(f"{name} must be a JSON list of scopes, not {raw!r}: {_HOW}")
    return tuple(scopes)


def hub_settings_from(environ: Mapping[str, str]) -> HubSettings:
    """Read the ``JUPYTERHUB_*`` variables a hub gives its services.

    Raises
    ------
    ConfigurationError
        When the API token or the service URL is missing (the message says how to run rhinoapp as
        a hub service).

    Examples
    --------
    >>> hub_settings_from({})
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ConfigurationError: serve --jupyterhub needs JUPYTERHUB_API_TOKEN, JUPYTERHUB_SERVICE_URL. Run `rhinoapp serve --jupyterhub` as a JupyterHub service: list it in `c.JupyterHub.services` with a `command` (the hub sets every variable) or, for an external service, set JUPYTERHUB_API_TOKEN (the service's api_token), JUPYTERHUB_API_URL, JUPYTERHUB_SERVICE_NAME and JUPYTERHUB_SERVICE_URL (its url); see docs/deployment.md.
    """
    missing = [name for name in _NEEDED if not environ.get(name)]
    if missing:
        raise ConfigurationError(f"serve --jupyterhub needs {', '.join(missing)}. {_HOW}")
    name = environ.get("JUPYTERHUB_SERVICE_NAME") or "rhinoapp"
    prefix = environ.get("JUPYTERHUB_SERVICE_PREFIX") or f"/services/{name}/"
    prefix = "/" + prefix.strip("/") + "/"
    base = "/" + (environ.get("JUPYTERHUB_BASE_URL") or "/").strip("/")
    hub_prefix = base.rstrip("/") + "/hub/"
    service_url = environ["JUPYTERHUB_SERVICE_URL"]
    if urlsplit(service_url).scheme not in ("http", "https") or not urlsplit(service_url).hostname:
        raise ConfigurationError(f"JUPYTERHUB_SERVICE_URL must be an http(s) URL such as http://127.0.0.1:10101, "
                                 f"not {service_url!r}. {_HOW}")
    return HubSettings(
        api_token=environ["JUPYTERHUB_API_TOKEN"],
        api_url=environ.get("JUPYTERHUB_API_URL") or f"http://127.0.0.1:8081{hub_prefix}api",
        service_name=name,
        service_url=service_url,
        prefix=prefix,
        client_id=environ.get("JUPYTERHUB_CLIENT_ID") or f"service-{name}",
        hub_prefix=hub_prefix,
        callback_url=environ.get("JUPYTERHUB_OAUTH_CALLBACK_URL") or f"{prefix}oauth_callback",
        public_url=environ.get("JUPYTERHUB_PUBLIC_URL", ""),
        access_scopes=_scopes(environ.get("JUPYTERHUB_OAUTH_ACCESS_SCOPES", ""), "JUPYTERHUB_OAUTH_ACCESS_SCOPES"),
    )
