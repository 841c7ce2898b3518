"""Open a served page's session as a browser does: load the page, then connect with its token.

The app signs its session ids and refuses ids a client makes up, so ``bokeh.client.pull_session``
(which makes its own id and token) cannot connect; this client takes the signed token the server
put in the page, as the browser's BokehJS does, and needs no secret.
"""

from __future__ import annotations

import re
import urllib.request

from bokeh.client.session import ClientSession
from bokeh.client.util import websocket_url_for_server_url
from bokeh.util.token import get_session_id

_TOKEN = re.compile(r'"token":\s*"([A-Za-z0-9_\-.=]+)"')


class TokenSession(ClientSession):
    """A client session that connects with a given token (from a page, or made by a test)."""

    def __init__(self, token: str, server_url: str) -> None:
        self._given_token = token
        super().__init__(session_id=get_session_id(token), websocket_url=websocket_url_for_server_url(server_url))

    @property
    def token(self) -> str:
        return self._given_token


def page_token(url: str) -> str:
    """The session token in the page at ``url`` (loading it makes the session on the server)."""
    with urllib.request.urlopen(url, timeout=60) as response:
        page = response.read().decode()
    match = _TOKEN.search(page)
    assert match, "the page has no session token"
    return match.group(1)


def pull_page_session(url: str) -> TokenSession:
    """Load the page at ``url`` and pull its session's document (close it, or use ``with``)."""
    session = TokenSession(page_token(url), url)
    session.pull()
    return session
