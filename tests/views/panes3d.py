"""The pages' 3D panes in a browser, whichever way they are served (trame application or streamed frames)."""

from __future__ import annotations

from typing import Any

from tests.waiting import HANG_S


def wait_for_pane(page: Any, scope: str, *, timeout_s: float = HANG_S) -> Any:
    """The picture area of the 3D pane inside ``scope`` (a CSS selector), once it shows its scene.

    A trame pane has loaded its application (``.rh-trame[data-state=loaded]``); a streamed pane has
    received a frame (``.rh-rv-frame[data-seq]``).
    """
    either = page.locator(f"{scope} .rh-trame, {scope} .rh-rv-stage").first
    either.wait_for(timeout=1000 * timeout_s)
    if page.locator(f"{scope} .rh-trame").count():
        page.locator(f'{scope} .rh-trame[data-state="loaded"]').wait_for(timeout=1000 * timeout_s)
        return page.locator(f"{scope} .rh-trame")
    page.locator(f'{scope} .rh-rv[data-state="streaming"]').wait_for(timeout=1000 * timeout_s)
    page.locator(f"{scope} .rh-rv-frame[data-seq]").wait_for(timeout=1000 * timeout_s)
    return page.locator(f"{scope} .rh-rv-stage")


def scene_token(page: Any, scope: str) -> str | None:
    """Changes when the pane inside ``scope`` shows a new scene: the trame frame's address (it loads
    the application again) or the streamed frame's source (a new picture)."""
    if page.locator(f"{scope} .rh-trame-frame").count():
        return page.locator(f"{scope} .rh-trame-frame").get_attribute("src")
    return page.locator(f"{scope} .rh-rv-frame").get_attribute("src")
