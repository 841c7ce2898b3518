"""Helpers shared by the command modules: settings from arguments, output, project lookup."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from rhinoapp.config import Settings, load_settings
from rhinoapp.core.errors import NotFoundError, PermissionDeniedError
from rhinoapp.core.progress import ProgressReport, format_duration
from rhinoapp.store.accounts import AccountStore
from rhinoapp.store.database import Store
from rhinoapp.store.repository import ProjectRepository

__all__ = ["ProgressPrinter", "checked_user", "common_options", "find_project", "out", "repository", "settings_from"]


def common_options(default: object) -> argparse.ArgumentParser:
    """Options every command accepts (before or after the command name)."""
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("--config", type=Path, default=default, help="TOML settings file (default: $RHINOAPP_CONFIG)")
    shared.add_argument("--data-dir", type=Path, default=default,
                        help="data directory (default: ./data or $RHINOAPP_DATA_DIR)")
    shared.add_argument("--user", default=default, help="owner of the projects (default: local or $RHINOAPP_USER)")
    shared.add_argument("--debug", action="store_true", default=default,
                        help="log everything and show the traceback of an unexpected failure")
    return shared


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from defaults, the config file, the environment and the command line."""
    overrides = {
        "data_dir": getattr(args, "data_dir", None),
        "user": getattr(args, "user", None),
        "address": getattr(args, "address", None),
        "port": getattr(args, "port", None),
        "ssl_certfile": getattr(args, "ssl_certfile", None),
        "ssl_keyfile": getattr(args, "ssl_keyfile", None),
        **{name: getattr(args, name, None)
           for name in ("oidc_issuer", "oidc_client_id", "oidc_client_secret_file", "oidc_redirect_uri")},
    }
    return load_settings(config_file=getattr(args, "config", None), overrides=overrides)


def checked_user(store: Store, settings: Settings) -> str:
    """The CLI's user: any name while no account exists, else it must name an enabled account.

    Examples
    --------
    >>> import tempfile
    >>> from rhinoapp.store.database import open_store
    >>> settings = Settings(data_dir=Path(tempfile.mkdtemp()), user="ana")
    >>> store = open_store(settings)
    >>> checked_user(store, settings)
    'ana'
    >>> _ = AccountStore(store).add("bob", "a long password")
    >>> checked_user(store, settings)
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.PermissionDeniedError: --user ana is not an enabled account of this installation: pass --user with your account name (see `rhinoapp users list`).
    """
    accounts = AccountStore(store)
    if accounts.any() and not accounts.active(settings.user):
        raise PermissionDeniedError(f"--user {settings.user} is not an enabled account of this installation: pass "
                                    "--user with your account name (see `rhinoapp users list`).")
    return settings.user


def repository(store: Store, settings: Settings) -> ProjectRepository:
    """The repository of the CLI's (checked) user."""
    return ProjectRepository(store, owner=checked_user(store, settings))


def out(text: str) -> None:
    """Write one line for people to stdout."""
    sys.stdout.write(text + "\n")


def find_project(repo: ProjectRepository, key: str) -> str:
    """The id of the project named ``key`` (case-insensitive) or with id ``key``."""
    for project in repo.list_projects():
        if key in (project.id, project.name) or project.name.casefold() == key.casefold():
            return project.id
    raise NotFoundError(f'No project named or with id "{key}": see `rhinoapp projects list`.')


class ProgressPrinter:
    """Progress on stderr: one line rewritten in place on a terminal, a line per 5 % otherwise.

    Each line gives the percentage, the report in words and the time left (the report's own, else
    estimated from the share done so far).

    Examples
    --------
    >>> import io
    >>> stream = io.StringIO()
    >>> ProgressPrinter(stream)(ProgressReport(0.5, step=200, total=400, eta_s=65.0, mlups=3.0))
    >>> stream.getvalue().split(" (")[0]
    ' 50.0 % step 200 of 400, 3.0 MLUPS, about 1 min 5 s left'
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty()
        self._last = -1.0
        self._started = time.monotonic()

    def __call__(self, report: ProgressReport) -> None:
        elapsed = time.monotonic() - self._started
        eta = report.with_eta(elapsed).eta_s
        left = f"about {format_duration(eta)} left" if eta is not None and report.fraction < 1.0 else ""
        line = f"{100 * report.fraction:5.1f} % " + ", ".join(part for part in (report.message, left) if part)
        if self._tty:
            self._stream.write(f"\r{line}\x1b[K")
        elif report.fraction >= 1.0 or report.fraction - self._last >= 0.05:
            self._last = report.fraction
            self._stream.write(f"{line} ({format_duration(elapsed)})\n")
        self._stream.flush()

    def done(self) -> None:
        """End the line rewritten in place (on a terminal)."""
        if self._tty:
            self._stream.write("\n")
            self._stream.flush()

    def part(self, offset: float, scale: float) -> Callable[[ProgressReport], None]:
        """A callback for a step covering ``offset`` to ``offset + scale`` of the whole."""
        return lambda report: self(report.within(offset, scale))
