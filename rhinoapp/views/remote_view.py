"""The former name of the pages' 3D pane, kept for :mod:`rhinoapp.api` (``show()``) until it names
:class:`~rhinoapp.views.trame_view.TrameView` itself.

The frame-streaming view that had this name is gone: every 3D pane is a trame application.

Examples
--------
>>> RemoteView is TrameView
True
"""

from __future__ import annotations

from rhinoapp.views.trame_view import TrameView

__all__ = ["RemoteView"]

#: The 3D pane (:class:`~rhinoapp.views.trame_view.TrameView`).
RemoteView = TrameView
