"""ForgeRock's JavaScript SDK 4.9.1 against the live mock in Chromium, from an app on another origin
(am-journeys §4.1): embedded login through the Name/Password callbacks, ``TokenManager.getTokens()``
(the hidden ``prompt=none`` iframe with PKCE, then the code exchange), ``UserManager.getCurrentUser()``
(userinfo) and ``FRUser.logout()`` (sessions logout, revoke, endSession)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from mock_as import router
from mock_as.config import DEMO_USER

from ..support.browser import require_sdk

CLIENT = "sdkPublicClient"


def open_app(page, static_site, mock_as, **query):
    """The test app configured as README "Browser flows" shows, with the mock as its AM."""
    from urllib.parse import urlencode

    params = {
        "baseUrl": mock_as.base_url,
        "timeout": 5000,
        "clientId": CLIENT,
        "scope": "openid profile email",
        **query,
    }
    page.goto(static_site.url(f"app/index.html?{urlencode(params)}"))
    page.wait_for_function("document.getElementById('status').textContent === 'ready'")


def watch(page, mock_as):
    """Every request the page (and its iframes) sends to the mock, in order."""
    seen = []
    page.on("request", lambda r: seen.append(r) if r.url.startswith(mock_as.base_url) else None)
    return seen


def endpoint(request, mock_as):
    return urlsplit(request.url).path.removeprefix(urlsplit(mock_as.base_url).path)


def get_tokens_user_and_logout(page, mock_as, token_id, seen):
    """What every SDK login ends with: tokens through the iframe, the user, then logout."""
    tokens = page.evaluate("window.app.getTokens()")
    assert tokens["ok"], tokens
    value = tokens["value"]
    assert value["accessToken"]
    assert value["idToken"]
    assert value["refreshToken"]

    [authorize] = [r for r in seen if endpoint(r, mock_as).endswith("/authorize")]
    query = parse_qs(urlsplit(authorize.url).query)
    assert query["prompt"] == ["none"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["client_id"] == [CLIENT]
    assert authorize.frame != page.main_frame  # the hidden iframe
    [exchange] = [c for c in mock_as.calls if c.endpoint == "access_token"]
    assert (exchange.grant_type, exchange.status) == ("authorization_code", 200)

    user = page.evaluate("window.app.getCurrentUser()")
    assert user["ok"], user
    assert user["value"]["sub"] == DEMO_USER.username
    assert user["value"]["email"] == "demo@example.com"

    assert mock_as.state.sessions.get(token_id, mock_as.clock.now()) is not None
    out = page.evaluate("window.app.logout()")
    assert out["ok"], out
    steps = [(c.endpoint, c.status) for c in mock_as.calls if c.endpoint in ("revoke", "end_session")]
    assert steps == [("revoke", 200), ("end_session", 204)]
    assert mock_as.state.sessions.get(token_id, mock_as.clock.now()) is None
    assert mock_as.token(value["accessToken"]) is None


def test_sdk_gets_tokens_the_user_and_logs_out_on_an_sso_session(page, static_site, mock_as):
    """The session cookie comes from the handle (``login(...).cookie``), without a login page."""
    require_sdk()
    login = mock_as.login("demo")
    token_id = login.token_id
    page.context.add_cookies([login.cookie])
    seen = watch(page, mock_as)
    open_app(page, static_site, mock_as)
    get_tokens_user_and_logout(page, mock_as, token_id, seen)


def test_sdk_without_a_session_gets_interaction_required_quickly(page, static_site, mock_as):
    require_sdk()
    open_app(page, static_site, mock_as)
    result = page.evaluate("window.app.getTokens()")
    assert not result["ok"]
    assert "interaction" in result["error"]["message"]
    [call] = [c for c in mock_as.calls if c.endpoint == "authorize"]
    assert (call.status, call.error) == (302, "interaction_required")


REST_SERVED = any(s.prefix == "/json/" for s in router.SURFACES)


@pytest.mark.skipif(
    not REST_SERVED,
    reason="needs AM's REST login: POST <context>/json/realms/root/authenticate (the /json surface) is not served yet",
)
def test_sdk_logs_in_end_to_end(page, static_site, mock_as):
    require_sdk()
    seen = watch(page, mock_as)
    open_app(page, static_site, mock_as)
    login = page.evaluate(f"window.app.login({DEMO_USER.username!r}, {DEMO_USER.password!r})")
    assert login["ok"], login
    value = login["value"]
    assert value["type"] == "LoginSuccess", value
    [step] = value["steps"]
    assert step["callbacks"] == ["NameCallback", "PasswordCallback"]
    cookies = {c["name"]: c for c in page.context.cookies(mock_as.base_url)}
    session_cookie = cookies[mock_as.state.config.cookie_name]
    assert session_cookie["httpOnly"]
    assert not session_cookie["secure"]
    assert session_cookie["path"] == "/"
    get_tokens_user_and_logout(page, mock_as, session_cookie["value"], seen)
