"""The Jobs page: run a job on the open project, follow live progress, cancel."""

from __future__ import annotations

import html

import pandas as pd
import panel as pn
import param

from rhinoapp.core.workflow import JobKind
from rhinoapp.state.job_page import MessageKind
from rhinoapp.state.jobs import JobsState, JobSummary
from rhinoapp.views.alerts import message_alert
from rhinoapp.views.assets import read_asset
from rhinoapp.views.dispatch import bind_to_session

__all__ = ["JobsPage", "progress_html"]

_COLUMNS = ["Submitted", "Project", "Job", "State", "Progress", "Message", "Time left", "Duration", "Where"]
#: The narrowest each column may get; texts wrap, and Project, Message and Where take most of the width
#: left over. Below the sum the table scrolls sideways inside its card, so Cancel stays reachable.
_MIN_WIDTHS = {"Submitted": 150, "Project": 130, "Job": 150, "State": 90, "Progress": 140, "Message": 220,
               "Time left": 105, "Duration": 100, "Where": 140}
_GROW = {"Project": 2, "Message": 4, "Where": 2}
_CONFIGURATION = {
    "columnDefaults": {"minWidth": 85},  # the Cancel button column, which has no field of its own
    "columns": [{"field": field, "minWidth": width, "widthGrow": _GROW.get(field, 1), "cssClass": "rh-wrap"}
                for field, width in _MIN_WIDTHS.items()],
}


def progress_html(row: JobSummary) -> str:
    """A progress bar people and tests can read (``aria-valuenow`` is the percentage)."""
    percent = round(100 * row.progress)
    return (f'<div class="rh-progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" '
            f'aria-valuenow="{percent}" data-job="{row.id}"><div style="width:{percent}%"></div>'
            f"<span>{percent} %</span></div>")


def _message_html(row: JobSummary) -> str:
    """The job's message, and the options it ran with on a second line."""
    options = (f'<br><span class="rh-job-options" data-job="{row.id}">Options: {html.escape(row.options)}</span>'
               if row.options else "")
    return f"{html.escape(row.message)}{options}"


def _frame(rows: list[JobSummary]) -> pd.DataFrame:
    records = [{
        "Submitted": row.submitted, "Project": html.escape(row.project), "Job": row.what,
        "State": f'<span class="rh-job-state" data-state="{row.state.value}" data-job="{row.id}">{row.state.value}</span>',
        "Progress": progress_html(row), "Message": _message_html(row), "Time left": row.eta,
        "Duration": row.duration, "Where": html.escape(row.where),
    } for row in rows]
    return pd.DataFrame(records, columns=_COLUMNS, index=pd.Index([r.id for r in rows], name="id"))


class JobsPage(pn.viewable.Viewer):
    """Widgets over a :class:`JobsState`; it follows the user's job events while shown."""

    state = param.ClassSelector(class_=JobsState)

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self._table = pn.widgets.Tabulator(
            _frame(self.state.rows), show_index=False, disabled=True, selectable=False, sizing_mode="stretch_width",
            buttons={"cancel": "Cancel"}, formatters={c: {"type": "html"} for c in ("State", "Progress", "Project",
                                                                                     "Message", "Where")},
            layout="fit_columns", configuration=_CONFIGURATION, header_align="left",
            stylesheets=[read_asset("style.css")],
        )
        self._table.on_click(self._on_click)
        self.state.param.watch(lambda _e: setattr(self._table, "value", _frame(self.state.rows)), "rows")
        bind_to_session(self.state)

    async def _on_click(self, event: object) -> None:
        row = getattr(event, "row", None)
        if getattr(event, "column", None) != "cancel" or row is None:
            return
        job_id = str(self._table.value.index[row])
        summary = next((r for r in self.state.rows if r.id == job_id), None)
        if summary is not None and not summary.cancellable:
            self.state.param.update(message="That job has already finished.", message_kind=MessageKind.INFO)
            return
        await self.state.cancel(job_id)

    async def _run_check(self, _event: object) -> None:
        await self.state.submit(JobKind.VOLUME_HISTOGRAM, {"slabs": 40, "pace_s": 0.1})

    @param.depends("state.message", "state.message_kind")
    def _feedback(self) -> pn.viewable.Viewable:
        if not self.state.message:
            return pn.Spacer(height=0)
        return message_alert(self.state.message, self.state.message_kind, "rh-feedback")

    @param.depends("state.can_submit", "state.session.current_project_name")
    def _actions(self) -> pn.viewable.Viewable:
        run = pn.widgets.Button(label="Check the CT volume", color="primary", disabled=not self.state.can_submit,
                                description="Computes the HU histogram of the open project's CT as a job")
        run.on_click(self._run_check)
        project = self.state.session.current_project_name
        hint = (f"Runs on project <b>{html.escape(project)}</b>." if project
                else "Open a project on the Projects page to run jobs on it.")
        if self.state.session.runner is None:
            hint = "Jobs run only in the served app (rhinoapp serve)."
        return pn.Row(run, pn.pane.HTML(hint, align="center"))

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(pn.pane.Markdown("## Jobs"), self._actions, self._feedback, self._table,
                         sizing_mode="stretch_width")
