"""A simulation running in the background of a notebook, with its live 3D view.

:meth:`Case.start_simulation <rhinoapp.api.case.Case.start_simulation>` starts the simulation job
(in this process or on a job profile) on a thread and returns a :class:`LiveRun` at once. Its
``show()`` is the 3D pane of the pages (the trame application, :class:`~rhinoapp.api.pane.Pane3D`), which
shows every new live checkpoint of the run (wall pressure, streamlines of the velocity; see
:mod:`rhinoapp.cfd.live`) every ``live_view_interval_s`` seconds, and the finished run at the end;
``result()`` waits for the run and returns its :class:`~rhinoapp.api.results.Simulation`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rhinoapp.api.results import Simulation
from rhinoapp.cfd.live import read_live_checkpoint
from rhinoapp.core.layout import ProjectLayout
from rhinoapp.render.spec import Colouring, SceneSpec
from rhinoapp.state.live_view import LiveFlow

__all__ = ["LiveRun"]

_log = logging.getLogger(__name__)


class LiveRun:
    """One simulation job running on a thread; its live scene and, once done, its results.

    Parameters
    ----------
    start
        Runs the job to its end and returns its :class:`Simulation`; called on a thread with two hooks: a
        callback that receives the job id once the job exists, and an event that cancels the job when set.
    project_dir
        The project's folder (where the job's live checkpoints are written).
    interval_s
        How often ``show()``'s pane looks for a new checkpoint.
    """

    def __init__(self, start: Callable[[Callable[[str], None], threading.Event], Simulation], project_dir: Path, *,
                 interval_s: float) -> None:
        self.project_dir, self.interval_s = Path(project_dir), float(interval_s)
        self.job_id: str | None = None
        self._created = threading.Event()
        self._cancel = threading.Event()
        self._flow = LiveFlow()
        self._views: list[Any] = []
        self._callbacks: list[Any] = []
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="rhinoapp-live-run")
        self._future: Future[Simulation] = self._executor.submit(start, self._job_created, self._cancel)
        self._future.add_done_callback(lambda _future: self._created.set())  # a job that failed to start
        self._executor.shutdown(wait=False)

    def _job_created(self, job_id: str) -> None:
        self.job_id = job_id
        self._flow.follow(ProjectLayout(self.project_dir).live(job_id))
        self._created.set()

    @property
    def done(self) -> bool:
        """Whether the run has ended (finished, failed or cancelled)."""
        return self._future.done()

    def result(self, timeout_s: float | None = None) -> Simulation:
        """Wait for the run and return its results; raises :class:`~rhinoapp.api.jobs.JobFailed` if it failed."""
        return self._future.result(timeout_s)

    def cancel(self) -> None:
        """Stop the run at its next progress report (``result()`` then raises JobFailed)."""
        self._cancel.set()

    def scene(self) -> SceneSpec | None:
        """What the 3D view shows now: the finished run, or the latest live checkpoint (``None``: none yet)."""
        if self._future.done() and self._future.exception() is None:
            run = self._future.result()
            return SceneSpec(surface=str(run.files.surface), flow=str(run.files.fields), streamlines=True,
                             colouring=Colouring.PRESSURE, title=f"Run {run.run_id}")
        return self._flow.scene()

    def refresh(self) -> bool:
        """Look for a new live checkpoint (or the end of the run); returns whether the scene changed.

        ``show()``'s pane calls it every ``interval_s``; it updates every pane that ``show()`` made.
        """
        ended = self._future.done()
        found = None if ended or self._flow.folder is None else read_live_checkpoint(self._flow.folder)
        changed = ended or (found is not None and self._flow.update(found.step))
        if changed:
            scene = self.scene()
            for view in self._views:
                if scene is not None and view.scene != scene:
                    view.scene = scene
        if ended:
            for callback in self._callbacks:
                callback.stop()
            self._callbacks.clear()
        return changed

    def show(self, *, height: int = 420) -> Any:
        """The live 3D pane for a notebook: the running flow, refreshed every ``interval_s``, then the results."""
        import panel as pn

        from rhinoapp.api.pane import Pane3D

        view = Pane3D(self.scene(), height=height)
        self._views.append(view)
        if not self._future.done():
            def tick() -> None:
                self.refresh()

            self._callbacks.append(pn.state.add_periodic_callback(tick, period=max(200, int(self.interval_s * 1000))))
        return view
