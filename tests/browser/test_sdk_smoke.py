"""The browser harness works: ForgeRock's JavaScript SDK 4.9.1 loads in a plain page served from
another origin than the mock's, and its first login request reaches the live mock (AM §4.1 step 2)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

from ..support.browser import require_sdk


def open_app(page, static_site, mock_as, **query):
    """Load the test app configured for ``mock_as``; returns once the SDK has loaded."""
    params = {"baseUrl": mock_as.base_url, "timeout": 3000, "clientId": "sdk-app", **query}
    page.goto(static_site.url(f"app/index.html?{urlencode(params)}"))
    page.wait_for_function("document.getElementById('status').textContent === 'ready'")


def test_sdk_loads_and_its_first_login_request_reaches_the_mock(page, static_site, mock_as):
    require_sdk()
    assert urlsplit(static_site.origin).port != urlsplit(mock_as.base_url).port  # cross-origin, as an SPA

    sent, answered = [], []

    def forward(route):
        # The mock has no CORS for /json yet, so the browser's preflight would stop the POST. Until it
        # has, Playwright's own HTTP client carries the request to the mock and the mock's answer back.
        response = route.fetch()
        answered.append((response.status, response.json()))
        route.fulfill(
            response=response,
            headers={
                **response.headers,
                "access-control-allow-origin": static_site.origin,
                "access-control-allow-credentials": "true",
            },
        )

    page.on("request", lambda r: sent.append(r) if "/json/" in r.url else None)
    page.route(f"{mock_as.base_url}/json/**", forward)
    open_app(page, static_site, mock_as)

    exports = page.evaluate("window.app.exports")
    assert {"Config", "FRAuth", "FRUser", "TokenManager", "UserManager"} <= set(exports)

    result = page.evaluate("window.app.next()")

    [request] = sent
    url = urlsplit(request.url)
    assert request.method == "POST"
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{mock_as.base_url}/json/realms/root/authenticate"
    assert parse_qs(url.query) == {"authIndexType": ["service"], "authIndexValue": ["Login"]}
    headers = request.headers
    assert headers["accept-api-version"] == "protocol=1.0,resource=2.1"
    assert headers["x-requested-with"] == "forgerock-sdk"
    assert headers["content-type"] == "application/json"
    assert request.post_data in (None, "")  # the first step has no body

    # The mock answered, and the SDK saw exactly that answer.
    [(status, body)] = answered
    assert result["ok"], result
    if status == 200:  # once the mock serves REST login: the first step's callbacks
        assert result["value"]["type"] == "Step"
    else:  # today: AM's JSON 404, which the SDK turns into a login failure
        assert (status, body["code"]) == (404, 404)
        assert result["value"] == {
            "type": "LoginFailure",
            "code": 404,
            "reason": body["reason"],
            "message": body["message"],
        }
