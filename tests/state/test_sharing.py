"""The sharing card's state: the owner shares and revokes; a viewer sees its role and cannot share."""

from __future__ import annotations

from pathlib import Path

from rhinoapp.config import Settings
from rhinoapp.state.session import SessionState
from rhinoapp.state.sharing import SharingState
from rhinoapp.store.accounts import AccountStore
from rhinoapp.store.database import open_store
from rhinoapp.store.repository import ProjectRepository


def test_owner_shares_and_viewer_cannot(tmp_path: Path) -> None:
    store = open_store(Settings(data_dir=tmp_path))
    for name in ("ana", "bob", "carol"):
        AccountStore(store).add(name, f"{name} long password")
    ana = SessionState(repository=ProjectRepository(store, owner="ana"))
    ana.open_project(ana.repository.create("Case 1").id)
    sharing = SharingState(session=ana)
    assert sharing.can_share and sharing.role_here == "owner"
    sharing.param.update(user="nobody")
    sharing.share()
    assert sharing.feedback_kind == "error" and "No enabled account" in sharing.feedback
    sharing.param.update(user="bob", role="viewer")
    sharing.share()
    assert [(s.user, s.role.value) for s in sharing.shares] == [("bob", "viewer")]

    bob = SessionState(repository=ProjectRepository(store, owner="bob"))
    bob.open_project(ana.current_project_id)
    bob_sharing = SharingState(session=bob)
    assert not bob_sharing.can_share and bob_sharing.role_here == "viewer"
    bob_sharing.param.update(user="carol")
    bob_sharing.share()
    assert bob_sharing.feedback_kind == "error" and "shared with bob as viewer" in bob_sharing.feedback

    sharing.revoke("bob")
    assert sharing.shares == [] and sharing.feedback == "bob no longer sees this project."
    store.close()


def test_owner_shares_with_a_group_and_revokes_it(tmp_path: Path) -> None:
    store = open_store(Settings(data_dir=tmp_path))
    for name in ("ana", "bob"):
        AccountStore(store).add(name, f"{name} long password")
    AccountStore(store).set_groups("bob", ["ent"])
    ana = SessionState(repository=ProjectRepository(store, owner="ana"))
    ana.open_project(ana.repository.create("Case 1").id)
    sharing = SharingState(session=ana)
    sharing.param.update(user="ent", group=True, role="editor")
    sharing.share()
    assert sharing.feedback == "Shared with group ent as editor."
    assert [(s.user, s.group) for s in sharing.shares] == [("ent", True)]
    assert ProjectRepository(store, owner="bob").role(ana.current_project_id).value == "editor"
    sharing.revoke("ent", group=True)
    assert sharing.shares == [] and sharing.feedback == "Group ent no longer sees this project."
    assert ProjectRepository(store, owner="bob").list_projects() == []
    store.close()


def test_reading_unchanged_shares_again_changes_nothing(tmp_path: Path) -> None:
    """A view over the shares is redrawn when they change, not at each read (the card kept redrawing)."""
    store = open_store(Settings(data_dir=tmp_path))
    for name in ("ana", "bob"):
        AccountStore(store).add(name, f"{name} long password")
    ana = SessionState(repository=ProjectRepository(store, owner="ana"))
    sharing = SharingState(session=ana)
    ana.open_project(ana.repository.create("Case 1").id)  # the card follows the session
    assert (sharing.role_here, sharing.project_name) == ("owner", "Case 1")
    sharing.param.update(user="bob")
    sharing.share()
    changed: list[str] = []
    sharing.param.watch(lambda *events: changed.extend(e.name for e in events),
                        ["shares", "can_share", "role_here"])
    sharing.refresh()
    sharing.refresh()
    assert changed == []
    sharing.revoke("bob")  # a real change is still shown
    assert changed == ["shares"] and sharing.shares == []
    ana.repository.update(ana.current_project_id, name="Case 1b")
    ana.refresh_project_name()
    assert changed == ["shares"] and sharing.project_name == "Case 1b"  # the card names the project
    store.close()
