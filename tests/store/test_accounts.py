"""Local accounts: hashed passwords, disable, duplicates, and the hash never stored in clear."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from rhinoapp.config import Settings
from rhinoapp.core.errors import ConflictError, NotFoundError, ValidationError
from rhinoapp.store.accounts import AccountStore
from rhinoapp.store.database import open_store


@pytest.fixture
def accounts(tmp_path: Path):
    store = open_store(Settings(data_dir=tmp_path))
    yield AccountStore(store)
    store.close()


def test_password_is_stored_as_a_salted_scrypt_hash(accounts: AccountStore) -> None:
    accounts.add("ana", "same long password")
    accounts.add("bob", "same long password")
    with accounts._store.engine.connect() as connection:
        hashes = dict(connection.execute(sa.text("SELECT name, password_hash FROM users")).all())
    assert all(h.startswith("scrypt$") and "same long password" not in h for h in hashes.values())
    assert hashes["ana"] != hashes["bob"]  # salted
    assert accounts.verify("ana", "same long password") and not accounts.verify("ana", "same long passwort")


def test_passwd_disable_and_refusals(accounts: AccountStore) -> None:
    assert not accounts.any()
    accounts.add("ana", "first long password", admin=True)
    assert accounts.any() and accounts.get("ana").admin
    with pytest.raises(ConflictError, match="already exists"):
        accounts.add("ana", "another long password")
    with pytest.raises(ValidationError, match="shorter than"):
        accounts.add("bob", "short")
    with pytest.raises(ValidationError, match="not allowed"):
        accounts.add("<script>", "a long enough password")
    accounts.set_password("ana", "second long password")
    assert not accounts.verify("ana", "first long password") and accounts.verify("ana", "second long password")
    accounts.disable("ana")
    assert not accounts.verify("ana", "second long password") and not accounts.active("ana")
    accounts.set_password("ana", "third long password")  # re-enables
    assert accounts.active("ana")
    with pytest.raises(NotFoundError):
        accounts.disable("nobody")
    assert [a.name for a in accounts.list()] == ["ana"]
