"""User-scoped access to projects, their artifacts and the workflow status of their jobs.

A :class:`ProjectRepository` is bound to one user; every query filters by what that user may do
(:mod:`rhinoapp.store.access`: own projects, projects shared with them, everything for an admin), so
a user can never see, change or delete another user's projects, even by guessing an id; a viewer of
a shared project reads it but gets :class:`~rhinoapp.core.errors.PermissionDeniedError` on a change. It reads
job records for the workflow status; :class:`~rhinoapp.store.jobs.JobStore` is their only writer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rhinoapp.core.access import Role
from rhinoapp.core.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from rhinoapp.core.files import Content, WrittenFile
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.core.project import Project, validate_description, validate_name
from rhinoapp.core.workflow import (
    JobState,
    Step,
    StepJob,
    StepOutput,
    StepState,
    derive_statuses,
    optional_inputs,
    required_inputs,
)
from rhinoapp.store.access import can_manage, can_read, can_write
from rhinoapp.store.artifacts import atomic_publish_many, check_artifact_name
from rhinoapp.store.database import Store
from rhinoapp.store.models import ArtifactRow, JobRow, ProjectRow, utcnow

__all__ = ["ArtifactInfo", "ProjectRepository", "output_digest"]

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ArtifactInfo:
    """A published artifact as recorded in the database (``step`` is None for an auxiliary output)."""

    project_id: str
    step: Step | None
    name: str
    path: Path
    sha256: str
    size_bytes: int
    created: dt.datetime
    job_id: str | None
    inputs: Mapping[Step, str]


def output_digest(artifacts: Iterable[tuple[str, str]]) -> str:
    """Digest of a step's output from its ``(name, sha256)`` pairs, independent of order.

    Examples
    --------
    >>> output_digest([("b", "2"), ("a", "1")]) == output_digest([("a", "1"), ("b", "2")])
    True
    """
    digest = hashlib.sha256()
    for name, sha in sorted(artifacts):
        digest.update(f"{name}\0{sha}\n".encode())
    return digest.hexdigest()


def _project(row: ProjectRow) -> Project:
    return Project(row.id, row.name, row.description, row.owner, row.created_at, row.updated_at)


class ProjectRepository:
    """Projects and artifacts of one owner, and the status its jobs give the workflow steps.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store.database import open_store
    >>> store = open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp())))
    >>> repo = ProjectRepository(store, owner="local")
    >>> project = repo.create("Case 1", "demo")
    >>> [p.name for p in repo.list_projects()]
    ['Case 1']
    >>> repo.statuses([project.id])[project.id][Step.GEOMETRY].status.value
    'not-possible-yet'
    >>> store.close()
    """

    def __init__(self, store: Store, *, owner: str) -> None:
        if not owner:
            raise ValidationError("A repository needs the current user's name as owner.")
        self._store = store
        self.owner = owner

    @property
    def store(self) -> Store:
        """The store this repository reads and writes."""
        return self._store

    # -- projects ---------------------------------------------------------------------------
    def _session(self) -> Session:
        return Session(self._store.engine, expire_on_commit=False)

    def _write_session(self) -> Session:
        return Session(self._store.write_engine, expire_on_commit=False)

    def _owned(self, session: Session, project_id: str, *, need: Role = Role.VIEWER) -> ProjectRow:
        row = session.scalar(sa.select(ProjectRow).where(ProjectRow.id == project_id, can_read(self.owner)))
        if row is None:
            raise NotFoundError(f"No project with id {project_id!r} for user {self.owner!r}: refresh the project list.")
        if need is not Role.VIEWER:
            allowed = can_manage(self.owner) if need is Role.OWNER else can_write(self.owner)
            if session.scalar(sa.select(ProjectRow.id).where(ProjectRow.id == project_id, allowed)) is None:
                what = "share or delete it" if need is Role.OWNER else "change it"
                raise PermissionDeniedError(f'Project "{row.name}" is shared with {self.owner} as '
                                            f"{self._role(session, row).value}: ask its owner ({row.owner}) to {what}.")
        return row

    def _role(self, session: Session, row: ProjectRow) -> Role:
        if session.scalar(sa.select(ProjectRow.id).where(ProjectRow.id == row.id, can_manage(self.owner))):
            return Role.OWNER
        if session.scalar(sa.select(ProjectRow.id).where(ProjectRow.id == row.id, can_write(self.owner))):
            return Role.EDITOR
        return Role.VIEWER

    def role(self, project_id: str) -> Role:
        """The user's role on a project they can see (owner also for an admin); :class:`NotFoundError` otherwise.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from rhinoapp.config import Settings
        >>> from rhinoapp.store.database import open_store
        >>> store = open_store(Settings(data_dir=pathlib.Path(tempfile.mkdtemp())))
        >>> ProjectRepository(store, owner="ana").role(ProjectRepository(store, owner="ana").create("Case 1").id).value
        'owner'
        """
        with self._session() as session:
            return self._role(session, self._owned(session, project_id))

    def require(self, project_id: str, role: Role) -> Project:
        """The project when the user has at least ``role`` on it; NotFound or PermissionDenied otherwise."""
        with self._session() as session:
            return _project(self._owned(session, project_id, need=role))

    def list_projects(self, *, search: str = "") -> list[Project]:
        """The user's projects (own, shared with them; all for an admin), newest first, optionally filtered by a text."""
        query = sa.select(ProjectRow).where(can_read(self.owner))
        if search.strip():
            pattern = f"%{search.strip().casefold()}%"
            query = query.where(
                sa.or_(ProjectRow.name_key.like(pattern), sa.func.lower(ProjectRow.description).like(pattern))
            )
        with self._session() as session:
            rows = session.scalars(query.order_by(ProjectRow.created_at.desc(), ProjectRow.name)).all()
            return [_project(r) for r in rows]

    def get(self, project_id: str) -> Project:
        """One project of the owner; :class:`NotFoundError` otherwise."""
        with self._session() as session:
            return _project(self._owned(session, project_id))

    def _check_free(self, session: Session, name: str, *, except_id: str | None = None, owner: str = "") -> None:
        clash = session.scalar(
            sa.select(ProjectRow.id).where(
                ProjectRow.owner == (owner or self.owner), ProjectRow.name_key == name.casefold(), ProjectRow.id != (except_id or "")
            )
        )
        if clash is not None:
            raise ConflictError(f'A project named "{name}" already exists: choose another name.')

    def create(self, name: str, description: str = "") -> Project:
        """Create a project; invalid or duplicate names raise with a message for the user."""
        name, description = validate_name(name), validate_description(description)
        now = utcnow()
        row = ProjectRow(
            id=uuid.uuid4().hex, owner=self.owner, name=name, name_key=name.casefold(),
            description=description, created_at=now, updated_at=now,
        )
        try:
            with self._write_session() as session, session.begin():
                self._check_free(session, name)
                session.add(row)
        except sa.exc.IntegrityError:  # a concurrent create won the race
            raise ConflictError(f'A project named "{name}" already exists: choose another name.') from None
        _log.info("project %s created", row.id)
        return _project(row)

    def update(self, project_id: str, *, name: str | None = None, description: str | None = None) -> Project:
        """Rename a project and/or change its description."""
        with self._write_session() as session, session.begin():
            row = self._owned(session, project_id, need=Role.EDITOR)
            if name is not None:
                name = validate_name(name)
                self._check_free(session, name, except_id=project_id, owner=row.owner)
                row.name, row.name_key = name, name.casefold()
            if description is not None:
                row.description = validate_description(description)
            row.updated_at = utcnow()
            return _project(row)

    def delete(self, project_id: str) -> None:
        """Delete a project, its records and its artifact folder (its jobs must have stopped).

        Use :func:`rhinoapp.store.cleanup.delete_stopped_project` (it checks the jobs) or the job
        runner's ``delete_project`` (it stops them first).

        The folder is first renamed aside, so a failing database change puts it back and a
        crash leaves either the whole project or a ``.deleted-*`` folder, never half of one.
        """
        folder = self.project_dir(project_id)
        trash = folder.with_name(f".deleted-{project_id}")
        with self._write_session() as session, session.begin():
            session.delete(self._owned(session, project_id, need=Role.OWNER))
            session.flush()
            moved = folder.exists()
            if moved:
                os.replace(folder, trash)
            try:
                session.commit()
            except BaseException:
                if moved:
                    os.replace(trash, folder)
                raise
        shutil.rmtree(trash, ignore_errors=True)
        _log.info("project %s deleted", project_id)

    def project_dir(self, project_id: str) -> Path:
        """The folder of a project's artifacts (not created here)."""
        if not project_id.isalnum():
            raise ValidationError(f"Project id {project_id!r} is not a valid id.")
        return self._store.projects_dir / project_id

    def layout(self, project_id: str) -> ProjectLayout[Path]:
        """The paths of a project's artifacts in its folder."""
        return ProjectLayout(self.project_dir(project_id))

    # -- artifacts --------------------------------------------------------------------------
    def current_input_digests(self, project_id: str, step: Step) -> dict[Step, str]:
        """The output digests of ``step``'s inputs now: what a new output is made from."""
        outputs = self.step_outputs(project_id)
        wanted = (*required_inputs(step), *optional_inputs(step))
        return {s: outputs[s].digest for s in wanted if s in outputs}

    def write_artifact(
        self,
        project_id: str,
        step: Step | None,
        name: str,
        content: Content,
        *,
        job_id: str | None = None,
        inputs: Mapping[Step, str] | None = None,
    ) -> ArtifactInfo:
        """Publish a file of ``step`` atomically and record its sha256 and provenance.

        ``inputs`` defaults to the current digests of the step's inputs. The file is written to
        a temporary path and renamed into place inside the database transaction (see
        :func:`~rhinoapp.store.artifacts.atomic_publish_many`); if either fails, the previous artifact
        (file and record) stays as it was.
        """
        return self.write_artifacts(project_id, step, {name: content}, job_id=job_id, inputs=inputs)[0]

    def write_artifacts(
        self,
        project_id: str,
        step: Step | None,
        files: Mapping[str, Content],
        *,
        job_id: str | None = None,
        inputs: Mapping[Step, str] | None = None,
    ) -> list[ArtifactInfo]:
        """Publish several files of ``step`` together: all of them with their records, or none.

        Names are project-relative (see :class:`~rhinoapp.core.layout.ProjectLayout`). ``step`` None
        publishes auxiliary outputs (histograms, thumbnails, logs): they belong to no step and never
        enter a step's digest.
        """
        relatives = [check_artifact_name(str(name)) for name in files]
        if step is None:
            others = [str(r) for r in relatives if not ProjectLayout.is_auxiliary(str(r))]
            if others:
                raise ValidationError(f"{', '.join(others)}: only auxiliary outputs (under "
                                      f"{ProjectLayout().auxiliary_dir}/) can be published without a step.")
            inputs = {}
        elif inputs is None:
            inputs = self.current_input_digests(project_id, step)
        with self._write_session() as session:
            self._owned(session, project_id, need=Role.EDITOR)
            rows = []
            for relative in relatives:
                rows.append(session.scalar(
                    sa.select(ArtifactRow).where(ArtifactRow.project_id == project_id, ArtifactRow.name == str(relative))
                ) or ArtifactRow(id=uuid.uuid4().hex, project_id=project_id, name=str(relative)))

            def record(written: list[WrittenFile]) -> None:
                for row, info in zip(rows, written, strict=True):
                    row.step, row.sha256, row.size_bytes = step.value if step else "", info.sha256, info.size_bytes
                    row.created_at, row.job_id = utcnow(), job_id
                    row.inputs = json.dumps({s.value: d for s, d in inputs.items()}, sort_keys=True)
                    session.add(row)
                session.flush()

            base = self.project_dir(project_id)
            targets = [(base.joinpath(*relative.parts), content) for relative, content in zip(relatives, files.values())]
            try:
                atomic_publish_many(targets, record=record, confirm=session.commit)
            except BaseException:
                session.rollback()
                raise
        return [self._artifact(row) for row in rows]

    def _artifact(self, row: ArtifactRow) -> ArtifactInfo:
        return ArtifactInfo(
            row.project_id, Step(row.step) if row.step else None, row.name,
            self.project_dir(row.project_id).joinpath(*row.name.split("/")), row.sha256, row.size_bytes,
            row.created_at, row.job_id, {Step(k): v for k, v in json.loads(row.inputs).items()},
        )

    def artifacts(self, project_id: str, step: Step | None = None) -> list[ArtifactInfo]:
        """The recorded artifacts of a project (optionally of one step), by name."""
        query = (
            sa.select(ArtifactRow).join(ProjectRow)
            .where(can_read(self.owner), ArtifactRow.project_id == project_id)
        )
        if step is not None:
            query = query.where(ArtifactRow.step == step.value)
        with self._session() as session:
            return [self._artifact(r) for r in session.scalars(query.order_by(ArtifactRow.name))]

    # -- workflow status --------------------------------------------------------------------
    def step_outputs(self, project_id: str) -> dict[Step, StepOutput]:
        """The current output of each step of one project."""
        return self._outputs_by_project([project_id]).get(project_id, {})

    def _outputs_by_project(self, project_ids: list[str]) -> dict[str, dict[Step, StepOutput]]:
        query = (
            sa.select(ArtifactRow.project_id, ArtifactRow.step, ArtifactRow.name, ArtifactRow.sha256,
                      ArtifactRow.created_at, ArtifactRow.inputs)
            .join(ProjectRow)
            .where(can_read(self.owner), ArtifactRow.project_id.in_(project_ids))
        )
        grouped: dict[tuple[str, str], list[sa.Row]] = defaultdict(list)
        with self._session() as session:
            for row in session.execute(query):
                if row.step and not ProjectLayout.is_auxiliary(row.name):  # auxiliary outputs are no step's
                    grouped[(row.project_id, row.step)].append(row)
        result: dict[str, dict[Step, StepOutput]] = defaultdict(dict)
        for (project_id, step), rows in grouped.items():
            recorded: dict[Step, set[str]] = defaultdict(set)
            for row in rows:
                for s, d in json.loads(row.inputs).items():
                    recorded[Step(s)].add(d)
            # artifacts made from different inputs cannot all be current: mark them inconsistent
            inputs = {s: (next(iter(d)) if len(d) == 1 else "inconsistent") for s, d in recorded.items()}
            result[project_id][Step(step)] = StepOutput(
                output_digest((r.name, r.sha256) for r in rows), inputs, max(r.created_at for r in rows)
            )
        return result

    def _latest_jobs(self, project_ids: list[str]) -> dict[str, dict[Step, StepJob]]:
        query = (
            sa.select(JobRow).join(ProjectRow)
            .where(can_read(self.owner), JobRow.project_id.in_(project_ids))
            .order_by(JobRow.submitted_at)
        )
        result: dict[str, dict[Step, StepJob]] = defaultdict(dict)
        with self._session() as session:
            for row in session.scalars(query):  # later rows overwrite earlier ones
                if not row.step:  # a diagnostics job colours no step
                    continue
                result[row.project_id][Step(row.step)] = StepJob(JobState(row.state), row.submitted_at, row.message)
        return result

    def statuses(self, project_ids: list[str]) -> dict[str, dict[Step, StepState]]:
        """Derived workflow status of each given project (two queries, whatever the count)."""
        outputs, jobs = self._outputs_by_project(project_ids), self._latest_jobs(project_ids)
        return {pid: derive_statuses(outputs.get(pid, {}), jobs.get(pid, {})) for pid in project_ids}

    def last_activity(self, project_ids: list[str]) -> dict[str, dt.datetime]:
        """The time of the latest change per project: edits, artifacts or job events."""
        times: dict[str, dt.datetime] = {}
        with self._session() as session:
            for query in (
                sa.select(ProjectRow.id, ProjectRow.updated_at),
                sa.select(ArtifactRow.project_id, sa.func.max(ArtifactRow.created_at)).join(ProjectRow)
                .group_by(ArtifactRow.project_id),
                sa.select(JobRow.project_id, sa.func.max(sa.func.coalesce(JobRow.finished_at, JobRow.submitted_at)))
                .join(ProjectRow).group_by(JobRow.project_id),
            ):
                query = query.where(can_read(self.owner), ProjectRow.id.in_(project_ids))
                for pid, when in session.execute(query):
                    if when is not None and isinstance(when, dt.datetime):
                        when = when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
                        times[pid] = max(times.get(pid, when), when)
        return times
