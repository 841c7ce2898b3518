"""Local accounts: names, scrypt password hashes, admin and disabled flags.

While the table is empty the app runs as before (one configured local user, loopback only); once an
account exists, ``serve`` asks for a login and the CLI's ``--user`` must name an enabled account.
Passwords are checked in constant time against a hash (:mod:`rhinoapp.core.passwords`); an unknown
name costs as much as a wrong password, so the answer does not tell which names exist.

An account belongs to groups: those the identity provider names at each login (OpenID Connect's
``groups`` claim, JupyterHub's groups), replacing the earlier ones, or, for local accounts, those an
admin sets on the Users page. A project shared with a group is shared with each of its members
(:mod:`rhinoapp.store.access`). The CLI and the Users page change accounts through the same methods;
the page asks them to keep at least one enabled admin (``keep_an_admin``), in the same transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rhinoapp.core.errors import ConflictError, NotFoundError, ValidationError
from rhinoapp.core.passwords import hash_password, verify_password
from rhinoapp.store.database import Store
from rhinoapp.store.models import UserGroupRow, UserRow, utcnow

__all__ = ["Account", "AccountStore", "usable_groups", "validate_group_name", "validate_user_name"]

_log = logging.getLogger(__name__)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
_GROUP = re.compile(r"^[A-Za-z0-9/][A-Za-z0-9 ._@/:+-]{0,199}$")
_DUMMY_HASH = hash_password("not a password of anyone")  # compared against for unknown names


def validate_user_name(name: str) -> str:
    """The user name stripped, or :class:`ValidationError` saying which characters are allowed.

    Examples
    --------
    >>> validate_user_name(" dr.ana ")
    'dr.ana'
    >>> validate_user_name("<b>")
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ValidationError: The user name '<b>' is not allowed: use 1 to 100 letters, digits and . _ @ - (starting with a letter or digit).
    """
    name = name.strip()
    if not _NAME.match(name):
        raise ValidationError(f"The user name {name!r} is not allowed: use 1 to 100 letters, digits and . _ @ - "
                              "(starting with a letter or digit).")
    return name


def validate_group_name(name: str) -> str:
    """The group name stripped, or :class:`ValidationError` saying which characters are allowed.

    Keycloak-style paths (``/clinic/ent``) are group names too.

    Examples
    --------
    >>> validate_group_name(" /clinic/ent ")
    '/clinic/ent'
    >>> validate_group_name("<b>")
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ValidationError: The group name '<b>' is not allowed: use 1 to 200 letters, digits, spaces and . _ @ / : + - (starting with a letter, digit or /).
    """
    name = name.strip()
    if not _GROUP.match(name):
        raise ValidationError(f"The group name {name!r} is not allowed: use 1 to 200 letters, digits, spaces and "
                              ". _ @ / : + - (starting with a letter, digit or /).")
    return name


def usable_groups(values: object) -> tuple[str, ...]:
    """The valid group names among what an identity provider sent (a list, or one name), sorted, once each.

    Names rhinoapp cannot take are left out (and logged), so a strange group does not stop a login.

    Examples
    --------
    >>> usable_groups(["ent", "/clinic/ent", "ent", "<b>", 3])
    ('/clinic/ent', 'ent')
    >>> usable_groups("ent"), usable_groups(None)
    (('ent',), ())
    """
    items = [values] if isinstance(values, str) else values if isinstance(values, list | tuple) else []
    groups = set()
    for item in items:
        try:
            groups.add(validate_group_name(item if isinstance(item, str) else ""))
        except ValidationError:
            _log.warning("group %r from the identity provider left out: not a usable group name", item)
    return tuple(sorted(groups))


@dataclasses.dataclass(frozen=True)
class Account:
    """An account as listed (never with its hash)."""

    name: str
    admin: bool
    disabled: bool
    created: dt.datetime
    groups: tuple[str, ...] = ()
    last_login: dt.datetime | None = None


def _account(row: UserRow, groups: Iterable[str]) -> Account:
    return Account(row.name, row.admin, row.disabled, row.created_at, tuple(sorted(groups)), row.last_login_at)


class AccountStore:
    """The accounts table.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store.database import open_store
    >>> accounts = AccountStore(open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))))
    >>> accounts.any()
    False
    >>> accounts.add("ana", "a long password", admin=True).admin
    True
    >>> accounts.verify("ana", "a long password"), accounts.verify("ana", "wrong password"), accounts.verify("bob", "x")
    (True, False, False)
    >>> accounts.set_groups("ana", ["radiology", "ent"])
    ('ent', 'radiology')
    >>> accounts.disable("ana", keep_an_admin=True)
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ConflictError: ana is the last enabled admin: make another account admin first.
    >>> accounts.disable("ana"); accounts.verify("ana", "a long password")
    False
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    def _session(self) -> Session:
        return Session(self._store.engine, expire_on_commit=False)

    def _write_session(self) -> Session:
        return Session(self._store.write_engine, expire_on_commit=False)

    def any(self) -> bool:
        """Whether at least one account exists (then logins are required)."""
        with self._session() as session:
            return session.scalar(sa.select(UserRow.name).limit(1)) is not None

    def add(self, name: str, password: str, *, admin: bool = False) -> Account:
        """Create an account; a taken name raises :class:`ConflictError`."""
        name, password_hash, now = validate_user_name(name), hash_password(password), utcnow()
        try:
            with self._write_session() as session, session.begin():
                if session.get(UserRow, name) is not None:
                    raise ConflictError(f"The user {name!r} already exists: use `rhinoapp users passwd {name}`.")
                session.add(UserRow(name=name, password_hash=password_hash, admin=admin, disabled=False,
                                    created_at=now, updated_at=now))
        except sa.exc.IntegrityError:
            raise ConflictError(f"The user {name!r} already exists: use `rhinoapp users passwd {name}`.") from None
        _log.info("account %s created", name)
        return Account(name, admin, False, now)

    def _change(self, name: str, *, keep_an_admin: bool = False, **fields: object) -> None:
        with self._write_session() as session, session.begin():
            row = session.get(UserRow, name)
            if row is None:
                raise NotFoundError(f"No user {name!r}: see `rhinoapp users list`.")
            was_admin = row.admin and not row.disabled
            for key, value in fields.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
            if keep_an_admin and was_admin and not (row.admin and not row.disabled):
                session.flush()
                left = session.scalar(sa.select(sa.func.count()).select_from(UserRow)
                                      .where(UserRow.admin.is_(True), UserRow.disabled.is_(False)))
                if not left:
                    raise ConflictError(f"{name} is the last enabled admin: make another account admin first.")

    def set_password(self, name: str, password: str) -> None:
        """Replace the password of ``name`` (and enable the account again)."""
        self._change(name, password_hash=hash_password(password), disabled=False)

    def disable(self, name: str, *, keep_an_admin: bool = False) -> None:
        """Disable ``name``: no login, and an open session stops at its next request.

        With ``keep_an_admin``, disabling the last enabled admin raises :class:`ConflictError`.
        """
        self._change(name, keep_an_admin=keep_an_admin, disabled=True)

    def enable(self, name: str) -> None:
        """Enable ``name`` again (with its password as it was)."""
        self._change(name, disabled=False)

    def set_admin(self, name: str, admin: bool, *, keep_an_admin: bool = False) -> None:
        """Grant or withdraw the admin role (with ``keep_an_admin``, never the last enabled admin's)."""
        self._change(name, keep_an_admin=keep_an_admin, admin=admin)

    def set_groups(self, name: str, groups: Iterable[str]) -> tuple[str, ...]:
        """Replace the groups of ``name``; an invalid group name raises :class:`ValidationError`."""
        wanted = tuple(sorted({validate_group_name(g) for g in groups}))
        with self._write_session() as session, session.begin():
            if session.get(UserRow, name) is None:
                raise NotFoundError(f"No user {name!r}: see `rhinoapp users list`.")
            session.execute(sa.delete(UserGroupRow).where(UserGroupRow.user_name == name))
            session.add_all(UserGroupRow(user_name=name, group_name=g) for g in wanted)
        return wanted

    def record_login(self, name: str, *, groups: Iterable[str] | None = None) -> None:
        """Note the time of ``name``'s login and, when the identity provider named them, its groups now."""
        self._change(name, last_login_at=utcnow())
        if groups is not None:
            self.set_groups(name, groups)

    def _groups(self, session: Session, names: list[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {n: [] for n in names}
        for user, group in session.execute(sa.select(UserGroupRow.user_name, UserGroupRow.group_name)
                                           .where(UserGroupRow.user_name.in_(names))):
            found[user].append(group)
        return found

    def get(self, name: str) -> Account | None:
        """One account, or None."""
        with self._session() as session:
            row = session.get(UserRow, name)
            return None if row is None else _account(row, self._groups(session, [name])[name])

    def active(self, name: str) -> bool:
        """Whether ``name`` is an enabled account."""
        account = self.get(name)
        return account is not None and not account.disabled

    def list(self) -> list[Account]:
        """Every account, by name."""
        with self._session() as session:
            rows = list(session.scalars(sa.select(UserRow).order_by(UserRow.name)))
            groups = self._groups(session, [r.name for r in rows])
            return [_account(r, groups[r.name]) for r in rows]

    def verify(self, name: str, password: str) -> bool:
        """Whether ``name`` is an enabled account with this password (same cost for unknown names)."""
        with self._session() as session:
            row = session.get(UserRow, name.strip())
        if row is None:
            verify_password(password, _DUMMY_HASH)
            return False
        return verify_password(password, row.password_hash) and not row.disabled
