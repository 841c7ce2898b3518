"""Sharing with a group: every member gets the role (by the groups stored at login), revoking removes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from rhinoapp.config import Settings
from rhinoapp.core.access import AuditAction, Role
from rhinoapp.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from rhinoapp.store.accounts import AccountStore
from rhinoapp.store.audit import AuditLog, AuditQuery
from rhinoapp.store.database import open_store
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.store.sharing import Share, SharingService


@pytest.fixture
def store(tmp_path: Path):
    store = open_store(Settings(data_dir=tmp_path))
    accounts = AccountStore(store)
    for name in ("ana", "bob", "carol", "eve"):
        accounts.add(name, f"{name} long password")
    accounts.record_login("bob", groups=["/clinic/ent"])  # as the identity provider names them
    accounts.record_login("carol", groups=["/clinic/ent", "radiology"])
    yield store
    store.close()


def repo(store, user: str) -> ProjectRepository:
    return ProjectRepository(store, owner=user)


def test_a_group_share_grants_its_members_access_and_revoking_removes_it(store) -> None:
    project = repo(store, "ana").create("Case 1")
    sharing = SharingService(repo(store, "ana"))
    assert sharing.share(project.id, "/clinic/ent", Role.VIEWER, group=True) == Share(project.id, "/clinic/ent",
                                                                                       Role.VIEWER, True)
    for member in ("bob", "carol"):
        assert [p.id for p in repo(store, member).list_projects()] == [project.id]
        assert repo(store, member).role(project.id) is Role.VIEWER
    assert repo(store, "eve").list_projects() == []
    with pytest.raises(PermissionDeniedError, match="viewer"):
        repo(store, "bob").update(project.id, name="Renamed")

    sharing.share(project.id, "/clinic/ent", Role.EDITOR, group=True)  # replaces the role
    assert repo(store, "bob").update(project.id, description="by bob").description == "by bob"
    with pytest.raises(PermissionDeniedError):
        SharingService(repo(store, "bob")).share(project.id, "eve", Role.VIEWER)  # editors do not share

    AccountStore(store).record_login("bob", groups=[])  # the provider no longer lists bob in the group
    assert repo(store, "bob").list_projects() == []
    sharing.unshare(project.id, "/clinic/ent", group=True)
    assert repo(store, "carol").list_projects() == []
    with pytest.raises(NotFoundError):
        repo(store, "carol").get(project.id)
    details = [e.detail for e in AuditLog(store).events(AuditQuery(user="ana")) if e.action in
               (AuditAction.SHARE, AuditAction.UNSHARE)]
    assert details == ["group", "group-editor", "group-viewer"]


def test_a_user_share_and_a_group_share_together_give_the_higher_role(store) -> None:
    project = repo(store, "ana").create("Case 2")
    sharing = SharingService(repo(store, "ana"))
    sharing.share(project.id, "carol", Role.VIEWER)
    sharing.share(project.id, "radiology", Role.EDITOR, group=True)
    assert repo(store, "carol").role(project.id) is Role.EDITOR
    assert [(s.user, s.group) for s in sharing.shares(project.id)] == [("carol", False), ("radiology", True)]
    sharing.unshare(project.id, "radiology", group=True)
    assert repo(store, "carol").role(project.id) is Role.VIEWER
    with pytest.raises(ValidationError, match="group name"):
        sharing.share(project.id, "<script>", Role.VIEWER, group=True)
