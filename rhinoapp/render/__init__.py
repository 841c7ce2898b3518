"""Server-side 3D views: scenes rendered offscreen by VTK in one worker process per browser session.

* :mod:`~rhinoapp.render.spec`: what a view shows (:class:`SceneSpec`), JSON-ready;
* :mod:`~rhinoapp.render.scenes`: scene builders (data in, VTK actors out);
* :mod:`~rhinoapp.render.view`: one offscreen view (camera, clip, level of detail, pixels);
* :mod:`~rhinoapp.render.worker` and :mod:`~rhinoapp.render.client`: the worker process and its handle;
* :mod:`~rhinoapp.render.bridge` and :mod:`~rhinoapp.render.handlers`: routes inside Panel's server;
* :mod:`~rhinoapp.render.offscreen`: which offscreen OpenGL works (checked in a child process).

Importing this package loads no VTK module; the Panel component is ``rhinoapp.views.remote_view``.
"""

from rhinoapp.render.spec import Axis, CameraPreset, ClipPlane, Colouring, SceneSpec, Synthetic

__all__ = ["Axis", "CameraPreset", "ClipPlane", "Colouring", "SceneSpec", "Synthetic"]
