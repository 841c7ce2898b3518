"""Helpers shared by the command modules: settings from arguments, output, project lookup."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rhinoapp.config import Settings, load_settings
from rhinoapp.core.errors import NotFoundError
from rhinoapp.store.repository import ProjectRepository

__all__ = ["common_options", "find_project", "out", "settings_from"]


def common_options(default: object) -> argparse.ArgumentParser:
    """Options every command accepts (before or after the command name)."""
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("--config", type=Path, default=default, help="TOML settings file (default: $RHINOAPP_CONFIG)")
    shared.add_argument("--data-dir", type=Path, default=default,
                        help="data directory (default: ./data or $RHINOAPP_DATA_DIR)")
    shared.add_argument("--user", default=default, help="owner of the projects (default: local or $RHINOAPP_USER)")
    return shared


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from defaults, the config file, the environment and the command line."""
    overrides = {
        "data_dir": getattr(args, "data_dir", None),
        "user": getattr(args, "user", None),
        "address": getattr(args, "address", None),
        "port": getattr(args, "port", None),
    }
    return load_settings(config_file=getattr(args, "config", None), overrides=overrides)


def out(text: str) -> None:
    """Write one line for people to stdout."""
    sys.stdout.write(text + "\n")


def find_project(repo: ProjectRepository, key: str) -> str:
    """The id of the project named ``key`` (case-insensitive) or with id ``key``."""
    for project in repo.list_projects():
        if key in (project.id, project.name) or project.name.casefold() == key.casefold():
            return project.id
    raise NotFoundError(f'No project named or with id "{key}": see `rhinoapp projects list`.')
