"""Settings of the job runner: cluster profiles (local, slurm, scheduler) and which kind of job uses which.

In the TOML file::

    [jobs]
    profile = "slurm"              # the default profile for every kind of job
    retries = 1                    # resubmissions after a lost worker or a failed task
    [jobs.kinds]
    simulation = "slurm-gpu"       # the flow simulation asks for a GPU partition
    [jobs.profiles.slurm]
    type = "slurm"
    partition = "cpu"
    cores = 4
    memory = "8GB"
    walltime = "02:00:00"
    job_script_prologue = ["module load Python/3.11", "source /opt/rhinoapp/venv/bin/activate"]
    [jobs.profiles.slurm-gpu]
    type = "slurm"
    partition = "gpu"
    gres = "gpu:1"

Environment: ``RHINOAPP_JOBS_PROFILE``, ``RHINOAPP_JOBS_RETRIES`` and
``RHINOAPP_JOBS_SCHEDULER_ADDRESS`` (which defines or overrides the ``scheduler`` profile).
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Mapping
from typing import Any, Union

from rhinoapp.core.errors import ConfigurationError
from rhinoapp.core.workflow import JobKind

__all__ = ["JobsSettings", "LocalProfile", "Profile", "ProfileType", "SchedulerProfile", "SlurmProfile",
           "jobs_settings_from"]

_WALLTIME = re.compile(r"^(\d+-)?\d{1,2}(:\d{2}){1,2}$")
_MEMORY = re.compile(r"^\d+(\.\d+)?\s*([KMGT]i?B)?$", re.IGNORECASE)


def _positive(profile: str, key: str, value: Any) -> None:
    if not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"jobs.profiles.{profile}.{key} must be a whole number >= 1, not {value!r}.")


class ProfileType(enum.Enum):
    """Where the workers of a profile run."""

    LOCAL = "local"
    SLURM = "slurm"
    SCHEDULER = "scheduler"


@dataclasses.dataclass(frozen=True)
class LocalProfile:
    """Worker processes on this machine (a dask ``LocalCluster``, dashboard on 127.0.0.1 only).

    Examples
    --------
    >>> LocalProfile().n_workers
    2
    """

    name: str = "local"
    n_workers: int = 2
    memory_limit: str = "auto"

    type = ProfileType.LOCAL

    def __post_init__(self) -> None:
        _positive(self.name, "n_workers", self.n_workers)


@dataclasses.dataclass(frozen=True)
class SlurmProfile:
    """Workers inside Slurm jobs (dask-jobqueue ``SLURMCluster``); one single-threaded worker per job.

    Examples
    --------
    >>> SlurmProfile(name="gpu", partition="gpu", gres="gpu:1").directives
    ('--gres=gpu:1',)
    """

    name: str = "slurm"
    partition: str = ""
    account: str = ""
    cores: int = 1
    memory: str = "2GB"
    walltime: str = "01:00:00"
    gres: str = ""
    job_extra_directives: tuple[str, ...] = ()
    job_script_prologue: tuple[str, ...] = ()
    python: str = ""
    log_directory: str = ""
    min_jobs: int = 0
    max_jobs: int = 4
    interface: str = ""

    type = ProfileType.SLURM

    def __post_init__(self) -> None:
        object.__setattr__(self, "job_extra_directives", tuple(self.job_extra_directives))
        object.__setattr__(self, "job_script_prologue", tuple(self.job_script_prologue))
        _positive(self.name, "cores", self.cores)
        _positive(self.name, "max_jobs", self.max_jobs)
        if not 0 <= self.min_jobs <= self.max_jobs:
            raise ConfigurationError(f"jobs.profiles.{self.name}.min_jobs must be between 0 and max_jobs ({self.max_jobs}).")
        if not _WALLTIME.match(self.walltime):
            raise ConfigurationError(
                f"jobs.profiles.{self.name}.walltime {self.walltime!r} is not a Slurm time: use HH:MM:SS or D-HH:MM:SS.")
        if not _MEMORY.match(self.memory):
            raise ConfigurationError(f"jobs.profiles.{self.name}.memory {self.memory!r} is not a size such as '8GB'.")

    @property
    def directives(self) -> tuple[str, ...]:
        """Extra ``#SBATCH`` directives: the GPU request and the configured extras."""
        return ((f"--gres={self.gres}",) if self.gres else ()) + self.job_extra_directives


@dataclasses.dataclass(frozen=True)
class SchedulerProfile:
    """An existing dask scheduler reached over TLS at ``address`` (e.g. ``tls://10.0.0.5:8786``).

    The app connects with the CA file, certificate and key given here, or, when none is given, with
    the data directory's own (``<data_dir>/scheduler-tls/``; start the scheduler and its workers
    with ``--tls-ca-file``, ``--tls-cert`` and ``--tls-key`` pointing at them). A plain ``tcp://``
    scheduler is refused: anyone who reaches it can run code as the users of its workers.

    Examples
    --------
    >>> SchedulerProfile(address="tls://10.0.0.5:8786").tls_files
    ()
    >>> SchedulerProfile(address="tcp://10.0.0.5:8786")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ConfigurationError: jobs.profiles.scheduler.address 'tcp://10.0.0.5:8786' ...
    """

    name: str = "scheduler"
    address: str = ""
    tls_ca_file: str = ""
    tls_cert: str = ""
    tls_key: str = ""

    type = ProfileType.SCHEDULER

    def __post_init__(self) -> None:
        if re.match(r"^(tcp|ws)://\S+$", self.address):
            raise ConfigurationError(
                f"jobs.profiles.{self.name}.address {self.address!r} is plain, unauthenticated TCP: anyone who reaches "
                "the scheduler can run code on its workers. Start the scheduler and workers with TLS (--tls-ca-file, "
                "--tls-cert, --tls-key) and use tls://host:port (see 'Jobs and clusters' in the README).")
        if not re.match(r"^(tls|wss|inproc)://\S+$", self.address):
            raise ConfigurationError(
                f"jobs.profiles.{self.name}.address {self.address!r} is not a dask scheduler address such as "
                "tls://host:8786; set it in [jobs.profiles.NAME] or RHINOAPP_JOBS_SCHEDULER_ADDRESS.")
        given = [bool(self.tls_ca_file), bool(self.tls_cert), bool(self.tls_key)]
        if any(given) and not all(given):
            raise ConfigurationError(
                f"jobs.profiles.{self.name}: set all of tls_ca_file, tls_cert and tls_key, or none of them to use "
                "the data directory's credentials (scheduler-tls/ca.pem, cert.pem, key.pem).")

    @property
    def tls_files(self) -> tuple[str, ...]:
        """``(ca_file, cert, key)`` when configured, else ``()`` (the data directory's credentials)."""
        return (self.tls_ca_file, self.tls_cert, self.tls_key) if self.tls_ca_file else ()


Profile = Union[LocalProfile, SlurmProfile, SchedulerProfile]
_CLASSES: dict[ProfileType, type[LocalProfile] | type[SlurmProfile] | type[SchedulerProfile]] = {
    ProfileType.LOCAL: LocalProfile, ProfileType.SLURM: SlurmProfile, ProfileType.SCHEDULER: SchedulerProfile}


@dataclasses.dataclass(frozen=True)
class JobsSettings:
    """Which profile runs which kind of job, and how often a failed job is retried.

    Examples
    --------
    >>> s = JobsSettings()
    >>> s.profile_for(JobKind.SIMULATION).type.value
    'local'
    """

    profile: str = "local"
    profiles: tuple[Profile, ...] = (LocalProfile(),)
    kinds: tuple[tuple[JobKind, str], ...] = ()
    retries: int = 0

    def __post_init__(self) -> None:
        names = [p.name for p in self.profiles]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"jobs.profiles has duplicate names: {', '.join(names)}.")
        if not 0 <= self.retries <= 10:
            raise ConfigurationError(f"jobs.retries must be a whole number from 0 to 10, not {self.retries!r}.")
        for setting, name in [("jobs.profile", self.profile)] + [(f"jobs.kinds.{k.value}", n) for k, n in self.kinds]:
            if name not in names:
                raise ConfigurationError(
                    f"{setting} names the unknown profile {name!r}; known profiles: {', '.join(names)}. "
                    "Define it under [jobs.profiles.NAME] or pick a known one (RHINOAPP_JOBS_PROFILE).")

    def get(self, name: str) -> Profile:
        """The profile called ``name``."""
        for profile in self.profiles:
            if profile.name == name:
                return profile
        raise ConfigurationError(f"No job profile {name!r}; known: {', '.join(p.name for p in self.profiles)}.")

    def profile_for(self, kind: JobKind) -> Profile:
        """The profile that runs jobs of ``kind``."""
        return self.get(dict(self.kinds).get(kind, self.profile))


def jobs_settings_from(table: Mapping[str, Any] | None, environ: Mapping[str, str]) -> JobsSettings:
    """Parse the ``[jobs]`` table of the settings file and the ``RHINOAPP_JOBS_*`` variables.

    Examples
    --------
    >>> s = jobs_settings_from({"profiles": {"hpc": {"type": "slurm", "partition": "cpu"}}},
    ...                        {"RHINOAPP_JOBS_PROFILE": "hpc"})
    >>> (s.profile, s.get("hpc").partition)
    ('hpc', 'cpu')
    """
    table = dict(table or {})
    unknown = sorted(set(table) - {"profile", "profiles", "kinds", "retries"})
    if unknown:
        raise ConfigurationError(f"Unknown setting(s) jobs.{', jobs.'.join(unknown)}; known: profile, profiles, kinds, retries.")
    profiles: dict[str, Profile] = {"local": LocalProfile()}
    for name, raw in dict(table.get("profiles", {})).items():
        profiles[name] = _profile(name, dict(raw))
    address = environ.get("RHINOAPP_JOBS_SCHEDULER_ADDRESS")
    if address:
        profiles["scheduler"] = SchedulerProfile(name="scheduler", address=address)
    kinds = []
    for kind_name, profile_name in dict(table.get("kinds", {})).items():
        try:
            kinds.append((JobKind(kind_name), str(profile_name)))
        except ValueError:
            raise ConfigurationError(
                f"jobs.kinds.{kind_name} is not a kind of job; known: {', '.join(k.value for k in JobKind)}.") from None
    retries = environ.get("RHINOAPP_JOBS_RETRIES") or table.get("retries", 0)
    try:
        retries = int(retries)
    except (TypeError, ValueError):
        raise ConfigurationError(f"jobs.retries (RHINOAPP_JOBS_RETRIES) must be a whole number, not {retries!r}.") from None
    return JobsSettings(profile=environ.get("RHINOAPP_JOBS_PROFILE") or str(table.get("profile", "local")),
                        profiles=tuple(profiles.values()), kinds=tuple(kinds), retries=retries)


def _profile(name: str, raw: dict[str, Any]) -> Profile:
    try:
        kind = ProfileType(raw.pop("type", "slurm" if name.startswith("slurm") else ""))
    except ValueError:
        raise ConfigurationError(
            f"jobs.profiles.{name}.type must be one of {', '.join(t.value for t in ProfileType)}.") from None
    cls = _CLASSES[kind]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ConfigurationError(
            f"Unknown setting(s) {', '.join(unknown)} in jobs.profiles.{name} ({kind.value}); known: {', '.join(fields)}.")
    for key, value in raw.items():
        expected = fields[key].type
        if expected in ("int",) and not isinstance(value, int):
            raise ConfigurationError(f"jobs.profiles.{name}.{key} must be a whole number, not {value!r}.")
        if expected == "str" and not isinstance(value, str):
            raise ConfigurationError(f"jobs.profiles.{name}.{key} must be text, not {value!r}.")
        if expected.startswith("tuple") and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise ConfigurationError(f"jobs.profiles.{name}.{key} must be a list of strings, not {value!r}.")
    return cls(name=name, **raw)
