"""Opening the store: check the data directory, connect, verify and migrate the database."""

from __future__ import annotations

import dataclasses
import logging
import os
import uuid
from pathlib import Path

import sqlalchemy as sa

from rhinoapp.config import Settings
from rhinoapp.core.errors import StoreError
from rhinoapp.store.migrations import migrate

__all__ = ["Store", "ensure_writable_dir", "open_store"]

_log = logging.getLogger(__name__)
#: Execution option of :attr:`Store.write_engine`: its SQLite transactions begin IMMEDIATE.
WRITE_OPTION = "rhinoapp_write"


@dataclasses.dataclass(frozen=True)
class Store:
    """An open store: the database engine and the folder of project artifacts."""

    engine: sa.Engine
    projects_dir: Path
    schema_version: int

    @property
    def write_engine(self) -> sa.Engine:
        """The engine for transactions that write: on SQLite they take the write lock when they begin.

        A deferred SQLite transaction that reads and then writes fails at once ("database is locked",
        whatever the busy timeout) when another connection committed in between; one that begins
        IMMEDIATE waits its turn instead.
        """
        return self.engine.execution_options(**{WRITE_OPTION: True})

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()


def ensure_writable_dir(path: Path, *, purpose: str) -> None:
    """Create ``path`` if needed and prove it is writable by creating and removing a file.

    Raises
    ------
    StoreError
        With the reason and how to fix it.
    """
    hint = "Choose another folder with --data-dir or RHINOAPP_DATA_DIR, or fix its permissions."
    if path.exists() and not path.is_dir():
        raise StoreError(f"The {purpose} {path} exists but is a file, not a folder. {hint}")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise StoreError(f"The {purpose} {path} is not writable ({error.strerror or error}). {hint}") from None


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    # Let SQLAlchemy, not pysqlite, open transactions, so DDL (migrations) is transactional too.
    dbapi_connection.isolation_level = None  # type: ignore[attr-defined]
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_sqlite(connection: sa.Connection) -> None:
    writes = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def _check_sqlite_file(engine: sa.Engine, location: str) -> None:
    try:
        with engine.connect() as connection:
            result = connection.execute(sa.text("PRAGMA quick_check")).scalar()
    except sa.exc.DatabaseError as error:
        raise StoreError(
            f"The database {location} cannot be read ({error.orig}): the file is corrupt or not a"
            " rhinoapp database. Move it aside (or restore a backup) and start again to create an"
            " empty one."
        ) from None
    if result != "ok":
        raise StoreError(
            f"The database {location} failed its integrity check ({result}). Restore it from a backup,"
            " or move it aside to start with an empty store."
        )


def open_store(settings: Settings) -> Store:
    """Open (and create or migrate) the store described by ``settings``.

    Everything is checked before the app starts: the data directory is writable, the database
    is readable and intact, and its schema is brought to the current version.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> store = open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp())))
    >>> from rhinoapp.store.migrations import SCHEMA_VERSION
    >>> store.schema_version == SCHEMA_VERSION  # brought to the newest schema
    True
    >>> store.close()
    """
    ensure_writable_dir(settings.data_dir, purpose="data directory")
    ensure_writable_dir(settings.projects_dir, purpose="projects folder")
    url = sa.make_url(settings.resolved_database_url)
    is_sqlite = url.get_backend_name() == "sqlite"
    location = url.database or "(memory)" if is_sqlite else url.render_as_string(hide_password=True)
    if is_sqlite and url.database and url.database != ":memory:":
        db_path = Path(url.database)
        if db_path.exists() and not os.access(db_path, os.R_OK | os.W_OK):
            raise StoreError(f"The database {db_path} is not readable and writable; fix its permissions.")
    try:
        engine = sa.create_engine(url, future=True)
    except (sa.exc.ArgumentError, ImportError) as error:
        raise StoreError(f"The database URL {location!r} is not usable ({error}). Check RHINOAPP_DATABASE_URL.") from None
    if is_sqlite:
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "begin", _begin_sqlite)
        _check_sqlite_file(engine, location)
    try:
        version = migrate(engine)
    except StoreError:
        engine.dispose()
        raise
    except sa.exc.DatabaseError as error:
        engine.dispose()
        raise StoreError(f"The database {location} cannot be used ({error.orig}). Check the file or URL.") from None
    _log.info("store open (schema %d, %s)", version, url.get_backend_name())
    return Store(engine=engine, projects_dir=settings.projects_dir, schema_version=version)
