"""Progress and cancellation from inside a running task.

A task receives a :class:`TaskContext`. ``ctx.report(report)`` takes a
:class:`~rhinoapp.core.progress.ProgressReport`, throttles updates, adds an ETA when the report has
none, and publishes its numbers (``{"event": "progress", "progress": report.to_dict()}``) on the
worker's event topic :data:`PROGRESS_TOPIC`, which the runner subscribes to in the app; ``ctx.check_cancelled()`` raises :class:`JobCancelled` once the
runner has set the job's cancel event, or once the folder given to ``ctx.stop_when_removed(folder)``
is gone (the job's staging folder, removed when its project is deleted). Outside a dask worker (tests, the CLI) the same context
calls a plain callback instead.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rhinoapp.core.errors import RhinoappError
from rhinoapp.core.progress import ProgressCallback, ProgressReport

__all__ = ["PROGRESS_TOPIC", "JobCancelled", "TaskContext", "cancel_event_name"]

PROGRESS_TOPIC = "rhinoapp-progress"
_log = logging.getLogger(__name__)


class JobCancelled(RhinoappError, RuntimeError):
    """The job was cancelled while it ran; the task stops without publishing anything."""


def cancel_event_name(job_id: str) -> str:
    """Name of the distributed Event that tells a running task to stop.

    Examples
    --------
    >>> cancel_event_name("abc")
    'rhinoapp-cancel-abc'
    """
    return f"rhinoapp-cancel-{job_id}"


class TaskContext:
    """Progress reporter and cancellation check handed to every task.

    Parameters
    ----------
    job_id, attempt
        Which job and attempt the messages belong to.
    publish
        Called with each message (a dict); defaults to the dask worker's ``log_event``.
    is_cancelled
        Returns True once the job is cancelled; defaults to the job's distributed Event.
    min_interval_s
        Messages closer together than this are dropped (the first and the last always go).

    Examples
    --------
    >>> sent = []
    >>> ctx = TaskContext("j1", publish=sent.append, is_cancelled=lambda: False, min_interval_s=0)
    >>> ctx.report(ProgressReport(0.5, step=300, total=600, pressure_drop_pa=12.5))
    >>> sent[-1]["progress"]["step"], sent[-1]["progress"]["pressure_drop_pa"], sent[-1]["job_id"]
    (300, 12.5, 'j1')
    >>> ProgressReport.from_dict(sent[-1]["progress"]).fraction
    0.5
    """

    def __init__(self, job_id: str, *, attempt: int = 0, publish: Callable[[dict[str, Any]], None] | None = None,
                 is_cancelled: Callable[[], bool] | None = None, min_interval_s: float = 0.2) -> None:
        self.job_id, self.attempt = job_id, attempt
        self._publish = publish or _worker_publisher()
        self._is_cancelled = is_cancelled or _event_checker(job_id)
        self._min_interval = min_interval_s
        self._started = time.monotonic()
        self._last_sent = -1e9
        self._last_check = -1e9
        self._watched: Path | None = None

    def started(self) -> None:
        """Announce the start, with where the task runs (host, process, Slurm job)."""
        self._send({"event": "started", "host": socket.gethostname(), "pid": os.getpid(),
                    "slurm_job_id": os.environ.get("SLURM_JOB_ID", ""), "worker": _worker_address()})

    def report(self, report: ProgressReport) -> None:
        """Publish progress and check for cancellation; without an ETA, one is estimated from the fraction."""
        self.check_cancelled()
        now = time.monotonic()
        if now - self._last_sent < self._min_interval and report.fraction < 1.0:
            return
        self._last_sent = now
        self._send({"event": "progress", "progress": report.with_eta(now - self._started).to_dict()})

    def stage(self, fraction: float, stage: str) -> None:
        """Report a stage of the task in words (``ctx.stage(0.96, "writing the files")``)."""
        self.report(ProgressReport(fraction, stage=stage))

    def callback(self, offset: float = 0.0, scale: float = 1.0) -> ProgressCallback:
        """A progress callback for a domain function covering ``offset`` to ``offset + scale`` of the task."""
        return lambda report: self.report(report.within(offset, scale))

    def stop_when_removed(self, folder: Path) -> None:
        """Treat the disappearance of ``folder`` as a cancellation (checked with the cancel event).

        Examples
        --------
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> ctx = TaskContext("j1", publish=lambda m: None, is_cancelled=lambda: False)
        >>> ctx.stop_when_removed(folder)
        >>> folder.rmdir()
        >>> ctx.check_cancelled()
        Traceback (most recent call last):
        ...
        rhinoapp.jobs.progress.JobCancelled: job j1 stopped: its staging folder was removed (the job was cancelled or its project deleted)
        """
        self._watched = folder

    def check_cancelled(self) -> None:
        """Raise :class:`JobCancelled` if the job was cancelled (checked at most twice a second)."""
        now = time.monotonic()
        if now - self._last_check < 0.5:
            return
        self._last_check = now
        if self._watched is not None and not self._watched.is_dir():
            raise JobCancelled(f"job {self.job_id} stopped: its staging folder was removed "
                               "(the job was cancelled or its project deleted)")
        if self._is_cancelled():
            raise JobCancelled(f"job {self.job_id} was cancelled")

    def _send(self, payload: dict[str, Any]) -> None:
        payload.update(job_id=self.job_id, attempt=self.attempt, time=time.time())
        try:
            self._publish(payload)
        except Exception:  # progress must never break the work
            _log.debug("progress message for job %s was not delivered", self.job_id, exc_info=True)


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return ""


def _worker_publisher() -> Callable[[dict[str, Any]], None]:
    def publish(payload: dict[str, Any]) -> None:
        from distributed import get_worker

        get_worker().log_event(PROGRESS_TOPIC, payload)

    return publish


def _event_checker(job_id: str) -> Callable[[], bool]:
    def is_cancelled() -> bool:
        from distributed import Event

        return bool(Event(cancel_event_name(job_id)).is_set())

    return is_cancelled
