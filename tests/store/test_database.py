"""Opening the store: migrations, pragmas, and clear refusals of unusable data."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from rhinoapp.config import Settings
from rhinoapp.core.errors import StoreError
from rhinoapp.store import open_store
from rhinoapp.store.migrations import MIGRATIONS, SCHEMA_VERSION, Migration, current_version, migrate
from rhinoapp.store.models import Base


def test_migration_from_an_empty_database(settings: Settings) -> None:
    store = open_store(settings)
    assert store.schema_version == SCHEMA_VERSION
    with sqlite3.connect(settings.data_dir / "rhinoapp.sqlite") as raw:
        assert raw.execute("SELECT version FROM schema_info").fetchone() == (SCHEMA_VERSION,)
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"schema_info", "projects", "jobs", "artifacts"} <= tables
    store.close()


def test_migrated_schema_matches_the_orm_models(store) -> None:
    inspector = sa.inspect(store.engine)
    for table in Base.metadata.sorted_tables:
        columns = {c["name"]: c for c in inspector.get_columns(table.name)}
        assert set(columns) == {c.name for c in table.columns}, table.name
        for column in table.columns:
            assert columns[column.name]["nullable"] == (column.nullable and not column.primary_key), (table.name, column.name)
        constraints = {u["name"] for u in inspector.get_unique_constraints(table.name)}
        assert {c.name for c in table.constraints if isinstance(c, sa.UniqueConstraint)} <= constraints


def test_reopening_is_idempotent_and_pragmas_hold(settings: Settings) -> None:
    open_store(settings).close()
    store = open_store(settings)
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert current_version(connection) == SCHEMA_VERSION
    store.close()


def test_a_later_migration_applies_and_a_failing_one_rolls_back(settings: Settings) -> None:
    store = open_store(settings)
    extra = Migration(SCHEMA_VERSION + 1, "add a column", ("ALTER TABLE projects ADD COLUMN colour TEXT",))
    assert migrate(store.engine, migrations=(*MIGRATIONS, extra)) == SCHEMA_VERSION + 1
    broken = Migration(SCHEMA_VERSION + 2, "broken", ("ALTER TABLE projects ADD COLUMN shade TEXT", "SELECT * FROM nowhere"))
    with pytest.raises(StoreError, match=f"left at version {SCHEMA_VERSION + 1}"):
        migrate(store.engine, migrations=(*MIGRATIONS, extra, broken))
    with store.engine.connect() as connection:
        assert current_version(connection) == SCHEMA_VERSION + 1
        assert "shade" not in {c["name"] for c in sa.inspect(connection).get_columns("projects")}
    store.close()
    with pytest.raises(StoreError, match="newer than this rhinoapp supports"):
        open_store(settings)


def test_corrupt_database_file_is_refused(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / "rhinoapp.sqlite").write_bytes(b"this is not SQLite at all" * 100)
    with pytest.raises(StoreError, match="corrupt or not a rhinoapp database") as info:
        open_store(settings)
    assert "Move it aside" in str(info.value)


def test_truncated_database_file_is_refused(settings: Settings, repo) -> None:
    path = settings.data_dir / "rhinoapp.sqlite"
    repo.create("Case 1")
    repo._store.close()
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    data = path.read_bytes()
    path.write_bytes(data[:100] + b"\x00" * 50 + data[150 : len(data) // 2])
    with pytest.raises(StoreError):
        open_store(settings)


def test_data_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("I am a file")
    with pytest.raises(StoreError, match="is a file, not a folder"):
        open_store(Settings(data_dir=blocker))


def test_data_dir_below_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreError, match="not writable") as info:
        open_store(Settings(data_dir=tmp_path / "file" / "data"))
    assert "RHINOAPP_DATA_DIR" in str(info.value)


def test_read_only_filesystem_is_refused() -> None:
    # /proc is read-only even for root: the realistic "not writable" case when tests run as root
    with pytest.raises(StoreError, match="not writable"):
        open_store(Settings(data_dir=Path("/proc/rhinoapp-data")))


def test_unusable_database_url(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="RHINOAPP_DATABASE_URL"):
        open_store(Settings(data_dir=tmp_path, database_url="nosuchdb://x/y"))


def test_a_write_transaction_holds_the_lock_from_its_start_and_never_meets_a_stale_snapshot(store, repo) -> None:
    """A transaction that reads, then writes after another connection committed, must not fail.

    Deferred (plain BEGIN) it fails at once with "database is locked" whatever the busy timeout; the
    store's write transactions begin IMMEDIATE, so the other writer waits for them instead.
    """
    project = repo.create("Lock order")
    path = store.engine.url.database
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        with store.engine.connect() as reader, reader.begin():  # a deferred transaction: no lock at BEGIN
            reader.execute(sa.text("SELECT count(*) FROM projects")).scalar()
            other.execute("UPDATE projects SET description = 'changed' WHERE id = ?", (project.id,))  # commits
            with pytest.raises(sa.exc.OperationalError, match="locked"):  # the stale snapshot cannot write
                reader.execute(sa.text("UPDATE projects SET description = 'stale' WHERE id = :id"), {"id": project.id})
        with store.write_engine.connect() as writer, writer.begin():  # IMMEDIATE: the write lock from the start
            writer.execute(sa.text("SELECT count(*) FROM projects")).scalar()
            with pytest.raises(sqlite3.OperationalError, match="locked"):  # the other writer must wait its turn
                other.execute("UPDATE projects SET description = 'other' WHERE id = ?", (project.id,))
            writer.execute(sa.text("UPDATE projects SET description = 'mine' WHERE id = :id"), {"id": project.id})
    finally:
        other.close()
    repo.delete(project.id)  # a write transaction of the repository (read, then write) goes through
    assert repo.list_projects() == []
