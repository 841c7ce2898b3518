"""Local accounts: names, scrypt password hashes, admin and disabled flags.

While the table is empty the app runs as before (one configured local user, loopback only); once an
account exists, ``serve`` asks for a login and the CLI's ``--user`` must name an enabled account.
Passwords are checked in constant time against a hash (:mod:`rhinoapp.core.passwords`); an unknown
name costs as much as a wrong password, so the answer does not tell which names exist.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rhinoapp.core.errors import ConflictError, NotFoundError, ValidationError
from rhinoapp.core.passwords import hash_password, verify_password
from rhinoapp.store.database import Store
from rhinoapp.store.models import UserRow, utcnow

__all__ = ["Account", "AccountStore", "validate_user_name"]

_log = logging.getLogger(__name__)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
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


@dataclasses.dataclass(frozen=True)
class Account:
    """An account as listed (never with its hash)."""

    name: str
    admin: bool
    disabled: bool
    created: dt.datetime


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

    def _change(self, name: str, **fields: object) -> None:
        with self._write_session() as session, session.begin():
            row = session.get(UserRow, name)
            if row is None:
                raise NotFoundError(f"No user {name!r}: see `rhinoapp users list`.")
            for key, value in fields.items():
                setattr(row, key, value)
            row.updated_at = utcnow()

    def set_password(self, name: str, password: str) -> None:
        """Replace the password of ``name`` (and enable the account again)."""
        self._change(name, password_hash=hash_password(password), disabled=False)

    def disable(self, name: str) -> None:
        """Disable ``name``: no login, and an open session stops at its next request."""
        self._change(name, disabled=True)

    def set_admin(self, name: str, admin: bool) -> None:
        """Grant or withdraw the admin role."""
        self._change(name, admin=admin)

    def get(self, name: str) -> Account | None:
        """One account, or None."""
        with self._session() as session:
            row = session.get(UserRow, name)
            return None if row is None else Account(row.name, row.admin, row.disabled, row.created_at)

    def active(self, name: str) -> bool:
        """Whether ``name`` is an enabled account."""
        account = self.get(name)
        return account is not None and not account.disabled

    def list(self) -> list[Account]:
        """Every account, by name."""
        with self._session() as session:
            return [Account(r.name, r.admin, r.disabled, r.created_at)
                    for r in session.scalars(sa.select(UserRow).order_by(UserRow.name))]

    def verify(self, name: str, password: str) -> bool:
        """Whether ``name`` is an enabled account with this password (same cost for unknown names)."""
        with self._session() as session:
            row = session.get(UserRow, name.strip())
        if row is None:
            verify_password(password, _DUMMY_HASH)
            return False
        return verify_password(password, row.password_hash) and not row.disabled
