"""The Users page's state: an admin adds, resets, disables and promotes accounts; others are refused; all audited."""

from __future__ import annotations

from pathlib import Path

import pytest

from rhinoapp.config import Settings
from rhinoapp.core.access import AuditAction, AuditOutcome
from rhinoapp.state.session import SessionState
from rhinoapp.state.users import UsersState
from rhinoapp.store.accounts import AccountStore
from rhinoapp.store.audit import AuditLog, AuditQuery
from rhinoapp.store.database import open_store
from rhinoapp.store.repository import ProjectRepository


@pytest.fixture
def store(tmp_path: Path):
    store = open_store(Settings(data_dir=tmp_path))
    AccountStore(store).add("root", "root long password", admin=True)
    AccountStore(store).add("bob", "bob long password")
    yield store
    store.close()


def users_of(store, user: str) -> UsersState:
    return UsersState(session=SessionState(repository=ProjectRepository(store, owner=user)))


def account_events(store, user: str) -> list[tuple[AuditOutcome, str]]:
    return [(e.outcome, e.detail) for e in reversed(AuditLog(store).events(AuditQuery(user=user,
                                                                                       action=AuditAction.ACCOUNT)))]


def test_admin_adds_resets_disables_and_groups_accounts_and_every_change_is_audited(store) -> None:
    users, accounts = users_of(store, "root"), AccountStore(store)
    users.param.update(new_name="carol", new_password="carol's password", new_password_again="not the same one")
    users.add()
    assert users.feedback_kind == "error" and "differ" in users.feedback and accounts.get("carol") is None
    assert users.new_password == "" and users.new_password_again == ""  # never kept after an attempt
    users.param.update(new_password="short", new_password_again="short")
    users.add()
    assert "shorter than 10" in users.feedback
    users.param.update(new_password="carol's password", new_password_again="carol's password", new_admin=True)
    users.add()
    assert users.feedback == "Added carol (admin)." and accounts.verify("carol", "carol's password")
    assert [(a.name, a.admin) for a in users.accounts] == [("bob", False), ("carol", True), ("root", True)]
    assert users.selected == "carol"

    users.selected = "bob"
    users.param.update(password="bob's new password", password_again="bob's new password")
    users.reset_password()
    assert accounts.verify("bob", "bob's new password") and not accounts.verify("bob", "bob long password")
    users.disable()
    assert not accounts.verify("bob", "bob's new password") and users.accounts[0].disabled
    users.enable()
    assert accounts.verify("bob", "bob's new password")
    users.groups = "ent, /clinic/radiology"
    users.save_groups()
    assert accounts.get("bob").groups == ("/clinic/radiology", "ent")
    users.set_admin(True)
    assert accounts.get("bob").admin

    events = account_events(store, "root")
    assert events == [(AuditOutcome.FAILURE, "add:carol"), (AuditOutcome.FAILURE, "add:carol"),
                      (AuditOutcome.SUCCESS, "add:carol"), (AuditOutcome.SUCCESS, "passwd:bob"),
                      (AuditOutcome.SUCCESS, "disable:bob"), (AuditOutcome.SUCCESS, "enable:bob"),
                      (AuditOutcome.SUCCESS, "groups:bob"), (AuditOutcome.SUCCESS, "admin:bob")]
    logged = " ".join(e.detail for e in AuditLog(store).events(AuditQuery()))
    assert "password" not in logged  # no password, typed or new, in the log


def test_the_last_enabled_admin_and_oneself_are_protected(store) -> None:
    users, accounts = users_of(store, "root"), AccountStore(store)
    users.selected = "root"
    users.disable()
    assert users.feedback_kind == "error" and "your own account" in users.feedback
    users.set_admin(False)
    assert "last enabled admin" in users.feedback and accounts.get("root").admin
    users.selected = "bob"
    users.set_admin(True)
    users.selected = "root"
    users.set_admin(False)  # bob is an admin now: root may step down
    assert not accounts.get("root").admin
    assert users.accounts == [] and not users.allowed  # and sees no accounts any more
    assert account_events(store, "root")[-1] == (AuditOutcome.SUCCESS, "unadmin:root")
    assert (AuditOutcome.FAILURE, "disable:root") in account_events(store, "root")


def test_a_non_admin_is_refused_and_nothing_changes(store) -> None:
    users, accounts = users_of(store, "bob"), AccountStore(store)
    assert not users.allowed and users.accounts == [] and users.selected is None
    users.param.update(new_name="mallory", new_password="mallory's password", new_password_again="mallory's password",
                       new_admin=True)
    users.add()
    assert users.feedback_kind == "error" and "Only administrators" in users.feedback
    assert accounts.get("mallory") is None
    users.param.selected.objects = ["root"]  # a forged selection does not help either
    users.selected = "root"
    for change in (users.disable, lambda: users.set_admin(False)):
        change()
        assert "Only administrators" in users.feedback
    assert accounts.get("root").admin and not accounts.get("root").disabled
    assert account_events(store, "bob") == [(AuditOutcome.DENIED, "add:mallory"), (AuditOutcome.DENIED, "disable:root"),
                                            (AuditOutcome.DENIED, "unadmin:root")]
