"""ORM mapping of the current schema (see :mod:`rhinoapp.store.migrations` for how it is built)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["ArtifactRow", "AuditRow", "Base", "JobRow", "ProjectRow", "SchemaInfoRow", "GroupShareRow", "ShareRow", "UTCDateTime",
           "UserGroupRow", "UserRow", "utcnow"]


def utcnow() -> dt.datetime:
    """The current time, timezone-aware in UTC."""
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """Stores aware datetimes as naive UTC and hands them back aware (SQLite drops zones)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store: pass a timezone-aware value")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.timezone.utc)


class Base(DeclarativeBase):
    """Declarative base of the rhinoapp tables."""


class SchemaInfoRow(Base):
    """One row holding the schema version the database was migrated to."""

    __tablename__ = "schema_info"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    version: Mapped[int] = mapped_column(sa.Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ProjectRow(Base):
    """A project; ``name_key`` is the case-folded name that must be unique per owner."""

    __tablename__ = "projects"
    __table_args__ = (sa.UniqueConstraint("owner", "name_key", name="uq_projects_owner_name"),)
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(sa.String(200))
    name: Mapped[str] = mapped_column(sa.String(80))
    name_key: Mapped[str] = mapped_column(sa.String(80))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class JobRow(Base):
    """A job that runs one workflow step of a project."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    project_id: Mapped[str] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(sa.String(20))
    state: Mapped[str] = mapped_column(sa.String(20))
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    message: Mapped[str] = mapped_column(sa.Text, default="")
    kind: Mapped[str] = mapped_column(sa.String(40), default="")
    profile: Mapped[str] = mapped_column(sa.String(80), default="")
    task_key: Mapped[str] = mapped_column(sa.String(200), default="")
    scheduler_address: Mapped[str] = mapped_column(sa.String(200), default="")
    worker_host: Mapped[str] = mapped_column(sa.String(200), default="")
    slurm_job_id: Mapped[str] = mapped_column(sa.String(40), default="")
    progress: Mapped[float] = mapped_column(sa.Float, default=0.0)
    progress_message: Mapped[str] = mapped_column(sa.Text, default="")
    eta_s: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    progress_data: Mapped[str] = mapped_column(sa.Text, default="{}")  # ProgressReport.to_dict() as JSON
    attempt: Mapped[int] = mapped_column(sa.Integer, default=0)
    parameters: Mapped[str] = mapped_column(sa.Text, default="{}")
    submitted_by: Mapped[str] = mapped_column(sa.String(200), default="")
    waiting: Mapped[bool] = mapped_column(sa.Boolean, default=False)  # queued behind the submitter's job limit


class ArtifactRow(Base):
    """A file a step published under the project's folder, with its digest and provenance.

    ``inputs`` is JSON: the output digest of each input step when this artifact was made.
    """

    __tablename__ = "artifacts"
    __table_args__ = (sa.UniqueConstraint("project_id", "name", name="uq_artifacts_project_name"),)
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    project_id: Mapped[str] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(500))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    job_id: Mapped[str | None] = mapped_column(sa.ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True)
    inputs: Mapped[str] = mapped_column(sa.Text, default="{}")


class UserRow(Base):
    """A local account: scrypt password hash (:mod:`rhinoapp.core.passwords`), admin and disabled flags."""

    __tablename__ = "users"
    name: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    password_hash: Mapped[str] = mapped_column(sa.Text)
    admin: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class UserGroupRow(Base):
    """A group an account belongs to: from the identity provider at login, or set on the Users page."""

    __tablename__ = "user_groups"
    user_name: Mapped[str] = mapped_column(sa.ForeignKey("users.name", ondelete="CASCADE"), primary_key=True)
    group_name: Mapped[str] = mapped_column(sa.String(200), primary_key=True)


class ShareRow(Base):
    """A project shared with a named user as viewer or editor."""

    __tablename__ = "project_shares"
    project_id: Mapped[str] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    user_name: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(10))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class GroupShareRow(Base):
    """A project shared with a group (every member, see :class:`UserGroupRow`) as viewer or editor."""

    __tablename__ = "project_group_shares"
    project_id: Mapped[str] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    group_name: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(10))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class AuditRow(Base):
    """One audit event: who did what to which project (by id only) and with what outcome."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    user_name: Mapped[str] = mapped_column(sa.String(200))
    action: Mapped[str] = mapped_column(sa.String(40))
    outcome: Mapped[str] = mapped_column(sa.String(20))
    project_id: Mapped[str] = mapped_column(sa.String(32), default="")
    detail: Mapped[str] = mapped_column(sa.String(200), default="")
    remote: Mapped[str] = mapped_column(sa.String(64), default="")
