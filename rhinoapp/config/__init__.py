"""Settings: read once from defaults, a TOML file, ``RHINOAPP_*`` variables and overrides.

Later sources win: defaults < TOML file < environment < explicit overrides (the CLI flags).
The resulting :class:`Settings` is frozen and passed down explicitly; nothing reads the
environment behind the caller's back.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
import logging
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rhinoapp.config.jobs import JobsSettings, jobs_settings_from
from rhinoapp.config.render import RenderProfile
from rhinoapp.core.errors import ConfigurationError
from rhinoapp.core.limits import DEFAULT_MAX_FILES, DEFAULT_MAX_UPLOAD_MB, DEFAULT_MAX_VOXELS, InputLimits

__all__ = ["ENV_PREFIX", "JobsSettings", "RenderBackend", "Settings", "load_settings"]

ENV_PREFIX = "RHINOAPP_"
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_BOOLEANS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


class RenderBackend(enum.Enum):
    """What renders the trame panes: VTK from pip (the default) or ParaView's ``pvpython``."""

    VTK = "vtk"
    PARAVIEW = "paraview"


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything the app needs to start.

    Parameters
    ----------
    data_dir
        Folder for the SQLite database and the per-project artifact files.
    database_url
        SQLAlchemy URL; empty means ``sqlite:///<data_dir>/rhinoapp.sqlite``.
    address, port
        Where ``rhinoapp serve`` listens; loopback by default.
    user
        The local user that owns the projects until an identity provider is configured.
    log_level
        Python logging level name.
    max_upload_mb
        Largest upload (a CT series or zip, a 4PR file) accepted, in megabytes, counted after
        unpacking zip archives and gzip streams (a ``.nii.gz`` is measured by what it holds).
    max_voxels
        Most voxels in one CT volume (NIfTI, NRRD, a DICOM series or a multi-frame image),
        checked against the file's header before anything is unpacked; 512 x 512 x 1024 by default.
    max_upload_files
        Most files (or zip members) in one CT upload.
    jobs
        Cluster profiles of the job runner (see :mod:`rhinoapp.config.jobs`).
    demo
        On the first start with an empty data directory, ``serve`` creates a demo project from
        the synthetic phantom (CT, 4PR) and runs its segmentation and simulation as jobs.
    demo_simulation
        Whether the demo also runs its airflow simulation after the segmentation (a few minutes of
        both cores; ``RHINOAPP_DEMO_SIMULATION=false`` leaves the Simulations page to the user).
    render_backend
        What renders the trame panes (:class:`RenderBackend`): ``"vtk"`` (the default, VTK from pip)
        or ``"paraview"`` (a ``pvpython`` process per session drawing with ``paraview.simple``;
        Debian's ``paraview`` and ``python3-paraview``; ``RHINOAPP_RENDER_BACKEND=paraview``).
    ssl_certfile, ssl_keyfile
        PEM certificate chain and private key: ``serve`` speaks HTTPS (and sends HSTS) when both are set.
    session_hours
        How long a login lasts (the signed cookie's lifetime), in hours.
    allowed_origins
        Comma-separated ``host[:port]`` the browser pages may come from (websocket origin check),
        e.g. the host name of a reverse proxy; empty: the listening address only.
    render_workers, render_partition, render_gres, render_walltime, render_account, render_memory, render_relay_url
        The render profile of the trame panes (see :class:`~rhinoapp.config.render.RenderProfile`):
        ``render_workers="slurm"`` starts each session's render worker as a Slurm job that connects
        back to this server through ``render_relay_url``.
    live_view_interval_s
        While a simulation job runs, it writes the wall pressure and velocity this often (seconds) and the
        Simulations page's 3D view shows them (the live view); 0 turns it off.
    oidc_issuer, oidc_client_id, oidc_client_secret, oidc_client_secret_file, oidc_scopes, oidc_user_claim, oidc_redirect_uri, oidc_groups_claim
        The OpenID Connect login (:mod:`rhinoapp.config.oidc`): with an issuer, ``serve`` signs users in
        at that provider. The secret comes from ``RHINOAPP_OIDC_CLIENT_SECRET`` or a file, never a flag,
        and is left out of ``repr``.
    max_jobs_per_user
        Jobs one user may have started at once (2); more wait in the queue, in order, and start
        when one of that user's jobs ends.
    max_render_workers_per_user
        Render workers (3D view processes, one per browser session) one user may hold at once (2);
        a further session's 3D pane says which session holds them instead of starting another.
    render_pool_size
        Render workers the whole server runs at once; 0 (the default): the number of CPUs, at
        least 2 (see :attr:`render_pool_cap`).

    Examples
    --------
    >>> s = Settings(data_dir=Path("/tmp/rh"))
    >>> s.resolved_database_url
    'sqlite:////tmp/rh/rhinoapp.sqlite'
    >>> s.port
    5006
    """

    data_dir: Path = Path("data")
    database_url: str = ""
    address: str = "127.0.0.1"
    port: int = 5006
    user: str = "local"
    log_level: str = "INFO"
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB
    max_voxels: int = DEFAULT_MAX_VOXELS
    max_upload_files: int = DEFAULT_MAX_FILES
    jobs: JobsSettings = JobsSettings()
    demo: bool = True
    demo_simulation: bool = True
    render_backend: str = "vtk"
    ssl_certfile: str = ""
    ssl_keyfile: str = ""
    session_hours: int = 12
    allowed_origins: str = ""
    live_view_interval_s: float = 5.0
    render_workers: str = "local"
    render_partition: str = ""
    render_gres: str = ""
    render_walltime: str = "01:00:00"
    render_account: str = ""
    render_relay_url: str = ""
    render_memory: str = ""
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = dataclasses.field(default="", repr=False)
    oidc_client_secret_file: str = ""
    oidc_scopes: str = "openid profile email"
    oidc_user_claim: str = "preferred_username"
    oidc_redirect_uri: str = ""
    oidc_groups_claim: str = "groups"
    max_jobs_per_user: int = 2
    max_render_workers_per_user: int = 2
    render_pool_size: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.max_upload_mb, int) or self.max_upload_mb < 1:
            raise ConfigurationError(f"max_upload_mb must be a whole number of megabytes >= 1, not {self.max_upload_mb!r}.")
        for name in ("max_voxels", "max_upload_files"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ConfigurationError(f"{name} must be a whole number >= 1, not {getattr(self, name)!r}.")
        if not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise ConfigurationError(f"port must be a whole number from 0 to 65535, not {self.port!r}.")
        if self.address != "localhost":
            try:
                ipaddress.ip_address(self.address)
            except ValueError:
                raise ConfigurationError(
                    f"address {self.address!r} is not an IP address: use 127.0.0.1 (the default,"
                    " this machine only) or 0.0.0.0 to listen on every interface."
                ) from None
        if not self.user.strip():
            raise ConfigurationError("user is empty: set RHINOAPP_USER or leave it at 'local'.")
        if self.render_backend not in {b.value for b in RenderBackend}:
            raise ConfigurationError(f"render_backend must be 'vtk' or 'paraview', not {self.render_backend!r}.")
        if bool(self.ssl_certfile) != bool(self.ssl_keyfile):
            raise ConfigurationError("TLS needs both ssl_certfile and ssl_keyfile (--ssl-certfile, --ssl-keyfile), "
                                     "or neither.")
        if not isinstance(self.session_hours, int) or not 1 <= self.session_hours <= 24 * 30:
            raise ConfigurationError(f"session_hours must be a whole number from 1 to 720, not {self.session_hours!r}.")
        if not isinstance(self.live_view_interval_s, (int, float)) or not self.live_view_interval_s >= 0:
            raise ConfigurationError(f"live_view_interval_s must be 0 (no live 3D view of running simulations) or a "
                                     f"number of seconds, not {self.live_view_interval_s!r}.")
        self.render_profile  # noqa: B018  (checks the render profile's settings)
        for name in ("max_jobs_per_user", "max_render_workers_per_user"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ConfigurationError(f"{name} must be a whole number >= 1, not {getattr(self, name)!r}.")
        if not isinstance(self.render_pool_size, int) or self.render_pool_size < 0:
            raise ConfigurationError(f"render_pool_size must be 0 (one render worker per CPU) or a whole number of "
                                     f"workers, not {self.render_pool_size!r}.")
        if self.log_level.upper() not in _LOG_LEVELS:
            raise ConfigurationError(f"log_level must be one of {', '.join(_LOG_LEVELS)}, not {self.log_level!r}.")

    @property
    def render_profile(self) -> RenderProfile:
        """Where the trame panes' render workers run (the ``render_*`` settings).

        Examples
        --------
        >>> Settings(render_workers="slurm", render_gres="gpu:1").render_profile.gres
        'gpu:1'
        """
        return RenderProfile(mode=self.render_workers, partition=self.render_partition,  # type: ignore[arg-type]
                             gres=self.render_gres, walltime=self.render_walltime, account=self.render_account,
                             relay_url=self.render_relay_url, memory=self.render_memory)

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir / 'rhinoapp.sqlite'}"

    @property
    def input_limits(self) -> InputLimits:
        """The bounds every reader of an upload or import works under (size, voxels, files).

        Examples
        --------
        >>> Settings(max_upload_mb=1, max_voxels=1000).input_limits
        InputLimits(max_bytes=1048576, max_voxels=1000, max_files=20000)
        """
        return InputLimits.from_settings_values(max_upload_mb=self.max_upload_mb, max_voxels=self.max_voxels,
                                                max_upload_files=self.max_upload_files)

    @property
    def loopback(self) -> bool:
        """Whether ``serve`` listens on this machine only.

        Examples
        --------
        >>> Settings().loopback, Settings(address="0.0.0.0").loopback
        (True, False)
        """
        return self.address == "localhost" or ipaddress.ip_address(self.address).is_loopback

    @property
    def origins(self) -> tuple[str, ...]:
        """The extra websocket origins of ``allowed_origins``.

        Examples
        --------
        >>> Settings(allowed_origins="rhino.example.org, rhino.example.org:8443").origins
        ('rhino.example.org', 'rhino.example.org:8443')
        """
        return tuple(o.strip() for o in self.allowed_origins.split(",") if o.strip())

    @property
    def render_pool_cap(self) -> int:
        """Render workers the server runs at once: ``render_pool_size``, or the CPU count (at least 2) when 0.

        Examples
        --------
        >>> Settings(render_pool_size=3).render_pool_cap, Settings().render_pool_cap >= 2
        (3, True)
        """
        return self.render_pool_size or max(2, os.cpu_count() or 1)

    @property
    def tls(self) -> bool:
        """Whether ``serve`` speaks HTTPS."""
        return bool(self.ssl_certfile and self.ssl_keyfile)

    @property
    def projects_dir(self) -> Path:
        """The folder holding one sub-folder of artifacts per project."""
        return self.data_dir / "projects"

    @property
    def session_secret_file(self) -> Path:
        """The server's secret (made once, mode 0600) that signs the browser sessions' ids."""
        return self.data_dir / "session-secret"


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
_SCALARS = [name for name in _FIELDS if name != "jobs"]


def _coerce(name: str, value: Any, source: str) -> Any:
    if name == "data_dir":
        return Path(os.path.expanduser(str(value))).absolute()
    if _FIELDS[name].type in (bool, "bool"):
        text = str(value).strip().lower()
        if isinstance(value, bool) or text in _BOOLEANS:
            return value if isinstance(value, bool) else _BOOLEANS[text]
        raise ConfigurationError(f"{name} from {source} must be true or false, not {value!r}.")
    if _FIELDS[name].type in (int, "int"):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigurationError(f"{name} from {source} must be a whole number, not {value!r}.") from None
    if _FIELDS[name].type in (float, "float"):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigurationError(f"{name} from {source} must be a number, not {value!r}.") from None
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} from {source} must be text, not {value!r}.")
    return value


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigurationError(f"The configuration file {path} does not exist: fix RHINOAPP_CONFIG or --config.") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(f"The configuration file {path} is not valid TOML ({error}).") from None
    table = dict(raw.get("rhinoapp", raw))
    if "rhinoapp" in raw and "jobs" in raw:  # [rhinoapp] and [jobs] side by side
        table.setdefault("jobs", raw["jobs"])
    unknown = sorted(set(table) - set(_FIELDS) - {"rhinoapp"})
    if unknown:
        raise ConfigurationError(
            f"Unknown setting(s) {', '.join(unknown)} in {path}; known: {', '.join(_FIELDS)}."
        )
    return {k: (v if k == "jobs" else _coerce(k, v, str(path))) for k, v in table.items() if k in _FIELDS}


def load_settings(
    *,
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build :class:`Settings` from a TOML file, the environment and explicit overrides.

    Parameters
    ----------
    environ
        Variables to read ``RHINOAPP_*`` from (``os.environ`` when omitted).
    config_file
        A TOML file with the keys of :class:`Settings` at top level or under ``[rhinoapp]``;
        defaults to ``$RHINOAPP_CONFIG`` when that is set.
    overrides
        Values that win over everything, e.g. command-line flags; ``None`` values are ignored.

    Examples
    --------
    >>> s = load_settings(environ={"RHINOAPP_PORT": "5010"}, overrides={"data_dir": "/tmp/x"})
    >>> (s.port, str(s.data_dir))
    (5010, '/tmp/x')
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {"data_dir": Path("data").absolute()}
    path = config_file or (Path(env[ENV_PREFIX + "CONFIG"]) if env.get(ENV_PREFIX + "CONFIG") else None)
    if path is not None:
        values.update(_read_toml(path))
    if not isinstance(values.get("jobs", {}), Mapping):
        raise ConfigurationError(f"jobs in {path} must be a table ([jobs]).")
    values["jobs"] = jobs_settings_from(values.get("jobs"), env)
    for name in _SCALARS:
        raw = env.get(ENV_PREFIX + name.upper())
        if raw not in (None, ""):
            values[name] = _coerce(name, raw, ENV_PREFIX + name.upper())
    for name, value in (overrides or {}).items():
        if name not in _SCALARS:
            raise ConfigurationError(f"Unknown setting {name!r}; known: {', '.join(_SCALARS)}.")
        if value is not None:
            values[name] = _coerce(name, value, "the command line")
    settings = Settings(**values)
    logging.getLogger(__name__).debug("settings loaded (data_dir=%s)", settings.data_dir)
    return settings
