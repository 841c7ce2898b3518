"""The live 3D view of a running simulation: which live checkpoint to show, as a :class:`SceneSpec`.

A simulation job with ``live_interval_s`` writes live checkpoints (:mod:`rhinoapp.cfd.live`) into
``ProjectLayout.live(job_id)``; its progress reports carry the step of the latest one
(``ProgressReport.live_step``). :class:`LiveFlow` follows one job: given each report's step it reads
the checkpoint's manifest only when the step changed, and gives the scene of the wall pressure and
the streamlines of the velocity at that step.
"""

from __future__ import annotations

from pathlib import Path

from rhinoapp.cfd.live import LiveCheckpoint, read_live_checkpoint
from rhinoapp.render.spec import Colouring, SceneSpec

__all__ = ["LiveFlow"]


class LiveFlow:
    """Follows the live checkpoints in one folder (a running job's) for the 3D view.

    Examples
    --------
    >>> import tempfile
    >>> live = LiveFlow()
    >>> live.follow(Path(tempfile.mkdtemp()))
    >>> live.update(None), live.update(120), live.scene() is None  # no checkpoint on disk yet
    (False, False, True)
    """

    def __init__(self) -> None:
        self.folder: Path | None = None
        self.checkpoint: LiveCheckpoint | None = None

    def follow(self, folder: Path | None) -> None:
        """Follow the checkpoints in ``folder`` (``None``: stop; no live scene)."""
        if folder != self.folder:
            self.folder, self.checkpoint = folder, None

    def update(self, live_step: int | None) -> bool:
        """Read the latest checkpoint if ``live_step`` (a progress report's) is newer than the one shown;
        returns whether there is a new one to show."""
        if self.folder is None or live_step is None:
            return False
        if self.checkpoint is not None and self.checkpoint.step >= live_step:
            return False
        found = read_live_checkpoint(self.folder)
        if found is None or (self.checkpoint is not None and found.step <= self.checkpoint.step):
            return False
        self.checkpoint = found
        return True

    def scene(self) -> SceneSpec | None:
        """The scene of the latest checkpoint: the wall coloured by pressure, streamlines of the velocity."""
        if self.folder is None or self.checkpoint is None:
            return None
        point = self.checkpoint
        return SceneSpec(surface=str(point.surface), flow=str(point.fields), streamlines=True,
                         colouring=Colouring.PRESSURE, title=f"running: step {point.step:,}",
                         revision=f"live-{point.step}")
