"""The Analysis page's simulation part: a run beside the 4PR measurement, and its wall in 3D."""

from __future__ import annotations

import html
import io

import panel as pn
import param

from rhinoapp.analysis import ComparisonRow
from rhinoapp.core.access import AuditAction
from rhinoapp.dicom.identity import project_pseudonym
from rhinoapp.report import project_report
from rhinoapp.state.analysis import AnalysisState
from rhinoapp.state.downloads import paraview_download
from rhinoapp.store.jobs import JobStore
from rhinoapp.views.downloads import download_button
from rhinoapp.views.trame_view import TrameView

__all__ = ["SimulationComparison", "comparison_html"]


def _value(number: float | None, unit: str) -> str:
    if number is None:
        return "–"
    return f"{number:.1f} {unit}" if unit == "%" else f"{number:.3f} {unit}"


def comparison_html(rows: list[ComparisonRow]) -> str:
    """The comparison as an HTML table (simulated, measured, ratio, note).

    Examples
    --------
    >>> "0.160 Pa·s/ml" in comparison_html([ComparisonRow("Resistance left", "Pa·s/ml", 0.16, 0.15)])
    True
    """
    body = "".join(
        f"<tr><td>{html.escape(r.quantity)}</td><td>{_value(r.simulated, r.unit)}</td>"
        f"<td>{_value(r.measured, r.unit)}</td><td>{'' if r.ratio is None else f'{r.ratio:.2f}'}</td>"
        f"<td>{html.escape(r.note)}</td></tr>" for r in rows)
    return ('<table class="rh-comparison"><thead><tr><th>Quantity</th><th>Simulation</th><th>4PR</th>'
            f"<th>Simulation / 4PR</th><th>Note</th></tr></thead><tbody>{body}</tbody></table>")


class SimulationComparison(pn.viewable.Viewer):
    """Run selector, comparison table and the airway wall coloured by WSS or pressure."""

    state = param.ClassSelector(class_=AnalysisState)

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self._view = TrameView(self.state.scene, height=480)
        self.state.param.watch(lambda e: setattr(self._view, "scene", e.new), "scene")
        self._download = pn.widgets.FileDownload(callback=self._report, filename="rhinoapp-report.pdf",
                                                 label="Download the report (PDF)",
                                                 css_classes=["rh-report-download"], width=260)
        self._paraview = download_button("Download for ParaView (.pvsm)", "rh-download-paraview",
                                         lambda: paraview_download(self.state.session, self.state.scene), self._say)
        self._problem = pn.pane.Alert("", alert_type="danger", visible=False, sizing_mode="stretch_width")
        self.state.session.param.watch(self._name_report, "current_project_id")
        self._name_report()

    def _name_report(self, *_: object) -> None:
        project_id = self.state.session.current_project_id
        self._download.filename = f"rhinoapp-report-{project_pseudonym(project_id)}.pdf" if project_id else "rhinoapp-report.pdf"
        self._download.disabled = project_id is None

    def _say(self, problem: str) -> None:
        self._problem.object, self._problem.visible = problem, bool(problem)

    def _report(self) -> io.BytesIO:
        """The clinician's report of the open project and the run shown (see :mod:`rhinoapp.report`)."""
        session = self.state.session
        repo = session.repository
        report = project_report(repo, session.current_project_id, jobs=JobStore(repo.store), run_id=self.state.run)
        session.audit(AuditAction.DOWNLOAD, session.current_project_id, detail="report")
        return io.BytesIO(report)

    @param.depends("state.rows", "state.message")
    def _table(self) -> pn.viewable.Viewable:
        parts = []
        if self.state.message:
            parts.append(pn.pane.Alert(self.state.message, alert_type="info", sizing_mode="stretch_width"))
        if self.state.rows:
            parts.append(pn.pane.HTML(comparison_html(self.state.rows), css_classes=["rh-comparison-table"],
                                      sizing_mode="stretch_width"))
        return pn.Column(*parts, sizing_mode="stretch_width")

    def __panel__(self) -> pn.viewable.Viewable:
        controls = pn.Row(pn.widgets.Select.from_param(self.state.param.run, description=None, width=260),
                          pn.widgets.RadioButtonGroup.from_param(self.state.param.colouring, description=None))
        return pn.Column(pn.pane.Markdown("## Simulation beside the rhinomanometry"), controls, self._table,
                         self._view, pn.FlexBox(self._download, pn.pane.Markdown(
                             "One PDF for the clinician: the case's pictures, results beside the healthy ranges, the "
                             "4PR comparison and the methods.")), pn.FlexBox(self._paraview, pn.pane.Markdown(
                             "The 3D scene above as a ParaView state with its data (a zip): open `scene.pvsm` in "
                             "ParaView 5.11 or newer.")), self._problem, sizing_mode="stretch_width")
