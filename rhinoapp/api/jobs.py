"""Running a case's jobs from Python: in this process, or on a job profile (a local cluster, Slurm).

Either way the work is the job's task (:func:`rhinoapp.jobs.tasks.run_task`, which calls the use
cases as the CLI does) and its outputs are published as the runner publishes them, with a job
record, so the pages show the run like any other. In this process (``profile=None``) no cluster
starts; on a profile the :class:`~rhinoapp.jobs.runner.JobRunner` runs on an event loop in a
thread of its own, so that it works in a notebook whose kernel already runs a loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from rhinoapp.api.progress import ProgressBar
from rhinoapp.config import Settings
from rhinoapp.core.errors import RhinoappError
from rhinoapp.core.progress import ProgressReport
from rhinoapp.core.workflow import JobKind, JobState
from rhinoapp.jobs.progress import TaskContext
from rhinoapp.jobs.publishing import publish_result
from rhinoapp.jobs.requests import JobRequest
from rhinoapp.jobs.tasks import run_task
from rhinoapp.store.cleanup import remove_staging
from rhinoapp.store.database import Store
from rhinoapp.store.jobs import JobRecord, JobStore
from rhinoapp.store.repository import ProjectRepository

__all__ = ["JobFailed", "JobRunners"]

_log = logging.getLogger(__name__)


class JobFailed(RhinoappError, RuntimeError):
    """A job of the API ended without results; the message is the job's own, which says what to do."""


class JobRunners:
    """Runs jobs for one store and owner; the runners of job profiles start on first use.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rhinoapp.store import open_store
    >>> settings = Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))
    >>> runners = JobRunners(settings, open_store(settings), owner="local")
    >>> repo = ProjectRepository(runners.store, owner="local")
    >>> runners.run(repo.create("Case 1").id, JobKind.SEGMENTATION, {}, progress=False)
    Traceback (most recent call last):
    ...
    rhinoapp.api.jobs.JobFailed: This project has no CT volume yet: import the CT first, then segment.
    >>> runners.close()
    """

    def __init__(self, settings: Settings, store: Store, *, owner: str) -> None:
        self.settings, self.store, self.owner = settings, store, owner
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runners: dict[str, Any] = {}

    def run(self, project_id: str, kind: JobKind, parameters: dict[str, Any], *, profile: str | None = None,
            progress: bool = True, description: str = "", created: Callable[[str], None] | None = None,
            cancelled: threading.Event | None = None) -> JobRecord:
        """Run a job to its end and return its record (done); raises :class:`JobFailed` otherwise.

        ``profile`` names a job profile of the settings (``jobs.profiles``); ``None`` runs in this process.
        ``created(job_id)`` is called once the job has its record; setting ``cancelled`` stops the job.
        """
        bar = ProgressBar(description or kind.value, enabled=progress)
        hooks = (created or (lambda _job_id: None), cancelled or threading.Event())
        try:
            record = (self._in_process(project_id, kind, parameters, bar, hooks) if profile is None
                      else self._on_profile(project_id, kind, parameters, profile, bar, hooks))
        except BaseException:
            bar.close(done=False)
            raise
        bar.close(done=record.state is JobState.DONE)
        if record.state is not JobState.DONE:
            raise JobFailed(record.message or f"the {kind.value} job ended {record.state.value}")
        return record

    def _in_process(self, project_id: str, kind: JobKind, parameters: dict[str, Any], bar: ProgressBar,
                    hooks: tuple[Callable[[str], None], threading.Event]) -> JobRecord:
        records = JobStore(self.store)
        record = records.create(owner=self.owner, project_id=project_id, kind=kind, profile="this process",
                                parameters=parameters)
        hooks[0](record.id)
        project_dir = ProjectRepository(self.store, owner=self.owner).project_dir(project_id)
        project_dir.mkdir(exist_ok=True)
        request = JobRequest.create(job_id=record.id, owner=self.owner, project_id=project_id,
                                    project_dir=str(project_dir), kind=kind, parameters=parameters)

        def heard(message: dict[str, Any]) -> None:
            if message.get("event") == "progress":
                bar(ProgressReport.from_dict(message["progress"]))

        records.set_state(record.id, JobState.RUNNING)
        try:
            result = run_task(request, context=TaskContext(record.id, publish=heard, is_cancelled=hooks[1].is_set))
            summary = publish_result(self.store, request, result)
        except RhinoappError as error:
            remove_staging(request.project_dir, record.id)  # its working files (live checkpoints) go, as the runner's
            records.set_state(record.id, JobState.ERROR, message=str(error))
        except BaseException as error:
            remove_staging(request.project_dir, record.id)
            records.set_state(record.id, JobState.ERROR, message=str(error) or type(error).__name__)
            raise
        else:
            records.set_state(record.id, JobState.DONE, message=summary)
        return records.get(record.id)

    def _call(self, coroutine: Coroutine[Any, Any, Any], timeout_s: float | None = None) -> Any:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="rhinoapp-api-jobs")
            self._thread.start()
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout_s)

    def _runner(self, profile: str) -> Any:
        from rhinoapp.jobs.clusters import import_jobqueue
        from rhinoapp.jobs.runner import JobRunner

        if profile not in self._runners:
            chosen = self.settings.jobs.get(profile)  # ConfigurationError names the known profiles
            if chosen.type.value == "slurm":
                import_jobqueue()  # on this (the main) thread, before the runner's thread needs it
            jobs = dataclasses.replace(self.settings.jobs, profile=profile, kinds=())
            runner = JobRunner(dataclasses.replace(self.settings, jobs=jobs), self.store)
            self._call(runner.start())
            self._runners[profile] = runner
        return self._runners[profile]

    def _on_profile(self, project_id: str, kind: JobKind, parameters: dict[str, Any], profile: str,
                    bar: ProgressBar, hooks: tuple[Callable[[str], None], threading.Event]) -> JobRecord:
        runner = self._runner(profile)
        record = self._call(runner.submit(owner=self.owner, project_id=project_id, kind=kind, parameters=parameters))
        hooks[0](record.id)
        if record.waiting:  # behind the user's limit of concurrent jobs: say so, then wait for the start
            _log.warning("%s", record.message)
            bar(ProgressReport(0.0, stage=record.message))
        assert self._loop is not None
        finished = asyncio.run_coroutine_threadsafe(runner.wait(record.id), self._loop)
        cancelling = False
        while True:  # the bar is drawn from this thread (a notebook's widgets belong to the kernel's thread)
            try:
                return finished.result(timeout=0.5)
            except TimeoutError:
                if hooks[1].is_set() and not cancelling:
                    cancelling = True
                    self._call(runner.cancel(record.id, owner=self.owner))
                live = runner.live(record.id)
                if live is not None:
                    bar(live.report)

    def close(self) -> None:
        """Close the runners' clusters and stop their loop."""
        for runner in self._runners.values():
            try:
                self._call(runner.close(), timeout_s=60)
            except Exception:  # closing is best effort: the clusters end with the process anyway
                _log.debug("closing a job runner failed", exc_info=True)
        self._runners.clear()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(10)
            self._loop = None
