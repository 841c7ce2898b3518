"""An OpenID Connect login against a real provider, in Chromium, through a real `rhinoapp serve`.

The provider is built on Authlib's authorization server (``authlib.integrations.flask_oauth2`` with
the OpenID Connect ``OpenIDCode`` grant extension: authorization-code flow, client authentication,
RS256-signed ID tokens) in a small Flask app served in a thread; the only thing written here is its
user and client table and its password form. rhinoapp runs as a subprocess configured with the
provider's issuer, client id and a secret file, so ``serve`` reads the discovery document exactly as
it would read Keycloak's.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.core.models import AuthorizationCodeMixin
from flask import Flask, jsonify, request
from joserfc.jwk import KeySet, RSAKey
from markupsafe import escape
from werkzeug.serving import make_server

from rhinoapp.cli import main
from rhinoapp.config import Settings
from rhinoapp.config.oidc import OidcSettings
from rhinoapp.core.access import AuditAction, AuditOutcome, Role
from rhinoapp.core.errors import ConfigurationError
from rhinoapp.store.accounts import AccountStore
from rhinoapp.store.audit import AuditLog, AuditQuery
from rhinoapp.store.database import open_store
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.store.sharing import SharingService
from rhinoapp.views.oidc import discover
from tests.test_app import free_port, wait_for_http
from tests.views.navigation import click_until
from tests.waiting import HANG_S

CLIENT_ID, USER, PASSWORD = "rhinoapp", "ana.oidc", "ana's provider password"
GROUP = "ent"
USERS = {USER: (PASSWORD, [GROUP]), "gina.oidc": ("gina's provider password", [GROUP, "radiology"]),
         "ben.oidc": ("ben's provider password", ["radiology"])}  # name: (password, the groups claim)


@dataclass
class _Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uri: str

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in scope.split() if s in ("openid", "profile", "email"))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri == self.redirect_uri

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "client_secret_post" if endpoint == "token" else True

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class _Code(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: str
    nonce: str | None
    auth_time: int

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time


def provider_app(issuer: str, client: _Client) -> Flask:
    """The provider: discovery, keys, a password form at the authorization endpoint, the token endpoint."""
    key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"})
    codes: dict[str, _Code] = {}
    app = Flask(__name__)

    class CodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_post"]

        def save_authorization_code(self, code: str, req: Any) -> None:
            codes[code] = _Code(code, req.client.get_client_id(), req.payload.redirect_uri, req.scope, req.user,
                                req.payload.data.get("nonce"), int(time.time()))

        def query_authorization_code(self, code: str, client: _Client) -> _Code | None:
            item = codes.get(code)
            return item if item is not None and item.client_id == client.client_id else None

        def delete_authorization_code(self, authorization_code: _Code) -> None:
            codes.pop(authorization_code.code, None)

        def authenticate_user(self, authorization_code: _Code) -> str:
            return authorization_code.user

    class IdToken(OpenIDCode):
        def exists_nonce(self, nonce: str, req: Any) -> bool:
            return any(c.nonce == nonce for c in codes.values())

        def resolve_client_private_key(self, client: _Client) -> RSAKey:
            return key

        def get_client_claims(self, client: _Client) -> dict[str, Any]:
            return {"iss": issuer, "aud": [client.client_id]}

        def generate_user_info(self, user: str, scope: str) -> UserInfo:
            return UserInfo(sub=f"sub-{user}", preferred_username=user, email=f"{user}@example.org",
                            groups=USERS[user][1])

    server = AuthorizationServer(app, query_client=lambda client_id: client if client_id == client.client_id else None,
                                 save_token=lambda token, req: None)
    server.register_grant(CodeGrant, [IdToken(require_nonce=False)])

    @app.get("/.well-known/openid-configuration")
    def discovery() -> Any:
        return jsonify(issuer=issuer, authorization_endpoint=f"{issuer}/authorize", token_endpoint=f"{issuer}/token",
                       jwks_uri=f"{issuer}/jwks", response_types_supported=["code"], subject_types_supported=["public"],
                       id_token_signing_alg_values_supported=["RS256"],
                       token_endpoint_auth_methods_supported=["client_secret_post"])

    @app.get("/jwks")
    def jwks() -> Any:
        return jsonify(KeySet([key]).as_dict(private=False))

    def form(error: str = "") -> str:
        message = f"<p role='alert'>{escape(error)}</p>" if error else ""
        return (f"<!DOCTYPE html><title>Provider</title><h1>Provider sign in</h1>{message}"
                f"<form method='post' action='/authorize?{escape(urlencode(request.args))}'>"
                "<label for='u'>Provider user</label><input id='u' name='username'>"
                "<label for='p'>Provider password</label><input id='p' type='password' name='password'>"
                "<button name='decision' value='login'>Log in</button>"
                "<button name='decision' value='cancel'>Cancel</button></form>")

    @app.route("/authorize", methods=["GET", "POST"])
    def authorize() -> Any:
        grant = server.get_consent_grant(end_user=None)  # refuses an unknown client or redirect URI
        if request.method == "GET":
            return form()
        if request.form.get("decision") == "cancel":
            return server.create_authorization_response(grant=grant, grant_user=None)  # error=access_denied
        user = request.form.get("username", "")
        if user not in USERS or not secrets.compare_digest(request.form.get("password", ""), USERS[user][0]):
            return form("Invalid user or password."), 401
        return server.create_authorization_response(grant=grant, grant_user=user)

    @app.post("/token")
    def token() -> Any:
        return server.create_token_response()

    return app


@dataclass(frozen=True)
class Provider:
    issuer: str
    client: _Client
    app_port: int  # the port rhinoapp will serve on: the client's redirect URI names it


@dataclass(frozen=True)
class Served:
    url: str
    issuer: str
    data: Path


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    port, app_port = free_port(), free_port()
    issuer = f"http://127.0.0.1:{port}"
    client = _Client(CLIENT_ID, secrets.token_urlsafe(24), f"http://127.0.0.1:{app_port}/login")
    server = make_server("127.0.0.1", port, provider_app(issuer, client), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Provider(issuer, client, app_port)
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def served(provider: Provider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    url = f"http://127.0.0.1:{provider.app_port}/"
    data = tmp_path_factory.mktemp("data")
    secret_file = tmp_path_factory.mktemp("secret") / "oidc-secret"
    secret_file.write_text(provider.client.client_secret + "\n")
    log_path = tmp_path_factory.mktemp("log") / "serve.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "rhinoapp", "serve", "--data-dir", str(data), "--port", str(provider.app_port),
         "--oidc-issuer", provider.issuer, "--oidc-client-id", CLIENT_ID, "--oidc-client-secret-file", str(secret_file)],
        env={**os.environ, "RHINOAPP_DEMO": "false"}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_http(url + "logout", timeout=HANG_S)
        yield Served(url, provider.issuer, data)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
        log.close()
        assert provider.client.client_secret not in log_path.read_text()  # the secret never reaches the log


def audit(served: Served, **query: Any) -> list:
    store = open_store(Settings(data_dir=served.data))
    try:
        return AuditLog(store).events(AuditQuery(action=AuditAction.LOGIN, **query))
    finally:
        store.close()


def provider_sign_in(page: Any, password: str, *, decision: str = "Log in", user: str = USER) -> None:
    page.get_by_role("heading", name="Provider sign in").wait_for()
    page.get_by_label("Provider user").fill(user)
    page.get_by_label("Provider password").fill(password)
    page.get_by_role("button", name=decision).click()


@pytest.mark.browser
def test_login_at_the_provider_logout_and_refusals(browser, served: Served) -> None:
    context = browser.new_context(viewport={"width": 1360, "height": 820})
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(served.url)  # the app sends a stranger to /login, which sends them to the provider
    assert page.url.startswith(served.issuer + "/authorize?")

    provider_sign_in(page, "not ana's password")  # refused by the provider: never back at rhinoapp
    page.get_by_role("alert").filter(has_text="Invalid user or password.").wait_for()
    assert page.url.startswith(served.issuer) and not [c for c in context.cookies() if c["name"] == "user"]

    provider_sign_in(page, PASSWORD, decision="Cancel")  # the provider answers access_denied
    page.get_by_role("heading", name="Sign-in failed").wait_for()
    assert audit(served, user="-")[0].outcome is AuditOutcome.FAILURE
    page.get_by_role("link", name="Try again").click()

    provider_sign_in(page, PASSWORD)
    page.get_by_role("heading", name="Projects").wait_for()
    page.locator(".rh-user", has_text=USER).wait_for()
    cookie = next(c for c in context.cookies() if c["name"] == "user")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    [login] = audit(served, user=USER)
    assert (login.outcome, login.detail, login.remote) == (AuditOutcome.SUCCESS, "oidc", "127.0.0.1")

    page.get_by_role("button", name="Sign out").click()  # a form post with the XSRF token
    page.get_by_role("heading", name="Signed out").wait_for()
    assert not [c for c in context.cookies() if c["name"] == "user" and c["value"]]
    page.goto(served.url)
    page.get_by_role("heading", name="Provider sign in").wait_for()  # signed out: the provider asks again
    context.close()

    store = open_store(Settings(data_dir=served.data))
    try:
        account = AccountStore(store).get(USER)  # the first login made the account, without a usable password
        assert account is not None and not account.admin and not AccountStore(store).verify(USER, PASSWORD)
        logouts = AuditLog(store).events(AuditQuery(user=USER, action=AuditAction.LOGOUT))
        assert [e.outcome for e in logouts] == [AuditOutcome.SUCCESS]
    finally:
        store.close()


@pytest.mark.browser
def test_a_project_shared_with_a_group_opens_for_its_members_only(browser, served: Served) -> None:
    store = open_store(Settings(data_dir=served.data))
    try:
        project = ProjectRepository(store, owner="zoe").create("Group case 7")
        SharingService(ProjectRepository(store, owner="zoe")).share(project.id, GROUP, Role.VIEWER, group=True)
    finally:
        store.close()
    for user, member in (("gina.oidc", True), ("ben.oidc", False)):
        context = browser.new_context(viewport={"width": 1360, "height": 820})
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(served.url)
        provider_sign_in(page, USERS[user][0], user=user)
        page.locator(".rh-user", has_text=user).wait_for()
        page.get_by_role("heading", name="Projects").wait_for()
        if member:  # the groups claim made gina a member of the group: she opens the project
            row = page.locator(".tabulator-row", has_text=project.name)
            click_until(row.get_by_text("Open"), page.locator(".rh-project", has_text=f"Project: {project.name}"),
                        what="the group's project to open")
        else:
            assert project.name not in page.content() and project.id not in page.content()
        context.close()
    store = open_store(Settings(data_dir=served.data))
    try:
        assert ProjectRepository(store, owner="ben.oidc").list_projects() == []
        accounts = AccountStore(store)
        assert [accounts.get(u).groups for u in ("gina.oidc", "ben.oidc")] == [(GROUP, "radiology"), ("radiology",)]
    finally:
        store.close()


def test_discovery_refuses_a_wrong_issuer_and_an_unreachable_provider(provider: Provider) -> None:
    assert discover(OidcSettings(provider.issuer, CLIENT_ID, "s")).token == provider.issuer + "/token"
    with pytest.raises(ConfigurationError, match="answered 404 .* check oidc_issuer"):
        discover(OidcSettings(provider.issuer + "/realms/missing", CLIENT_ID, "s"))
    with pytest.raises(ConfigurationError, match="cannot be reached"):
        discover(OidcSettings(f"http://127.0.0.1:{free_port()}", CLIENT_ID, "s"))


def test_serve_with_a_misconfigured_provider_exits_2_saying_what_to_fix(provider: Provider, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str],
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RHINOAPP_OIDC_CLIENT_SECRET", raising=False)
    base = ["serve", "--data-dir", str(tmp_path), "--address", "0.0.0.0", "--oidc-client-id", CLIENT_ID]
    assert main([*base, "--oidc-issuer", provider.issuer]) == 2
    assert "RHINOAPP_OIDC_CLIENT_SECRET" in capsys.readouterr().err
    monkeypatch.setenv("RHINOAPP_OIDC_CLIENT_SECRET", "s")
    assert main([*base, "--oidc-issuer", provider.issuer + "/wrong"]) == 2
    assert "check oidc_issuer" in capsys.readouterr().err
