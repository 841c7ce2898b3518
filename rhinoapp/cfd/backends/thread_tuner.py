"""How many threads the CPU kernels use, from their measured speed: all of them, or one fewer.

A parallel lattice step waits for its slowest thread at every step. When another process holds one
of the cores (the web server drawing a 3D view, a second job, the operating system), the thread
that shares that core runs at half speed and the whole step with it: on 2 cores, 2 threads then
update fewer cells per second than 1 thread alone (measured on this machine: 17 against 22
million per second; 44 with both cores free). :class:`ThreadTuner` times each batch of steps (the
first, which loads the compiled kernels, is not counted). Early in the run it tries one thread
fewer for one batch and keeps whichever count was faster: so a run that starts beside a busy
process uses the free core only. Later, when a batch is slower than ``drop`` times the best
seen at its count, it tries the other count again; from the smaller count it tries the full one
every ``probe_every`` batches, so that the run takes both cores back when they come free. On an
idle machine this costs one batch at the smaller count per run. The result of a step does not
depend on the number of threads (every cell is updated on its own), so the choice changes the
time only, never the numbers.
"""

from __future__ import annotations

import dataclasses

__all__ = ["ThreadTuner"]


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

    Examples
    --------
    >>> def on_two_cores(tuner, busy, batches):  # what each batch would measure: idle 44 / 22, busy 17 / 22
    ...     for _ in range(batches):
    ...         threads = tuner.next_threads()
    ...         tuner.record(threads, (17.0 if busy else 44.0) if threads == 2 else 22.0)
    ...     return tuner.current
    >>> tuner = ThreadTuner(2)
    >>> on_two_cores(tuner, busy=False, batches=30), tuner.switches  # idle: one try of one thread, then two
    (2, 0)
    >>> on_two_cores(tuner, busy=True, batches=5), on_two_cores(tuner, busy=False, batches=12)  # a core taken, freed
    (1, 2)
    """

    most: int
    probe_every: int = 10
    drop: float = 0.8
    current: int = dataclasses.field(init=False)
    switches: int = dataclasses.field(default=0, init=False)
    _best: dict[int, float] = dataclasses.field(default_factory=dict, init=False)
    _recent: dict[int, float] = dataclasses.field(default_factory=dict, init=False)
    _since_probe: int = dataclasses.field(default=0, init=False)
    _batches: int = dataclasses.field(default=0, init=False)

    def __post_init__(self) -> None:
        self.most = max(1, int(self.most))
        self.current = self.most
        self._since_probe = self.probe_every
        self._batches = 0

    @property
    def other(self) -> int:
        """The count a try uses: one fewer than :attr:`most`, or :attr:`most` when running on fewer."""
        return self.most - 1 if self.current == self.most else self.most

    def next_threads(self) -> int:
        """The threads for the next batch (a try of :attr:`other` when it is due)."""
        if self.most == 1 or self.current not in self._recent:
            return self.current
        if self.other not in self._recent:
            return self.other  # the first comparison, early in the run
        if self._since_probe < self.probe_every:
            return self.current
        recent, best = self._recent[self.current], self._best[self.current]
        return self.other if recent < self.drop * best or self.current != self.most else self.current

    def record(self, threads: int, speed: float) -> None:
        """The speed (any unit, higher is faster) of a batch run on ``threads`` threads."""
        self._batches += 1
        self._since_probe += 1
        if self._batches == 1 or speed <= 0.0:
            return  # the first batch loads the kernels: not a measure of the threads
        if threads != self.current:  # a try: keep the faster count
            self._since_probe = 0
            if speed > self._recent.get(self.current, 0.0):
                self.current = threads
                self.switches += 1
        self._recent[threads] = speed
        self._best[threads] = max(self._best.get(threads, 0.0), speed)
