"""JobEvents: the registry the runner publishes job changes to."""

from __future__ import annotations

import threading

from rhinoapp.core.workflow import JobKind, JobState
from rhinoapp.jobs.events import JobEvent, JobEvents

EVENT = JobEvent("j1", "p1", "ana", JobKind.SEGMENTATION, JobState.RUNNING)


def test_a_failing_listener_does_not_keep_the_others_from_hearing() -> None:
    events, heard = JobEvents(), []

    def broken(_event: JobEvent) -> None:
        raise RuntimeError("listener bug")

    events.subscribe(broken)
    events.subscribe(heard.append)
    events.publish(EVENT)
    assert heard == [EVENT]


def test_listeners_may_unsubscribe_while_events_are_published_from_other_threads() -> None:
    events, heard = JobEvents(), []
    unsubscribers = [events.subscribe(heard.append) for _ in range(50)]
    publishers = [threading.Thread(target=lambda: [events.publish(EVENT) for _ in range(100)]) for _ in range(4)]
    for thread in publishers:
        thread.start()
    for unsubscribe in unsubscribers:
        unsubscribe()
    for thread in publishers:
        thread.join()
    assert len(events) == 0 and all(event == EVENT for event in heard)
    events.publish(EVENT)
    assert len(heard) <= 4 * 100 * 50
