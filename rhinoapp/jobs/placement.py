"""Where the jobs of a profile run, in words, and what they may use there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rhinoapp.cfd.estimate import ResourceEstimate, check_resources
from rhinoapp.cfd.request import SimulationRequest
from rhinoapp.config.jobs import LocalProfile, Profile, SchedulerProfile, SlurmProfile
from rhinoapp.core.errors import RhinoappError
from rhinoapp.usecases.simulation import estimate_simulation

__all__ = ["describe_placement", "estimate_on", "memory_limit_bytes", "uses_gpu"]


def describe_placement(profile: Profile) -> str:
    """Where jobs of ``profile`` run, as one sentence.

    Examples
    --------
    >>> describe_placement(LocalProfile())
    'Runs on this machine (local profile).'
    """
    if isinstance(profile, SlurmProfile):
        gpu = f", {profile.gres}" if profile.gres else ""
        return f"Runs on the cluster: Slurm profile {profile.name} (partition {profile.partition or 'default'}{gpu})."
    if isinstance(profile, SchedulerProfile):
        return f"Runs on the dask cluster of profile {profile.name} ({profile.address})."
    return f"Runs on this machine ({profile.name} profile)."


def uses_gpu(profile: Profile) -> bool:
    """Whether jobs of ``profile`` get a GPU (a Slurm profile asking for one)."""
    return isinstance(profile, SlurmProfile) and "gpu" in profile.gres.lower()


def memory_limit_bytes(profile: Profile) -> int | None:
    """The memory a job of ``profile`` may use; ``None``: what this machine has available."""
    if isinstance(profile, SlurmProfile):
        from dask.utils import parse_bytes

        return int(parse_bytes(profile.memory))
    if isinstance(profile, LocalProfile) and profile.memory_limit not in ("auto", "", "0"):
        from dask.utils import parse_bytes

        return int(parse_bytes(profile.memory_limit))
    return None


def estimate_on(profile: Profile, domain: Any, request: SimulationRequest, *,
                data_dir: Path | None = None) -> tuple[ResourceEstimate | None, str]:
    """What ``request`` on ``domain`` (a :class:`~rhinoapp.cfd.domain.FlowDomain`) would need where ``profile`` runs.

    Returns the estimate (``None`` when there is none) and, when the run would not fit the
    profile's memory (or cannot be estimated), why, in words; else ``""``. Jobs of a local profile
    run here: given ``data_dir``, their time is at this machine's measured speed (kept in ``data_dir``);
    elsewhere the nominal speed stands.
    """
    measured_here = data_dir if isinstance(profile, LocalProfile) else None
    try:
        estimate = estimate_simulation(domain, request, backend="cupy" if uses_gpu(profile) else None,
                                       data_dir=measured_here)
    except RhinoappError as error:
        return None, f"No estimate for these inputs: {error}."
    try:
        check_resources(estimate, memory_limit_bytes=memory_limit_bytes(profile))
    except RhinoappError as error:
        return estimate, f"This run would not fit: {error}."
    return estimate, ""
