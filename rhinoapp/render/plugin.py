"""Render routes for ``panel serve``: ``panel serve rhinoapp/app.py --plugins rhinoapp.render.plugin``.

Panel imports this module and mounts ``ROUTES`` on its own server (same port, same URL prefix).
``rhinoapp serve`` mounts the same routes itself.
"""

from __future__ import annotations

from rhinoapp.render.trame_service import default_trame_service

__all__ = ["ROUTES"]

ROUTES = default_trame_service().routes()
