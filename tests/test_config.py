"""Settings from defaults, TOML, environment and overrides."""

import os
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


def test_per_user_limits_and_the_render_pool_from_the_environment() -> None:
    settings = load_settings(environ={"RHINOAPP_MAX_JOBS_PER_USER": "3", "RHINOAPP_MAX_RENDER_WORKERS_PER_USER": "1",
                                      "RHINOAPP_RENDER_POOL_SIZE": "6"})
    assert (settings.max_jobs_per_user, settings.max_render_workers_per_user, settings.render_pool_cap) == (3, 1, 6)
    defaults = load_settings(environ={})
    assert (defaults.max_jobs_per_user, defaults.max_render_workers_per_user) == (2, 2)
    assert defaults.render_pool_cap == max(2, os.cpu_count() or 1)
    with pytest.raises(ConfigurationError, match="max_jobs_per_user must be a whole number >= 1"):
        load_settings(environ={"RHINOAPP_MAX_JOBS_PER_USER": "0"})
    with pytest.raises(ConfigurationError, match="render_pool_size must be 0"):
        load_settings(environ={"RHINOAPP_RENDER_POOL_SIZE": "-1"})
