"""The application: ``create_app`` for notebooks and ``serve`` for the web server.

Each browser session gets its own state (the app is served as a function); the store (database
engine and artifact folder) is opened once per process and shared.

``panel serve rhinoapp/app.py`` also works: run as a Panel script, this module serves the app
with settings from ``RHINOAPP_*`` variables (add ``--plugins rhinoapp.render.plugin`` for 3D views).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable

import panel as pn
from bokeh.settings import settings as bokeh_settings

from rhinoapp.config import Settings, load_settings
from rhinoapp.jobs.demo import ensure_demo_project
from rhinoapp.jobs.runner import JobRunner
from rhinoapp.render.bridge import default_service
from rhinoapp.state.session import SessionState
from rhinoapp.store.database import Store, open_store
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.views.assets import assets_dir
from rhinoapp.views.shell import AppShell

__all__ = ["app_factory", "create_app", "serve"]

_log = logging.getLogger(__name__)
#: Panel extensions the pages use; notebooks call ``pn.extension(*PANEL_EXTENSIONS)``.
PANEL_EXTENSIONS = ("tabulator", "filedropper")


def _session_user(settings: Settings) -> str:
    """The authenticated user when Panel has an auth provider, else the configured local user."""
    return pn.state.user or settings.user


def create_app(settings: Settings | None = None, *, store: Store | None = None,
               runner: JobRunner | None = None) -> AppShell:
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
    session = SessionState(repository=ProjectRepository(store, owner=_session_user(settings)), runner=runner,
                           settings=settings)
    return AppShell(session=session)


def app_factory(settings: Settings, store: Store, runner: JobRunner | None = None) -> Callable[[], pn.viewable.Viewable]:
    """A function Panel calls once per browser session to build that session's app (one runner for all)."""
    runner = runner or JobRunner(settings, store)

    def build() -> pn.viewable.Viewable:
        pn.extension(*PANEL_EXTENSIONS)
        return create_app(settings, store=store, runner=runner).__panel__()

    return build


def _websocket_origins(settings: Settings) -> list[str]:
    if settings.address == "localhost" or ipaddress.ip_address(settings.address).is_loopback:
        return [f"127.0.0.1:{settings.port}", f"localhost:{settings.port}"]
    _log.warning("listening on %s: every machine that can reach it may connect", settings.address)
    return ["*"]


async def _demo(runner: JobRunner, owner: str) -> None:
    try:
        await ensure_demo_project(runner, owner=owner)
    except Exception:  # the app works without its demo
        _log.warning("the demo project could not be created", exc_info=True)


def serve(settings: Settings, *, show: bool = False, store: Store | None = None) -> None:
    """Open the store and serve the app until interrupted.

    The store is opened (and checked, and migrated) before the server starts, so a bad data
    directory or a corrupt database stops the start with a clear error instead of half-way.
    """
    store = store or open_store(settings)
    logging.getLogger("pydicom").setLevel(logging.ERROR)  # its warnings can quote element values (PHI)
    # Bokeh re-checks every new session's document (a development aid that only logs); the tests keep it.
    bokeh_settings.perform_document_validation.set_value(False)
    runner = JobRunner(settings, store)
    render = default_service()  # 3D views: routes on this port, one render worker per session
    render.prepare()
    _log.info("rhinoapp serving at http://%s:%d/ (data in %s)", settings.address, settings.port, settings.data_dir)
    server = pn.serve(
        {"/": app_factory(settings, store, runner)},
        address=settings.address,
        port=settings.port,
        show=False,
        start=False,
        title="rhinoapp",
        static_dirs={"assets": str(assets_dir())},
        websocket_origin=_websocket_origins(settings),
        extra_patterns=render.routes(),
        threaded=False,
        print=False,
    )
    try:
        server.start()
        server.io_loop.add_callback(runner.start)  # reconciles jobs left by a previous run
        if settings.demo:
            server.io_loop.add_callback(_demo, runner, settings.user)
        if show:
            server.show("/")
        server.io_loop.start()
    finally:
        try:
            server.io_loop.run_sync(render.close, timeout=15)
        except Exception:  # shutting down: the workers also exit when their sockets close
            _log.warning("the render workers did not stop cleanly", exc_info=True)
        try:
            server.io_loop.run_sync(runner.close, timeout=30)
        except Exception:  # shutting down: closing the clusters is best effort
            _log.warning("the job clusters did not close cleanly", exc_info=True)
        store.close()


if __name__.startswith("bokeh_app"):  # executed by `panel serve rhinoapp/app.py`, once per session
    _settings = load_settings()
    _store = pn.state.as_cached("rhinoapp-store", open_store, settings=_settings)
    _runner = pn.state.as_cached("rhinoapp-runner", JobRunner, settings=_settings, store=_store)
    pn.extension(*PANEL_EXTENSIONS)
    create_app(_settings, store=_store, runner=_runner).__panel__().servable(title="rhinoapp")
