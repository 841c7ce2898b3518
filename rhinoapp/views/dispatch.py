"""Hand a page state's job events to its browser session.

Job events arrive on the runner's thread (:mod:`rhinoapp.jobs.events`); a page state
(:class:`~rhinoapp.state.job_page.PageState`) passes its updates to the dispatch bound here,
which runs them on the session's document (with its lock, like any other callback of the
session). In a notebook the updates run on the kernel's loop; elsewhere (a test building a page
without a server) nothing is bound and the state is refreshed by hand.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import panel as pn
from bokeh.document import Document
from panel.io.state import set_curdoc

from rhinoapp.state.job_page import Dispatch, PageState, loop_dispatch

__all__ = ["bind_to_session", "document_dispatch"]


def document_dispatch(doc: Document) -> Dispatch:
    """A dispatch that runs callbacks as next-tick callbacks of ``doc`` (awaiting what they return)."""

    def dispatch(callback: Callable[[], Any]) -> None:
        async def run() -> None:
            with set_curdoc(doc):
                result = callback()
                if inspect.isawaitable(result):
                    await result

        doc.add_next_tick_callback(run)  # type: ignore[arg-type]  # Bokeh runs coroutine callbacks as well

    return dispatch


def bind_to_session(state: PageState) -> None:
    """Let ``state`` follow job events in this session, and stop when the session ends.

    A state already bound (the shell binds the states of the pages that follow job events when the
    session starts, before their views are built) stays bound as it is.
    """
    if state.bound:
        return
    doc = pn.state.curdoc
    if doc is not None and doc.session_context is not None:
        state.bind_dispatch(document_dispatch(doc))
        pn.state.on_session_destroyed(lambda _context: state.close())
        return
    try:
        loop = asyncio.get_running_loop()  # a notebook's kernel loop
    except RuntimeError:
        return
    state.bind_dispatch(loop_dispatch(loop))
