"""Render workers as Slurm jobs: the ``sbatch`` command of the render profile, the queue state, its wording.

A job runs ``python -m rhinoapp.render.relay_worker``; the relay's address and the job's key reach
it in a file (mode 0600) named by the variable :data:`RELAY_FILE_VARIABLE` of the job's environment,
never in its command line (which ``squeue`` and ``scontrol`` show to everyone).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping

from rhinoapp.config.render import RenderProfile
from rhinoapp.render.offscreen import RenderError

__all__ = ["ENDED_STATES", "RELAY_FILE_VARIABLE", "QueueState", "cancel", "ended_message", "queue_state",
           "sbatch_command", "submit", "waiting_message"]

_log = logging.getLogger(__name__)
#: The job's environment variable naming its relay file (address and key).
RELAY_FILE_VARIABLE = "RHINOAPP_RENDER_RELAY_FILE"
#: Slurm job states after which the job never runs again.
ENDED_STATES = frozenset({"BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED", "NODE_FAIL", "OUT_OF_MEMORY",
                          "PREEMPTED", "TIMEOUT", "GONE"})


@dataclasses.dataclass(frozen=True)
class QueueState:
    """A job's state as ``squeue`` reports it (``GONE``: Slurm no longer knows the job)."""

    job_id: str
    state: str
    reason: str = ""
    node: str = ""

    @property
    def ended(self) -> bool:
        """Whether the job has ended (it will not run, or run again)."""
        return self.state in ENDED_STATES


def sbatch_command(profile: RenderProfile, *, python: str, log_path: str, name: str = "rhinoapp-render") -> list[str]:
    """The ``sbatch`` command starting one render worker (no secret in it).

    Examples
    --------
    >>> from rhinoapp.config.render import RenderProfile
    >>> sbatch_command(RenderProfile(mode="slurm", partition="gpu", gres="gpu:1", walltime="00:30:00"),
    ...                python="/opt/venv/bin/python", log_path="/data/render-jobs/render-%j.log")  # doctest: +NORMALIZE_WHITESPACE
    ['sbatch', '--parsable', '--job-name=rhinoapp-render', '--output=/data/render-jobs/render-%j.log',
     '--export=ALL', '--partition=gpu', '--gres=gpu:1', '--time=00:30:00',
     '--wrap=exec /opt/venv/bin/python -m rhinoapp.render.relay_worker']
    """
    command = ["sbatch", "--parsable", f"--job-name={name}", f"--output={log_path}", "--export=ALL"]
    for option, value in (("partition", profile.partition), ("gres", profile.gres), ("time", profile.walltime),
                          ("account", profile.account), ("mem", profile.memory)):
        if value:
            command.append(f"--{option}={value}")
    command.append(f"--wrap=exec {python} -m rhinoapp.render.relay_worker")
    return command


async def _run(command: list[str], environment: Mapping[str, str] | None = None) -> tuple[int, str, str]:
    try:
        process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE,
                                                       stderr=asyncio.subprocess.PIPE, env=environment)
    except FileNotFoundError:
        raise RenderError(f"{command[0]} is not installed on the web server: install the Slurm client or set "
                          "render_workers=local.") from None
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(errors="replace").strip(), err.decode(errors="replace").strip()


async def submit(command: list[str], environment: Mapping[str, str]) -> str:
    """Run ``sbatch``; returns the job id."""
    code, out, err = await _run(command, environment)
    if code != 0 or not out:
        raise RenderError(f"Slurm refused the render job ({err or out or f'exit code {code}'}); check the render "
                          "profile (render_partition, render_gres, render_account).")
    return out.split(";")[0]


async def queue_state(job_id: str) -> QueueState:
    """The job's state from ``squeue`` (finished jobs too, while Slurm keeps them)."""
    code, out, _err = await _run(["squeue", "-h", "-t", "all", "-j", job_id, "-o", "%T|%r|%N"])
    if code != 0 or not out:
        return QueueState(job_id, "GONE")
    state, reason, node = (out.splitlines()[0].split("|") + ["", ""])[:3]
    return QueueState(job_id, state, "" if reason in ("None", "(null)") else reason, node)


async def cancel(job_id: str) -> None:
    """``scancel`` the job (nothing happens if it has ended)."""
    code, _out, err = await _run(["scancel", job_id])
    if code != 0:
        _log.warning("scancel %s: %s", job_id, err)


def waiting_message(state: QueueState) -> str:
    """What the pane shows while the job waits or starts.

    Examples
    --------
    >>> waiting_message(QueueState("42", "PENDING", "Resources"))
    'Waiting for a render node: job 42 is PENDING (Resources).'
    >>> waiting_message(QueueState("42", "RUNNING", node="gpu07"))
    'Waiting for a render node: job 42 is RUNNING on gpu07, starting the 3D view.'
    """
    if state.state == "RUNNING":
        return f"Waiting for a render node: job {state.job_id} is RUNNING on {state.node}, starting the 3D view."
    reason = f" ({state.reason})" if state.reason else ""
    return f"Waiting for a render node: job {state.job_id} is {state.state or 'submitted'}{reason}."


def ended_message(state: QueueState, *, walltime: str = "", log_path: str = "") -> str:
    """What the pane shows when its render job has ended.

    Examples
    --------
    >>> ended_message(QueueState("42", "CANCELLED"))
    'The render job 42 was cancelled. Reload the page to start a new one.'
    >>> ended_message(QueueState("42", "TIMEOUT"), walltime="01:00:00")
    'The render job 42 reached its walltime (01:00:00). Reload the page to start a new one.'
    >>> ended_message(QueueState("42", "FAILED", "NonZeroExitCode"), log_path="/d/render-42.log")
    'The render job 42 failed (NonZeroExitCode); its log is /d/render-42.log. Reload the page to start a new one.'
    """
    job = f"The render job {state.job_id}"
    log = f"; its log is {log_path}" if log_path else ""
    reason = f" ({state.reason})" if state.reason else ""
    text = {
        "CANCELLED": f"{job} was cancelled",
        "TIMEOUT": f"{job} reached its walltime{f' ({walltime})' if walltime else ''}",
        "DEADLINE": f"{job} reached its deadline",
        "PREEMPTED": f"{job} was preempted",
        "NODE_FAIL": f"{job} stopped: its node failed{log}",
        "OUT_OF_MEMORY": f"{job} ran out of memory{log}",
        "COMPLETED": f"{job} ended",
        "GONE": f"{job} ended",
    }.get(state.state, f"{job} failed{reason}{log}")
    return f"{text}. Reload the page to start a new one."
