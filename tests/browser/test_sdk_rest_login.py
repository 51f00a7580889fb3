"""ForgeRock's JavaScript SDK 4.9.1 logs in through the mock's REST authentication in a real browser,
from a page on another origin: CORS preflights, the callbacks protocol and the session cookie as a
browser handles them (reference am-journeys §4.1 steps 2-3, §5)."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from ..support.browser import require_sdk


def open_app(page, static_site, mock_as, **query):
    params = {"baseUrl": mock_as.base_url, "timeout": 3000, "clientId": "sdk-app", **query}
    page.goto(static_site.url(f"app/index.html?{urlencode(params)}"))
    page.wait_for_function("document.getElementById('status').textContent === 'ready'")


def test_the_sdk_logs_in_with_callbacks_and_the_browser_keeps_the_session_cookie(page, static_site, mock_as):
    require_sdk()
    open_app(page, static_site, mock_as)

    result = page.evaluate("window.app.login('demo', 'Ch4ng31t')")

    assert result["ok"], result
    success = result["value"]
    assert success["type"] == "LoginSuccess", success
    assert success["realm"] == "/"
    assert success["successUrl"].endswith("/console")
    [step] = success["steps"]
    assert step["callbacks"] == ["NameCallback", "PasswordCallback"]
    # the browser kept the session cookie for the mock's host, and it names the session
    host = urlsplit(mock_as.base_url).hostname
    [cookie] = [c for c in page.context.cookies() if c["name"] == "iPlanetDirectoryPro"]
    assert cookie["domain"] == host
    assert cookie["httpOnly"] is True
    assert cookie["value"] == success["tokenId"]
    assert mock_as.session(cookie["value"]).username == "demo"
    # the page is cross-origin: the browser asked the mock before its JSON POSTs, and was let through
    calls = [(c.method, c.path, c.status) for c in mock_as.calls]
    assert ("OPTIONS", "/json/realms/root/authenticate", 200) in calls, calls
    assert [c for c in calls if c[0] == "POST"] == [("POST", "/json/realms/root/authenticate", 200)] * 2


def test_a_wrong_password_is_a_login_failure_in_the_sdk(page, static_site, mock_as):
    require_sdk()
    open_app(page, static_site, mock_as)
    result = page.evaluate("window.app.login('demo', 'wrong')")
    assert result["ok"], result
    assert result["value"]["type"] == "LoginFailure"
    assert (result["value"]["code"], result["value"]["message"]) == (401, "Login failure")


def test_a_session_from_the_handle_is_used_by_the_browser(page, static_site, mock_as):
    require_sdk()
    login = mock_as.login("demo")
    page.context.add_cookies([login.cookie])
    open_app(page, static_site, mock_as)
    # the page's own fetch with credentials: CORS lets it read the answer, the cookie names the session
    info = page.evaluate(
        """async (url) => {
            const r = await fetch(url + '/?_action=getSessionInfo', {
                method: 'POST', credentials: 'include',
                headers: {'Accept-API-Version': 'resource=4.0', 'X-Requested-With': 'forgerock-sdk',
                          'Content-Type': 'application/json'},
                body: '{}'});
            return [r.status, await r.json()];
        }""",
        mock_as.rest_url("sessions"),
    )
    assert info[0] == 200
    assert info[1]["username"] == "demo"
