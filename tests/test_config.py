"""Settings from defaults, TOML, environment and overrides."""

from pathlib import Path

import pytest

from rhinoapp.config import Settings, load_settings
from rhinoapp.core.errors import ConfigurationError


def test_defaults_bind_to_loopback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert (settings.address, settings.port, settings.user) == ("127.0.0.1", 5006, "local")
    assert settings.data_dir == tmp_path / "data"
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'data' / 'rhinoapp.sqlite'}"


def test_precedence_toml_then_env_then_overrides(tmp_path: Path) -> None:
    toml = tmp_path / "rhinoapp.toml"
    toml.write_text('[rhinoapp]\nport = 6000\nuser = "dr-a"\ndata_dir = "/srv/rh"\n')
    env = {"RHINOAPP_CONFIG": str(toml), "RHINOAPP_USER": "dr-b"}
    settings = load_settings(environ=env, overrides={"data_dir": tmp_path, "port": None})
    assert (settings.port, settings.user, settings.data_dir) == (6000, "dr-b", tmp_path)


@pytest.mark.parametrize(("env", "phrase"), [
    ({"RHINOAPP_PORT": "http"}, "whole number"),
    ({"RHINOAPP_PORT": "70000"}, "0 to 65535"),
    ({"RHINOAPP_ADDRESS": "my-host"}, "not an IP address"),
    ({"RHINOAPP_LOG_LEVEL": "LOUD"}, "log_level"),
    ({"RHINOAPP_CONFIG": "/nonexistent/rhinoapp.toml"}, "does not exist"),
])
def test_bad_settings_say_what_to_fix(env: dict, phrase: str) -> None:
    with pytest.raises(ConfigurationError, match=phrase):
        load_settings(environ=env)


def test_bad_toml(tmp_path: Path) -> None:
    broken = tmp_path / "bad.toml"
    broken.write_text("port = = 1")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        load_settings(environ={}, config_file=broken)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("colour = 'red'")
    with pytest.raises(ConfigurationError, match="Unknown setting"):
        load_settings(environ={}, config_file=unknown)


def test_settings_are_frozen() -> None:
    with pytest.raises(AttributeError):
        Settings().port = 1  # type: ignore[misc]
