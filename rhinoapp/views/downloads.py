"""Download buttons: a run's results on the Simulations page, a 4PR measurement's on the Analysis page.

Each button builds its file when clicked (:mod:`rhinoapp.state.downloads`, for the session's user)
and names it by project, run or measurement and date.
"""

from __future__ import annotations

import functools
import io
import typing
from collections.abc import Callable

import panel as pn
import param

from rhinoapp.state.downloads import Download, MeasurementFile, RunFile, measurement_download, run_download
from rhinoapp.state.rhinomanometry import RhinomanometryState
from rhinoapp.state.simulations import SimulationsState

__all__ = ["MeasurementDownloads", "RunDownloads", "download_button"]


def download_button(label: str, css: str, fetch: Callable[[], Download], problem: Callable[[str], None]) -> pn.widgets.FileDownload:
    """A button that builds ``fetch``'s file when clicked (or a text file saying why not, also told to ``problem``)."""
    button = pn.widgets.FileDownload(label=label, filename=f"{css}.txt",
                                     css_classes=["rh-download", css], width=230, margin=(4, 6))

    def build() -> io.BytesIO:
        download = fetch()
        problem(download.problem)
        if download.file is None:  # a file that says why, rather than nothing at all
            button.filename = "download-problem.txt"
            return io.BytesIO(download.problem.encode("utf-8"))
        button.filename = download.file.name
        return io.BytesIO(download.file.content)

    button.callback = build
    return button


def _css(kind: RunFile | MeasurementFile) -> str:
    return f"rh-download-{kind.name.lower().replace('_', '-')}"


class _Downloads(pn.viewable.Viewer):
    problem = param.String(default="", doc="Why the last download failed, if it did.")

    def _say(self, text: str) -> None:
        self.problem = text

    @param.depends("problem")
    def _problem(self) -> pn.viewable.Viewable:
        if not self.problem:
            return pn.Spacer(height=0)
        return pn.pane.Alert(self.problem, alert_type="danger", css_classes=["rh-download-problem"],
                             sizing_mode="stretch_width")


class RunDownloads(_Downloads):
    """The shown run's files: results JSON and CSV tables, fields for ParaView, wall surface, convergence, zip."""

    state = param.ClassSelector(class_=SimulationsState)

    def _fetch(self, kind: RunFile) -> Download:
        state = typing.cast(SimulationsState, self.state)  # set by the page
        return run_download(state.session, state.selected, kind)

    def __panel__(self) -> pn.viewable.Viewable:
        buttons = [download_button(kind.label, _css(kind), functools.partial(self._fetch, kind), self._say) for kind in RunFile]
        note = ("Files are named by project, run and date. Fields (.vti) and wall surface (.vtp) open in "
                "ParaView; tables in any spreadsheet.")
        return pn.Column(pn.pane.Markdown("### Download the results"), pn.FlexBox(*buttons),
                         pn.pane.HTML(f'<p class="rh-sim-note">{note}</p>', sizing_mode="stretch_width"),
                         self._problem, css_classes=["rh-run-downloads"], sizing_mode="stretch_width")


class MeasurementDownloads(_Downloads):
    """The shown 4PR measurement's parameters (CSV, JSON) and pressure-flow loops (CSV)."""

    state = param.ClassSelector(class_=RhinomanometryState)

    def _fetch(self, kind: MeasurementFile) -> Download:
        state = typing.cast(RhinomanometryState, self.state)  # set by the page
        return measurement_download(state.session, state.selected, kind, classes=state.classes)

    def __panel__(self) -> pn.viewable.Viewable:
        buttons = [download_button(kind.label, _css(kind), functools.partial(self._fetch, kind), self._say)
                   for kind in MeasurementFile]
        return pn.Column(pn.pane.Markdown("### Download this measurement's results"), pn.FlexBox(*buttons),
                         self._problem, visible=self.state.param.selected.rx.is_not(None),
                         css_classes=["rh-4pr-downloads"], sizing_mode="stretch_width")
