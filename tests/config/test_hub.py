"""JupyterHub service settings: read from the hub's variables; a start without them stops with a fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rhinoapp.app import serve
from rhinoapp.cli import main
from rhinoapp.config import Settings
from rhinoapp.config.hub import hub_settings_from
from rhinoapp.core.errors import ConfigurationError

MANAGED = {  # what JupyterHub 6 gives a managed service named rhinoapp (no public_url configured)
    "JUPYTERHUB_API_TOKEN": "token", "JUPYTERHUB_API_URL": "http://127.0.0.1:18081/hub/api",
    "JUPYTERHUB_BASE_URL": "/", "JUPYTERHUB_CLIENT_ID": "service-rhinoapp", "JUPYTERHUB_SERVICE_NAME": "rhinoapp",
    "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:10101", "JUPYTERHUB_SERVICE_PREFIX": "/services/rhinoapp/",
    "JUPYTERHUB_OAUTH_CALLBACK_URL": "/services/rhinoapp/oauth_callback",
    "JUPYTERHUB_OAUTH_ACCESS_SCOPES": '["access:services!service=rhinoapp", "access:services"]',
}


def test_the_variables_of_a_managed_service_are_read() -> None:
    hub = hub_settings_from(MANAGED)
    assert (hub.api_url, hub.prefix, hub.hub_prefix, hub.address, hub.port) == (
        "http://127.0.0.1:18081/hub/api", "/services/rhinoapp/", "/hub/", "127.0.0.1", 10101)
    assert hub.access_scopes == ("access:services!service=rhinoapp", "access:services")
    assert hub_settings_from({**MANAGED, "JUPYTERHUB_BASE_URL": "/jh/"}).hub_prefix == "/jh/hub/"
    with pytest.raises(ConfigurationError, match="JSON list"):
        hub_settings_from({**MANAGED, "JUPYTERHUB_OAUTH_ACCESS_SCOPES": "access:services"})
    with pytest.raises(ConfigurationError, match="http"):
        hub_settings_from({**MANAGED, "JUPYTERHUB_SERVICE_URL": "127.0.0.1:10101"})


def test_serve_without_the_hubs_public_origin_stops_before_starting(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="c.JupyterHub.public_url"):
        serve(Settings(data_dir=tmp_path), hub=hub_settings_from(MANAGED))
    assert not (tmp_path / "rhinoapp.sqlite").exists()


def test_serve_jupyterhub_outside_a_hub_exits_with_status_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    for name in [n for n in os.environ if n.startswith("JUPYTERHUB_")]:
        monkeypatch.delenv(name)
    assert main(["serve", "--jupyterhub", "--data-dir", str(tmp_path)]) == 2
    assert "JUPYTERHUB_API_TOKEN" in capsys.readouterr().err
