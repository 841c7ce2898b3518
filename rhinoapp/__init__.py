"""rhinoapp: patient-specific nasal airflow analysis in the browser.

Importing the package starts nothing and loads no UI library; ``create_app`` imports Panel
on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rhinoapp.config import Settings, load_settings
from rhinoapp.core.version import __version__

if TYPE_CHECKING:
    from rhinoapp.views.shell import AppShell

__all__ = ["Settings", "__version__", "create_app", "load_settings"]


def create_app(settings: Settings | None = None, **kwargs: Any) -> AppShell:
    """Build the dashboard as a Panel object (see :func:`rhinoapp.app.create_app`)."""
    from rhinoapp.app import create_app as _create_app

    return _create_app(settings, **kwargs)
