"""``rhinoapp projects list|create|delete``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rhinoapp.cli._common import repository, find_project, out, settings_from
from rhinoapp.core.errors import ValidationError
from rhinoapp.core.workflow import Step
from rhinoapp.store.cleanup import delete_stopped_project
from rhinoapp.store.database import open_store
from rhinoapp.store.repository import ProjectRepository

__all__ = ["register"]


def register(commands: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    """Add the ``projects`` command and its actions."""
    projects = commands.add_parser("projects", help="list, create or delete projects")
    actions = projects.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="list projects with the status of each step", parents=[shared])
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.add_argument("--search", default="", help="only projects whose name or description contains this")
    create = actions.add_parser("create", help="create a project", parents=[shared])
    create.add_argument("name")
    create.add_argument("--description", default="")
    delete = actions.add_parser("delete", help="delete a project and all its files", parents=[shared])
    delete.add_argument("project", help="project name or id")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    delete.add_argument("--force", action="store_true",
                        help="delete even though jobs of the project are recorded as queued or running (for "
                             "jobs of an app that is no longer running; in a running app, delete the project "
                             "on its Projects page, which stops the jobs first)")
    projects.set_defaults(handler=_projects)


def _projects(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    store = open_store(settings)
    try:
        repo = repository(store, settings)
        if args.action == "create":
            project = repo.create(args.name, args.description)
            out(f"created {project.name} ({project.id})")
            return 0
        if args.action == "delete":
            return _delete(repo, args)
        _list(repo, args)
        return 0
    finally:
        store.close()


def _delete(repo: ProjectRepository, args: argparse.Namespace) -> int:
    project = repo.get(find_project(repo, args.project))
    if not args.yes:
        if not sys.stdin.isatty():
            raise ValidationError(f'Refusing to delete "{project.name}" without confirmation: add --yes.')
        answer = input(f'Delete project "{project.name}" and all its files? [y/N] ')
        if answer.strip().lower() not in ("y", "yes"):
            out("nothing deleted")
            return 1
    delete_stopped_project(repo.store, owner=repo.owner, project_id=project.id, force=args.force)
    out(f"deleted {project.name}")
    return 0


def _list(repo: ProjectRepository, args: argparse.Namespace) -> None:
    projects = repo.list_projects(search=args.search)
    statuses = repo.statuses([p.id for p in projects])
    rows: list[dict[str, Any]] = [
        {"id": p.id, "name": p.name, "description": p.description, "created": p.created.isoformat(),
         "status": {s.label: statuses[p.id][s].status.value for s in Step}}
        for p in projects
    ]
    if args.json:
        out(json.dumps(rows, indent=2))
        return
    out(f"{'Created':<11} {'Name':<30} " + " ".join(f"{s.label:<17}" for s in Step))
    for row in rows:
        cells = " ".join(f"{v:<17}" for v in row["status"].values())
        out(f"{row['created'][:10]:<11} {row['name'][:30]:<30} {cells}")
    if not rows:
        out("(no projects: create one with `rhinoapp projects create NAME`)")
