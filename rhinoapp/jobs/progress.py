"""Progress and cancellation from inside a running task.

A task receives a :class:`TaskContext`. ``ctx.report(fraction, message)`` throttles updates,
adds an ETA, and publishes them on the worker's event topic :data:`PROGRESS_TOPIC`, which the
runner subscribes to in the app; ``ctx.check_cancelled()`` raises :class:`JobCancelled` once the
runner has set the job's cancel event. Outside a dask worker (tests, the CLI) the same context
calls a plain callback instead.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Any

from rhinoapp.core.errors import RhinoappError

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
    >>> ctx.report(0.5, "half way")
    >>> (sent[-1]["fraction"], sent[-1]["message"], sent[-1]["job_id"])
    (0.5, 'half way', 'j1')
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

    def started(self) -> None:
        """Announce the start, with where the task runs (host, process, Slurm job)."""
        self._send({"event": "started", "host": socket.gethostname(), "pid": os.getpid(),
                    "slurm_job_id": os.environ.get("SLURM_JOB_ID", ""), "worker": _worker_address()})

    def report(self, fraction: float, message: str) -> None:
        """Publish progress (``fraction`` from 0 to 1) and check for cancellation."""
        self.check_cancelled()
        now = time.monotonic()
        fraction = min(max(float(fraction), 0.0), 1.0)
        if now - self._last_sent < self._min_interval and fraction < 1.0:
            return
        elapsed = now - self._started
        eta = elapsed * (1.0 - fraction) / fraction if fraction > 0.01 else None
        self._last_sent = now
        self._send({"event": "progress", "fraction": fraction, "message": message, "eta_s": eta})

    def callback(self, offset: float = 0.0, scale: float = 1.0) -> Callable[[float, str], None]:
        """A ``progress(fraction, message)`` function for a domain function covering part of the task."""
        return lambda fraction, message: self.report(offset + scale * fraction, message)

    def check_cancelled(self) -> None:
        """Raise :class:`JobCancelled` if the job was cancelled (checked at most twice a second)."""
        now = time.monotonic()
        if now - self._last_check < 0.5:
            return
        self._last_check = now
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
