"""``rhinoapp users add|passwd|disable|enable-admin|list``: the local accounts.

Passwords are read without echo on a terminal, else from the first line of stdin (for scripts).
Once the first account exists, ``serve`` asks for a login and ``--user`` must name an account.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from rhinoapp.cli._common import out, settings_from
from rhinoapp.core.access import AuditAction, AuditOutcome
from rhinoapp.core.errors import ValidationError
from rhinoapp.store.accounts import AccountStore
from rhinoapp.store.audit import AuditLog
from rhinoapp.store.database import open_store

__all__ = ["register"]


def register(commands: argparse._SubParsersAction, shared: argparse.ArgumentParser) -> None:
    """Add the ``users`` command and its actions."""
    users = commands.add_parser("users", help="manage the local accounts (login to the web app)")
    actions = users.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="create an account (asks for its password)", parents=[shared])
    add.add_argument("name")
    add.add_argument("--admin", action="store_true", help="the account sees every project and the audit log")
    passwd = actions.add_parser("passwd", help="set a new password (and enable the account)", parents=[shared])
    passwd.add_argument("name")
    disable = actions.add_parser("disable", help="disable an account (its sessions end)", parents=[shared])
    disable.add_argument("name")
    actions.add_parser("list", help="list the accounts", parents=[shared])
    users.set_defaults(handler=_users)


def _password(name: str) -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(f"Password for {name}: ")
    if getpass.getpass("Again: ") != first:
        raise ValidationError("The two passwords differ: run the command again.")
    return first


def _users(args: argparse.Namespace) -> int:
    store = open_store(settings_from(args))
    try:
        accounts, audit = AccountStore(store), AuditLog(store)
        if args.action == "list":
            for account in accounts.list():
                flags = ", ".join(f for f, on in (("admin", account.admin), ("disabled", account.disabled)) if on)
                out(f"{account.name}{f' ({flags})' if flags else ''}")
            if not accounts.any():
                out("(no accounts: the app runs for one local user on 127.0.0.1; add one with `rhinoapp users add NAME`)")
            return 0
        if args.action == "add":
            accounts.add(args.name, _password(args.name), admin=args.admin)
            out(f"created {args.name}{' (admin)' if args.admin else ''}")
        elif args.action == "passwd":
            accounts.set_password(args.name, _password(args.name))
            out(f"password of {args.name} changed")
        else:
            accounts.disable(args.name)
            out(f"disabled {args.name}")
        audit.record(args.name, AuditAction.ACCOUNT, AuditOutcome.SUCCESS, detail=f"cli-{args.action}")
        return 0
    finally:
        store.close()
