"""Schema versions and the path from an empty database to the current one.

Each :class:`Migration` moves the schema from ``version - 1`` to ``version`` inside one
transaction, together with the version record, so a failed migration leaves the previous
version intact. The DDL is plain SQL that SQLite and PostgreSQL both accept.
"""

from __future__ import annotations

import dataclasses
import logging

import sqlalchemy as sa

from rhinoapp.core.errors import StoreError
from rhinoapp.store.models import utcnow

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Migration", "current_version", "migrate"]

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Migration:
    """SQL statements that bring the schema to ``version`` (``sqlite_statements`` run on SQLite only)."""

    version: int
    description: str
    statements: tuple[str, ...]
    sqlite_statements: tuple[str, ...] = ()


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "projects, jobs and artifacts",
        (
            """CREATE TABLE schema_info (
                id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
                version INTEGER NOT NULL,
                updated_at TIMESTAMP NOT NULL)""",
            """CREATE TABLE projects (
                id VARCHAR(32) NOT NULL PRIMARY KEY,
                owner VARCHAR(200) NOT NULL,
                name VARCHAR(80) NOT NULL,
                name_key VARCHAR(80) NOT NULL,
                description TEXT NOT NULL DEFAULT '',
                created_at TIMESTAMP NOT NULL,
                updated_at TIMESTAMP NOT NULL,
                CONSTRAINT uq_projects_owner_name UNIQUE (owner, name_key))""",
            "CREATE INDEX ix_projects_owner ON projects (owner)",
            """CREATE TABLE jobs (
                id VARCHAR(32) NOT NULL PRIMARY KEY,
                project_id VARCHAR(32) NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
                step VARCHAR(20) NOT NULL,
                state VARCHAR(20) NOT NULL,
                submitted_at TIMESTAMP NOT NULL,
                started_at TIMESTAMP,
                finished_at TIMESTAMP,
                message TEXT NOT NULL DEFAULT '')""",
            "CREATE INDEX ix_jobs_project_step ON jobs (project_id, step, submitted_at)",
            """CREATE TABLE artifacts (
                id VARCHAR(32) NOT NULL PRIMARY KEY,
                project_id VARCHAR(32) NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
                step VARCHAR(20) NOT NULL,
                name VARCHAR(500) NOT NULL,
                sha256 VARCHAR(64) NOT NULL,
                size_bytes BIGINT NOT NULL,
                created_at TIMESTAMP NOT NULL,
                job_id VARCHAR(32) REFERENCES jobs (id) ON DELETE SET NULL,
                inputs TEXT NOT NULL DEFAULT '{}',
                CONSTRAINT uq_artifacts_project_name UNIQUE (project_id, name))""",
            "CREATE INDEX ix_artifacts_project_step ON artifacts (project_id, step)",
        ),
    ),
    Migration(
        2,
        "job runner records: kind, profile, where it ran, progress, retries",
        (
            "ALTER TABLE jobs ADD COLUMN kind VARCHAR(40) NOT NULL DEFAULT ''",
            "ALTER TABLE jobs ADD COLUMN profile VARCHAR(80) NOT NULL DEFAULT ''",
            "ALTER TABLE jobs ADD COLUMN task_key VARCHAR(200) NOT NULL DEFAULT ''",
            "ALTER TABLE jobs ADD COLUMN scheduler_address VARCHAR(200) NOT NULL DEFAULT ''",
            "ALTER TABLE jobs ADD COLUMN worker_host VARCHAR(200) NOT NULL DEFAULT ''",
            "ALTER TABLE jobs ADD COLUMN slurm_job_id VARCHAR(40) NOT NULL DEFAULT ''",
            "ALTER TABLE jobs ADD COLUMN progress REAL NOT NULL DEFAULT 0",
            "ALTER TABLE jobs ADD COLUMN progress_message TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE jobs ADD COLUMN eta_s REAL",
            "ALTER TABLE jobs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE jobs ADD COLUMN parameters TEXT NOT NULL DEFAULT '{}'",
            "CREATE INDEX ix_jobs_state ON jobs (state)",
        ),
    ),
    Migration(
        3,
        "structured progress of jobs: the latest progress report's numbers as JSON",
        ("ALTER TABLE jobs ADD COLUMN progress_data TEXT NOT NULL DEFAULT '{}'",),
    ),
    Migration(
        4,
        "accounts, project shares and the append-only audit log",
        (
            """CREATE TABLE users (
                name VARCHAR(200) NOT NULL PRIMARY KEY,
                password_hash TEXT NOT NULL,
                admin BOOLEAN NOT NULL DEFAULT FALSE,
                disabled BOOLEAN NOT NULL DEFAULT FALSE,
                created_at TIMESTAMP NOT NULL,
                updated_at TIMESTAMP NOT NULL)""",
            """CREATE TABLE project_shares (
                project_id VARCHAR(32) NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
                user_name VARCHAR(200) NOT NULL,
                role VARCHAR(10) NOT NULL,
                created_at TIMESTAMP NOT NULL,
                PRIMARY KEY (project_id, user_name))""",
            "CREATE INDEX ix_project_shares_user ON project_shares (user_name)",
            """CREATE TABLE audit_log (
                id INTEGER NOT NULL PRIMARY KEY,
                at TIMESTAMP NOT NULL,
                user_name VARCHAR(200) NOT NULL,
                action VARCHAR(40) NOT NULL,
                outcome VARCHAR(20) NOT NULL,
                project_id VARCHAR(32) NOT NULL DEFAULT '',
                detail VARCHAR(200) NOT NULL DEFAULT '',
                remote VARCHAR(64) NOT NULL DEFAULT '')""",
            "CREATE INDEX ix_audit_log_at ON audit_log (at)",
        ),
        (
            """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
               BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
            """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
               BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
        ),
    ),
    Migration(
        5,
        "per-user job limits: who submitted a job, and whether it waits for one of that user's jobs to end",
        (
            "ALTER TABLE jobs ADD COLUMN submitted_by VARCHAR(200) NOT NULL DEFAULT ''",
            "ALTER TABLE jobs ADD COLUMN waiting BOOLEAN NOT NULL DEFAULT FALSE",
            "CREATE INDEX ix_jobs_submitted_by_state ON jobs (submitted_by, state)",
        ),
    ),
    Migration(
        6,
        "groups: the groups of each account, projects shared with a group, and each account's last login",
        (
            "ALTER TABLE users ADD COLUMN last_login_at TIMESTAMP",
            """CREATE TABLE user_groups (
                user_name VARCHAR(200) NOT NULL REFERENCES users (name) ON DELETE CASCADE,
                group_name VARCHAR(200) NOT NULL,
                PRIMARY KEY (user_name, group_name))""",
            "CREATE INDEX ix_user_groups_group ON user_groups (group_name)",
            """CREATE TABLE project_group_shares (
                project_id VARCHAR(32) NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
                group_name VARCHAR(200) NOT NULL,
                role VARCHAR(10) NOT NULL,
                created_at TIMESTAMP NOT NULL,
                PRIMARY KEY (project_id, group_name))""",
            "CREATE INDEX ix_project_group_shares_group ON project_group_shares (group_name)",
        ),
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def current_version(connection: sa.Connection) -> int:
    """The schema version of the database, 0 for an empty one."""
    if not sa.inspect(connection).has_table("schema_info"):
        return 0
    version = connection.execute(sa.text("SELECT version FROM schema_info WHERE id = 1")).scalar()
    return int(version or 0)


def migrate(engine: sa.Engine, *, migrations: tuple[Migration, ...] = MIGRATIONS) -> int:
    """Apply the pending migrations, each in its own transaction; return the final version.

    Raises
    ------
    StoreError
        When the database is newer than this rhinoapp knows, or a migration fails.
    """
    target = migrations[-1].version
    with engine.connect() as connection:
        version = current_version(connection)
    if version > target:
        raise StoreError(
            f"The database has schema version {version}, newer than this rhinoapp supports ({target}):"
            " upgrade rhinoapp, or point RHINOAPP_DATA_DIR at another folder."
        )
    for migration in migrations:
        if migration.version <= version:
            continue
        _log.info("migrating database to schema %d (%s)", migration.version, migration.description)
        try:
            with engine.begin() as connection:
                sqlite = connection.dialect.name == "sqlite"
                for statement in (*migration.statements, *(migration.sqlite_statements if sqlite else ())):
                    connection.execute(sa.text(statement))
                connection.execute(sa.text("DELETE FROM schema_info"))
                connection.execute(
                    sa.text("INSERT INTO schema_info (id, version, updated_at) VALUES (1, :v, :t)"),
                    {"v": migration.version, "t": utcnow().replace(tzinfo=None)},
                )
        except sa.exc.SQLAlchemyError as error:
            raise StoreError(
                f"Migrating the database to schema {migration.version} failed ({error.__class__.__name__}:"
                f" {error.orig if hasattr(error, 'orig') else error}); the database was left at version"
                f" {version}. Restore a backup or report this."
            ) from error
        version = migration.version
    return version
