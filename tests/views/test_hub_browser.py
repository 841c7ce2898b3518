"""rhinoapp behind a real JupyterHub: the hub's login, its OAuth, and per-user projects, in Chromium.

A JupyterHub (DummyAuthenticator with a password, SQLite database in a temporary folder, its
configurable-http-proxy from npm) starts ``rhinoapp serve --jupyterhub`` as a hub-managed service.
ana (a hub admin) and bob each own a project made beforehand; each signs in to the hub from
``/services/rhinoapp/`` and arrives in rhinoapp signed in as themselves, seeing only their own project.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from rhinoapp.config import Settings
from rhinoapp.core.access import AuditAction, AuditOutcome
from rhinoapp.store.accounts import AccountStore
from rhinoapp.store.audit import AuditLog, AuditQuery
from rhinoapp.store.database import open_store
from rhinoapp.store.repository import ProjectRepository
from tests.test_app import free_port, wait_for_http
from tests.waiting import HANG_S

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "the hub's test password"
PROJECTS = {"ana": "Alpha case 1", "bob": "Bravo case 2"}
CONFIG = """
c = get_config()  # noqa: F821
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {hub_port}
c.JupyterHub.hub_port = {api_port}
c.JupyterHub.public_url = "http://127.0.0.1:{hub_port}/"
c.JupyterHub.db_url = "sqlite:///{tmp}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{tmp}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = "{tmp}/jupyterhub.pid"
c.ConfigurableHTTPProxy.command = ["{chp}"]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.pid_file = "{tmp}/proxy.pid"
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {password!r}
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {{"ana"}}
c.JupyterHub.services = [{{
    "name": "rhinoapp",
    "url": "http://127.0.0.1:{service_port}",
    "command": [{python!r}, "-m", "rhinoapp", "serve", "--jupyterhub", "--data-dir", "{data}"],
    "environment": {{"RHINOAPP_DEMO": "false", "PYTHONPATH": {pythonpath!r}}},
    "oauth_no_confirm": True,
}}]
c.JupyterHub.load_roles = [{{"name": "user", "scopes": ["self", "access:services!service=rhinoapp"]}}]
"""


def proxy_command() -> str:
    """configurable-http-proxy: on PATH, in .tools/ (scripts/install-chp.sh), or installed there now as root."""
    local = ROOT / ".tools" / "node_modules" / ".bin" / "configurable-http-proxy"
    found = shutil.which("configurable-http-proxy") or (str(local) if local.exists() else None)
    if found is None and os.geteuid() == 0 and shutil.which("npm"):
        subprocess.run(["bash", str(ROOT / "scripts" / "install-chp.sh")], check=True, timeout=600)
        found = str(local)
    if found is None:
        pytest.skip("configurable-http-proxy (npm) is missing: run `bash scripts/install-system-deps.sh` as root "
                    "(Node.js and npm), then `bash scripts/install-chp.sh`")
    return found


@dataclass(frozen=True)
class Hub:
    url: str
    data: Path


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    chp = proxy_command()
    tmp, data = tmp_path_factory.mktemp("hub"), tmp_path_factory.mktemp("data")
    store = open_store(Settings(data_dir=data))
    for owner, name in PROJECTS.items():
        ProjectRepository(store, owner=owner).create(name, "")
    store.close()
    hub_port = free_port()
    config = CONFIG.format(hub_port=hub_port, api_port=free_port(), proxy_api_port=free_port(),
                           service_port=free_port(), tmp=tmp, data=data, chp=chp, password=PASSWORD,
                           python=sys.executable, pythonpath=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    (tmp / "jupyterhub_config.py").write_text(config)
    log = (tmp / "hub.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(tmp / "jupyterhub_config.py")], cwd=tmp,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{hub_port}/"
    try:
        wait_for_http(url + "services/rhinoapp/login", timeout=HANG_S)  # through the hub's login page once both are up
        yield Hub(url, data)
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the hub stops its service and its proxy
        try:
            process.wait(timeout=30)
        finally:
            log.close()
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def sign_in(browser, hub: Hub, user: str):
    context = browser.new_context(viewport={"width": 1360, "height": 820})
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(hub.url + "services/rhinoapp/")  # sent to rhinoapp's login, the hub's OAuth, then the hub's login
    page.locator("#username_input").fill(user)
    page.locator("#password_input").fill(PASSWORD)
    page.locator("#login_submit").click()
    page.locator(".rh-user", has_text=user).wait_for()  # back in rhinoapp, signed in as this hub user
    return context, page


def audit(hub: Hub, user: str, action: AuditAction) -> list:
    store = open_store(Settings(data_dir=hub.data))
    try:
        return AuditLog(store).events(AuditQuery(user=user, action=action))
    finally:
        store.close()


def test_hub_users_sign_in_through_the_hub_and_see_only_their_projects(browser, hub: Hub) -> None:
    ana, ana_page = sign_in(browser, hub, "ana")
    assert ana_page.url == hub.url + "services/rhinoapp/"
    ana_page.get_by_text(PROJECTS["ana"]).first.wait_for()
    bob, bob_page = sign_in(browser, hub, "bob")
    bob_page.get_by_text(PROJECTS["bob"]).first.wait_for()
    assert PROJECTS["ana"] not in bob_page.content()  # ana's project is not bob's
    user_cookie = next(c for c in bob.cookies() if c["name"] == "user")
    assert user_cookie["path"] == "/services/rhinoapp/" and user_cookie["httpOnly"]

    bob_page.get_by_role("button", name="Sign out").click()  # a form post with the XSRF token
    bob_page.get_by_role("heading", name="Signed out").wait_for()
    assert not [c for c in bob.cookies() if c["name"] == "user" and c["value"]]
    bob_page.goto(hub.url + "services/rhinoapp/")  # still signed in to the hub: straight back in, via its OAuth
    bob_page.locator(".rh-user", has_text="bob").wait_for()
    ana.close()
    bob.close()

    store = open_store(Settings(data_dir=hub.data))
    try:  # accounts made at the first login; the hub's admin flag decides rhinoapp's
        accounts = {account.name: account.admin for account in AccountStore(store).list()}
    finally:
        store.close()
    assert accounts == {"ana": True, "bob": False}
    logins = audit(hub, "bob", AuditAction.LOGIN)
    assert [(e.outcome, e.detail) for e in logins] == [(AuditOutcome.SUCCESS, "jupyterhub")] * 2
    assert len(audit(hub, "bob", AuditAction.LOGOUT)) == 1
