"""A column whose content is rebuilt when parameters change: a cheaper per-session ``param.depends`` view."""

from __future__ import annotations

from collections.abc import Callable

import panel as pn
import param

__all__ = ["swapping"]


def swapping(render: Callable[[], pn.viewable.Viewable], source: param.Parameterized, *names: str,
             **layout: object) -> pn.Column:
    """A column showing ``render()``, rebuilt whenever one of the parameters ``names`` of ``source`` changes.

    It does what a method decorated with ``param.depends`` does as a view, for a fraction of the cost
    when a session starts (no reactive pane, no pane-type lookup): the page load benchmark
    (``benchmarks/load_sessions.py``) builds every view of the first page for each session.
    Several parameters changed in one ``param.update`` rebuild it once.

    Examples
    --------
    >>> class Counter(param.Parameterized):
    ...     n = param.Integer(default=0)
    ...     unit = param.String(default="")
    >>> counter = Counter()
    >>> column = swapping(lambda: pn.pane.Str(f"n = {counter.n}{counter.unit}"), counter, "n", "unit")
    >>> counter.n = 2
    >>> column.objects[0].object
    'n = 2'
    >>> _ = counter.param.update(n=3, unit=" mm")
    >>> column.objects[0].object
    'n = 3 mm'
    """
    column = pn.Column(render(), **layout)

    def rebuild(*_events: object) -> None:  # one event per parameter changed in the same update
        column.objects = [render()]

    source.param.watch(rebuild, list(names))
    return column
