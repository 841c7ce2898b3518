"""The audit page's state: admins read and export the filtered events; anyone else is refused."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from rhinoapp.config import Settings
from rhinoapp.core.access import AuditAction, AuditOutcome
from rhinoapp.core.errors import PermissionDeniedError
from rhinoapp.state.audit import AuditState
from rhinoapp.state.session import SessionState
from rhinoapp.store.accounts import AccountStore
from rhinoapp.store.audit import AuditLog
from rhinoapp.store.database import open_store
from rhinoapp.store.repository import ProjectRepository


def test_admin_filters_and_exports_and_others_are_refused(tmp_path: Path) -> None:
    store = open_store(Settings(data_dir=tmp_path))
    AccountStore(store).add("root", "root long password", admin=True)
    AccountStore(store).add("bob", "bob long password")
    log = AuditLog(store)
    log.record("bob", AuditAction.LOGIN, AuditOutcome.FAILURE)
    log.record("bob", AuditAction.OPEN, project_id="p1")
    log.record("ana", AuditAction.OPEN, project_id="p2")
    admin = AuditState(session=SessionState(repository=ProjectRepository(store, owner="root")))
    assert len(admin.events) == 3
    admin.param.update(user="bob", action="open")
    assert [(e.user, e.project_id) for e in admin.events] == [("bob", "p1")]
    assert [row["project_id"] for row in csv.DictReader(io.StringIO(admin.csv()))] == ["p1"]
    other = AuditState(session=SessionState(repository=ProjectRepository(store, owner="bob")))
    assert other.events == [] and not other.allowed
    with pytest.raises(PermissionDeniedError, match="Only administrators"):
        other.csv()
    store.close()
