"""Sharing: a viewer reads, an editor changes, only the owner (or an admin) shares and deletes."""

from __future__ import annotations

from pathlib import Path

import pytest

from rhinoapp.config import Settings
from rhinoapp.core.access import Role
from rhinoapp.core.errors import NotFoundError, PermissionDeniedError
from rhinoapp.core.workflow import JobKind
from rhinoapp.store.accounts import AccountStore
from rhinoapp.store.cleanup import delete_stopped_project
from rhinoapp.store.database import open_store
from rhinoapp.store.jobs import JobStore
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.store.sharing import SharingService


@pytest.fixture
def store(tmp_path: Path):
    store = open_store(Settings(data_dir=tmp_path))
    accounts = AccountStore(store)
    for name in ("ana", "bob", "eve"):
        accounts.add(name, f"{name} long password")
    accounts.add("root", "root long password", admin=True)
    yield store
    store.close()


def repo(store, user: str) -> ProjectRepository:
    return ProjectRepository(store, owner=user)


def test_viewer_reads_but_cannot_change_and_revoking_removes_access(store) -> None:
    project = repo(store, "ana").create("Case 1")
    repo(store, "ana").write_artifact(project.id, None, "auxiliary/note.txt", b"x")
    with pytest.raises(NotFoundError):
        repo(store, "bob").get(project.id)
    SharingService(repo(store, "ana")).share(project.id, "bob", Role.VIEWER)
    bob = repo(store, "bob")
    assert [p.id for p in bob.list_projects()] == [project.id] and bob.role(project.id) is Role.VIEWER
    assert [a.name for a in bob.artifacts(project.id)] == ["auxiliary/note.txt"]
    with pytest.raises(PermissionDeniedError, match="viewer"):
        bob.update(project.id, name="Renamed")
    with pytest.raises(PermissionDeniedError):
        bob.write_artifact(project.id, None, "auxiliary/other.txt", b"y")
    with pytest.raises(PermissionDeniedError):
        JobStore(store).create(owner="bob", project_id=project.id, kind=JobKind.VOLUME_HISTOGRAM, profile="local")
    with pytest.raises(PermissionDeniedError):
        SharingService(bob).share(project.id, "eve", Role.VIEWER)
    with pytest.raises(PermissionDeniedError):
        delete_stopped_project(store, owner="bob", project_id=project.id)
    assert repo(store, "eve").list_projects() == []
    SharingService(repo(store, "ana")).unshare(project.id, "bob")
    assert bob.list_projects() == []
    with pytest.raises(NotFoundError):
        bob.get(project.id)


def test_editor_changes_and_runs_jobs_but_cannot_share_or_delete(store) -> None:
    project = repo(store, "ana").create("Case 2")
    job = JobStore(store).create(owner="ana", project_id=project.id, kind=JobKind.VOLUME_HISTOGRAM, profile="local")
    SharingService(repo(store, "ana")).share(project.id, "bob", Role.EDITOR)
    bob = repo(store, "bob")
    assert bob.update(project.id, description="edited by bob").description == "edited by bob"
    bob.write_artifact(project.id, None, "auxiliary/note.txt", b"x")
    assert JobStore(store).get(job.id, owner="bob", writable=True).id == job.id
    assert [r.id for r in JobStore(store).recent(owner="bob")] == [job.id]
    with pytest.raises(NotFoundError):
        JobStore(store).get(job.id, owner="eve")
    with pytest.raises(PermissionDeniedError):
        bob.delete(project.id)


def test_admin_sees_and_manages_everything_and_shares_need_an_account(store) -> None:
    project = repo(store, "ana").create("Case 3")
    root = repo(store, "root")
    assert [p.id for p in root.list_projects()] == [project.id] and root.role(project.id) is Role.OWNER
    with pytest.raises(NotFoundError, match="No enabled account"):
        SharingService(root).share(project.id, "mallory", Role.VIEWER)
    AccountStore(store).disable("root")
    assert root.list_projects() == []
