"""A render worker started as a Slurm job: the session's trame applications, dialling back to the web server.

Run as ``python -m rhinoapp.render.relay_worker`` by the job (see
:mod:`rhinoapp.render.slurm_workers`). It reads the file named by ``RHINOAPP_RENDER_RELAY_FILE``
(the relay's URL, the job's relay id and key), deletes it, and opens a websocket to
``<relay>/render-relay/control``: the commands of :mod:`rhinoapp.render.trame_app` arrive there as JSON
messages and the answers leave the same way. Each view's trame application is a wslink server in
reverse mode (wslink's ``reverse_url``): it connects to ``<relay>/render-relay/<view>``, where the
web server joins it to the browser's websocket. Both connections authenticate with the job's key
(HTTP basic authentication, never in a URL's path or a command line). The worker leaves when the
control connection closes (the session ended, the job was cancelled, the web server stopped).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

__all__ = ["main", "package_folder", "relay_urls"]

_log = logging.getLogger(__name__)


def relay_urls(base: str, relay_id: str, key: str) -> tuple[str, str]:
    """The control URL and the template of a view's reverse URL (with the credentials aiohttp sends as a header).

    Examples
    --------
    >>> control, view = relay_urls("http://front:5006/", "r1", "k/y")
    >>> control
    'ws://front:5006/render-relay/control'
    >>> view.format(view="t00")
    'ws://r1:k%2Fy@front:5006/render-relay/t00'
    """
    parts = urlsplit(base)
    scheme = "wss" if parts.scheme == "https" else "ws"
    path = parts.path.rstrip("/") + "/render-relay/"
    control = urlunsplit((scheme, parts.netloc, path + "control", "", ""))
    view = urlunsplit((scheme, f"{quote(relay_id, safe='')}:{quote(key, safe='')}@{parts.netloc}", path + "{view}", "", ""))
    return control, view


def package_folder(folder: str) -> list[str] | None:
    """``[package, relative path]`` of a folder inside an installed ``trame*`` package (None elsewhere).

    The web server serves the page's files from its own install of the same packages.

    Examples
    --------
    >>> from trame_client.module import vue3
    >>> package_folder(vue3.www)
    ['trame_client', 'module/vue3-www']
    >>> package_folder("/etc") is None
    True
    """
    path = Path(folder).resolve()
    for name in sorted({"trame_client", *(m for m in sys.modules if m.startswith("trame") and "." not in m)}):
        spec = importlib.util.find_spec(name)
        for root in (spec.submodule_search_locations or []) if spec is not None else []:
            if path.is_relative_to(Path(root).resolve()):
                return [name, path.relative_to(Path(root).resolve()).as_posix()]
    return None


async def _run(config: dict[str, str]) -> None:
    import aiohttp

    import rhinoapp.render.pv_scenes  # noqa: F401  (load VTK and PyVista before saying ready)
    from rhinoapp.render.trame_app import TrameApps, serve_commands

    control_url, view_url = relay_urls(config["url"], config["relay_id"], config["key"])
    apps = TrameApps(reverse_url=lambda view_id: view_url.format(view=view_id))
    pending: set[asyncio.Task[None]] = set()
    auth = aiohttp.BasicAuth(config["relay_id"], config["key"])
    async with aiohttp.ClientSession() as session, session.ws_connect(control_url, auth=auth, heartbeat=30) as socket:

        def write(message: dict[str, Any]) -> None:
            if message.get("kind") == "view":  # the page's files: the web server serves them itself
                folders = apps.static_folders(str(message["view"]))
                message = {**message, "static": {route: package_folder(f) for route, f in folders.items()}}
            task = asyncio.ensure_future(socket.send_str(json.dumps(message)))
            pending.add(task)
            task.add_done_callback(pending.discard)

        commands: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        serving = asyncio.ensure_future(serve_commands(apps, commands, write))
        write({"kind": "ready", "pid": os.getpid()})
        async for message in socket:
            if message.type == aiohttp.WSMsgType.TEXT:
                try:
                    commands.put_nowait(json.loads(message.data))
                except ValueError:
                    continue
        _log.info("the web server closed the control connection: leaving")
        serving.cancel()


def main() -> int:
    """Entry point of the render job."""
    logging.basicConfig(level=os.environ.get("RHINOAPP_TRAME_LOG", "INFO"), stream=sys.stderr,
                        format="%(asctime)s relay-worker[%(process)d] %(levelname)s %(message)s")
    path = Path(os.environ.get("RHINOAPP_RENDER_RELAY_FILE", ""))
    try:
        config = json.loads(path.read_text())
        path.unlink(missing_ok=True)  # read once: the key lives on in this process only
    except (OSError, ValueError) as error:
        _log.error("the relay file %s cannot be read (%s): the job must run where the web server's data "
                   "folder is mounted", path, error)
        return 2
    sys.argv = sys.argv[:1]  # trame reads its own options from the command line: give it none
    asyncio.run(_run(config))
    os._exit(0)  # the trame servers' tasks need not finish: the session is over


if __name__ == "__main__":
    raise SystemExit(main())
