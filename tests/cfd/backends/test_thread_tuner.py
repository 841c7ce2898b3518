"""ThreadTuner: all threads on an idle machine (after one try), one fewer while another process holds a core, back
when it is free; and the Numba backend's numbers do not depend on how many threads ran each batch."""

from __future__ import annotations

import numpy as np

from rhinoapp.cfd.backends import create_backend
from rhinoapp.cfd.backends.thread_tuner import OtherLoad, ThreadTuner
from rhinoapp.cfd.solver import ramp
from tests.cfd.test_backends import _physiological

IDLE, BUSY_TWO, BUSY_ONE = 44.0, 17.0, 22.0  # million cell updates per second on this machine, 2 cores


def _drive(tuner: ThreadTuner, busy: list[bool], *, knows_load: bool = True) -> list[int]:
    """Feed the tuner what each batch would measure on 2 cores, busy or not (its speed and, if ``knows_load``,
    the cores other processes held); returns the threads of each batch."""
    used = []
    for loaded in busy:
        threads = tuner.next_threads()
        speed = (BUSY_TWO if threads == 2 else BUSY_ONE) if loaded else (IDLE if threads == 2 else IDLE / 2)
        others = (1.0 if loaded else 0.05) if knows_load else None
        tuner.record(threads, speed * (1.0 + 0.02 * np.sin(len(used))), others=others)  # a little noise
        used.append(threads)
    return used


def test_an_idle_machine_keeps_every_thread_and_tries_nothing() -> None:
    tuner = ThreadTuner(2, cores=2)
    assert _drive(tuner, [False] * 200) == [2] * 200 and tuner.switches == 0


def test_a_run_started_beside_a_busy_process_moves_to_one_thread_at_once() -> None:
    tuner = ThreadTuner(2, cores=2, probe_every=10)
    assert _drive(tuner, [True] * 40) == [2, 2] + [1] * 38  # the kernels' first batch, one measured, then one
    assert tuner.switches == 1


def test_a_taken_core_moves_the_run_to_one_thread_and_a_freed_one_back() -> None:
    tuner = ThreadTuner(2, cores=2, probe_every=10)
    used = _drive(tuner, [False] * 5 + [True] * 60 + [False] * 30)
    assert used[:6] == [2] * 6 and used[6:65] == [1] * 59  # the batch after the first loaded one tries one thread
    assert used[65:] == [1, 2] + [2] * 28  # the load gone: the next batch tries both threads and keeps them
    assert tuner.switches == 2


def test_without_a_measure_of_the_load_slow_batches_and_regular_tries_decide() -> None:
    tuner = ThreadTuner(2, cores=2, probe_every=10)
    used = _drive(tuner, [False] * 5 + [True] * 60 + [False] * 30, knows_load=False)
    loaded = used[5:65]
    assert 1 in loaded[:3]  # the first slow batch makes the next one a try
    after = loaded[loaded.index(1):]
    assert after.count(2) <= 1 + len(after) // 10  # then one thread, with a try of two every 10 batches
    assert used[-15:] == [2] * 15 and tuner.switches == 2


def test_other_jobs_on_the_cores_left_free_do_not_count() -> None:
    """A 16-core node whose kernels use 8 threads: other jobs on the 8 others are not contention, a ninth core is."""
    tuner = ThreadTuner(8, cores=16)
    for _ in range(30):
        tuner.record(tuner.next_threads(), 100.0, others=7.9)
    assert tuner.current == 8 and tuner.switches == 0
    tuner.record(8, 100.0, others=8.6)
    assert tuner.next_threads() == 7


def test_one_core_or_a_slower_try_changes_nothing() -> None:
    assert _drive(ThreadTuner(1, cores=2), [True] * 20) == [1] * 20
    tuner = ThreadTuner(2, cores=2)
    # the first batch (kernels loading) is not counted; a busy neighbour, but one thread was no faster
    for threads, speed in ((2, 5.0), (2, 30.0), (1, 21.0), (2, 30.0)):
        assert tuner.next_threads() == threads
        tuner.record(threads, speed, others=0.7)
    assert tuner.current == 2 and tuner.next_threads() == 2  # no new try before probe_every batches


def test_other_load_is_the_machines_busy_time_less_this_processs(tmp_path) -> None:
    """``/proc/stat``'s first line (ticks of user, nice, system, idle, iowait, irq, softirq, steal), two samples."""
    import os

    hz = os.sysconf("SC_CLK_TCK")
    stat = tmp_path / "stat"
    clock, own = iter([100.0, 104.0]), iter([50.0, 54.0])  # 4 s, of which this process used 4 CPU seconds
    load = OtherLoad(stat_path=stat, clock=lambda: next(clock), own_seconds=lambda: next(own))
    stat.write_text(f"cpu  {100 * hz} 0 {20 * hz} {500 * hz} {5 * hz} 0 0 0 0 0\ncpu0 ...\n")
    load.start()
    stat.write_text(f"cpu  {106 * hz} 0 {22 * hz} {500 * hz} {5 * hz} 0 0 0 0 0\ncpu0 ...\n")  # 8 busy CPU s
    assert load.cores() == 1.0  # the other 4 CPU seconds over 4 s: one core held by others
    assert OtherLoad(stat_path=tmp_path / "absent").cores() is None  # not Linux: not known


class _Alternating:
    """Runs every other batch on one thread (what the tuner does under changing load)."""

    def __init__(self) -> None:
        self.calls, self.current = 0, 2

    def next_threads(self) -> int:
        self.calls += 1
        return 1 + self.calls % 2

    def record(self, threads: int, speed: float, *, others: float | None = None) -> None:
        pass


def test_the_numbers_do_not_depend_on_the_threads_of_each_batch(phantom_1mm) -> None:
    lattice, params, boundary = _physiological(phantom_1mm, strain_average=0.05, bulk_omega=1.0)
    fixed = create_backend("numba", lattice, params, boundary, threads=2)
    tuned = create_backend("numba", lattice, params, boundary)
    assert tuned.tuner is not None and tuned.tuner.most == 2 and fixed.tuner is None  # the user's count is kept
    tuned.tuner = _Alternating()
    for first in range(1, 600, 100):  # 100 steps of 24,000 cells: every batch is timed
        scales = ramp(np.arange(first, first + 100), 300)
        fixed.advance(scales)
        tuned.advance(scales)
    assert tuned.tuner.calls == 6
    assert np.array_equal(fixed.get_state(), tuned.get_state())
    assert all(np.array_equal(a, b) for a, b in zip(fixed.take_diagnostics(), tuned.take_diagnostics(), strict=True))


def test_a_try_that_met_a_burst_of_other_work_is_repeated_soon_once_the_load_is_gone() -> None:
    """A core taken for a long time, freed, but the first try of both threads meets a short burst of other work
    (slower than one thread): once the load is measured gone the full count is tried again after FREED_RETRY
    batches, not after probe_every."""
    from rhinoapp.cfd.backends.thread_tuner import FREED_RETRY

    tuner = ThreadTuner(2, cores=2, probe_every=10)
    used = _drive(tuner, [False] * 5 + [True] * 30 + [False])
    assert used[-2:] == [1, 1]  # the first batch after the load, still on one thread, measures it gone
    threads = tuner.next_threads()
    assert threads == 2  # the load was long: the try is due at once
    tuner.record(threads, BUSY_TWO, others=1.0)  # ... and meets a burst of other work: one thread stays faster
    assert tuner.current == 1
    after = _drive(tuner, [False] * 12)
    assert after[:FREED_RETRY] == [1] * FREED_RETRY and after[FREED_RETRY:] == [2] * (12 - FREED_RETRY)


def test_without_a_measure_of_the_load_the_retry_waits_for_probe_every() -> None:
    tuner = ThreadTuner(2, cores=2, probe_every=10)
    _drive(tuner, [False] * 5 + [True] * 30, knows_load=False)
    assert tuner.current == 1
    used = _drive(tuner, [False] * 25, knows_load=False)
    assert used.index(2) >= 1 and used[-5:] == [2] * 5
