"""The job runner: submit, follow, cancel and reconcile jobs without blocking the app's event loop.

One :class:`JobRunner` serves a whole app process. It runs on the process's asyncio loop; every
cluster call is awaited and every database write runs in a one-thread executor, so the loop only
ever does quick work. Lifecycle of a record::

    queued --started event--> running --result--> done
       \\                        |---task raised---> error (the task's message)
        \\                       |---worker lost---> queued (retry k of N) or error (the reason)
         `-----------cancel----------------------> cancelled

A job's staging folder is removed once its task has ended, whatever the outcome; a cancelled job's
once its task has left the workers. :meth:`JobRunner.delete_project` cancels a project's jobs and
waits for their tasks to end before it deletes the project, and :meth:`JobRunner.start` sweeps
orphans that a previous process left (see :mod:`rhinoapp.store.cleanup`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rhinoapp.config import Settings
from rhinoapp.config.jobs import Profile
from rhinoapp.core.access import AuditAction, AuditOutcome, Role
from rhinoapp.core.errors import ConfigurationError, ConflictError, NotFoundError, RhinoappError
from rhinoapp.core.progress import ProgressReport
from rhinoapp.core.workflow import JobKind, JobState
from rhinoapp.jobs.cluster_pool import ClusterPool
from rhinoapp.jobs.clusters import SLOT
from rhinoapp.jobs.events import JobEvent, JobEvents, LiveProgress
from rhinoapp.jobs.progress import JobCancelled
from rhinoapp.jobs.publishing import publish_result
from rhinoapp.jobs.requests import JobRequest, TaskResult
from rhinoapp.jobs.tasks import run_task
from rhinoapp.store.audit import AuditLog
from rhinoapp.store.cleanup import delete_stopped_project, remove_staging, sweep_orphans
from rhinoapp.store.database import Store
from rhinoapp.store.jobs import JobRecord, JobStore
from rhinoapp.store.repository import ProjectRepository

__all__ = ["JobRunner", "LiveProgress"]

_log = logging.getLogger(__name__)
_LOST = ("The worker running this job was lost ({reason}). Run the job again; if it keeps happening, "
         "give the job more memory or walltime in its profile, or turn on retries (jobs.retries).")
_RESTARTED = ("Interrupted by a restart of the app: its cluster no longer knows this job. Run the job again.")
_DELETING = "cancelled: its project was deleted"


@dataclasses.dataclass
class _Running:
    request: JobRequest
    profile: Profile
    future: Any
    worker: str = ""
    slurm_job_id: str = ""
    cancelling: bool = False
    finished: bool = False


class JobRunner:
    """Runs the jobs of one app process on the clusters its settings describe.

    Parameters
    ----------
    settings
        Gives the job profiles (``settings.jobs``) and the data directory.
    store
        The open store holding the job records and the artifacts.
    monitor_interval_s
        How often the runner checks that the workers of running jobs are still there.
    persist_interval_s
        Progress reaches the UI at once; it is written to the database at most this often per job.
    cancel_grace_s
        A cancelled task still running after this long has its worker restarted, when that worker holds
        no other task (a restart would take another job down with it).
    """

    def __init__(self, settings: Settings, store: Store, *, monitor_interval_s: float = 1.0,
                 persist_interval_s: float = 1.0, cancel_grace_s: float = 15.0) -> None:
        self.settings, self.store = settings, store
        self.records = JobStore(store)
        self._monitor_interval, self._persist_interval = monitor_interval_s, persist_interval_s
        self._deleting: set[str] = set()  # projects whose deletion is under way: no job starts on them
        self._pool = ClusterPool(settings.data_dir, on_event=self._on_event, cancel_grace_s=cancel_grace_s)
        self._clients = self._pool.clients  # by profile name
        self._running: dict[str, _Running] = {}
        self._live: dict[str, LiveProgress] = {}
        self._persisted: dict[str, float] = {}
        self._finished: dict[str, asyncio.Event] = {}
        self.events = JobEvents()  # job changes, for the pages (see rhinoapp.jobs.events)
        self._db = ThreadPoolExecutor(1, thread_name_prefix="rhinoapp-jobs-db")
        self._monitor: asyncio.Task[None] | None = None
        self._startup: asyncio.Future[None] | None = None
        self._background: set[asyncio.Future[Any]] = set()

    # -- life cycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Reconcile records left running by a previous process, sweep orphan folders, watch the workers.

        The work is done once; later and concurrent calls wait for it.
        """
        if self._startup is None:
            self._monitor = asyncio.create_task(self._watch_workers())
            self._startup = asyncio.ensure_future(self._start_up())
        await asyncio.shield(self._startup)

    async def _start_up(self) -> None:
        await self.reconcile()
        try:
            await self._write(sweep_orphans, self.store, running_jobs=set(self._running))
        except OSError as error:
            _log.warning("the start-up sweep of orphan folders failed: %s", error)

    async def close(self) -> None:
        """Stop watching and close the clusters this runner started (running jobs are lost)."""
        if self._monitor is not None:
            self._monitor.cancel()
        await self._pool.close()
        await asyncio.get_running_loop().run_in_executor(self._db, lambda: None)  # drain pending writes
        self._db.shutdown(wait=True)

    def subscribe(self, listener: Callable[[str], None]) -> Callable[[], None]:
        """Call ``listener(job_id)`` on the loop whenever a job changes; returns the unsubscribe function.

        A shortcut of :attr:`events` for listeners that need only the id.
        """
        return self.events.subscribe(lambda event: listener(event.job_id))

    def placement(self, job_id: str) -> tuple[str, str] | None:
        """``(worker address, Slurm job id)`` of a running job, once its task has started."""
        entry = self._running.get(job_id)
        return None if entry is None or not entry.worker else (entry.worker, entry.slurm_job_id)

    def live(self, job_id: str) -> LiveProgress | None:
        """The latest progress of a running job (kept in memory, newer than the database)."""
        return self._live.get(job_id)

    # -- submission -------------------------------------------------------------------------
    async def submit(self, *, owner: str, project_id: str, kind: JobKind,
                     parameters: dict[str, Any] | None = None) -> JobRecord:
        """Record and submit a job; returns its record (queued). Raises ConfigurationError for bad profiles.

        When ``owner`` already has ``settings.max_jobs_per_user`` jobs started, the record is
        ``waiting`` (its message says so) and the job starts when one of theirs ends.
        """
        await self.start()
        profile = self.settings.jobs.profile_for(kind)
        try:
            record = await self._write(self.records.create, owner=owner, project_id=project_id, kind=kind,
                                       profile=profile.name, parameters=parameters,
                                       limit=self.settings.max_jobs_per_user)
        except (NotFoundError, PermissionError):
            await self._audit(owner, AuditAction.JOB_RUN, AuditOutcome.DENIED, project_id, kind.value)
            raise
        await self._audit(owner, AuditAction.JOB_RUN, AuditOutcome.SUCCESS, project_id, kind.value)
        self._finished[record.id] = asyncio.Event()
        if record.waiting:
            _log.info("job %s of %s waits: %s", record.id, owner, record.message)
            self.events.publish(JobEvent(record.id, project_id, owner, kind, JobState.QUEUED))
            return record
        await self._begin(record, profile, parameters)
        return record

    async def _begin(self, record: JobRecord, profile: Profile, parameters: dict[str, Any] | None) -> None:
        """Submit an admitted record's task to its profile's cluster."""
        assert record.kind is not None
        user = record.submitted_by or record.owner
        try:
            client = await self._pool.client(profile)
            project_dir = ProjectRepository(self.store, owner=user).project_dir(record.project_id)
            await asyncio.to_thread(project_dir.mkdir, exist_ok=True)  # a task never creates it (see tasks)
            request = JobRequest.create(job_id=record.id, owner=user, project_id=record.project_id,
                                        project_dir=str(project_dir), kind=record.kind, parameters=parameters)
        except BaseException as error:
            await self._finish(record.id, JobState.ERROR, str(error) or type(error).__name__)
            raise
        try:
            await self._launch(request, profile, client)
        except ConflictError as error:
            await self._finish(record.id, JobState.CANCELLED, _DELETING)
            raise ConflictError(f"{error} The job was not started.") from None

    async def _admit_waiting(self) -> None:
        """Start the waiting jobs of every user who is under their limit again, oldest first."""
        for user in await self._write(self.records.waiting_users):
            for record in await self._write(self.records.admit, user, limit=self.settings.max_jobs_per_user):
                _log.info("job %s of %s leaves the queue", record.id, user)
                self._finished.setdefault(record.id, asyncio.Event())
                if record.project_id in self._deleting:  # its project goes: the job never starts
                    await self._finish(record.id, JobState.CANCELLED, _DELETING)
                    continue
                try:
                    profile = self.settings.jobs.get(record.profile)
                except ConfigurationError as error:
                    await self._finish(record.id, JobState.ERROR, str(error))
                    continue
                try:
                    await self._begin(record, profile, dict(record.parameters))
                except Exception as error:  # recorded on the job by _begin; the others still start
                    _log.warning("the queued job %s could not start: %s", record.id, error)

    async def wait(self, job_id: str, *, timeout_s: float | None = None) -> JobRecord:
        """Wait until a job submitted by this runner finishes; returns its final record.

        Raises NotFoundError when the job was deleted with its project.
        """
        event = self._finished.get(job_id)
        if event is not None:
            await asyncio.wait_for(event.wait(), timeout_s)
        return await self._write(self.records.get, job_id)

    async def _launch(self, request: JobRequest, profile: Profile, client: Any) -> None:
        if request.project_id in self._deleting:
            raise ConflictError("The project is being deleted.")
        future = client.submit(run_task, request, key=request.key, pure=False, resources={SLOT: 1})
        self._running[request.job_id] = _Running(request, profile, future)
        address = getattr(getattr(client, "scheduler", None), "address", "") or ""
        await self._write(self.records.update, request.job_id, task_key=request.key, scheduler_address=address,
                          attempt=request.attempt, profile=profile.name)
        self._spawn(self._follow(request.job_id, request.attempt))
        self._notify(request, JobState.QUEUED)

    # -- following a job --------------------------------------------------------------------
    async def _follow(self, job_id: str, attempt: int) -> None:
        entry = self._running.get(job_id)
        if entry is None:
            return
        try:
            result: TaskResult = await entry.future
        except BaseException as error:  # the task's own errors, cancellation, lost workers
            if not self._current(job_id, attempt) or entry.cancelling:
                return
            if type(error).__name__ == "KilledWorker":
                await self._lost(job_id, "the worker process died while running it")
            elif isinstance(error, JobCancelled) or type(error).__name__ in ("CancelledError", "FutureCancelledError"):
                await self._finish(job_id, JobState.CANCELLED, "cancelled")
            else:
                message = str(error) if isinstance(error, RhinoappError) else f"{type(error).__name__}: {error}"
                await self._finish(job_id, JobState.ERROR, message)
            return
        if not self._current(job_id, attempt) or entry.cancelling:
            return
        try:
            summary = await self._write(publish_result, self.store, entry.request, result)
        except NotFoundError:  # the project was deleted meanwhile (by another process): nothing to keep
            await self._finish(job_id, JobState.CANCELLED, _DELETING)
            return
        except Exception as error:
            await self._finish(job_id, JobState.ERROR, f"the results could not be stored: {error}")
            return
        if not entry.finished:  # else cancelled while its results were stored
            await self._finish(job_id, JobState.DONE, summary)

    def _current(self, job_id: str, attempt: int) -> bool:
        entry = self._running.get(job_id)
        return entry is not None and entry.request.attempt == attempt and not entry.finished

    async def _lost(self, job_id: str, reason: str) -> None:
        entry = self._running[job_id]
        entry.finished = True
        self._spawn(self._forget_future(entry))
        retries = self.settings.jobs.retries
        if entry.request.attempt < retries and entry.request.project_id not in self._deleting:
            request = entry.request.retry()
            _log.warning("job %s: %s; retry %d of %d", job_id, reason, request.attempt, retries)
            await self._write(self.records.update, job_id, worker_host="", slurm_job_id="",
                              progress_report=ProgressReport(0.0, stage=f"retry {request.attempt} of {retries}"))
            await self._write(self.records.set_state, job_id, JobState.QUEUED,
                              message=f"retry {request.attempt} of {retries} after: {reason}")
            await self._launch(request, entry.profile, self._clients[entry.profile.name])
        else:
            await self._finish(job_id, JobState.ERROR, _LOST.format(reason=reason))

    async def _forget_future(self, entry: _Running) -> None:
        try:
            await entry.future.cancel()
        except Exception:
            _log.debug("releasing a lost future failed", exc_info=True)

    async def _finish(self, job_id: str, state: JobState, message: str) -> None:
        entry = self._running.pop(job_id, None)
        if entry is not None:
            entry.finished = True
        self._live.pop(job_id, None)
        try:
            await self._write(self.records.set_state, job_id, state, message=message)
        except NotFoundError:  # deleted with its project
            _log.info("job %s %s; its project was deleted", job_id, state.value)
            record = None
        else:
            _log.info("job %s %s", job_id, state.value)
            record = None if entry is not None else await self._write(self.records.get, job_id)
        if entry is not None and not entry.cancelling:  # its task has ended: its staging folder goes
            await asyncio.to_thread(remove_staging, entry.request.project_dir, job_id)
        if job_id in self._finished:
            self._finished[job_id].set()
        if entry is not None:
            self._notify(entry.request, state)
        elif record is not None:  # a record without a task here (cancelled or reconciled)
            self.events.publish(JobEvent(job_id, record.project_id, record.owner, record.kind, record.state))
        if not state.is_active:  # a slot of its user may be free: their next queued job starts
            self._spawn(self._admit_waiting())

    # -- progress and worker events ---------------------------------------------------------
    def _on_event(self, event: tuple[float, dict[str, Any]]) -> None:
        message = event[1] if isinstance(event, tuple) else event
        job_id = message.get("job_id", "")
        if not self._current(job_id, int(message.get("attempt", -1))):
            return
        entry = self._running[job_id]
        if message.get("event") == "started":
            entry.worker, entry.slurm_job_id = message.get("worker", ""), message.get("slurm_job_id", "")
            started = ProgressReport(0.0, stage="started")
            self._live[job_id] = LiveProgress(started, time.time())
            self._background_write(self.records.update, job_id, worker_host=message.get("host", ""),
                                   slurm_job_id=entry.slurm_job_id, progress_report=started)
            self._background_write(self.records.set_state, job_id, JobState.RUNNING)
        elif message.get("event") == "progress":
            live = LiveProgress(ProgressReport.from_dict(message.get("progress") or {}), time.time())
            self._live[job_id] = live
            if live.at - self._persisted.get(job_id, 0.0) >= self._persist_interval:
                self._persisted[job_id] = live.at
                self._background_write(self.records.update, job_id, progress_report=live.report)
        self._notify(entry.request, JobState.RUNNING)

    async def _watch_workers(self) -> None:
        while True:
            await asyncio.sleep(self._monitor_interval)
            try:
                await self._check_workers()
            except Exception:
                _log.warning("checking the workers of running jobs failed", exc_info=True)

    async def _check_workers(self) -> None:
        by_profile: dict[str, list[_Running]] = {}
        for entry in list(self._running.values()):
            if entry.worker and not entry.cancelling and not entry.finished:
                by_profile.setdefault(entry.profile.name, []).append(entry)
        for name, entries in by_profile.items():
            workers = await self._pool.workers(name)
            for entry in entries:
                if entry.worker not in workers and self._current(entry.request.job_id, entry.request.attempt):
                    where = f"Slurm job {entry.slurm_job_id}" if entry.slurm_job_id else entry.worker
                    await self._lost(entry.request.job_id,
                                     f"its worker ({where}) left the cluster: killed, cancelled, or over its walltime")

    # -- cancel and reconcile ---------------------------------------------------------------
    async def cancel(self, job_id: str, *, owner: str) -> JobRecord:
        """Stop a job of ``owner`` and mark it cancelled (a finished job is left as it is).

        Returns at once; the task leaves its worker at its next progress report (or its worker is
        restarted), and then its staging folder is removed.
        """
        try:
            record = await self._write(self.records.get, job_id, owner=owner, writable=True)
        except (NotFoundError, PermissionError):
            await self._audit(owner, AuditAction.JOB_CANCEL, AuditOutcome.DENIED, "", "")
            raise
        await self._audit(owner, AuditAction.JOB_CANCEL, AuditOutcome.SUCCESS, record.project_id,
                          record.kind.value if record.kind else "")
        if record.state.is_active or job_id in self._running:
            await self._cancel(job_id, f"cancelled by {owner}")
        return await self._write(self.records.get, job_id)

    async def _cancel(self, job_id: str, message: str) -> asyncio.Future[Any] | None:
        """Mark a job cancelled and stop its task; returns what completes once the task has left the workers."""
        entry = self._running.get(job_id)
        if entry is None:
            await self._finish(job_id, JobState.CANCELLED, message)
            return None
        entry.cancelling = True
        stopped = await self._pool.stop_task(entry.profile.name, entry.request, entry.future,
                                             slurm_job_id=entry.slurm_job_id, worker=entry.worker)
        await self._finish(job_id, JobState.CANCELLED, message)
        return stopped

    async def delete_project(self, project_id: str, *, owner: str,
                             on_progress: Callable[[str], None] | None = None) -> None:
        """Delete ``owner``'s project: cancel its jobs, wait until their tasks have ended, then delete it.

        No job starts on the project meanwhile. The records go in one transaction, then the folder
        (:func:`~rhinoapp.store.cleanup.delete_stopped_project`); a task that could not be stopped from
        here stops at its next progress report, when it finds its staging folder gone.
        ``on_progress`` hears what is being done, in words.
        """
        say = on_progress or (lambda _text: None)
        try:
            await self._write(ProjectRepository(self.store, owner=owner).require, project_id, Role.OWNER)
        except (NotFoundError, PermissionError):  # another user's project, or a share without the owner's rights
            await self._audit(owner, AuditAction.DELETE, AuditOutcome.DENIED, project_id, "")
            raise
        await self._audit(owner, AuditAction.DELETE, AuditOutcome.SUCCESS, project_id, "")
        self._deleting.add(project_id)
        try:
            active = {r.id for r in await self._write(self.records.active) if r.project_id == project_id}
            active |= {job for job, entry in self._running.items() if entry.request.project_id == project_id}
            if active:
                say(f"Stopping {len(active)} job{'s' if len(active) > 1 else ''} of the project before deleting it…")
                stopping = [await self._cancel(job_id, _DELETING) for job_id in sorted(active)]
                await asyncio.gather(*(s for s in stopping if s is not None))
            say("Deleting the project's records and files…")
            await self._write(delete_stopped_project, self.store, owner=owner, project_id=project_id, force=True)
        finally:
            self._deleting.discard(project_id)
        _log.info("project %s deleted after stopping %d job(s)", project_id, len(active))

    async def reconcile(self) -> None:
        """Re-attach or close records that a previous process left queued or running."""
        for record in await self._write(self.records.active):
            if record.id in self._running or record.waiting:  # waiting ones start below, in order
                continue
            if await self._reattach(record):
                continue
            await self._finish(record.id, JobState.ERROR, _RESTARTED)
        await self._admit_waiting()

    async def _reattach(self, record: JobRecord) -> bool:
        try:
            profile = self.settings.jobs.get(record.profile)
        except ConfigurationError:
            return False
        if record.kind is None:
            return False
        future = await self._pool.find_task(profile, record.task_key)
        if future is None:
            return False
        request = JobRequest.create(job_id=record.id, owner=record.owner, project_id=record.project_id,
                                    project_dir=str(ProjectRepository(self.store, owner=record.owner)
                                                    .project_dir(record.project_id)),
                                    kind=record.kind, parameters=dict(record.parameters), attempt=record.attempt)
        self._running[record.id] = _Running(request, profile, future)
        self._finished[record.id] = asyncio.Event()
        self._spawn(self._follow(record.id, record.attempt))
        _log.info("job %s re-attached after restart", record.id)
        return True

    # -- plumbing ---------------------------------------------------------------------------
    async def _audit(self, user: str, action: AuditAction, outcome: AuditOutcome, project_id: str, detail: str) -> None:
        await self._write(AuditLog(self.store).record, user, action, outcome, project_id=project_id, detail=detail)

    async def _write(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._db, lambda: function(*args, **kwargs))

    def _background_write(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        async def write() -> None:
            try:
                await self._write(function, *args, **kwargs)
            except NotFoundError:  # the job went with its project
                _log.debug("a write for a deleted job was dropped")

        self._spawn(write())

    def _spawn(self, awaitable: Any) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(awaitable)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(_log_failure)
        return task

    def _notify(self, request: JobRequest, state: JobState) -> None:
        self.events.publish(JobEvent(request.job_id, request.project_id, request.owner, request.kind, state))


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.error("background job work failed: %s", task.exception())
