"""A Python web app's redirect login (authlib's Flask client) in Chromium: authorize -> the mock's login
page -> the app's callback -> the code exchange. The browser talks to the live server; the app's
back-channel calls (code exchange, JWKS, userinfo) are answered by the in-process patch, from the
same state."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from werkzeug.serving import make_server

from mock_as.config import DEMO_USER

CLIENT, SECRET = "webapp", "webapp-secret"


def make_app(live, inprocess):
    """The app as its README would show it: authlib's Flask client, with AM's endpoints. The browser
    goes to the live server's authorize; the rest is server-to-server."""
    from authlib.integrations.flask_client import OAuth
    from flask import Flask, jsonify, url_for

    app = Flask("webapp")
    app.secret_key = "test-only"
    oauth = OAuth(app)
    oauth.register(
        "am",
        client_id=CLIENT,
        client_secret=SECRET,
        authorize_url=live.url_for("authorize"),
        access_token_url=inprocess.url_for("access_token"),
        userinfo_endpoint=inprocess.url_for("userinfo"),
        jwks_uri=inprocess.url_for("jwk_uri"),
        issuer=inprocess.issuer(),
        client_kwargs={"scope": "openid profile email", "code_challenge_method": "S256"},
    )

    @app.get("/login")
    def login():
        return oauth.am.authorize_redirect(url_for("callback", _external=True))

    @app.get("/callback")
    def callback():
        token = oauth.am.authorize_access_token()
        return jsonify(id_token=dict(token["userinfo"]), userinfo=dict(oauth.am.userinfo(token=token)))

    return app


@contextmanager
def serve(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture
def webapp(mock_as, mock_as_requests):
    mock_as.add_client(
        CLIENT,
        SECRET,
        scopes=["openid", "profile", "email"],
        grant_types=["authorization_code"],
        token_endpoint_auth_method="client_secret_basic",
        redirect_uris=["http://127.0.0.1/callback"],  # a loopback URI without a port: any port
        pkce_required=True,
    )
    with serve(make_app(mock_as, mock_as_requests)) as origin:
        yield origin


def test_redirect_login_through_the_login_page(page, webapp, mock_as):
    page.goto(f"{webapp}/login")
    page.get_by_label("User Name").fill(DEMO_USER.username)
    page.get_by_label("Password").fill(DEMO_USER.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{webapp}/callback?**")
    answer = page.evaluate("JSON.parse(document.body.innerText)")
    assert answer["id_token"]["sub"] == DEMO_USER.username
    assert answer["id_token"]["aud"] == CLIENT
    assert answer["userinfo"]["email"] == "demo@example.com"

    # one journal for both transports: the browser's calls and the app's back-channel ones
    assert [c.endpoint for c in mock_as.calls] == [
        "authorize",  # no session: to the login page
        "login_page",
        "authenticate",  # the callbacks
        "authenticate",  # the answers: the session cookie
        "authorize",  # back with the session: a code to the app
        "access_token",  # the app's exchange, in-process
        "jwk_uri",  # authlib checks the id_token's signature
        "userinfo",
    ]
    [exchange] = mock_as.token_calls("authorization_code")
    assert exchange.status == 200
    assert exchange.params["code_verifier"]  # authlib sent PKCE, and it matched
