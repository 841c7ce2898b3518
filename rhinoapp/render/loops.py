"""Calling into the server's event loop from any thread (the views call the render service from theirs)."""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["call_on_loop"]


def call_on_loop(loop: asyncio.AbstractEventLoop | None, callback: Any, *args: Any) -> None:
    """Run ``callback(*args)`` on ``loop``: at once when called on it, else soon; a coroutine it returns runs as a task.

    Nothing happens without a loop or once the loop is closed.

    Examples
    --------
    >>> seen = []
    >>> async def main():
    ...     call_on_loop(asyncio.get_running_loop(), seen.append, "now")  # on the loop: at once
    ...     return list(seen)
    >>> asyncio.run(main())
    ['now']
    >>> call_on_loop(None, seen.append, "never")
    >>> seen
    ['now']
    """
    if loop is None or loop.is_closed():
        return

    def run() -> None:
        result = callback(*args)
        if asyncio.iscoroutine(result):
            loop.create_task(result)

    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        run()
        return
    try:
        loop.call_soon_threadsafe(run)
    except RuntimeError:  # the loop closed meanwhile
        pass
