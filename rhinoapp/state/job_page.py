"""The shared skeleton of the pages that follow jobs: job events, the followed job, run, cancel, messages.

:class:`PageState` subscribes to the runner's job events (:mod:`rhinoapp.jobs.events`) when it is
made and unsubscribes on :meth:`~PageState.close`. Events arrive on the runner's thread; the
state hands them to its session through a *dispatch* function that the view binds
(:meth:`~PageState.bind_dispatch`): the view's runs a callback on the session's document, a
notebook or a test uses :func:`loop_dispatch`. Only a shown page reads: events for a hidden page
are dropped, and showing the page (or opening another project) reads everything again. A
progress report of the followed job updates it from the runner's memory, without store reads;
any other change refreshes the page. Without a dispatch bound (scripts), nothing happens by
itself: call ``refresh()`` or ``reload()``.

:class:`JobPageState` adds the one job a page runs (Run, Cancel, its live summary).
No Panel here.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, cast

import param

from rhinoapp.core.errors import RhinoappError
from rhinoapp.core.workflow import JobKind, JobState
from rhinoapp.jobs.events import JobEvent
from rhinoapp.state.job_summary import JobSummary, cancel_job, current_summary
from rhinoapp.state.session import Page, SessionState
from rhinoapp.store.jobs import JobRecord

__all__ = ["Dispatch", "JobPageState", "MessageKind", "PageState", "loop_dispatch"]

_log = logging.getLogger(__name__)

#: Runs ``callback()`` (and awaits what it returns) on the session's own loop, soon; callable from any thread.
Dispatch = Callable[[Callable[[], Any]], None]


class MessageKind(str, enum.Enum):
    """How a page's message reads: news, a success, something to look at, or a failure.

    Examples
    --------
    >>> MessageKind("error") is MessageKind.ERROR, MessageKind.ERROR == "error"
    (True, True)
    """

    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"


def loop_dispatch(loop: asyncio.AbstractEventLoop) -> Dispatch:
    """A dispatch that runs callbacks on ``loop`` (awaitables they return become tasks there).

    Examples
    --------
    >>> loop = asyncio.new_event_loop()
    >>> seen = []
    >>> async def later(): seen.append("awaited")
    >>> dispatch = loop_dispatch(loop)
    >>> dispatch(lambda: seen.append("called")); dispatch(later)
    >>> loop.run_until_complete(asyncio.sleep(0.01)); loop.close(); seen
    ['called', 'awaited']
    """
    tasks: set[asyncio.Future[Any]] = set()

    def run(callback: Callable[[], Any]) -> None:
        result = callback()
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    def dispatch(callback: Callable[[], Any]) -> None:
        loop.call_soon_threadsafe(run, callback)

    return dispatch


async def _settle(result: Any) -> None:
    if inspect.isawaitable(result):
        await result


class PageState(param.Parameterized):
    """A page whose content changes with jobs: job events of its user, refresh while shown, a message."""

    session = param.ClassSelector(class_=SessionState, constant=True, doc="The session whose project is used.")
    message = param.String(default="", doc="What the page says now.")
    message_kind: param.Selector = param.Selector(objects=list(MessageKind), default=MessageKind.INFO,
                                                  doc="How the message reads.")
    updates = param.Integer(default=0, doc="How many updates job events and page changes have made (to wait on).")

    #: The page this state belongs to (shown when the session's page is this one).
    page: ClassVar[Page]
    #: Kinds of the jobs whose events concern the page (``None``: every kind).
    follows: ClassVar[frozenset[JobKind] | None] = None
    #: Whether only the jobs of the open project concern the page.
    project_scoped: ClassVar[bool] = True

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._dispatch: Dispatch | None = None
        self._lock = threading.Lock()
        self._pending = self._stale = self._progress = False
        runner = self.session.runner
        self._unsubscribe: Callable[[], None] | None = (runner.events.subscribe(self._on_job_event)
                                                       if runner is not None else None)

    @property
    def shown(self) -> bool:
        """Whether the session shows this page now."""
        return self.session.page == self.page.value

    @property
    def bound(self) -> bool:
        """Whether job events and page changes reach the state through a dispatch (see :meth:`bind_dispatch`)."""
        return self._dispatch is not None

    def bind_dispatch(self, dispatch: Dispatch | None) -> None:
        """Let job events and page changes update the state through ``dispatch`` (``None``: stop)."""
        self._dispatch = dispatch
        self._schedule(full=True)

    def close(self) -> None:
        """Stop listening to job events (when the page's session ends)."""
        self._dispatch = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _refresh_now(self) -> Awaitable[None] | None:
        """Read what the page shows again (subclasses; may return an awaitable)."""
        return None

    # -- job events --------------------------------------------------------------------------
    def _concerns(self, event: JobEvent) -> bool:
        return (event.owner == self.session.user
                and (not self.project_scoped or event.project_id == self.session.current_project_id)
                and (self.follows is None or event.kind in self.follows))

    def _on_job_event(self, event: JobEvent) -> None:
        """Runner listener (the runner's thread): note the event, and update the page if it is shown."""
        if not self._concerns(event):
            return
        self._observe(event)
        self._schedule(full=not self._is_progress(event))

    def _observe(self, event: JobEvent) -> None:
        """Hook on the runner's thread for every event of the page's jobs, shown or not (quick, no param changes)."""

    def _is_progress(self, event: JobEvent) -> bool:
        """Whether ``event`` only reports progress that :meth:`_progressed` shows without reading the store."""
        return False

    def _progressed(self) -> None:
        """Show the latest progress (on the session's loop)."""

    @param.depends("session.page", "session.current_project_id", watch=True)
    def _shown_or_project_changed(self) -> None:
        self._schedule(full=True)

    def _schedule(self, *, full: bool) -> None:
        """Have the session update the page soon; several events before it does make one update."""
        dispatch = self._dispatch
        if dispatch is None or not self.shown:
            return
        with self._lock:
            self._stale, self._progress = self._stale or full, self._progress or not full
            if self._pending:
                return
            self._pending = True
        dispatch(self._update)

    async def _update(self) -> None:
        while True:
            with self._lock:
                full, progress = self._stale, self._progress
                self._stale = self._progress = False
                if not (full or progress) or self._dispatch is None:
                    self._pending = False
                    return
            try:
                if full:
                    await _settle(self._refresh_now())
                else:
                    self._progressed()
            except Exception:
                _log.warning("updating the %s page failed", self.page.value, exc_info=True)
            self.updates += 1

    def _say(self, text: str, kind: MessageKind | str) -> None:
        self.param.update(message=text, message_kind=MessageKind(kind))


class JobPageState(PageState):
    """A page that runs one kind of job on the open project: the latest such job, Run, Cancel."""

    job = param.ClassSelector(class_=JobSummary, default=None, allow_None=True,
                              doc="The project's latest job of the page's kind, with live progress.")
    running = param.Boolean(default=False, doc="A job of the page's kind is queued or running on this project.")
    can_run = param.Boolean(default=False, doc="Run applies now.")

    #: The kind of job Run submits.
    job_kind: ClassVar[JobKind]
    #: The job in words ("segmentation"), for the messages.
    noun: ClassVar[str]
    #: What the page says when a job was submitted.
    submitted_text: ClassVar[str]

    def __init__(self, **params: Any) -> None:
        self._record: JobRecord | None = None  # the followed job (before events can arrive)
        self._refreshing: asyncio.Future[None] | None = None  # the refresh running now
        self._again = False
        super().__init__(**params)

    async def refresh(self) -> None:
        """Follow the latest job and read what changed.

        A call while a refresh runs makes that refresh read once more, and returns when it is done.
        """
        if self._refreshing is not None:
            self._again = True
            await asyncio.shield(self._refreshing)
            return
        self._refreshing = asyncio.get_running_loop().create_future()
        try:
            self._again = True
            while self._again:
                self._again = False
                await self._read_and_show()
        finally:
            done, self._refreshing = self._refreshing, None
            done.set_result(None)

    def _refresh_now(self) -> Awaitable[None]:
        return self.refresh()

    async def _read_and_show(self) -> None:
        """One refresh (subclasses)."""

    # -- the followed job --------------------------------------------------------------------
    def _latest_jobs(self, project_id: str | None) -> list[JobRecord]:
        """The project's recent jobs of the page's kind, newest first (a store read)."""
        runner = self.session.runner
        if runner is None or project_id is None:
            return []
        return [r for r in runner.records.recent(owner=self.session.user, project_id=project_id, limit=25)
                if r.kind is self.job_kind]

    def _set_job(self, record: JobRecord | None) -> None:
        current = self._record
        if (record is not None and current is not None and current.project_id == record.project_id
                and record.submitted_at < current.submitted_at):
            record = current  # read before a newer job was submitted: keep following the newer one
        self._record = record
        summary = current_summary(cast(SessionState, self.session), record)
        if summary != self.job:
            self.job = summary
        self.running = bool(summary and summary.state.is_active)
        self._update_can_run()

    def _is_progress(self, event: JobEvent) -> bool:
        if event.kind is not self.job_kind:  # another kind the page depends on: only its end changes the page
            return event.state.is_active
        record = self._record
        return (record is not None and event.job_id == record.id and event.state is JobState.RUNNING
                and record.state is JobState.RUNNING)

    def _progressed(self) -> None:
        self._set_job(self._record)
        self._update_message()

    def _update_can_run(self) -> None:
        """Set ``can_run`` (subclasses)."""

    def _update_message(self) -> None:
        """Say what the page shows now (subclasses)."""

    # -- run and cancel ----------------------------------------------------------------------
    def parameters(self) -> dict[str, Any]:
        """The job parameters for the current options (subclasses)."""
        raise NotImplementedError

    async def _ready(self) -> bool:
        """Whether a run may start now; if not, the message says why."""
        if self.session.runner is None or self.session.current_project_id is None:
            self._update_message()
            return False
        return not self._already_running()

    def _already_running(self) -> bool:
        if self.running:
            self._say(f"A {self.noun} of this project is already running: wait for it or cancel it.", MessageKind.INFO)
        return self.running

    async def run(self) -> bool:
        """Submit the page's job on the open project with the current options; ``False`` if it did not start."""
        project_id = self.session.current_project_id
        if not await self._ready() or project_id is None:
            return False
        try:
            record = await self.session.runner.submit(owner=self.session.user, project_id=project_id,
                                                      kind=self.job_kind, parameters=self.parameters())
        except RhinoappError as error:
            self._say(f"The {self.noun} could not start: {error}", MessageKind.ERROR)
            return False
        self._set_job(record)
        self._submitted()
        self._say(f"The {self.noun} is {record.message}." if record.waiting else self.submitted_text, MessageKind.INFO)
        return True

    def _submitted(self) -> None:
        """Hook after a job was submitted (before the message)."""

    async def cancel(self) -> None:
        """Cancel the running job of this page."""
        problem = await cancel_job(cast(SessionState, self.session), self.job)
        if problem:
            self._say(problem, MessageKind.ERROR)
        await self.refresh()
