"""The server's render worker pool: a cap on the workers of the whole server and of each user.

A render worker (a session's trame process) is one process per browser session. Before
one starts, its session takes a :class:`Lease` from the :class:`WorkerPool`; the lease is returned
when the worker exits. Past a limit the pool refuses with a :class:`RenderLimitError` whose message
says which sessions hold the workers and what to do, and the pane shows it instead of the server
starting yet another process. Thread-safe: pages open views from Panel's threads.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import threading

from rhinoapp.render.offscreen import RenderError

__all__ = ["Lease", "RenderLimitError", "WorkerPool"]


class RenderLimitError(RenderError):
    """No render worker may start now: the user's or the server's limit is reached (the message says which)."""


@dataclasses.dataclass(frozen=True)
class Lease:
    """The right of one browser session to run one render worker."""

    number: int
    session_id: str
    user: str
    label: str
    since: dt.datetime

    def describe(self) -> str:
        """The holding session in words, e.g. ``the session on /simulations opened at 14:02``."""
        where = f" on {self.label}" if self.label else ""
        return f"the session{where} opened at {self.since:%H:%M}"


class WorkerPool:
    """Leases of render workers: at most ``size`` on the server and ``per_user`` for each user.

    Parameters
    ----------
    size
        Workers the server runs at once (settings ``render_pool_size``, see ``Settings.render_pool_cap``).
    per_user
        Workers one user may hold at once (settings ``max_render_workers_per_user``).

    Examples
    --------
    >>> pool = WorkerPool(size=3, per_user=1)
    >>> lease = pool.acquire("s1", user="ana", label="/geometry")
    >>> pool.acquire("s2", user="ana")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rhinoapp.render.pool.RenderLimitError: You already have 1 3D view drawing in another browser session (the session on /geometry opened at ...
    >>> pool.release(lease)
    >>> pool.acquire("s2", user="ana").session_id
    's2'
    """

    def __init__(self, *, size: int, per_user: int) -> None:
        if size < 1 or per_user < 1:
            raise ValueError(f"a render worker pool needs size and per_user >= 1, not {size} and {per_user}")
        self.size, self.per_user = size, per_user
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)
        self._leases: dict[int, Lease] = {}
        self._numbers = itertools.count(1)

    def acquire(self, session_id: str, *, user: str, label: str = "") -> Lease:
        """A lease for one more worker of ``session_id`` (of ``user``), or RenderLimitError saying why not."""
        with self._lock:
            mine = [lease for lease in self._leases.values() if lease.user == user and lease.session_id != session_id]
            if len(mine) >= self.per_user:
                held = "; ".join(lease.describe() for lease in sorted(mine, key=lambda lease: lease.number))
                views = f"{len(mine)} 3D view{'s' if len(mine) > 1 else ''}"
                raise RenderLimitError(
                    f"You already have {views} drawing in another browser session ({held}), the most one user "
                    f"may have at once. Close the 3D page (or the tab) there, then reload this page.")
            if len(self._leases) >= self.size:
                raise RenderLimitError(
                    f"The server runs {len(self._leases)} 3D view process{'es' if len(self._leases) != 1 else ''} already, as many as it allows at once "
                    "(render_pool_size). Reload this page when someone closes theirs, in a minute or two; "
                    "an administrator can raise the limit if the server has CPUs and memory to spare.")
            lease = Lease(next(self._numbers), session_id, user, label, dt.datetime.now())
            self._leases[lease.number] = lease
            return lease

    def release(self, lease: Lease | None) -> None:
        """Give a lease back (its worker exited); releasing twice, or ``None``, does nothing."""
        if lease is not None:
            with self._lock:
                if self._leases.pop(lease.number, None) is not None:
                    self._freed.notify_all()

    def wait_free(self, timeout_s: float | None = None) -> bool:
        """Block until the server has a free slot (or ``timeout_s`` passed); returns whether it has one.

        Examples
        --------
        >>> WorkerPool(size=1, per_user=1).wait_free(0)
        True
        """
        with self._freed:
            return self._freed.wait_for(lambda: len(self._leases) < self.size, timeout_s)

    @property
    def leases(self) -> list[Lease]:
        """The leases held now, oldest first."""
        with self._lock:
            return sorted(self._leases.values(), key=lambda lease: lease.number)
