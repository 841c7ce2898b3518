"""The "Next:" line under every page: what to do next in the open project, with a button to its page."""

from __future__ import annotations

import html

import panel as pn
import param

from rhinoapp.state.session import NextStep, Page, SessionState
from rhinoapp.views.swap import swapping

__all__ = ["NextLine"]


class NextLine(pn.viewable.Viewer):
    """One line that says what to do next (:meth:`SessionState.next_step`) and goes there on a click.

    It is read again when the page or the project changes and whenever :meth:`refresh` is called
    (after an import, a job's end). On the page where the next step is done, and while no project is
    open (every page then has its own button to the Projects page), the line has no button.
    """

    session = param.ClassSelector(class_=SessionState)
    revision = param.Integer(default=0, doc="Counts the refreshes asked for.")

    def refresh(self) -> None:
        """Read the project's status again (something was stored or a job ended)."""
        self.revision += 1

    def _go(self, target: Page) -> None:
        self.session.page = target.value

    def _line(self) -> pn.viewable.Viewable:
        step: NextStep = self.session.next_step()
        here = step.page.value == self.session.page
        where = "" if here else f" ({html.escape(step.page.value)} page)"
        text = pn.pane.HTML(f'<p class="rh-next" data-page="{html.escape(step.page.value)}"><b>Next:</b> '
                            f"{html.escape(step.text[:1].upper() + step.text[1:])}{where}.</p>",
                            margin=(0, 10), align="center")
        if here or self.session.current_project_id is None:  # the pages' own button goes to Projects then
            return pn.Row(text, sizing_mode="stretch_width", css_classes=["rh-next-line"])
        go = pn.widgets.Button(label=f"Go to {step.page.value}", color="primary", variant="outline",
                               css_classes=["rh-next-go"], align="center")
        go.on_click(lambda _event: self._go(step.page))
        return pn.Row(text, go, sizing_mode="stretch_width", css_classes=["rh-next-line"])

    def __panel__(self) -> pn.viewable.Viewable:
        session = self.session
        assert session is not None  # set by the shell
        column = swapping(self._line, session, "page", "current_project_id", sizing_mode="stretch_width",
                          margin=(8, 24, 0, 24))
        self.param.watch(lambda _event: setattr(column, "objects", [self._line()]), "revision")
        return column
