"""Job-change events: the runner publishes, pages subscribe.

The runner (:class:`~rhinoapp.jobs.runner.JobRunner`) is the one component that changes job
records; whenever it does (submitted, started, progress, finished) it publishes a
:class:`JobEvent` to the subscribers of its :class:`JobEvents`. Listeners run on the runner's
thread, so they must be quick and must not touch a UI: a page's state hands the event over to
its own session (see :mod:`rhinoapp.state.job_page`).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable

from rhinoapp.core.progress import ProgressReport
from rhinoapp.core.workflow import JobKind, JobState

__all__ = ["JobEvent", "JobEvents", "JobListener", "LiveProgress"]

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class JobEvent:
    """One change of a job: which job, whose, of what kind, and its state after the change.

    A progress report keeps the state (``running``); :meth:`JobRunner.live
    <rhinoapp.jobs.runner.JobRunner.live>` has the progress itself.
    """

    job_id: str
    project_id: str
    owner: str
    kind: JobKind | None
    state: JobState


@dataclasses.dataclass(frozen=True)
class LiveProgress:
    """The latest progress a running task reported (``report``) and when it arrived (``at``, epoch seconds).

    Examples
    --------
    >>> live = LiveProgress(ProgressReport(0.25, step=50, total=200, eta_s=30.0), at=0.0)
    >>> live.fraction, live.eta_s, live.report.step
    (0.25, 30.0, 50)
    """

    report: ProgressReport
    at: float

    @property
    def fraction(self) -> float:
        """Share done, 0 to 1."""
        return self.report.fraction

    @property
    def message(self) -> str:
        """The report in words (for display)."""
        return self.report.message

    @property
    def eta_s(self) -> float | None:
        """Seconds left, when known."""
        return self.report.eta_s


JobListener = Callable[[JobEvent], None]


class JobEvents:
    """A thread-safe registry of listeners to job events.

    Examples
    --------
    >>> events = JobEvents()
    >>> seen = []
    >>> unsubscribe = events.subscribe(seen.append)
    >>> events.publish(JobEvent("j1", "p1", "ana", JobKind.SIMULATION, JobState.RUNNING))
    >>> unsubscribe(); unsubscribe()  # a second call does nothing
    >>> events.publish(JobEvent("j1", "p1", "ana", JobKind.SIMULATION, JobState.DONE))
    >>> [(event.job_id, event.state.value) for event in seen], len(events)
    ([('j1', 'running')], 0)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[JobListener] = []

    def __len__(self) -> int:
        with self._lock:
            return len(self._listeners)

    def subscribe(self, listener: JobListener) -> Callable[[], None]:
        """Call ``listener(event)`` for every job event from now on; returns the unsubscribe function."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def publish(self, event: JobEvent) -> None:
        """Tell every listener about ``event``; a failing listener is logged and the others still hear it."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                _log.warning("a job listener failed", exc_info=True)
