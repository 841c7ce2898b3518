"""The Projects page: table with workflow status, search, new-project form, rename and delete."""

from __future__ import annotations

import html

import pandas as pd
import panel as pn
import param

from rhinoapp.core.workflow import Step
from rhinoapp.state.projects import ProjectsState
from rhinoapp.views.alerts import message_alert
from rhinoapp.views.assets import legend_html, read_asset, status_html
from rhinoapp.views.swap import swapping

__all__ = ["ProjectsPage"]

_STATUS_COLUMNS = {Step.DICOM: "DICOM", Step.RHINOMANOMETRY: "4PR", Step.GEOMETRY: "Geometry",
                   Step.SIMULATION: "Simulation", Step.ANALYSIS: "Analysis"}
_BUTTONS = {"open": "Open", "rename": "Rename", "delete": "Delete"}
#: The narrowest each column may get (its title and sort arrow fit); texts wrap, and Name and Description
#: take most of the width left over. Below the sum the table scrolls sideways inside its card, not the page.
_MIN_WIDTHS = {"Date": 100, "Name": 150, "Description": 180, "DICOM": 90, "4PR": 72, "Geometry": 110,
               "Simulation": 120, "Analysis": 105, "Last active": 145}
_GROW = {"Name": 2, "Description": 3}
#: Tabulator's column settings: the button columns (no field of their own) get the default minimum.
_CONFIGURATION = {
    "columnDefaults": {"minWidth": 80},
    "columns": [{"field": field, "minWidth": width, "widthGrow": _GROW.get(field, 1), "cssClass": "rh-wrap"}
                for field, width in _MIN_WIDTHS.items()],
}


def _frame(state: ProjectsState) -> pd.DataFrame:
    records = [
        {
            "Date": row.project.created.strftime("%Y-%m-%d"),
            "Name": html.escape(row.project.name),
            "Description": html.escape(row.project.description),
            **{label: status_html(row.statuses[step]) for step, label in _STATUS_COLUMNS.items()},
            "Last active": row.last_active.astimezone().strftime("%Y-%m-%d %H:%M"),
        }
        for row in state.rows
    ]
    columns = ["Date", "Name", "Description", *_STATUS_COLUMNS.values(), "Last active"]
    return pd.DataFrame(records, columns=columns, index=pd.Index([r.project.id for r in state.rows], name="id"))


class ProjectsPage(pn.viewable.Viewer):
    """Widgets over a :class:`ProjectsState`; all behaviour lives in the state."""

    state = param.ClassSelector(class_=ProjectsState)

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        css = [read_asset("style.css")]
        self._table = pn.widgets.Tabulator(
            _frame(self.state), show_index=False, disabled=True, selectable=False, pagination="local",
            page_size=self.state.page_size, buttons=_BUTTONS, sizing_mode="stretch_width", stylesheets=css,
            formatters={label: {"type": "html"} for label in _STATUS_COLUMNS.values()} | {"Name": {"type": "html"}, "Description": {"type": "html"}},
            header_align="left", layout="fit_columns", configuration=_CONFIGURATION,
        )
        self._table.on_click(self._on_click)
        self.state.param.watch(self._sync_rows, "rows")
        self.state.param.watch(lambda e: setattr(self._table, "page_size", e.new), "page_size")

    def _sync_rows(self, _event: param.parameterized.Event) -> None:
        self._table.value = _frame(self.state)

    def _on_click(self, event: object) -> None:
        column, row = getattr(event, "column", None), getattr(event, "row", None)
        if column not in _BUTTONS or row is None:
            return
        project_id = str(self._table.value.index[row])
        {"open": self.state.open_project, "rename": self.state.start_rename,
         "delete": self.state.request_delete}[column](project_id)

    def _form(self) -> pn.viewable.Viewable:
        name = pn.widgets.TextInput.from_param(self.state.param.new_name, label="Name", description=None,
                                               placeholder="Project name, e.g. Case 12 pre-op", width=260)
        description = pn.widgets.TextInput.from_param(self.state.param.new_description, label="Description",
                                                      description=None, placeholder="Optional: what this case is about",
                                                      sizing_mode="stretch_width")
        create = pn.widgets.Button(label="Create project", color="primary", align="end")
        create.on_click(lambda _e: self.state.create_project())
        return pn.Card(pn.Row(name, description, create, sizing_mode="stretch_width"), title="New project",
                       collapsible=False, sizing_mode="stretch_width")

    def _feedback(self) -> pn.viewable.Viewable:
        if not self.state.feedback:
            return pn.Spacer(height=0)
        return message_alert(self.state.feedback, self.state.feedback_kind, "rh-feedback")

    async def _confirm_delete(self, _event: object) -> None:
        await self.state.confirm_delete()  # stops the project's jobs first: the feedback says so meanwhile

    def _pending(self) -> pn.viewable.Viewable:
        cancel = pn.widgets.Button(label="Cancel", color="light")
        cancel.on_click(lambda _e: self.state.cancel())
        if self.state.rename_target is not None:
            new_name = pn.widgets.TextInput.from_param(self.state.param.rename_name, label="New name")
            save = pn.widgets.Button(label="Save name", color="primary")
            save.on_click(lambda _e: self.state.confirm_rename())
            return pn.Row(new_name, save, cancel, align="end")
        if self.state.delete_target is not None:
            name = next((r.project.name for r in self.state.rows if r.project.id == self.state.delete_target), "")
            confirm = pn.widgets.Button(label="Delete project and its files", color="danger",
                                        disabled=self.state.param.deleting)
            confirm.on_click(self._confirm_delete)
            text = pn.pane.Alert(f'Delete project "{name}" with all its images, geometry and results?'
                                 " This cannot be undone.", alert_type="warning")
            return pn.Column(text, pn.Row(confirm, cancel))
        return pn.Spacer(height=0)

    def _search_note(self) -> pn.viewable.Viewable:
        if not self.state.search_note:
            return pn.Spacer(height=0)
        return pn.pane.HTML(f'<p class="rh-search-note">{html.escape(self.state.search_note)}</p>', margin=(0, 10))

    def __panel__(self) -> pn.viewable.Viewable:
        # The table follows each key typed (value_input), not only Enter or leaving the box.
        search = pn.widgets.TextInput(label="Search", value=self.state.search, placeholder="Name or description",
                                      width=260, css_classes=["rh-search"])
        search.param.watch(lambda event: setattr(self.state, "search", event.new), "value_input")
        page_size = pn.widgets.Select.from_param(self.state.param.page_size, label="Rows per page",
                                                 description=None, width=120)
        legend = pn.pane.HTML(legend_html(), stylesheets=[read_asset("style.css")])
        return pn.Column(
            pn.pane.Markdown("## Projects"), self._form(),
            swapping(self._feedback, self.state, "feedback", "feedback_kind", sizing_mode="stretch_width", margin=0),
            pn.Row(search, page_size),
            swapping(self._search_note, self.state, "search_note", sizing_mode="stretch_width", margin=0),
            swapping(self._pending, self.state, "rename_target", "delete_target", margin=0),
            self._table, legend, sizing_mode="stretch_width",
        )
