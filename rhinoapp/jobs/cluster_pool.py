"""The clusters of a job runner: started once per profile, on first use; tasks found, stopped; all closed.

:class:`ClusterPool` holds one cluster (its :class:`~rhinoapp.jobs.clusters.ClusterAdapter` and
its client) per job profile. :meth:`ClusterPool.stop_task` stops a task for good: it sets the
task's cancel event, cancels its future, stops its Slurm job, and waits in the background until
no worker executes it any more (restarting a worker that keeps it), then removes the job's staging
folder. :meth:`ClusterPool.close` waits for those stops and closes the clusters.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rhinoapp.config.jobs import Profile, SchedulerProfile
from rhinoapp.core.errors import ConfigurationError, RhinoappError
from rhinoapp.jobs.clusters import ClusterAdapter, adapter_for
from rhinoapp.jobs.progress import PROGRESS_TOPIC, cancel_event_name
from rhinoapp.jobs.requests import JobRequest
from rhinoapp.jobs.stopping import wait_until_stopped
from rhinoapp.store.cleanup import remove_staging

__all__ = ["ClusterPool"]

_log = logging.getLogger(__name__)
#: Scheduler states of a task that may still run (a job in one of them can be followed again).
_ALIVE = ("released", "waiting", "queued", "no-worker", "processing", "memory")


class ClusterPool:
    """One cluster per job profile, started on first use; ``clients`` and ``adapters`` by profile name.

    Parameters
    ----------
    data_dir
        The app's data directory (where the clusters keep their credentials).
    on_event
        Subscribed on every client to the progress events the tasks publish.
    cancel_grace_s
        A stopped task still running after this long has its worker restarted, when that worker holds
        no other task.

    Examples
    --------
    >>> import asyncio, pathlib, tempfile
    >>> pool = ClusterPool(pathlib.Path(tempfile.mkdtemp()), on_event=lambda event: None)
    >>> asyncio.run(pool.close()), pool.clients
    (None, {})
    """

    def __init__(self, data_dir: Path, *, on_event: Callable[[Any], None], cancel_grace_s: float = 15.0) -> None:
        self.data_dir, self._on_event, self._cancel_grace_s = data_dir, on_event, cancel_grace_s
        self.clients: dict[str, Any] = {}
        self.adapters: dict[str, ClusterAdapter] = {}
        self._starting: dict[str, asyncio.Lock] = {}
        self._stopping: set[asyncio.Future[Any]] = set()  # stopped tasks on their way off the workers

    async def client(self, profile: Profile) -> Any:
        """The client of ``profile``'s cluster, started on the first call (ConfigurationError if it cannot)."""
        if profile.name in self.clients:
            return self.clients[profile.name]
        lock = self._starting.setdefault(profile.name, asyncio.Lock())
        async with lock:
            if profile.name not in self.clients:
                adapter = adapter_for(profile, data_dir=self.data_dir)
                try:
                    client = await adapter.start()
                except RhinoappError:
                    await adapter.close()
                    raise
                except Exception as error:
                    await adapter.close()
                    raise ConfigurationError(
                        f"jobs.profiles.{profile.name}: the {profile.type.value} cluster could not start "
                        f"({type(error).__name__}: {error}). Check the profile's settings.") from error
                client.subscribe_topic(PROGRESS_TOPIC, self._on_event)
                self.adapters[profile.name], self.clients[profile.name] = adapter, client
                _log.info("job profile %s started (%s)", profile.name, profile.type.value)
        return self.clients[profile.name]

    async def find_task(self, profile: Profile, key: str) -> Any | None:
        """A future of the task ``key`` on ``profile``'s cluster if the scheduler may still run it, else None.

        None too for a local or Slurm profile: their clusters live in the app process, gone after a restart.
        """
        if not isinstance(profile, SchedulerProfile) or not key:
            return None
        try:
            client = await self.client(profile)
            state = await client.run_on_scheduler(_task_state, key)
        except Exception:
            return None
        if state not in _ALIVE:
            return None
        from distributed import Future

        return Future(key, client)

    async def workers(self, name: str) -> set[str]:
        """The addresses of the workers of profile ``name``'s cluster now."""
        identity = await self.clients[name].scheduler.identity()
        return set(identity.get("workers", {}))

    async def stop_task(self, name: str, request: JobRequest, future: Any, *, slurm_job_id: str,
                        worker: str) -> asyncio.Future[Any]:
        """Stop ``request``'s task on profile ``name``'s cluster; returns what completes once it left the workers."""
        client, adapter = self.clients[name], self.adapters[name]
        from distributed import Event

        await Event(cancel_event_name(request.job_id), client=client).set()
        await client.cancel([future], force=True)
        if slurm_job_id:
            await adapter.stop_host(slurm_job_id=slurm_job_id, worker=worker)
        stopped = asyncio.ensure_future(self._until_stopped(adapter, client, request))
        self._stopping.add(stopped)
        stopped.add_done_callback(self._stopping.discard)
        stopped.add_done_callback(_log_failure)
        return stopped

    async def _until_stopped(self, adapter: ClusterAdapter, client: Any, request: JobRequest) -> None:
        """Wait until the stopped task has left the workers (restarting a worker that keeps it), then clean up."""
        async def restart(worker: str) -> None:
            await adapter.stop_host(slurm_job_id="", worker=worker)

        if await wait_until_stopped(client, request.key, grace_s=self._cancel_grace_s,
                                    give_up_s=self._cancel_grace_s + 60.0, restart=restart):
            await asyncio.to_thread(remove_staging, request.project_dir, request.job_id)
        from distributed import Event

        await Event(cancel_event_name(request.job_id), client=client).clear()

    async def close(self) -> None:
        """Wait for the tasks being stopped, then close every cluster started (their running tasks are lost)."""
        await asyncio.gather(*self._stopping, return_exceptions=True)
        for adapter in list(self.adapters.values()):
            await adapter.close()
        self.adapters.clear()
        self.clients.clear()


def _task_state(key: str, dask_scheduler: Any = None) -> str | None:
    task = dask_scheduler.tasks.get(key) if dask_scheduler is not None else None
    return None if task is None else str(task.state)


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.error("stopping a cancelled task failed: %s", task.exception())
