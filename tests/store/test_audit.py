"""The audit log: filtered reads, CSV, and no way to change or remove an event."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import sqlalchemy as sa

from rhinoapp.config import Settings
from rhinoapp.core.access import AuditAction, AuditOutcome
from rhinoapp.store.audit import AuditLog, AuditQuery
from rhinoapp.store.database import open_store


def test_filters_csv_and_append_only(tmp_path: Path) -> None:
    store = open_store(Settings(data_dir=tmp_path))
    log = AuditLog(store)
    log.record("ana", AuditAction.LOGIN, remote="10.0.0.1")
    log.record("ana", AuditAction.OPEN, project_id="p1")
    log.record("bob", AuditAction.LOGIN, AuditOutcome.FAILURE, remote="10.0.0.2")
    assert [e.action for e in log.events(AuditQuery(user="ana"))] == [AuditAction.OPEN, AuditAction.LOGIN]
    assert [e.user for e in log.events(AuditQuery(action=AuditAction.LOGIN))] == ["bob", "ana"]
    assert [e.project_id for e in log.events(AuditQuery(project_id="p1"))] == ["p1"]
    rows = list(csv.DictReader(io.StringIO(log.csv(AuditQuery(user="bob")))))
    assert rows == [{**rows[0], "user": "bob", "action": "login", "outcome": "failure", "remote": "10.0.0.2"}]
    for statement in ("UPDATE audit_log SET user_name = 'eve'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), store.write_engine.begin() as connection:
            connection.execute(sa.text(statement))
    assert len(log.events(AuditQuery())) == 3
    store.close()
