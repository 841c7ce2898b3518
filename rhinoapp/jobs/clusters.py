"""One small adapter per cluster backend behind a shared interface.

Each adapter starts (or connects to) a dask cluster for one :mod:`profile <rhinoapp.config.jobs>`
and returns an asynchronous ``distributed.Client``. Workers run one rhinoapp task at a time (the
``slots`` resource), so a Slurm job hosts a dedicated worker and cancelling it stops that task.
:func:`job_script` and the ``*_kwargs`` functions are pure: they can be tested without Slurm.

The clusters the app starts are closed: scheduler, workers and client speak mutual TLS with the
data directory's credentials (:mod:`rhinoapp.jobs.credentials`), so a process without them can
neither submit work nor call the workers; the dask dashboard is off and the scheduler's and
workers' HTTP servers answer only ``/health`` (on 127.0.0.1 for the scheduler).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Protocol

from rhinoapp.config.jobs import LocalProfile, Profile, SchedulerProfile, SlurmProfile
from rhinoapp.core.errors import ConfigurationError
from rhinoapp.jobs.credentials import SchedulerCredentials, ensure_credentials, security_for

__all__ = ["SLOT", "ClusterAdapter", "LocalAdapter", "SchedulerAdapter", "SlurmAdapter", "adapter_for", "import_jobqueue",
           "job_script", "local_cluster_kwargs", "slurm_cluster_kwargs"]

_log = logging.getLogger(__name__)
#: Worker resource that limits every worker to one rhinoapp task at a time.
SLOT = "rhinoapp-slot"
_HEALTH_ONLY = ["distributed.http.health"]
_SCHEDULER_CONFIG = {
    "distributed.scheduler.allowed-failures": 0,  # a lost worker fails the task; the runner retries
    "distributed.scheduler.http.routes": _HEALTH_ONLY,  # no dashboard, no task or worker pages
    "distributed.worker.http.routes": _HEALTH_ONLY,  # local workers (nannies pass the config on)
}
#: The same for a worker in a Slurm job, which reads dask's settings from its environment.
_WORKER_ROUTES_EXPORT = "export DASK_DISTRIBUTED__WORKER__HTTP__ROUTES='[\"distributed.http.health\"]'"


class ClusterAdapter(Protocol):
    """What the runner needs from a backend."""

    @property
    def profile(self) -> Profile:
        """The profile the adapter was made for (read-only here, so each adapter may narrow it)."""

    async def start(self) -> Any:
        """Start or connect, and return an asynchronous ``distributed.Client``."""

    async def close(self) -> None:
        """Stop what :meth:`start` started."""

    async def stop_host(self, *, slurm_job_id: str, worker: str) -> None:
        """Stop the worker (or its Slurm job) that runs a cancelled task."""


def local_cluster_kwargs(profile: LocalProfile, security: Any) -> dict[str, Any]:
    """Keyword arguments of ``LocalCluster`` for ``profile``: TLS with ``security``, every port on 127.0.0.1, no dashboard.

    Examples
    --------
    >>> kwargs = local_cluster_kwargs(LocalProfile(n_workers=3), security_for(SchedulerCredentials.of(Path("/d"))))
    >>> kwargs["protocol"], kwargs["scheduler_kwargs"], kwargs["security"].require_encryption
    ('tls://', {'dashboard': False}, True)
    """
    return {"n_workers": profile.n_workers, "threads_per_worker": 1, "processes": True, "host": "127.0.0.1",
            "protocol": "tls://", "security": security, "dashboard_address": "127.0.0.1:0",
            "scheduler_kwargs": {"dashboard": False}, "memory_limit": profile.memory_limit, "resources": {SLOT: 1}}


def slurm_cluster_kwargs(profile: SlurmProfile, security: Any, *, default_python: str = sys.executable,
                         default_log_directory: str = "slurm-logs") -> dict[str, Any]:
    """Keyword arguments of ``dask_jobqueue.SLURMCluster`` for ``profile``, with TLS from ``security``.

    The scheduler runs in the app's process (its HTTP server on 127.0.0.1, no dashboard); each job's
    worker gets the ``--tls-*`` files on its command line, so the credentials must be on a file
    system the nodes share (as the data directory is).

    Examples
    --------
    >>> security = security_for(SchedulerCredentials.of(Path("/d")))
    >>> kwargs = slurm_cluster_kwargs(SlurmProfile(partition="gpu", gres="gpu:1"), security, default_python="/venv/bin/python")
    >>> kwargs["queue"], kwargs["job_extra_directives"], kwargs["python"], kwargs["protocol"]
    ('gpu', ['--gres=gpu:1'], '/venv/bin/python', 'tls://')
    """
    kwargs: dict[str, Any] = {
        "queue": profile.partition or None, "account": profile.account or None, "cores": profile.cores,
        "processes": 1, "memory": profile.memory, "walltime": profile.walltime,
        "job_extra_directives": list(profile.directives),
        "job_script_prologue": [*profile.job_script_prologue, _WORKER_ROUTES_EXPORT],
        "python": profile.python or default_python, "log_directory": profile.log_directory or default_log_directory,
        "worker_extra_args": ["--no-dashboard", "--resources", f"{SLOT}=1"],
        "protocol": "tls://", "security": security,
        "scheduler_options": {"dashboard_address": "127.0.0.1:0", "dashboard": False},
        "name": f"rhinoapp-{profile.name}",
    }
    if profile.interface:
        kwargs["interface"] = profile.interface
    return kwargs


def job_script(profile: SlurmProfile, *, data_dir: Path = Path("data"), scheduler_address: str = "tls://127.0.0.1:8786",
               default_python: str = sys.executable) -> str:
    """The batch script a Slurm job of ``profile`` runs, without contacting Slurm or a scheduler.

    Examples
    --------
    >>> script = job_script(SlurmProfile(partition="gpu", gres="gpu:1", walltime="00:30:00",
    ...                                  job_script_prologue=("module load CUDA",)), data_dir=Path("/d"))
    >>> "#SBATCH -p gpu" in script, "#SBATCH --gres=gpu:1" in script, "module load CUDA" in script
    (True, True, True)
    >>> "--tls-key /d/scheduler-tls/key.pem" in script, "--protocol tls://" in script
    (True, True)
    """
    import_jobqueue()
    from dask_jobqueue.slurm import SLURMJob

    security = security_for(SchedulerCredentials.of(data_dir))
    kwargs = slurm_cluster_kwargs(profile, security, default_python=default_python)
    for key in ("scheduler_options",):
        kwargs.pop(key)
    return SLURMJob(scheduler=scheduler_address, **kwargs).job_script()


class LocalAdapter:
    """Worker processes on this machine."""

    def __init__(self, profile: LocalProfile, *, data_dir: Path) -> None:
        self.profile = profile
        self._data_dir = data_dir
        self._cluster: Any = None
        self._client: Any = None

    async def start(self) -> Any:
        import dask
        from distributed import Client, LocalCluster

        security = security_for(ensure_credentials(self._data_dir))
        with dask.config.set(_SCHEDULER_CONFIG):
            self._cluster = await LocalCluster(asynchronous=True, **local_cluster_kwargs(self.profile, security))
        self._client = await Client(self._cluster, asynchronous=True)
        return self._client

    async def close(self) -> None:
        await _close(self._client, self._cluster)

    async def stop_host(self, *, slurm_job_id: str, worker: str) -> None:
        if worker and self._client is not None:
            await self._client.restart_workers([worker], raise_for_error=False)


class SlurmAdapter:
    """Workers inside Slurm jobs, scaled adaptively between the profile's min and max jobs."""

    def __init__(self, profile: SlurmProfile, *, data_dir: Path) -> None:
        self.profile = profile
        self._data_dir = data_dir
        self._log_directory = data_dir / "slurm-logs"
        self._cluster: Any = None
        self._client: Any = None

    async def start(self) -> Any:
        import dask

        await check_slurm_partition(self.profile)
        import_jobqueue()
        from dask_jobqueue import SLURMCluster
        from distributed import Client

        self._log_directory.mkdir(parents=True, exist_ok=True)
        security = security_for(ensure_credentials(self._data_dir))
        kwargs = slurm_cluster_kwargs(self.profile, security, default_log_directory=str(self._log_directory))
        with dask.config.set(_SCHEDULER_CONFIG):
            self._cluster = await SLURMCluster(asynchronous=True, **kwargs)
        self._cluster.adapt(minimum_jobs=self.profile.min_jobs, maximum_jobs=self.profile.max_jobs)
        self._client = await Client(self._cluster, asynchronous=True)
        return self._client

    async def close(self) -> None:
        await _close(self._client, self._cluster)

    async def stop_host(self, *, slurm_job_id: str, worker: str) -> None:
        if slurm_job_id:
            await _run("scancel", slurm_job_id)


class SchedulerAdapter:
    """An existing dask scheduler; closing only disconnects."""

    def __init__(self, profile: SchedulerProfile, *, data_dir: Path, timeout_s: float = 5.0) -> None:
        self.profile = profile
        self._data_dir = data_dir
        self._timeout = timeout_s
        self._client: Any = None

    async def start(self) -> Any:
        from distributed import Client

        files = self.profile.tls_files
        credentials = (SchedulerCredentials(*(Path(f) for f in files)) if files
                       else ensure_credentials(self._data_dir))
        missing = [str(path) for path in credentials.files if not path.is_file()]
        if missing:
            raise ConfigurationError(
                f"jobs.profiles.{self.profile.name}: the TLS file(s) {', '.join(missing)} do not exist; fix "
                "tls_ca_file, tls_cert and tls_key in the profile.")
        try:
            self._client = await Client(self.profile.address, asynchronous=True, timeout=self._timeout,
                                        security=security_for(credentials))
        except (OSError, asyncio.TimeoutError) as error:
            raise ConfigurationError(
                f"jobs.profiles.{self.profile.name}.address: no dask scheduler answers at {self.profile.address} "
                f"({type(error).__name__}). Start the scheduler or fix the address (RHINOAPP_JOBS_SCHEDULER_ADDRESS)."
            ) from None
        return self._client

    async def close(self) -> None:
        await _close(self._client, None)

    async def stop_host(self, *, slurm_job_id: str, worker: str) -> None:
        if slurm_job_id and shutil.which("scancel"):
            await _run("scancel", slurm_job_id)


def adapter_for(profile: Profile, *, data_dir: Path) -> ClusterAdapter:
    """The adapter of ``profile``'s backend."""
    if isinstance(profile, LocalProfile):
        return LocalAdapter(profile, data_dir=data_dir)
    if isinstance(profile, SlurmProfile):
        return SlurmAdapter(profile, data_dir=data_dir)
    return SchedulerAdapter(profile, data_dir=data_dir)


async def check_slurm_partition(profile: SlurmProfile) -> None:
    """Refuse a profile whose Slurm commands or partition do not exist, naming the setting."""
    if shutil.which("sbatch") is None or shutil.which("sinfo") is None:
        raise ConfigurationError(
            f"jobs.profiles.{profile.name}: Slurm's sbatch/sinfo are not on PATH on this machine. Run the app on a "
            "Slurm login node, or choose the local profile (RHINOAPP_JOBS_PROFILE=local).")
    code, output = await _run("sinfo", "-h", "-o", "%R")
    if code != 0:
        raise ConfigurationError(f"jobs.profiles.{profile.name}: Slurm does not answer (sinfo: {output.strip()}).")
    partitions = sorted(set(output.split()))
    if profile.partition and profile.partition not in partitions:
        raise ConfigurationError(
            f"jobs.profiles.{profile.name}.partition {profile.partition!r} does not exist on this cluster; "
            f"sinfo lists: {', '.join(partitions) or 'none'}. Fix the partition in the settings file.")


async def _run(*command: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    return int(process.returncode or 0), output.decode(errors="replace")


async def _close(client: Any, cluster: Any) -> None:
    for thing in (client, cluster):
        if thing is not None:
            try:
                await thing.close()
            except Exception:  # closing is best effort; the process may be exiting
                _log.debug("closing %s failed", type(thing).__name__, exc_info=True)


def import_jobqueue() -> None:
    """Import dask_jobqueue once, keeping the process's SIGINT handler (it replaces it on import)."""
    if "dask_jobqueue" in sys.modules:
        return
    if threading.current_thread() is not threading.main_thread():
        raise ConfigurationError("dask_jobqueue must first be imported from the main thread; start the runner there.")
    handler = signal.getsignal(signal.SIGINT)
    import dask_jobqueue  # noqa: F401

    signal.signal(signal.SIGINT, handler)


_import_jobqueue = import_jobqueue  # the name the tests use
