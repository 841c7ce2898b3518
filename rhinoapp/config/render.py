"""Where the trame panes' render workers run: beside the web server, or as Slurm jobs (the render profile).

In ``slurm`` mode each browser session's render worker is a Slurm job (partition, ``--gres``,
walltime and account from the profile) that dials back to the web server through its own port
(``relay_url``), so no port of a compute node has to be reachable. See ``docs/deployment.md``.
"""

from __future__ import annotations

import dataclasses
import enum
import re

from rhinoapp.core.errors import ConfigurationError

__all__ = ["RenderProfile", "RenderWorkerMode"]

_WALLTIME = re.compile(r"^(\d+-)?\d{1,3}(:\d{2}){0,2}$")
_GRES = re.compile(r"^[\w.-]+(:[\w.-]+)*(,[\w.-]+(:[\w.-]+)*)*$")


class RenderWorkerMode(enum.StrEnum):
    """Where render workers run."""

    LOCAL = "local"
    SLURM = "slurm"


@dataclasses.dataclass(frozen=True)
class RenderProfile:
    """The render profile: how each session's trame render worker is started.

    Parameters
    ----------
    mode
        ``local`` (a process beside the web server, the default) or ``slurm`` (a Slurm job per session).
    partition, gres, walltime, account, memory
        The job's ``--partition``, ``--gres`` (e.g. ``gpu:1``), ``--time``, ``--account`` and ``--mem``
        (e.g. ``16G``); empty: Slurm's default.
    relay_url
        How a compute node reaches this web server (``http://login01:5006``); empty: this host's
        name and the server's port.

    Examples
    --------
    >>> RenderProfile(mode=RenderWorkerMode.SLURM, partition="gpu", gres="gpu:1", walltime="02:00:00").mode
    <RenderWorkerMode.SLURM: 'slurm'>
    >>> RenderProfile(mode="slurm", walltime="two hours")
    Traceback (most recent call last):
    ...
    rhinoapp.core.errors.ConfigurationError: render_walltime 'two hours' is not a Slurm time: use HH:MM:SS or D-HH:MM:SS.
    """

    mode: RenderWorkerMode = RenderWorkerMode.LOCAL
    partition: str = ""
    gres: str = ""
    walltime: str = "01:00:00"
    account: str = ""
    relay_url: str = ""
    memory: str = ""

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "mode", RenderWorkerMode(self.mode))
        except ValueError:
            raise ConfigurationError(f"render_workers must be 'local' or 'slurm', not {self.mode!r}.") from None
        if self.walltime and not _WALLTIME.match(self.walltime):
            raise ConfigurationError(f"render_walltime {self.walltime!r} is not a Slurm time: use HH:MM:SS or D-HH:MM:SS.")
        if self.gres and not _GRES.match(self.gres):
            raise ConfigurationError(f"render_gres {self.gres!r} is not a Slurm --gres value such as gpu:1 or gpu:a100:1.")
        if self.memory and not re.fullmatch(r"\d+[KMGT]?", self.memory):
            raise ConfigurationError(f"render_memory {self.memory!r} is not a Slurm --mem value such as 16G.")
        for name in ("partition", "account"):
            if not re.fullmatch(r"[\w.,-]*", getattr(self, name)):
                raise ConfigurationError(f"render_{name} {getattr(self, name)!r} is not a Slurm name (letters, digits, _.-).")
        if self.relay_url and not re.fullmatch(r"https?://[\w.-]+(:\d{1,5})?(/[\w./-]*)?", self.relay_url):
            raise ConfigurationError(f"render_relay_url {self.relay_url!r} must look like http://host:port "
                                     "(how compute nodes reach this web server).")
