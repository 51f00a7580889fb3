"""The mock's login page in Chromium (am-journeys F3.5): authorize without a session sends the browser
there, the page runs the REST callbacks, sets the session cookie and returns to authorize, which
redirects to the app with a code. Used with the keyboard only, under its strict policy."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

from mock_as.codes import pkce_challenge
from mock_as.config import DEMO_USER

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "login-page.png"
VERIFIER = "a-verifier-of-the-browser-test-" + "x" * 20


def console_errors(page):
    """Script errors and policy refusals; a failed load (the 401 of a wrong password, a favicon)
    is the page working as meant."""
    errors = []

    def seen(message):
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    page.on("console", seen)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def test_authorize_login_page_and_back_with_the_keyboard(page, static_site, mock_as, tmp_path):
    callback = static_site.url("callback.html")
    errors = console_errors(page)
    url = mock_as.authorize_url(
        "sdkPublicClient",
        callback,
        scope="openid profile",
        state="st-9",
        nonce="n-9",
        code_challenge=pkce_challenge(VERIFIER),
        code_challenge_method="S256",
    )
    page.goto(url)
    assert page.url.startswith(f"{mock_as.base_url}/UI/Login?")
    name = page.get_by_label("User Name")
    name.wait_for()
    assert page.evaluate("document.activeElement.id") == name.get_attribute("id")  # focused: type at once
    assert "test double" in page.inner_text("main")
    shot = tmp_path / "login-page.png"
    page.screenshot(path=str(shot))
    if os.environ.get("MOCK_AS_UPDATE_SCREENSHOTS"):
        shutil.copyfile(shot, SCREENSHOT)

    # a wrong password: AM's message, and a fresh step to try again
    page.keyboard.type(DEMO_USER.username)
    page.keyboard.press("Tab")
    page.keyboard.type("wrong")
    page.keyboard.press("Enter")
    page.locator("#message.error").wait_for()
    assert page.inner_text("#message") == "Authentication Failed"  # AM's 401 message, shown as is
    page.wait_for_function("document.activeElement && document.activeElement.type === 'text'")

    page.keyboard.type(DEMO_USER.username)
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_USER.password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{callback}?**")

    query = parse_qs(urlsplit(page.url).query)
    assert query["state"] == ["st-9"]
    assert query["iss"] == [mock_as.issuer()]
    cookie = {c["name"]: c for c in page.context.cookies(mock_as.base_url)}[mock_as.state.config.cookie_name]
    assert mock_as.session(cookie["value"]) is not None
    tokens = requests.post(
        mock_as.token_url,
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "client_id": "sdkPublicClient",
            "redirect_uri": callback,
            "code_verifier": VERIFIER,
        },
    )
    assert tokens.status_code == 200
    assert "id_token" in tokens.json()
    assert errors == []  # nothing refused by the page's policy, no script error

    steps = [(c.endpoint, c.status) for c in mock_as.calls]
    assert steps == [
        ("authorize", 302),
        ("login_page", 200),
        ("authenticate", 200),  # the first step: the callbacks
        ("authenticate", 401),  # the wrong password
        ("authenticate", 200),  # a fresh first step
        ("authenticate", 200),  # success, and the session cookie
        ("authorize", 302),
        ("access_token", 200),
    ]


def test_a_session_already_there_skips_the_page(page, static_site, mock_as):
    page.context.add_cookies([mock_as.login("demo").cookie])
    callback = static_site.url("callback.html")
    page.goto(mock_as.authorize_url("sdkPublicClient", callback, scope="openid", code_challenge="c" * 43))
    page.wait_for_url(f"{callback}?**")
    assert "code" in parse_qs(urlsplit(page.url).query)


def test_the_consent_page_allows_with_the_keyboard(page, static_site, mock_as):
    callback = static_site.url("callback.html")
    mock_as.add_client(
        "asks",
        scopes=["openid", "profile"],
        grant_types=["authorization_code"],
        token_endpoint_auth_method="none",
        redirect_uris=["http://127.0.0.1/callback.html"],
        implied_consent=False,
    )
    errors = console_errors(page)
    page.context.add_cookies([mock_as.login("demo").cookie])
    page.goto(mock_as.authorize_url("asks", callback, scope="openid profile", state="st-c"))
    page.get_by_role("button", name="Allow").wait_for()
    assert "asks" in page.inner_text("main")
    page.get_by_role("button", name="Allow").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{callback}?**")
    query = parse_qs(urlsplit(page.url).query)
    assert query["state"] == ["st-c"]
    assert "code" in query
    assert errors == []


def test_a_broken_journey_is_shown_not_retried(page, mock_as):
    sent = []
    page.on("request", lambda r: sent.append(r.url) if "/authenticate" in r.url else None)
    page.goto(f"{mock_as.base_url}/UI/Login?realm=/&service=NoSuchTree")
    page.locator("#message.error").wait_for()
    assert page.inner_text("#message") == "No Configuration found"
    # a retry would be sent in the same task that shows the message, so before this round trip ends
    page.evaluate("document.getElementById('submit').disabled")
    assert len(sent) == 1
    assert [c.endpoint for c in mock_as.calls] == ["login_page", "authenticate"]
