"""Logins, per-user access on every route, sharing and escaped markup, against a real `rhinoapp serve` in Chromium.

The server runs with local accounts (so it asks for a login): ana (admin) owns a project whose
description is a script payload and has a job record; bob and carol are plain users. The route test
takes its routes from the route table :func:`rhinoapp.app.make_server` builds, so a route added
later is checked too.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path

import panel as pn
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from tornado.routing import PathMatches

from rhinoapp.app import auth_provider, make_server
from rhinoapp.config import Settings
from rhinoapp.core.access import AuditAction, AuditOutcome
from rhinoapp.core.workflow import JobKind
from rhinoapp.store.accounts import AccountStore
from rhinoapp.store.audit import AuditLog, AuditQuery
from rhinoapp.store.database import open_store
from rhinoapp.store.jobs import JobStore
from rhinoapp.store.repository import ProjectRepository
from tests.test_app import free_port, wait_for_http
from tests.views.navigation import click_until, go_to
from tests.waiting import HANG_S, wait_until

pytestmark = pytest.mark.browser

PAYLOAD = '<img src=x onerror="window.__rhXss=1"><script>window.__rhXss=2</script>'
PASSWORDS = {"ana": "ana's long password", "bob": "bob's long password", "carol": "carol's long password",
             "dave": "dave's long password", "frank": "frank's long password"}
PUBLIC = ("/login", "/logout", "/static/", "/assets/", "/favicon.ico")


@dataclass(frozen=True)
class Served:
    url: str
    data: Path
    project_id: str
    project_name: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("data")
    store = open_store(Settings(data_dir=data))
    accounts = AccountStore(store)
    for name, password in PASSWORDS.items():
        accounts.add(name, password, admin=name == "ana")
    accounts.set_groups("carol", ["ent"])
    project = ProjectRepository(store, owner="ana").create("Alpha case 1", PAYLOAD)
    JobStore(store).create(owner="ana", project_id=project.id, kind=JobKind.VOLUME_HISTOGRAM, profile="local")
    store.close()
    port = free_port()
    log = (tmp_path_factory.mktemp("log") / "serve.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "rhinoapp", "serve", "--data-dir", str(data), "--port", str(port)],
                               env={**os.environ, "RHINOAPP_DEMO": "false"}, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_http(url + "login", timeout=HANG_S)
        yield Served(url, data, project.id, project.name)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
        log.close()


def sign_in(browser, served: Served, user: str, password: str | None = None):
    context = browser.new_context(viewport={"width": 1360, "height": 820})
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(served.url)
    page.get_by_role("heading", name="Sign in").wait_for()  # every page sends a stranger to the login
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password or PASSWORDS[user])
    page.get_by_role("button", name="Sign in").click()
    return context, page


def share_with(page, name: str, *, group: bool = False) -> None:
    """Share the open project from the sharing card with the user (or the group) ``name``, as viewer.

    The card's form is no longer redrawn when shares are read, but in this test the Projects page
    was still seen replaced by the CT page after the sharing card had shown (cause not found yet):
    typing and pressing again until the share is listed keeps the test independent of that.
    """
    whom = f"group {name}" if group else name

    def shared() -> bool:
        try:
            if group:
                page.locator(".rh-share-with select").select_option("Group", timeout=10_000)
            field = page.get_by_placeholder("Account or group name")
            field.fill(name, timeout=10_000)
            field.press("Tab", timeout=10_000)
            page.get_by_role("button", name="Share", exact=True).dispatch_event("click", timeout=10_000)
            page.locator(".rh-share", has_text=f"{whom}: viewer").wait_for(timeout=10_000)
        except PlaywrightTimeoutError:
            if page.locator(".rh-share-role").count() == 0:  # another page is shown: back to Projects
                page.get_by_role("button", name="Projects", exact=True).click()
            return False
        return True

    wait_until(shared, what=f"the project to be shared with {whom}", ceiling_s=HANG_S, interval_s=0)


def audit(served: Served, **query: object) -> list:
    store = open_store(Settings(data_dir=served.data))
    try:
        return AuditLog(store).events(AuditQuery(**query))
    finally:
        store.close()


def test_login_logout_and_a_wrong_password_refused_and_audited(browser, served: Served) -> None:
    context, page = sign_in(browser, served, "bob", "not bob's password")
    page.get_by_role("alert").filter(has_text="Wrong user name or password.").wait_for()
    assert page.get_by_role("heading", name="Projects").count() == 0
    [failure] = audit(served, user="bob", action=AuditAction.LOGIN)
    assert failure.outcome is AuditOutcome.FAILURE and failure.remote == "127.0.0.1"
    cookie = next(c for c in context.cookies() if c["name"] == "_xsrf")
    assert cookie["httpOnly"]
    context.close()

    context, page = sign_in(browser, served, "bob")
    page.get_by_role("heading", name="Projects").wait_for()
    page.locator(".rh-user", has_text="bob").wait_for()
    user_cookie = next(c for c in context.cookies() if c["name"] == "user")
    assert user_cookie["httpOnly"] and user_cookie["sameSite"] == "Lax" and user_cookie["expires"] > 0
    assert served.project_name not in page.content()  # ana's project is not bob's
    page.goto(served.url + "logout")  # a link to the logout page (a bookmark, another site) only asks
    page.get_by_role("heading", name="Sign out").wait_for()
    page.go_back()
    page.get_by_role("heading", name="Projects").wait_for()  # still signed in
    page.get_by_role("button", name="Sign out").click()  # the header's form posts the XSRF token
    page.get_by_role("heading", name="Signed out").wait_for()
    assert not [c for c in context.cookies() if c["name"] == "user" and c["value"]]
    page.goto(served.url)
    page.get_by_role("heading", name="Sign in").wait_for()
    actions = [(e.action, e.outcome) for e in audit(served, user="bob")]
    assert actions[:3] == [(AuditAction.LOGOUT, AuditOutcome.SUCCESS), (AuditAction.LOGIN, AuditOutcome.SUCCESS),
                           (AuditAction.LOGIN, AuditOutcome.FAILURE)]
    context.close()


def test_an_admin_adds_a_user_on_the_users_page_who_then_signs_in(browser, served: Served) -> None:
    context, page = sign_in(browser, served, "ana")
    page.get_by_role("heading", name="Projects").wait_for()
    go_to(page, "Users", page.get_by_role("heading", name="Users"))
    page.locator(".rh-users-table").get_by_text("carol", exact=True).wait_for()  # the accounts are listed
    for placeholder, text in (("Account name", "erin"), ("at least 10 characters", "erin's long password"),
                              ("the same again", "erin's long password")):
        field = page.get_by_placeholder(placeholder)
        field.fill(text)
        field.press("Tab")
    page.get_by_role("button", name="Add account").click()
    page.get_by_text("Added erin.").wait_for()
    page.locator(".rh-users-table").get_by_text("erin", exact=True).wait_for()
    context.close()
    assert [e.detail for e in audit(served, user="ana", action=AuditAction.ACCOUNT)] == ["add:erin"]

    context, page = sign_in(browser, served, "erin", "erin's long password")
    page.get_by_role("heading", name="Projects").wait_for()
    page.locator(".rh-user", has_text="erin").wait_for()
    assert page.get_by_role("button", name="Users").count() == 0  # not an admin
    context.close()


def app_routes(tmp: Path) -> list[str]:
    """Paths for every route of the server ``rhinoapp serve`` builds, groups filled with an id-like word."""
    settings = Settings(data_dir=tmp, port=free_port())
    store = open_store(settings)
    AccountStore(store).add("someone", "a long password")
    asyncio.set_event_loop(asyncio.new_event_loop())
    server = make_server({"/": lambda: pn.pane.Markdown("app")}, settings,
                         auth=auth_provider(settings, store))

    def walk(router: object) -> Iterator[str]:
        for rule in getattr(router, "rules", []):
            if isinstance(rule.matcher, PathMatches):
                yield rule.matcher.regex.pattern
            yield from walk(rule.target)

    try:
        patterns = sorted(set(walk(server._tornado.default_router)))
    finally:
        server.stop()
        store.close()
    paths = []
    for pattern in patterns:
        path = re.sub(r"\(\?!.*?\)", "", pattern).rstrip("$").replace("/?", "/").replace("\\.", ".")
        word = "t0123456789abcdef01234567" if path.startswith(("/render/", "/render-relay/")) else "abcdef0123456789"
        paths.append(re.sub(r"\([^)]*\)", word, path))  # a render route's group: a trame view id
    assert {"/", "/ws", "/login", "/health"} <= set(paths) and any(p.startswith("/render/") for p in paths)
    return paths


def fetch(url: str, opener: urllib.request.OpenerDirector) -> tuple[int, str]:
    try:
        with opener.open(url, timeout=60) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def post_login(served: Served, user: str, password: str, *, xsrf: bool = True) -> tuple[int, urllib.request.OpenerDirector]:
    """The status of a login form post (302: signed in) and the client holding its cookies."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect())
    _status, page = fetch(served.url + "login", opener)
    token = re.search(r'name="_xsrf" value="([^"]+)"', page).group(1) if xsrf else ""
    body = urllib.parse.urlencode({"_xsrf": token, "username": user, "password": password}).encode()
    try:
        with opener.open(served.url + "login", data=body, timeout=60) as response:
            return response.status, opener
    except urllib.error.HTTPError as error:
        return error.code, opener


def signed_in_opener(served: Served, user: str) -> urllib.request.OpenerDirector:
    status, opener = post_login(served, user, PASSWORDS[user])
    assert status == 302, status  # redirected to the app: signed in
    return opener


def test_login_needs_the_xsrf_token_and_repeated_failures_are_rate_limited(served: Served) -> None:
    assert post_login(served, "dave", PASSWORDS["dave"], xsrf=False)[0] == 403
    assert [post_login(served, "dave", "a wrong password")[0] for _ in range(5)] == [401] * 5
    assert post_login(served, "dave", PASSWORDS["dave"])[0] == 429  # even the right password waits now
    outcomes = [e.outcome for e in audit(served, user="dave", action=AuditAction.LOGIN)]
    assert outcomes == [AuditOutcome.DENIED, *[AuditOutcome.FAILURE] * 5]


def test_logout_needs_a_post_with_the_xsrf_token(served: Served) -> None:
    opener = signed_in_opener(served, "frank")
    status, page = fetch(served.url + "logout", opener)  # what a cross-site link or image does
    assert status == 200 and "Sign out of rhinoapp?" in page
    token = re.search(r'name="_xsrf" value="([^"]+)"', page).group(1)
    for form in ({}, {"_xsrf": "2|00000000|" + "0" * 64 + "|0"}):  # no token, a made-up one
        try:
            with opener.open(served.url + "logout", data=urllib.parse.urlencode(form).encode(), timeout=60):
                raise AssertionError("a logout without the token was accepted")
        except urllib.error.HTTPError as error:
            assert error.code == 403
    assert fetch(served.url, opener)[0] == 200  # still signed in
    assert not audit(served, user="frank", action=AuditAction.LOGOUT)
    with opener.open(served.url + "logout", data=urllib.parse.urlencode({"_xsrf": token}).encode(), timeout=60) as done:
        assert "You have signed out" in done.read().decode()
    assert fetch(served.url, opener)[0] == 302  # sent to the login page
    assert [e.outcome for e in audit(served, user="frank", action=AuditAction.LOGOUT)] == [AuditOutcome.SUCCESS]


def test_every_route_refuses_strangers_and_shows_no_other_users_things(browser, served: Served) -> None:
    paths = app_routes(Path(tempfile.mkdtemp()))
    stranger = urllib.request.build_opener(_NoRedirect())
    bob = signed_in_opener(served, "bob")
    for path in paths:
        url = served.url.rstrip("/") + path
        status, body = fetch(url, stranger)
        if not path.startswith(PUBLIC):
            assert status in (302, 403), (path, status)
        assert served.project_id not in body and served.project_name not in body, path
        status, body = fetch(url, bob)
        if path.startswith("/render/"):
            # an id of no view of bob's, without its key: refused, or unknown (GET /logout signed bob out
            # before the render routes until logout became a post, so only 403 "Sign in first" was seen)
            assert status in (403, 404), (path, status)
        assert served.project_id not in body and served.project_name not in body, path

    context, page = sign_in(browser, served, "bob")
    page.get_by_role("heading", name="Projects").wait_for()
    go_to(page, "Jobs", page.get_by_role("heading", name="Jobs"))
    assert served.project_name not in page.content()  # ana's job is neither listed nor cancellable
    assert page.get_by_role("button", name="Audit").count() == 0  # not an admin
    context.close()


def test_sharing_as_viewer_grants_read_only_access_and_revoking_removes_it(browser, served: Served) -> None:
    ana_context, ana = sign_in(browser, served, "ana")
    row = ana.locator(".tabulator-row", has_text=served.project_name)
    # the project opens on its first open step (whichever page that is): the header names it
    click_until(row.get_by_text("Open"), ana.locator(".rh-project", has_text=f"Project: {served.project_name}"),
                what="the project to open")
    go_to(ana, "Projects", ana.locator(".rh-share-role", has_text="owner"))
    share_with(ana, "carol")

    carol_context, carol = sign_in(browser, served, "carol")
    carol_row = carol.locator(".tabulator-row", has_text=served.project_name)
    carol_row.wait_for()
    click_until(carol_row.get_by_text("Rename"), carol.get_by_role("button", name="Save name"), what="the rename form")
    carol.get_by_role("button", name="Save name").click()
    carol.get_by_text("is shared with carol as viewer").first.wait_for()

    ana.get_by_role("button", name="Revoke carol").click()
    ana.get_by_text("carol no longer sees this project.").wait_for()
    carol.reload()
    carol.get_by_role("heading", name="Projects").wait_for()
    assert served.project_name not in carol.content()

    share_with(ana, "ent", group=True)  # carol is in the group ent
    carol.reload()
    carol.locator(".tabulator-row", has_text=served.project_name).wait_for()
    ana.get_by_role("button", name="Revoke group ent").click()
    ana.get_by_text("Group ent no longer sees this project.").wait_for()
    shares = [(e.action, e.detail) for e in audit(served, user="ana")
              if e.action in (AuditAction.SHARE, AuditAction.UNSHARE)]
    assert shares[:4] == [(AuditAction.UNSHARE, "group"), (AuditAction.SHARE, "group-viewer"),
                          (AuditAction.UNSHARE, ""), (AuditAction.SHARE, "viewer")]
    carol_context.close()
    ana_context.close()


def test_markup_in_a_description_is_shown_as_text_on_every_page(browser, served: Served) -> None:
    context, page = sign_in(browser, served, "ana")
    page.get_by_role("heading", name="Projects").wait_for()
    page.locator(".tabulator-cell", has_text=PAYLOAD).wait_for()  # the payload as text
    row = page.locator(".tabulator-row", has_text=served.project_name)
    click_until(row.get_by_text("Open"), page.locator(".rh-project", has_text=f"Project: {served.project_name}"),
                what="the project to open")
    for name in ("Projects", "CT", "Geometry", "Simulations", "Analysis", "Jobs", "Audit"):
        shown = (page.get_by_text("No CT stored in this project yet.") if name == "CT"
                 else page.get_by_role("heading", name={"Analysis": "Rhinomanometry (4PR)", "Audit": "Audit log"}.get(name, name)))
        go_to(page, name, shown.first)
        assert page.locator('img[src="x"]').count() == 0 and page.evaluate("window.__rhXss") is None, name
    page.locator(".rh-audit-table").get_by_text("login").first.wait_for()  # the admin's audit page lists events
    go_to(page, "Projects", page.locator(".tabulator-cell", has_text=PAYLOAD))
    assert page.locator('img[src="x"]').count() == 0 and page.evaluate("window.__rhXss") is None
    context.close()
