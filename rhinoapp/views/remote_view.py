"""A server-rendered 3D view for any page or notebook: frames stream in, mouse and keys go out.

The scene is rendered by this session's render worker (see :mod:`rhinoapp.render`); the page
only shows images. Served by ``rhinoapp serve``, the view talks to routes on Panel's own port;
in a notebook it uses a small render server of the kernel (through jupyter-server-proxy when
there is one).
"""

from __future__ import annotations

import importlib.util
import os

import panel as pn
import param
from panel.custom import JSComponent

from rhinoapp.render.bridge import RenderService, ViewTicket, default_service
from rhinoapp.render.frames import ImageFormat
from rhinoapp.render.spec import CameraPreset, SceneSpec
from rhinoapp.render.trame_service import default_trame_service
from rhinoapp.views.assets import assets_dir, read_asset
from rhinoapp.views.trame_view import TrameView

__all__ = ["RemoteView"]

NO_SCENE = "Nothing to show in 3D yet."
NOT_MOUNTED = ("3D views need the render routes on this server: start it with `rhinoapp serve`, or add "
               "`--plugins rhinoapp.render.plugin` to `panel serve`.")


class FrameStream(JSComponent):
    """The browser side: ``assets/remote_view.js``."""

    path = param.String(default="", doc="Route of the view's websocket, with its key")
    port = param.Integer(default=0, doc="The notebook render server's port (0: the page's own server)")
    proxy = param.Boolean(default=False, doc="Reach that port through jupyter-server-proxy")
    presets = param.List(default=[[p.value, p.label] for p in CameraPreset])
    message = param.String(default="", doc="Shown instead of the view when it cannot start")
    label = param.String(default="3D view")

    _esm = assets_dir() / "remote_view.js"
    _stylesheets = [read_asset("remote_view.css")]


class RemoteView(pn.viewable.Viewer):
    """A 3D view of a :class:`~rhinoapp.render.spec.SceneSpec`, rendered on the server.

    Parameters
    ----------
    scene
        What to show; assign a new spec to update the view (the camera stays); ``None`` shows a
        short message until a scene is assigned.
    service
        The render service; the process's default one when omitted.
    jupyter_proxy
        In a notebook, reach the kernel's render server through jupyter-server-proxy
        (default: when running under JupyterHub or when jupyter-server-proxy is installed).
    image_format
        ``ImageFormat.JPEG`` (default, fastest to encode) or ``ImageFormat.WEBP`` (smaller frames).
    standalone
        Use this process's own render server (a port on 127.0.0.1) instead of the page's server;
        by default only outside a Panel server, as in a notebook.

    Examples
    --------
    >>> from rhinoapp.render import SceneSpec, Synthetic
    >>> view = RemoteView(SceneSpec(synthetic=Synthetic(2000)), service=RenderService())
    >>> view.ticket.path().startswith("render/")
    True
    """

    scene = param.ClassSelector(class_=SceneSpec, doc="What the view shows")
    label = param.String(default="3D view of the airway")
    height = param.Integer(default=520, bounds=(200, None))
    jupyter_proxy = param.Boolean(default=None, allow_None=True)

    def __init__(self, scene: SceneSpec | None = None, *, service: RenderService | None = None,
                 image_format: ImageFormat = ImageFormat.JPEG, standalone: bool | None = None, **params: object) -> None:
        super().__init__(scene=scene, **params)
        trame = default_trame_service()
        self._trame = TrameView(scene, service=trame, label=self.label, height=self.height) \
            if service is None and trame.enabled else None  # the render_pane setting chose trame panes
        if self._trame is not None:
            self.param.watch(lambda event: setattr(self._trame, "scene", event.new), "scene")
            return
        self._service = service or default_service()
        self._service.prepare()
        context = pn.state.curdoc.session_context if pn.state.curdoc is not None else None
        self._served = context is not None and not standalone
        if context is not None:  # a served page: routes on Panel's own port, ended with the session
            session_id = context.id
            pn.state.on_session_destroyed(lambda _context: self._service.end_session(session_id))
        else:  # a notebook kernel: one render worker for all its views
            session_id = f"kernel-{os.getpid()}"
        self.ticket: ViewTicket = self._service.open_view(
            session_id, self.scene, image_format=image_format, user=pn.state.user,
            label=pn.state.location.pathname if pn.state.location is not None else "")
        self._stream: FrameStream | None = None
        self._route: dict[str, object] = {}
        self.param.watch(self._scene_changed, "scene")

    def _routing(self) -> dict[str, object]:
        if self._served:
            if not self._service.mounted:
                return {}
            return {"path": f"{pn.state.base_url.rstrip('/')}/{self.ticket.path()}"}
        proxy = self.jupyter_proxy
        if proxy is None:
            proxy = "JUPYTERHUB_SERVICE_PREFIX" in os.environ or importlib.util.find_spec("jupyter_server_proxy") is not None
        return {"path": self.ticket.path(), "port": self._service.notebook_port(), "proxy": proxy}

    def _stream_options(self) -> dict[str, object]:
        if not self._route:
            return {"path": "", "message": NOT_MOUNTED}
        if self.scene is None:
            return {**self._route, "path": "", "message": NO_SCENE}
        return {**self._route, "message": ""}

    def _scene_changed(self, event: param.parameterized.Event) -> None:
        self._service.update_view(self.ticket.view_id, event.new)
        if self._stream is not None and (event.new is None) != (event.old is None):
            self._stream.param.update(**self._stream_options())

    def close(self) -> None:
        """End this view now (its scene leaves the worker); the session's other views go on."""
        if self._trame is not None:
            return self._trame.close()
        self._service.close_view(self.ticket.view_id)

    def show_camera(self, preset: CameraPreset) -> None:
        """Look from a standard direction (as the toolbar buttons do)."""
        if self._trame is not None:
            return self._trame.show_camera(preset)
        self._service.command(self.ticket.view_id, {"op": "camera", "preset": CameraPreset(preset).value})

    def __panel__(self) -> pn.viewable.Viewable:
        if self._trame is not None:
            return self._trame.__panel__()
        if self._stream is None:  # made on first display: a notebook's render server starts only then
            self._route = self._routing()
            self._stream = FrameStream(label=self.label, height=self.height, sizing_mode="stretch_width",
                                        margin=(4, 0), **self._stream_options())
        return self._stream
