"""Command-line interface: ``rhinoapp serve`` and ``rhinoapp projects list|create|delete``.

Output for people goes to stdout, diagnostics to the log (stderr). Errors exit with status 2
and one sentence that says what to do.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from rhinoapp import __version__
from rhinoapp.config import Settings, load_settings
from rhinoapp.core.errors import NotFoundError, RhinoappError, ValidationError
from rhinoapp.core.workflow import Step
from rhinoapp.store.database import open_store
from rhinoapp.store.repository import ProjectRepository

__all__ = ["build_parser", "main"]

_log = logging.getLogger("rhinoapp")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``rhinoapp`` command."""
    def common(default: object) -> argparse.ArgumentParser:
        shared = argparse.ArgumentParser(add_help=False)
        shared.add_argument("--config", type=Path, default=default, help="TOML settings file (default: $RHINOAPP_CONFIG)")
        shared.add_argument("--data-dir", type=Path, default=default,
                            help="data directory (default: ./data or $RHINOAPP_DATA_DIR)")
        shared.add_argument("--user", default=default, help="owner of the projects (default: local or $RHINOAPP_USER)")
        return shared

    # Options given after a command override those given before it.
    parser = argparse.ArgumentParser(prog="rhinoapp", description="Nasal airflow analysis from CT to the browser.",
                                     parents=[common(None)])
    parser.add_argument("--version", action="version", version=f"rhinoapp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub = common(argparse.SUPPRESS)

    serve = commands.add_parser("serve", help="start the web app", parents=[sub])
    serve.add_argument("--address", help="interface to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, help="port (default 5006)")
    serve.add_argument("--show", action="store_true", help="open the app in a browser")

    projects = commands.add_parser("projects", help="list, create or delete projects")
    actions = projects.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="list projects with the status of each step", parents=[sub])
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.add_argument("--search", default="", help="only projects whose name or description contains this")
    create = actions.add_parser("create", help="create a project", parents=[sub])
    create.add_argument("name")
    create.add_argument("--description", default="")
    delete = actions.add_parser("delete", help="delete a project and all its files", parents=[sub])
    delete.add_argument("project", help="project name or id")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    rhino = commands.add_parser("rhinomanometry", help="compute 4PR parameters of a rhinomanometry CSV file")
    rhino.add_argument("file", type=Path, help="recording in rhinoapp's 4PR CSV format (or a tolerated variant)")
    rhino.add_argument("--json", type=Path, dest="json_out", help="also write all parameters as JSON to this file")
    return parser


def _format_value(value: object, unit: str) -> str:
    number = getattr(value, "value", value)
    if number is None:
        return f"not reached ({getattr(value, 'reason', '')})" if getattr(value, "reason", "") else "n/a"
    return f"{number:.3f} {unit}"


def _rhinomanometry(args: argparse.Namespace) -> int:
    from rhinoapp.rhinomanometry import analyse
    from rhinoapp.rhinomanometry.io import read_csv_file
    from rhinoapp.store.artifacts import atomic_write

    result = analyse(read_csv_file(args.file))
    for side in result.sides:
        _out(f"{side.side.value} side: {len(side.breaths)} breath(s)")
        for name, unit in (("r75", "Pa*s/ml"), ("r150", "Pa*s/ml"), ("vr", "Pa*s/ml"), ("reff", "Pa*s/ml")):
            _out(f"  {name.upper():<6} {_format_value(side.mean(name), unit)}")
        if side.rohrer is not None:
            _out(f"  Rohrer K1 {side.rohrer.k1:.4g} Pa*s/ml, K2 {side.rohrer.k2:.4g} Pa*s2/ml2")
    _out(f"total R150 {_format_value(result.total.r150, 'Pa*s/ml')}")
    if args.json_out is not None:
        atomic_write(args.json_out, json.dumps(result.as_dict(), indent=2).encode())
        _out(f"parameters written to {args.json_out}")
    return 0


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        "data_dir": args.data_dir,
        "user": args.user,
        "address": getattr(args, "address", None),
        "port": getattr(args, "port", None),
    }
    return load_settings(config_file=args.config, overrides=overrides)


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def _find(repo: ProjectRepository, key: str) -> str:
    for project in repo.list_projects():
        if key in (project.id, project.name) or project.name.casefold() == key.casefold():
            return project.id
    raise NotFoundError(f'No project named or with id "{key}": see `rhinoapp projects list`.')


def _projects(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings)
    try:
        repo = ProjectRepository(store, owner=settings.user)
        if args.action == "create":
            project = repo.create(args.name, args.description)
            _out(f"created {project.name} ({project.id})")
        elif args.action == "delete":
            project = repo.get(_find(repo, args.project))
            if not args.yes:
                if not sys.stdin.isatty():
                    raise ValidationError(f'Refusing to delete "{project.name}" without confirmation: add --yes.')
                answer = input(f'Delete project "{project.name}" and all its files? [y/N] ')
                if answer.strip().lower() not in ("y", "yes"):
                    _out("nothing deleted")
                    return 1
            repo.delete(project.id)
            _out(f"deleted {project.name}")
        else:
            projects = repo.list_projects(search=args.search)
            statuses = repo.statuses([p.id for p in projects])
            rows = [
                {"id": p.id, "name": p.name, "description": p.description, "created": p.created.isoformat(),
                 "status": {s.label: statuses[p.id][s].status.value for s in Step}}
                for p in projects
            ]
            if args.json:
                _out(json.dumps(rows, indent=2))
            else:
                header = f"{'Created':<11} {'Name':<30} " + " ".join(f"{s.label:<17}" for s in Step)
                _out(header)
                for row in rows:
                    cells = " ".join(f"{v:<17}" for v in row["status"].values())
                    _out(f"{row['created'][:10]:<11} {row['name'][:30]:<30} {cells}")
                if not rows:
                    _out("(no projects: create one with `rhinoapp projects create NAME`)")
        return 0
    finally:
        store.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit status."""
    args = build_parser().parse_args(argv)
    try:
        settings = _settings(args)
        level = settings.log_level.upper() if args.command == "serve" or settings.log_level.upper() == "DEBUG" else "WARNING"
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        if args.command == "rhinomanometry":
            return _rhinomanometry(args)
        if args.command == "serve":
            from rhinoapp.app import serve  # Panel loads only for the web app

            serve(settings, show=args.show)
            return 0
        return _projects(args, settings)
    except RhinoappError as error:
        sys.stderr.write(f"rhinoapp: error: {error}\n")
        return 2
    except KeyboardInterrupt:
        return 130
