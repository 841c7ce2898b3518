"""Waiting until a cancelled task has really stopped on the workers.

Cancelling a dask future only tells the scheduler to forget it: the worker thread running the task
goes on until the task returns, which a rhinoapp task does at its next progress report once its
cancel event is set (see :mod:`rhinoapp.jobs.progress`). :func:`wait_until_stopped` asks the workers
themselves whether they still execute the task's key, and after a grace period has the workers that
do restarted, so that nothing the task writes can land after its project was deleted.

Each poll asks every worker once, for what it executes and what it holds, in one call
(:func:`worker_tasks`): the answer is one moment of the worker's state. Asking twice (what it
executes, then what it holds) let the task end and another job finish in between, and a worker
holding nothing any more was restarted for a task it no longer ran.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["executing_keys", "held_keys", "wait_until_stopped", "worker_tasks"]

_log = logging.getLogger(__name__)


def executing_keys(dask_worker: Any = None) -> list[str]:
    """The keys a worker is executing now, cancelled ones included (run on the workers).

    Examples
    --------
    >>> executing_keys()  # outside a worker
    []
    """
    if dask_worker is None:
        return []
    state = dask_worker.state
    return sorted(str(task.key) for task in (*state.executing, *state.long_running))


def held_keys(dask_worker: Any = None) -> list[str]:
    """The keys of every task a worker holds and has not finished (executing, ready or waiting; run on the workers).

    A worker is restarted for a task that ignores its cancellation only when it holds nothing else:
    a restart would otherwise take another job (placed there once the scheduler forgot the
    cancelled one) down with it.

    Examples
    --------
    >>> held_keys()  # outside a worker
    []
    """
    if dask_worker is None:
        return []
    finished = {"memory", "released", "forgotten", "error"}
    return sorted(str(key) for key, task in dask_worker.state.tasks.items() if task.state not in finished)


def worker_tasks(dask_worker: Any = None) -> dict[str, list[str]]:
    """What a worker executes and what it holds, read at one moment (run on the workers).

    Examples
    --------
    >>> worker_tasks()  # outside a worker
    {'executing': [], 'held': []}
    """
    return {"executing": executing_keys(dask_worker), "held": held_keys(dask_worker)}


async def wait_until_stopped(client: Any, key: str, *, grace_s: float, give_up_s: float,
                             restart: Callable[[str], Awaitable[None]], poll_s: float = 0.1) -> bool:
    """Wait until no worker of ``client`` executes ``key``; True once none does.

    Workers still executing it after ``grace_s`` seconds are restarted with ``restart(worker)``
    (once each), but only those that, in the same answer, hold nothing else. After ``give_up_s``
    seconds (a cluster whose workers cannot be restarted from here) it returns False with a warning.
    """
    loop = asyncio.get_running_loop()
    start = loop.time()
    restarted: set[str] = set()
    while True:
        answers = await _ask(client, key)
        running = {worker for worker, tasks in answers.items() if key in tasks["executing"]}
        if not running:
            return True
        waited = loop.time() - start
        if waited > give_up_s:
            _log.warning("task %s still runs %.0f s after it was cancelled; its worker cannot be restarted from "
                         "here. It stops at its next progress report.", key, waited)
            return False
        if waited > grace_s:
            for worker in sorted(running - restarted - {"?"}):
                if set(answers[worker]["held"]) - {key}:
                    continue  # the worker holds other work too: wait for the task to notice its cancellation
                _log.warning("task %s ignored its cancellation for %.0f s; restarting its worker", key, waited)
                restarted.add(worker)
                try:
                    await restart(worker)
                except Exception:
                    _log.warning("restarting worker %s failed", worker, exc_info=True)
        await asyncio.sleep(poll_s)


async def _ask(client: Any, key: str) -> dict[str, dict[str, list[str]]]:
    """Each worker's :func:`worker_tasks`; a worker that could not answer is taken to run ``key``, under "?"."""
    try:
        answers = await client.run(worker_tasks, on_error="ignore")
    except Exception:  # a worker leaving while asked; ask again
        _log.debug("asking the workers what they execute failed", exc_info=True)
        return {"?": {"executing": [key], "held": [key]}}
    return {worker: tasks for worker, tasks in answers.items()
            if isinstance(tasks, dict) and isinstance(tasks.get("executing"), list)
            and isinstance(tasks.get("held"), list)}
