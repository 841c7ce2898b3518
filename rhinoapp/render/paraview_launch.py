"""How the web server starts ParaView's Python (``pvpython``) for the ParaView backend and its exports.

``pvpython`` runs ParaView's own Python (Debian 12: ParaView 5.11 for Python 3.11) with this
package on its path (``PYTHONPATH``: the folder holding ``rhinoapp``) and, for trame and wslink,
the web server's site-packages named in ``RHINOAPP_PV_SITE`` (added after ParaView's own modules,
so that ParaView's VTK is the one loaded). The files of a scene are written by the web server's
Python (``RHINOAPP_BUNDLE_PYTHON``). ParaView draws on the X display it is given (the server's shared
one, :mod:`rhinoapp.render.x_display`), or, given none, on an ``Xvfb`` of its own.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import sysconfig
from pathlib import Path

from rhinoapp.core.errors import ConfigurationError

__all__ = ["ParaViewMissingError", "paraview_command", "pvpython_path"]


class ParaViewMissingError(ConfigurationError):
    """``pvpython`` is not installed (the ParaView backend and the ParaView downloads need it)."""


def pvpython_path() -> str | None:
    """Where ``pvpython`` is (``RHINOAPP_PVPYTHON`` or the ``PATH``), or ``None``.

    Examples
    --------
    >>> pvpython_path() is None or pvpython_path().endswith("pvpython")
    True
    """
    return os.environ.get("RHINOAPP_PVPYTHON") or shutil.which("pvpython")


@dataclasses.dataclass(frozen=True)
class _Command:
    argv: list[str]
    environment: dict[str, str]


def paraview_command(module: str, *args: str, display: str = "") -> _Command:
    """The command line and environment that run ``pvpython -m module args`` on X ``display``.

    ``display`` is the process's ``DISPLAY``: the server's shared one
    (:class:`~rhinoapp.render.x_display.SharedDisplay`), or ``""`` (the process starts an ``Xvfb``
    of its own when its ParaView needs X).

    Raises :class:`ParaViewMissingError` when ``pvpython`` is not installed.

    Examples
    --------
    >>> import os
    >>> os.environ["RHINOAPP_PVPYTHON"] = "/opt/paraview/bin/pvpython"
    >>> command = paraview_command("rhinoapp.render.pv_pipeline", "save", "/tmp/x", "scene.pvsm")
    >>> command.argv[:4], command.environment["DISPLAY"]
    (['/opt/paraview/bin/pvpython', '--force-offscreen-rendering', '-m', 'rhinoapp.render.pv_pipeline'], '')
    >>> del os.environ["RHINOAPP_PVPYTHON"]
    """
    pvpython = pvpython_path()
    if pvpython is None:
        raise ParaViewMissingError("ParaView's pvpython was not found: install Debian's paraview and python3-paraview "
                                   "(scripts/install-system-deps.sh), set RHINOAPP_PVPYTHON, or use render_backend = 'vtk'.")
    root = str(Path(__file__).resolve().parents[2])
    environment = {"PYTHONPATH": root, "RHINOAPP_PV_SITE": sysconfig.get_paths()["purelib"],
                   "RHINOAPP_BUNDLE_PYTHON": sys.executable,
                   "DISPLAY": display}
    # its render windows stay unmapped: none shows on a desktop's display, none covers another on the shared one
    return _Command([pvpython, "--force-offscreen-rendering", "-m", module, *args], environment)
