"""Server-side 3D panes: trame applications rendered offscreen, one process per browser session.

* :mod:`~rhinoapp.render.spec`: what a pane shows (:class:`SceneSpec`), JSON-ready;
* :mod:`~rhinoapp.render.pv_scenes` (with :mod:`~rhinoapp.render.scenes`): scenes built with PyVista;
* :mod:`~rhinoapp.render.trame_app`: the session's process, one trame application per pane
  (:mod:`~rhinoapp.render.paraview_app` with the ParaView backend);
* :mod:`~rhinoapp.render.trame_service` and :mod:`~rhinoapp.render.trame_proxy`: the sessions, and
  the routes inside Panel's server (``/render/<view>/``) that proxy a pane's HTTP and websocket;
* :mod:`~rhinoapp.render.trame_relay`: render workers as Slurm jobs, dialling back to the server;
* :mod:`~rhinoapp.render.offscreen`: which offscreen OpenGL works (checked in a child process).

Importing this package loads no VTK module; the Panel component is ``rhinoapp.views.trame_view``.
"""

from rhinoapp.render.spec import Axis, CameraPreset, ClipPlane, Colouring, SceneSpec, Synthetic

__all__ = ["Axis", "CameraPreset", "ClipPlane", "Colouring", "SceneSpec", "Synthetic"]
