"""``rhinoapp share PROJECT USER --role viewer|editor`` (``--group``: USER names a group) and ``--revoke``: who else may see a project."""

from __future__ import annotations

import argparse

from rhinoapp.cli._common import find_project, out, repository, settings_from
from rhinoapp.core.access import Role
from rhinoapp.store.database import open_store
from rhinoapp.store.sharing import SharingService

__all__ = ["register"]


def register(commands: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    """Add the ``share`` command."""
    share = commands.add_parser("share", help="share a project with a user (viewer or editor), or revoke it",
                                parents=[shared])
    share.add_argument("project", help="project name or id (one of --user's own)")
    share.add_argument("with_user", metavar="USER", nargs="?", help="the account to share with")
    share.add_argument("--role", choices=[Role.VIEWER.value, Role.EDITOR.value], default=Role.VIEWER.value)
    share.add_argument("--group", action="store_true", help="USER names a group: every member gets the role")
    share.add_argument("--revoke", action="store_true", help="withdraw USER's access instead")
    share.set_defaults(handler=_share)


def _share(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    store = open_store(settings)
    try:
        repo = repository(store, settings)
        project_id = find_project(repo, args.project)
        sharing = SharingService(repo)
        if args.with_user is None:
            for share in sharing.shares(project_id):
                out(f"{'group ' if share.group else ''}{share.user} {share.role.value}")
            return 0
        if args.revoke:
            sharing.unshare(project_id, args.with_user, group=args.group)
            out(f"{args.with_user} no longer sees the project")
        else:
            share = sharing.share(project_id, args.with_user, Role(args.role), group=args.group)
            out(f"shared with {'group ' if share.group else ''}{share.user} as {share.role.value}")
        return 0
    finally:
        store.close()
