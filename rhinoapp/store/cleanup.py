"""Removing what jobs and deletions leave behind in the projects folder, and nothing else.

Three operations, all confined to the store's projects folder (``<data dir>/projects``):

- :func:`remove_staging` drops the staging folder of one finished job (``<project>/.staging/<job>``);
  it never creates anything, so a late call for a deleted project changes nothing.
- :func:`delete_stopped_project` deletes a project whose jobs are no longer running: its records
  (one transaction) and its folder. It refuses, with :class:`ProjectHasJobs`, while the store still
  records a queued or running job of the project, unless ``force`` says those records are stale.
- :func:`sweep_orphans`, run when the job runner starts, removes staging folders of jobs that are not
  running and folders of projects the database no longer knows (left by a crash or by a job that
  ran on after its project was deleted).

Only project and job ids (random hex, no patient data) are logged.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import shutil
from collections.abc import Collection
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rhinoapp.core.access import Role
from rhinoapp.core.errors import ConflictError
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.store.database import Store
from rhinoapp.store.jobs import JobRecord, JobStore
from rhinoapp.store.models import ProjectRow
from rhinoapp.store.repository import ProjectRepository

__all__ = ["ProjectHasJobs", "SweepReport", "delete_stopped_project", "remove_staging", "sweep_orphans"]

_log = logging.getLogger(__name__)
_TRASH = ".deleted-"  # what ProjectRepository.delete renames a project folder to before removing it
_PROJECT_ID = re.compile(r"^[0-9a-f]{32}$")  # ProjectRepository.create's ids


class ProjectHasJobs(ConflictError):
    """A project cannot be deleted while the store records queued or running jobs of it."""


@dataclasses.dataclass(frozen=True)
class SweepReport:
    """What :func:`sweep_orphans` removed: paths relative to the projects folder, and their size.

    Examples
    --------
    >>> SweepReport(staging=("p1/.staging/j1",), projects=("p2",), size_bytes=2048).removed
    2
    """

    staging: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    size_bytes: int = 0

    @property
    def removed(self) -> int:
        """How many folders were removed."""
        return len(self.staging) + len(self.projects)


def remove_staging(project_dir: str | Path, job_id: str) -> bool:
    """Remove the staging folder of ``job_id`` (and ``.staging`` once empty); True if one was there.

    Creates nothing: for a deleted project (no folder) it does nothing.

    Examples
    --------
    >>> import tempfile
    >>> project = Path(tempfile.mkdtemp())
    >>> (ProjectLayout(project).staging("j1") / "attempt-0.tmp").mkdir(parents=True)
    >>> remove_staging(project, "j1"), sorted(p.name for p in project.iterdir())
    (True, [])
    >>> remove_staging(project / "gone", "j1"), (project / "gone").exists()
    (False, False)
    """
    folder = ProjectLayout(Path(project_dir)).staging(job_id)
    if not folder.is_dir() or folder.is_symlink():
        return False
    shutil.rmtree(folder, ignore_errors=True)
    try:
        folder.parent.rmdir()  # .staging, when no other job stages there
    except OSError:
        pass
    return True


def _active_jobs(store: Store, owner: str, project_id: str) -> list[JobRecord]:
    return [r for r in JobStore(store).active() if r.project_id == project_id]


def delete_stopped_project(store: Store, *, owner: str, project_id: str, force: bool = False) -> None:
    """Delete ``owner``'s project ``project_id``: its records in one transaction, then its folder.

    Raises :class:`ProjectHasJobs` while a job of the project is recorded as queued or running
    (the app's job runner stops them first: ``JobRunner.delete_project``). ``force`` deletes anyway,
    for records left active by an app that is no longer running; a task still running in a live app
    stops at its next progress report, when it finds its staging folder gone.

    Examples
    --------
    >>> import tempfile
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.core.workflow import JobKind
    >>> from rhinoapp.store.database import open_store
    >>> store = open_store(Settings(data_dir=Path(tempfile.mkdtemp())))
    >>> project = ProjectRepository(store, owner="ana").create("Case 1")
    >>> job = JobStore(store).create(owner="ana", project_id=project.id, kind=JobKind.SIMULATION, profile="local")
    >>> delete_stopped_project(store, owner="ana", project_id=project.id)
    Traceback (most recent call last):
    ...
    rhinoapp.store.cleanup.ProjectHasJobs: Project "Case 1" has 1 job still queued or running (simulation). Cancel it on the Jobs page (deleting the project in the app stops its jobs itself), then delete again; or, when the app that ran it is no longer running, add --force to delete anyway.
    >>> delete_stopped_project(store, owner="ana", project_id=project.id, force=True)
    >>> ProjectRepository(store, owner="ana").list_projects()
    []
    """
    repo = ProjectRepository(store, owner=owner)
    project = repo.require(project_id, Role.OWNER)  # NotFoundError for another user's project, a viewer's refused
    active = _active_jobs(store, owner, project_id)
    if active and not force:
        kinds = ", ".join(sorted({r.kind.value if r.kind else "unknown kind" for r in active}))
        jobs = f"{len(active)} job{'s' if len(active) > 1 else ''}"
        them = "them" if len(active) > 1 else "it"
        raise ProjectHasJobs(
            f'Project "{project.name}" has {jobs} still queued or running ({kinds}). Cancel {them} on the Jobs '
            "page (deleting the project in the app stops its jobs itself), then delete again; or, when the app "
            "that ran it is no longer running, add --force to delete anyway.")
    if active:
        _log.warning("project %s deleted with %d job record(s) still active (forced)", project_id, len(active))
    repo.delete(project_id)


def _inside(root: Path, path: Path) -> bool:
    """True when ``path`` is a real folder (no link) inside ``root``."""
    return path.is_dir() and not path.is_symlink() and path.resolve().is_relative_to(root)


def _size(folder: Path) -> int:
    total = 0
    for base, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += (Path(base) / name).lstat().st_size
            except OSError:
                pass
    return total


def sweep_orphans(store: Store, *, running_jobs: Collection[str] = ()) -> SweepReport:
    """Remove staging folders of jobs not running and folders of projects not in the database.

    ``running_jobs`` are the ids of jobs whose tasks may still write their staging folders; jobs
    the store records as queued or running are kept too. Anything that is not a project folder
    (``<id>`` or ``.deleted-<id>``, ids as the repository makes them) or a job's staging folder is
    left alone, as are links.

    Examples
    --------
    >>> import tempfile
    >>> from rhinoapp.config import Settings
    >>> from rhinoapp.store.database import open_store
    >>> store = open_store(Settings(data_dir=Path(tempfile.mkdtemp())))
    >>> kept = ProjectRepository(store, owner="ana").create("Case 1").id
    >>> gone = "0f" * 16  # the folder of a project no longer in the database
    >>> for folder in (f"{kept}/.staging/j1", f"{kept}/.staging/j2", f"{gone}/volume", "notes"):
    ...     (store.projects_dir / folder).mkdir(parents=True)
    >>> report = sweep_orphans(store, running_jobs={"j2"})
    >>> report.staging == (f"{kept}/.staging/j1",), report.projects == (gone,)
    (True, True)
    >>> sorted(p.name for p in store.projects_dir.iterdir()) == sorted([kept, "notes"])
    True
    """
    root = store.projects_dir.resolve()
    # the folders first, then the database: a folder seen here whose project or job is new was
    # recorded before it was made, so the database read below knows it
    entries = sorted(root.iterdir()) if root.is_dir() else []
    stagings = {e.name: sorted(ProjectLayout(e).staging_root.iterdir())
                for e in entries if _inside(root, ProjectLayout(e).staging_root)}
    with Session(store.engine) as session:
        projects = set(session.scalars(sa.select(ProjectRow.id)))
    keep = set(running_jobs) | {r.id for r in JobStore(store).active()}
    orphans: list[Path] = []
    for entry in entries:
        name = entry.name[len(_TRASH):] if entry.name.startswith(_TRASH) else entry.name
        if _PROJECT_ID.match(name) and name not in projects and _inside(root, entry):
            orphans.append(entry)
    staged = [job for project, jobs in stagings.items() if project in projects
              for job in jobs if job.name not in keep and _inside(root, job)]
    size = 0
    for folder in (*orphans, *staged):
        size += _size(folder)
        shutil.rmtree(folder, ignore_errors=True)
        _log.info("removed %s (%s)", folder.relative_to(root).as_posix(),
                  "orphan project folder" if folder in orphans else "staging of a job that is not running")
    for staging_root in {job.parent for job in staged}:
        try:
            staging_root.rmdir()  # when no running job stages there
        except OSError:
            pass
    report = SweepReport(tuple(j.relative_to(root).as_posix() for j in staged),
                         tuple(o.name for o in orphans), size)
    if report.removed:
        _log.info("start-up sweep: removed %d staging folder(s) and %d orphan project folder(s), %.1f MB",
                  len(report.staging), len(report.projects), size / 1e6)
    return report
