"""Going to a page of the app in Chromium: click until what should show is visible.

A click that lands while the shell redraws the sidebar or the projects table (just after a project
opens or a row is added, on a loaded machine) can be lost. Clicking a page's button while that page
shows, or "Open" on the project already open, changes nothing, so the click is repeated until what
it should show is visible. The ceiling only catches a page that never comes.
"""

from __future__ import annotations

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.waiting import HANG_S, wait_until

__all__ = ["click_until", "go_to"]


def click_until(target, shown, *, what: str) -> None:
    """Click the locator ``target`` until the locator ``shown`` is visible."""

    def arrived() -> bool:
        target.click()
        try:
            shown.wait_for(timeout=10_000)
        except PlaywrightTimeoutError:
            return False
        return True

    wait_until(arrived, what=what, ceiling_s=HANG_S, interval_s=0)


def go_to(page, button: str, shown) -> None:
    """Click the sidebar button named ``button`` until the locator ``shown`` is visible."""
    click_until(page.get_by_role("button", name=button, exact=True), shown, what=f"the {button} page to show")
