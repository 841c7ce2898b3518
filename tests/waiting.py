"""Waiting on conditions in tests: poll until true, fail only when a ceiling that catches hangs passes.

A test never sleeps for a fixed time and relies on it; it waits until what it needs is true. The
ceilings are far above what a loaded two-core machine needs, so they only turn a hang into a failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["HANG_S", "wait_until"]

T = TypeVar("T")
#: Seconds after which a wait is a hang (a job, a server or a browser stopped making progress); below
#: pytest's 300 s per test, so that a hang fails with the name of what it waited for.
HANG_S = 240.0


def wait_until(condition: Callable[[], T], *, what: str, ceiling_s: float = HANG_S, interval_s: float = 0.1) -> T:
    """Call ``condition`` until it returns a true value and return that value.

    Raises AssertionError naming ``what`` once ``ceiling_s`` passed without it.

    Examples
    --------
    >>> calls = iter([0, 0, 3])
    >>> wait_until(lambda: next(calls), what="a third call", interval_s=0)
    3
    """
    deadline = time.monotonic() + ceiling_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for {what} after {ceiling_s:.0f} s")
        time.sleep(interval_s)
