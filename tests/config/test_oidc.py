"""The OpenID Connect settings: where the secret comes from, what is refused, and that it is never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from rhinoapp.config import load_settings
from rhinoapp.config.oidc import oidc_settings
from rhinoapp.core.errors import ConfigurationError

ISSUER = "https://login.example.org/realms/clinic"


def test_secret_from_the_environment_is_read_and_never_shown() -> None:
    settings = load_settings(environ={"RHINOAPP_OIDC_ISSUER": ISSUER, "RHINOAPP_OIDC_CLIENT_ID": "rhinoapp",
                                      "RHINOAPP_OIDC_CLIENT_SECRET": "s3cret-value"})
    oidc = oidc_settings(settings)
    assert oidc is not None and oidc.client_secret == "s3cret-value"
    assert "s3cret-value" not in repr(settings) and "s3cret-value" not in repr(oidc)


def test_secret_from_a_file_and_the_flags(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-file\n")
    settings = load_settings(environ={}, overrides={"oidc_issuer": ISSUER, "oidc_client_id": "rhinoapp",
                                                    "oidc_client_secret_file": str(secret)})
    oidc = oidc_settings(settings)
    assert oidc is not None and (oidc.client_secret, oidc.user_claim) == ("from-file", "preferred_username")


@pytest.mark.parametrize(("values", "message"), [
    ({"oidc_client_id": "rhinoapp", "oidc_client_secret": "x", "oidc_issuer": "http://login.example.org"},
     "must be an https:// URL"),
    ({"oidc_client_secret": "x", "oidc_issuer": ISSUER}, "needs the client id"),
    ({"oidc_client_id": "rhinoapp", "oidc_client_secret": "x", "oidc_client_secret_file": "/nonexistent/secret",
      "oidc_issuer": ISSUER}, "given twice"),
    ({"oidc_client_id": "rhinoapp", "oidc_client_secret_file": "/nonexistent/secret", "oidc_issuer": ISSUER},
     "cannot be read"),
    ({"oidc_client_id": "rhinoapp", "oidc_client_secret": "x", "oidc_issuer": ISSUER, "oidc_scopes": "profile"},
     "must include 'openid'"),
    ({"oidc_client_id": "rhinoapp"}, "without its provider"),
])
def test_misconfigurations_say_what_to_fix(values: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        oidc_settings(load_settings(environ={}, overrides=values))


def test_plain_http_is_allowed_on_this_machine() -> None:
    settings = load_settings(environ={}, overrides={"oidc_issuer": "http://127.0.0.1:8080", "oidc_client_id": "c",
                                                    "oidc_client_secret": "x"})
    assert oidc_settings(settings) is not None
