"""How many threads the CPU kernels use, from their measured speed: all of them, or one fewer.

A parallel lattice step waits for its slowest thread at every step. When another process holds one
of the cores (the web server drawing a 3D view, a second job, the operating system), the thread
that shares that core runs at half speed and the whole step with it: on 2 cores, 2 threads then
update fewer cells per second than 1 thread alone (measured on this machine: 17 against 22
million per second; 44 with both cores free). :class:`ThreadTuner` times each batch of steps (the
first, which loads the compiled kernels, is not counted) and, where the system tells it
(:class:`OtherLoad`: Linux's ``/proc/stat`` less this process's own CPU time), how many cores other
processes kept busy meanwhile. When they held half a core or more, or when a batch is slower than
``drop`` times the best seen at its count, it tries one thread fewer for one batch and keeps
whichever count was faster. From the smaller count it tries the full one again once the other
load has gone (without that measure: every ``probe_every`` batches; a try that met a short burst of
other work is repeated :data:`FREED_RETRY` batches later while the load stays gone), so that the run
takes both cores back when they come free. On an idle machine nothing is tried. The result of a step does
not depend on the number of threads (every cell is updated on its own), so the choice changes the
time only, never the numbers.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["FREED_RETRY", "OtherLoad", "ThreadTuner"]

_PROC_STAT = Path("/proc/stat")
#: Batches after a try before the full count is tried again on fewer threads when the other load is measured gone.
FREED_RETRY = 3


@dataclasses.dataclass
class ThreadTuner:
    """Chooses between ``most`` threads and one fewer, batch by batch, from measured speed.

    Parameters
    ----------
    most
        The threads the backend would use on an idle machine.
    probe_every
        Batches between two tries of the other count (also the wait after a try).
    drop
        A batch slower than this fraction of the best speed at its thread count makes the next batch a try.
    cores
        The machine's cores (``None``: ``os.cpu_count()``); the kernels leave ``cores - most`` to others.
    contended
        Cores held by other processes during a batch, beyond those the kernels leave free, from which the
        next batch tries one thread fewer (on a large node, other jobs on the cores left free do not count).

    Examples
    --------
    >>> def on_two_cores(tuner, busy, batches):  # each batch's speed (idle 44 / 22, busy 17 / 22) and other load
    ...     for _ in range(batches):
    ...         threads = tuner.next_threads()
    ...         tuner.record(threads, (17.0 if busy else 44.0) if threads == 2 else 22.0, others=float(busy))
    ...     return tuner.current
    >>> tuner = ThreadTuner(2, cores=2)
    >>> on_two_cores(tuner, busy=False, batches=30), tuner.switches  # idle: two threads, nothing tried
    (2, 0)
    >>> on_two_cores(tuner, busy=True, batches=3), on_two_cores(tuner, busy=False, batches=12)  # a core taken, freed
    (1, 2)
    """

    most: int
    probe_every: int = 10
    drop: float = 0.8
    cores: int | None = None
    contended: float = 0.5
    current: int = dataclasses.field(init=False)
    switches: int = dataclasses.field(default=0, init=False)
    _best: dict[int, float] = dataclasses.field(default_factory=dict, init=False)
    _recent: dict[int, float] = dataclasses.field(default_factory=dict, init=False)
    _since_probe: int = dataclasses.field(default=0, init=False)
    _batches: int = dataclasses.field(default=0, init=False)
    _others: float | None = dataclasses.field(default=None, init=False)
    _cores: int = dataclasses.field(default=1, init=False)

    def __post_init__(self) -> None:
        self.most = max(1, int(self.most))
        self._cores = max(self.most, int(self.cores or os.cpu_count() or self.most))
        self.current = self.most
        self._since_probe = self.probe_every
        self._batches = 0

    @property
    def other(self) -> int:
        """The count a try uses: one fewer than :attr:`most`, or :attr:`most` when running on fewer."""
        return self.most - 1 if self.current == self.most else self.most

    def next_threads(self) -> int:
        """The threads for the next batch (a try of :attr:`other` when it is due: every :attr:`probe_every` batches,
        or on fewer threads after :data:`FREED_RETRY` batches once the other load is measured gone, so that a try
        that met a short burst of other work does not keep the run on fewer threads for ``probe_every`` batches)."""
        if self.most == 1 or self.current not in self._recent:
            return self.current
        contended = self._others is not None and self._others >= self._cores - self.most + self.contended
        freed = self.current < self.most and self._others is not None and not contended
        if self._since_probe < (min(self.probe_every, FREED_RETRY) if freed else self.probe_every):
            return self.current
        if self.current == self.most:
            slowed = self._recent[self.current] < self.drop * self._best[self.current]
            return self.other if contended or slowed else self.current
        return self.current if contended else self.other  # the other load gone (or not known): the full count again

    def record(self, threads: int, speed: float, *, others: float | None = None) -> None:
        """The speed (any unit, higher is faster) of a batch run on ``threads`` threads, and the cores other
        processes kept busy meanwhile (``None``: not known)."""
        self._batches += 1
        self._since_probe += 1
        if self._batches == 1 or speed <= 0.0:
            return  # the first batch loads the kernels: not a measure of the threads
        self._others = others
        if threads != self.current:  # a try: keep the faster count
            self._since_probe = 0
            if speed > self._recent.get(self.current, 0.0):
                self.current = threads
                self.switches += 1
        self._recent[threads] = speed
        self._best[threads] = max(self._best.get(threads, 0.0), speed)


class OtherLoad:
    """The cores that other processes kept busy between :meth:`start` and :meth:`cores` (Linux; ``None`` elsewhere).

    Examples
    --------
    >>> load = OtherLoad()
    >>> load.start()
    >>> busy = load.cores()
    >>> busy is None or busy >= 0.0
    True
    """

    def __init__(self, *, stat_path: Path = _PROC_STAT, clock: Callable[[], float] = time.perf_counter,
                 own_seconds: Callable[[], float] | None = None) -> None:
        self._stat_path, self._clock = stat_path, clock
        self._own_seconds = own_seconds or (lambda: sum(os.times()[:2]))  # this process's user and system time
        self._start: tuple[float, float, float] | None = None

    def _sample(self) -> tuple[float, float, float] | None:
        try:
            fields = self._stat_path.read_text().split("\n", 1)[0].split()[1:9]
            ticks = [int(v) for v in fields]
        except (OSError, ValueError):
            return None
        busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and I/O wait
        return busy, self._own_seconds(), self._clock()

    def start(self) -> None:
        """Begin an interval."""
        self._start = self._sample()

    def cores(self) -> float | None:
        """Cores held by other processes since :meth:`start`, averaged over the interval."""
        end, start = self._sample(), self._start
        if end is None or start is None or end[2] <= start[2]:
            return None
        elapsed = end[2] - start[2]
        return max(0.0, ((end[0] - start[0]) - (end[1] - start[1])) / elapsed)
