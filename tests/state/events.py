"""Following a page state through job events alone: wait on its updates, never on a clock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from rhinoapp.state.job_page import JobPageState, PageState


def wait_for(state: PageState, predicate: Callable[[], bool], *, timeout_s: float = 180,
             probe: Callable[[], Any] | None = None) -> list[Any]:
    """Wait until ``predicate()`` holds after one of the state's updates; returns what ``probe()`` gave at each."""
    seen: list[Any] = []
    done = threading.Event()

    def check(_event: object = None) -> None:
        if probe is not None:
            seen.append(probe())
        if predicate():
            done.set()

    watcher = state.param.watch(check, "updates")
    try:
        check()
        if not done.wait(timeout_s):
            raise AssertionError(f"no update of {type(state).__name__} met the condition in {timeout_s} s; "
                                 f"message {state.message!r}, seen {seen[-5:]}")
    finally:
        state.param.unwatch(watcher)
    return seen


def follow_job(state: JobPageState, *, timeout_s: float = 180, probe: Callable[[], Any] | None = None) -> list[Any]:
    """Wait, on job events alone, until the state's job has ended; returns what ``probe()`` gave on each update."""
    return wait_for(state, lambda: state.job is not None and not state.job.state.is_active, timeout_s=timeout_s,
                    probe=probe)
