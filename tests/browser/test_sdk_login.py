"""ForgeRock's JavaScript SDK 4.9.1 against the live mock in Chromium, from an app on another origin
(am-journeys §4.1): embedded login through the Name/Password callbacks, ``TokenManager.getTokens()``
(the hidden ``prompt=none`` iframe with PKCE, then the code exchange), ``UserManager.getCurrentUser()``
(userinfo) and ``FRUser.logout()`` (sessions logout, revoke, endSession)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

from mock_as.config import DEMO_USER

from ..support.browser import require_sdk

CLIENT = "sdkPublicClient"


def open_app(page, static_site, mock_as, **query):
    """The test app configured as README "Browser flows" shows, with the mock as its AM."""
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
    # FRUser.logout, in the SDK's order: the session (no body), the token, the OpenID session
    steps = [
        (c.method, c.endpoint, c.status)
        for c in mock_as.calls
        if c.endpoint in ("sessions", "revoke", "endSession") and c.method != "OPTIONS"
    ]
    assert steps == [("POST", "sessions", 200), ("POST", "revoke", 200), ("GET", "endSession", 204)]
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
    assert not session_cookie["domain"].startswith(".")  # host-only
    get_tokens_user_and_logout(page, mock_as, session_cookie["value"], seen)


def test_sdk_redirect_login_through_the_login_page(page, static_site, mock_as):
    """``getTokens({login: 'redirect'})`` without a session (am-journeys §4.1, centralized login): the
    iframe's ``interaction_required`` sends the whole page to authorize, the mock's login page, and
    back to the app with a code, which the SDK exchanges with the verifier it kept."""
    require_sdk()
    open_app(page, static_site, mock_as)
    page.evaluate("() => { window.app.getTokens({ forceRenew: true, login: 'redirect' }); }")
    page.get_by_label("User Name").fill(DEMO_USER.username)
    page.get_by_label("Password").fill(DEMO_USER.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(static_site.url("callback.html") + "?**")
    query = parse_qs(urlsplit(page.url).query)
    code, state = query["code"][0], query["state"][0]

    open_app(
        page, static_site, mock_as
    )  # the app again, same tab: the SDK's sessionStorage holds the verifier
    tokens = page.evaluate("(q) => window.app.getTokens({ query: q })", {"code": code, "state": state})
    assert tokens["ok"], tokens
    assert tokens["value"]["accessToken"]
    authorizes = [
        (c.status, c.error, c.params.get("prompt")) for c in mock_as.calls if c.endpoint == "authorize"
    ]
    assert authorizes == [(302, "interaction_required", "none"), (302, None, None), (302, None, None)]
