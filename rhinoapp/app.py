"""The application: ``create_app`` for notebooks and ``serve`` for the web server.

Each browser session gets its own state (the app is served as a function); the store (database
engine and artifact folder) is opened once per process and shared.

``panel serve rhinoapp/app.py`` also works: run as a Panel script, this module serves the app
with settings from ``RHINOAPP_*`` variables (add ``--plugins rhinoapp.render.plugin`` for 3D views).

Sessions are signed: ``serve`` signs every session id with a secret kept in the data directory
(:attr:`~rhinoapp.config.Settings.session_secret_file`, made once, mode 0600), refuses ids and
tokens a client brings, and adds security headers to every route (:mod:`rhinoapp.render.security`).
Under ``panel serve`` the page is only served with ``BOKEH_SIGN_SESSIONS=true`` and a
``BOKEH_SECRET_KEY`` (see the README).

Logins: once an account exists (``rhinoapp users add``), ``serve`` asks every browser to sign in
(:class:`~rhinoapp.views.login.AccountAuthProvider`, Panel's auth machinery), or, with an OpenID
Connect issuer in the settings, sends it to sign in there
(:class:`~rhinoapp.views.oidc.OidcAuthProvider`), and gates every route
but the login page and the static files (:func:`~rhinoapp.render.security.require_login`); each
session works as its signed-in user. As a JupyterHub service (``serve --jupyterhub``,
:mod:`rhinoapp.config.hub`) the users sign in through the hub
(:class:`~rhinoapp.views.hub_login.HubAuthProvider`) and the app is served under the service prefix. Without accounts it serves one local user, on a loopback
address only: listening on another address without a login provider stops the start.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import hmac
import logging
import os
import secrets
import socket
from collections.abc import Callable
from typing import Any

import panel as pn
from bokeh.server.server import Server
from bokeh.settings import settings as bokeh_settings

from rhinoapp.config import RenderBackend, Settings, load_settings
from rhinoapp.config.render import RenderWorkerMode
from rhinoapp.config.oidc import oidc_settings
from rhinoapp.config.hub import HubSettings
from rhinoapp.core.errors import ConfigurationError
from rhinoapp.core.files import write_once
from rhinoapp.jobs.demo import ensure_demo_project
from rhinoapp.jobs.runner import JobRunner
from rhinoapp.render.launch_token import LaunchToken, guard
from rhinoapp.render.pool import WorkerPool
from rhinoapp.render.security import harden, require_login
from rhinoapp.render.trame_service import TrameService, default_trame_service
from rhinoapp.state.session import SessionState
from rhinoapp.store.accounts import AccountStore
from rhinoapp.store.database import Store, open_store
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.views.assets import assets_dir
from rhinoapp.views.login import USER_COOKIE, AccountAuthProvider
from rhinoapp.views.oidc import OidcAuthProvider, discover
from rhinoapp.views.shell import AppShell

__all__ = ["NO_LOGIN", "app_factory", "auth_provider", "cookie_secret", "create_app", "make_server", "serve",
           "session_secret"]

_log = logging.getLogger(__name__)
#: Panel extensions the pages use; notebooks call ``pn.extension(*PANEL_EXTENSIONS)``.
PANEL_EXTENSIONS = ("tabulator", "filedropper")
UNSIGNED = ("This server does not sign its session ids, so another client could open this session. Start it "
            "with `rhinoapp serve`, or set BOKEH_SIGN_SESSIONS=true and BOKEH_SECRET_KEY=$(bokeh secret) for "
            "`panel serve`.")


NO_LOGIN = ("rhinoapp refuses to listen on {address} without a login: anyone who can reach the port would see "
            "every project. Create an account first (`rhinoapp users add NAME --admin`, then `rhinoapp users add` "
            "for each user), which makes `serve` ask for a login, or sign users in at an OpenID Connect provider "
            "(--oidc-issuer, --oidc-client-id and RHINOAPP_OIDC_CLIENT_SECRET), and serve over TLS (--ssl-certfile/--ssl-keyfile) "
            "or behind a reverse proxy (docs/deployment.md); or keep the default address 127.0.0.1.")


def create_app(settings: Settings | None = None, *, store: Store | None = None,
               runner: JobRunner | None = None, user: str | None = None) -> AppShell:
    """Build the dashboard for one session (or one notebook cell).

    Parameters
    ----------
    settings
        Where the data lives and who the user is; ``load_settings()`` when omitted.
    store
        An already open store to share; opened from ``settings`` when omitted.
    runner
        The process's job runner (``serve`` makes one per process); without one, a runner is made
        for this app; it starts on the current event loop (a notebook's kernel loop) with its first job.
    user
        The signed-in user; the configured local user (``settings.user``) when omitted.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> app = create_app(Settings(data_dir=pathlib.Path(tempfile.mkdtemp())))
    >>> app.session.page
    'Projects'
    """
    settings = settings or load_settings()
    store = store or open_store(settings)
    if runner is None:
        runner = JobRunner(settings, store)  # starts with its first job
    session = SessionState(repository=ProjectRepository(store, owner=user or settings.user), runner=runner,
                           settings=settings)
    return AppShell(session=session)


def app_factory(settings: Settings, store: Store, runner: JobRunner | None = None, *,
                auth: AccountAuthProvider | None = None) -> Callable[[], pn.viewable.Viewable]:
    """A function Panel calls once per browser session to build that session's app (one runner for all).

    With ``auth``, each session belongs to the account its signed cookie names (never to Panel's
    ``is_guest`` cookie, which a client can set itself).
    """
    runner = runner or JobRunner(settings, store)

    def build() -> pn.viewable.Viewable:
        pn.extension(*PANEL_EXTENSIONS)
        user = None
        if auth is not None:
            user = auth.user_of(pn.state.cookies.get(USER_COOKIE), cookie_secret(settings))
            if user is None:  # disabled or expired since the page was requested
                return pn.pane.Alert(f"Sign in again: [sign in]({auth.login_url.lstrip('/')})", alert_type="warning")
        return create_app(settings, store=store, runner=runner, user=user).__panel__()

    return build


def _websocket_origins(settings: Settings) -> list[str]:
    if settings.origins:
        return [f"127.0.0.1:{settings.port}", f"localhost:{settings.port}", *settings.origins]
    if settings.loopback:
        return [f"127.0.0.1:{settings.port}", f"localhost:{settings.port}"]
    _log.warning("listening on %s: every machine that can reach it may connect", settings.address)
    return ["*"]


def session_secret(settings: Settings) -> bytes:
    """The secret that signs session ids: made once in the data directory (mode 0600), then kept.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> settings = Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))
    >>> session_secret(settings) == session_secret(settings), oct(settings.session_secret_file.stat().st_mode & 0o777)
    (True, '0o600')
    """
    path = settings.session_secret_file
    secret = write_once(path, secrets.token_urlsafe(48).encode(), mode=0o600)
    if path.stat().st_mode & 0o077:
        _log.warning("%s could be read by other users; it is now private (mode 0600)", path)
        os.chmod(path, 0o600)
    return secret.strip()


def cookie_secret(settings: Settings) -> str:
    """The key of the signed login cookies, derived from :func:`session_secret` (not the same key).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> settings = Settings(data_dir=pathlib.Path(tempfile.mkdtemp()))
    >>> len(cookie_secret(settings)), cookie_secret(settings).encode() != session_secret(settings)
    (64, True)
    """
    return hmac.new(session_secret(settings), b"rhinoapp login cookies", hashlib.sha256).hexdigest()


def auth_provider(settings: Settings, store: Store, *, hub: HubSettings | None = None) -> AccountAuthProvider | None:
    """The login provider: the hub's with ``hub``; else an OpenID Connect provider when one is configured;
    else local accounts once one exists; else None (one local user) on loopback only.

    Raises
    ------
    ConfigurationError
        Listening on a non-loopback address without accounts (:data:`NO_LOGIN` says how to fix it), or
        an OpenID Connect provider that is misconfigured or cannot be reached (the message says which), or
        ``hub`` without the ``jupyterhub`` package.
    """
    if hub is not None:
        try:
            from rhinoapp.views.hub_login import HubAuthProvider  # needs jupyterhub, only here
        except ModuleNotFoundError as error:
            if not (error.name or "").startswith("jupyterhub"):
                raise
            raise ConfigurationError("serve --jupyterhub needs the jupyterhub package: pip install 'rhinoapp[hub]' "
                                     "(the hub's own version) in rhinoapp's environment.") from None
        return HubAuthProvider(store, hub, session_hours=settings.session_hours)
    oidc = oidc_settings(settings)
    if oidc is not None:
        return OidcAuthProvider(store, session_hours=settings.session_hours, oidc=oidc, endpoints=discover(oidc))
    if AccountStore(store).any():
        return AccountAuthProvider(store, session_hours=settings.session_hours)
    if not settings.loopback:
        raise ConfigurationError(NO_LOGIN.format(address=settings.address))
    return None


def make_server(apps: dict[str, Any], settings: Settings, *, render: TrameService | None = None,
                auth: AccountAuthProvider | None = None, launch: LaunchToken | None = None, prefix: str = "",
                **options: Any) -> Server:
    """The app's server on the current event loop, not started: signed sessions, render routes, headers.

    Session ids are made by the server and signed with :func:`session_secret`; a request that
    brings its own id or token gets 403; every response carries the headers of
    :mod:`rhinoapp.render.security`. With ``auth``, every route but the login page and static
    files needs a signed-in user. With ``launch`` only the holder of its one-time token gets in
    (:mod:`rhinoapp.render.launch_token`, for ``rhinoapp desktop``). ``prefix`` (e.g. ``/services/rhinoapp``
    behind JupyterHub) goes before every route. ``options`` go to ``pn.serve`` (e.g. session lifetimes).
    """
    prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
    if auth is not None:
        options.update(auth_provider=auth, cookie_secret=cookie_secret(settings))
    if isinstance(auth, OidcAuthProvider):
        options.update(auth.server_options())
    if settings.tls:
        options.update(ssl_certfile=settings.ssl_certfile, ssl_keyfile=settings.ssl_keyfile)
    server = pn.serve(
        apps,
        address=settings.address,
        port=settings.port,
        show=False,
        start=False,
        title="rhinoapp",
        static_dirs={"assets": str(assets_dir())},
        websocket_origin=_websocket_origins(settings),
        extra_patterns=(render or default_trame_service()).routes(),  # the 3D panes: /render/<view>/
        threaded=False,
        print=False,
        sign_sessions=True,
        secret_key=session_secret(settings),
        generate_session_ids=True,
        **({"prefix": prefix} if prefix else {}),
        **options,
    )
    harden(server._tornado)  # every route, Bokeh's and Panel's included (Panel reads it the same way)
    if auth is not None:
        secret = cookie_secret(settings)
        public = (*(path for path, _ in auth.endpoints), "/static/", "/assets/")  # login, logout (and the hub's callback)
        require_login(server._tornado, lambda request: auth.user_of(_cookie(request, USER_COOKIE), secret),
                      login_path=prefix + auth.login_url, open_paths=(*(prefix + p for p in public), "/favicon.ico"),
                      home_path=prefix + "/")
    if launch is not None:
        guard(server._tornado, launch)
    return server


def _hub_service_settings(settings: Settings, hub: HubSettings) -> Settings:
    """``settings`` with the hub service's address and port, and its public origin allowed for websockets."""
    origins = (*settings.origins, *((hub.public_origin,) if hub.public_origin else ()))
    if not origins:
        raise ConfigurationError("The hub's public address is unknown, so the browser's websocket would be refused: "
                                 "set c.JupyterHub.public_url in jupyterhub_config.py, or RHINOAPP_ALLOWED_ORIGINS "
                                 "(the hub's host[:port]) in the service's environment.")
    return dataclasses.replace(settings, address=hub.address, port=hub.port, allowed_origins=",".join(origins))


def _cookie(request: Any, name: str) -> str | None:
    morsel = request.cookies.get(name)
    return None if morsel is None else morsel.value


async def _demo(runner: JobRunner, owner: str) -> None:
    try:
        await ensure_demo_project(runner, owner=owner, simulate=runner.settings.demo_simulation)
    except Exception:  # the app works without its demo
        _log.warning("the demo project could not be created", exc_info=True)


def serve(settings: Settings, *, show: bool = False, store: Store | None = None, launch: LaunchToken | None = None,
          started: Callable[[Server], None] | None = None, hub: HubSettings | None = None) -> None:
    """Open the store and serve the app until interrupted (or until ``server.io_loop`` is stopped).

    ``launch`` admits only the holder of its one-time token; ``started(server)`` is called once the
    server listens (``rhinoapp desktop`` opens its window there and stops the loop when it closes).
    With ``hub`` it runs as that JupyterHub's service: it listens at the service's URL, serves the app
    under the service prefix and lets the hub's users sign in through the hub.

    The store is opened (and checked, and migrated) before the server starts, so a bad data
    directory or a corrupt database stops the start with a clear error instead of half-way.
    """
    if hub is not None:  # a JupyterHub service: listen at its url, accept pages from the hub's public origin
        settings = _hub_service_settings(settings, hub)
    store = store or open_store(settings)
    try:
        auth = auth_provider(settings, store, hub=hub)  # refuses a non-loopback address without logins, before anything starts
    except ConfigurationError:
        store.close()
        raise
    logging.getLogger("pydicom").setLevel(logging.ERROR)  # its warnings can quote element values (PHI)
    # Bokeh re-checks every new session's document (a development aid that only logs), and checks the
    # signature of every callback a session's models register (about 150 per session, each inspecting
    # the callback and reading the environment: a tenth of a page load's CPU); the tests keep both.
    bokeh_settings.perform_document_validation.set_value(False)
    bokeh_settings.perform_error_diagnostics.set_value(False)
    pn.config.apply_signatures = False  # pn.extension() in each session rewrote every Panel class's signature (for help())
    runner = JobRunner(settings, store)
    trame = default_trame_service()  # 3D panes: routes on this port, one trame process per session
    trame.backend = RenderBackend(settings.render_backend)  # VTK, or ParaView's pvpython
    if settings.render_profile.mode is RenderWorkerMode.SLURM:  # each session's worker is a Slurm job
        from rhinoapp.render.trame_relay import SlurmRelay

        trame.relay = SlurmRelay(trame, settings.render_profile, spool=settings.data_dir / "render-jobs",
                                 port=settings.port,
                                 relay_url="" if not settings.tls else f"https://{socket.getfqdn()}:{settings.port}")
    # one pool for the render workers: the server's cap and each user's limit (a pane says when it is reached)
    trame.pool = WorkerPool(size=settings.render_pool_cap, per_user=settings.max_render_workers_per_user)
    _log.info("rhinoapp serving at %s://%s:%d/ (data in %s, %s)", "https" if settings.tls else "http",
              settings.address, settings.port, settings.data_dir, "logins required" if auth else "one local user")
    server = make_server({"/": app_factory(settings, store, runner, auth=auth)}, settings, render=trame, auth=auth,
                         launch=launch, prefix=hub.prefix if hub is not None else "")
    try:
        server.start()
        server.io_loop.add_callback(runner.start)  # reconciles jobs left by a previous run
        if settings.demo:
            server.io_loop.add_callback(_demo, runner, settings.user)
        if show and hub is None:
            server.show("/")
        if started is not None:
            started(server)
        # What the start made (modules, classes, the store, the server) lives as long as the process:
        # out of the collector's generations, each collection a session's objects cause no longer
        # scans it all again (a tenth of a page load's CPU went to such collections).
        gc.collect()
        gc.freeze()
        server.io_loop.start()
    finally:
        try:
            server.io_loop.run_sync(trame.close, timeout=15)
        except Exception:  # shutting down: the workers also exit when their sockets close
            _log.warning("the render workers did not stop cleanly", exc_info=True)
        try:
            server.io_loop.run_sync(runner.close, timeout=30)
        except Exception:  # shutting down: closing the clusters is best effort
            _log.warning("the job clusters did not close cleanly", exc_info=True)
        store.close()


def _signed_session() -> bool:
    """Whether this page's session id is signed (``panel serve`` with ``BOKEH_SIGN_SESSIONS``)."""
    from bokeh.settings import settings as bokeh_settings
    from bokeh.util.token import check_session_id_signature

    context = pn.state.curdoc.session_context if pn.state.curdoc is not None else None
    secret = bokeh_settings.secret_key_bytes()
    return (context is not None and bool(secret) and bokeh_settings.sign_sessions()
            and check_session_id_signature(context.id, secret_key=secret, signed=True))


if __name__.startswith("bokeh_app"):  # executed by `panel serve rhinoapp/app.py`, once per session
    pn.extension(*PANEL_EXTENSIONS)
    if not _signed_session():
        _log.error("page refused: %s", UNSIGNED)
        pn.pane.Alert(UNSIGNED, alert_type="danger").servable(title="rhinoapp")
    else:
        _settings = load_settings()
        _store = pn.state.as_cached("rhinoapp-store", open_store, settings=_settings)
        _runner = pn.state.as_cached("rhinoapp-runner", JobRunner, settings=_settings, store=_store)
        if AccountStore(_store).any() and not (pn.state.user and AccountStore(_store).active(pn.state.user)):
            pn.pane.Alert("This installation has accounts: serve it with `rhinoapp serve`, which asks for a login.",
                          alert_type="danger").servable(title="rhinoapp")
        else:
            create_app(_settings, store=_store, runner=_runner, user=pn.state.user).__panel__().servable(title="rhinoapp")
