"""Command-line interface of rhinoapp.

Each command lives in its own module with a ``register(commands, shared)`` function that adds
its parser and sets ``handler`` (a function ``(args) -> int``); add a new command by adding its
module name to :data:`COMMAND_MODULES`. Output for people goes to stdout, diagnostics to the log
(stderr). Errors exit with status 2 and one ``rhinoapp: error:`` line that says what to do
(:func:`rhinoapp.core.failures.explain`), whatever failed: no traceback reaches the user. An unexpected failure
is logged with its traceback at DEBUG level; ``--debug`` shows it.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from rhinoapp import __version__
from rhinoapp.cli._common import common_options, settings_from
from rhinoapp.core.failures import explain, is_unexpected

__all__ = ["COMMAND_MODULES", "build_parser", "main"]

#: Modules under ``rhinoapp.cli`` that each register one command, in the order of ``--help``.
COMMAND_MODULES: tuple[str, ...] = ("serve", "desktop", "users", "projects", "share", "rhinomanometry", "dicom", "phantom",
                                     "segment", "simulate", "sweep", "report")


_DETAILS = "run the command again with --debug to see the details"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``rhinoapp`` command."""
    # Options given after a command override those given before it.
    parser = argparse.ArgumentParser(prog="rhinoapp", description="Nasal airflow analysis from CT to the browser.",
                                     parents=[common_options(None)])
    parser.add_argument("--version", action="version", version=f"rhinoapp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    shared = common_options(argparse.SUPPRESS)
    for name in COMMAND_MODULES:
        importlib.import_module(f"rhinoapp.cli.{name}").register(commands, shared)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit status."""
    args = build_parser().parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    try:
        settings = settings_from(args)
        verbose = debug or getattr(args, "verbose_logging", False) or settings.log_level.upper() == "DEBUG"
        level = "DEBUG" if debug else settings.log_level.upper() if verbose else "WARNING"
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return int(args.handler(args))
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # every failure ends in one line that says what to do
        if is_unexpected(error) or debug:
            logging.getLogger(__name__).debug("rhinoapp %s failed", getattr(args, "command", ""), exc_info=True)
        sys.stderr.write(f"rhinoapp: error: {' '.join(explain(error, details=_DETAILS).split())}\n")
        return 2
