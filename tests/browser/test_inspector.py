"""The inspector at ``/__mock_as__/ui``, driven in headless Chromium against the live mock.

The page must show the seeded state, follow the journal live, rebuild a request as a curl command
that works, drive the state through the control API (faults, clock), and show hostile values as text.
The README's screenshot (``docs/inspector.png``) is taken by this test: run it with
``MOCK_AS_UPDATE_DOCS=1`` to refresh the file.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import requests

from mock_as.codes import pkce_challenge
from mock_as.config import DOCUMENTED_REQUEST
from tests.wire import SOCKET_TIMEOUT

HOSTILE = '<script>alert("inspector")</script><img src=x onerror=alert(1)>'
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "inspector.png"

pytestmark = pytest.mark.mock_as(
    seed=1, users=2, extra_users=[{"username": HOSTILE, "password": "pw<b>bold</b>"}]
)


@pytest.fixture
def inspector(page, mock_as):
    """The inspector open at 1280x800, its first refresh done; fails the test on a dialog, a script
    error or a request outside the control API."""
    from playwright.sync_api import expect

    problems: list[str] = []
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    elsewhere: list[str] = []
    page.on(
        "request", lambda r: None if r.url.startswith(mock_as.control_url + "/") else elsewhere.append(r.url)
    )
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(mock_as.control_url + "/ui")
    expect(page.locator("body[data-refreshed]")).to_have_count(1)
    yield page
    assert problems == []
    assert elsewhere == []  # everything the page loads or does goes through the control API


def _screenshot(page, tmp_path: Path) -> None:
    """The whole page at 1280 wide; the README's copy only under ``MOCK_AS_UPDATE_DOCS=1``."""
    page.locator("#status").evaluate("status => { status.textContent = ''; }")  # no passing message
    page.screenshot(path=tmp_path / "inspector.png", full_page=True)
    if os.environ.get("MOCK_AS_UPDATE_DOCS", "") not in ("", "0"):
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=SCREENSHOT, full_page=True)


def _cell(page, table: str, text: str):
    return page.locator(f"{table} td".strip()).filter(has_text=re.compile(f"^{re.escape(text)}$"))


def test_the_page_is_served_with_a_strict_policy_and_escapes_on_the_server(mock_as):
    r = requests.get(mock_as.control_url + "/ui", timeout=SOCKET_TIMEOUT)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "unsafe" not in csp
    assert HOSTILE not in r.text
    assert "&lt;script&gt;alert(&#34;inspector&#34;)&lt;/script&gt;" in r.text
    # one script and one style sheet, both the mock's own, and no inline code anywhere
    assert re.findall(r"<script[^>]*>", r.text) == ['<script src="/__mock_as__/ui/inspector.js" defer>']
    assert re.findall(r"<(?:link|style)[^>]*>", r.text) == [
        '<link rel="icon" href="/__mock_as__/ui/favicon.svg" type="image/svg+xml">',
        '<link rel="stylesheet" href="/__mock_as__/ui/inspector.css">',
    ]
    assert not re.search(r"\son[a-z]+=", r.text.replace("onerror=alert(1)", ""))
    assets = (
        ("inspector.js", "text/javascript"),
        ("inspector.css", "text/css"),
        ("favicon.svg", "image/svg"),
    )
    for asset, kind in assets:
        served = requests.get(f"{mock_as.control_url}/ui/{asset}", timeout=SOCKET_TIMEOUT)
        assert served.status_code == 200
        assert served.headers["Content-Type"].startswith(kind)
        assert served.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/ui", "/ui/inspector.js", "/clock/freeze"])
def test_the_page_is_guarded_like_the_control_api(mock_as, path):
    """A page whose host name was rebound to 127.0.0.1, or a page of another site, gets nothing."""
    url = mock_as.control_url + path
    method = "POST" if path == "/clock/freeze" else "GET"
    for headers in ({"Host": "rebind.attacker.example"}, {"Origin": "http://attacker.example"}):
        r = requests.request(method, url, headers=headers, json={}, timeout=SOCKET_TIMEOUT)
        assert r.status_code == 403, (headers, r.status_code)
        assert r.headers["Content-Type"] == "application/json"
        assert "inspector" not in r.text
    assert not mock_as.clock.frozen


def test_the_inspector_shows_follows_and_drives_the_mock(inspector, mock_as, tmp_path):
    from playwright.sync_api import expect

    page = inspector
    root = page.locator('article.realm[data-realm="/"]')

    # the seeded clients and users, with their secrets and passwords; a hostile name stays text
    expect(root.locator("table.clients tr").filter(has_text="myClient")).to_contain_text("forgerock")
    for user in mock_as.users:
        row = root.locator("table.users tr").filter(has=_cell(page, "", user.username))
        expect(row).to_have_count(1)
        expect(row).to_contain_text(user.password)
    expect(_cell(page, "table.users", HOSTILE)).to_have_count(1)
    expect(_cell(page, "table.users", "pw<b>bold</b>")).to_have_count(1)
    assert page.locator("script").count() == 1
    assert page.locator("img").count() == 0

    # a token request appears in the journal within 2 s, without a reload
    answer = requests.post(mock_as.token_url, data=DOCUMENTED_REQUEST, timeout=SOCKET_TIMEOUT)
    assert answer.status_code == 200
    call = page.locator("#journal-list tr.call").first
    expect(call).to_contain_text("/oauth2/realms/root/access_token", timeout=2000)
    for text in ("POST", "200", "myClient", "demo"):
        expect(call).to_contain_text(text)
    token = mock_as.token(answer.json()["access_token"])
    assert token is not None

    # the live token, counting down its hour on the mock's clock
    tokens = page.locator("#tokens tbody tr")
    expect(tokens).to_have_count(1)
    for text in ("access_token", "myClient", "demo", "write", "password"):
        expect(tokens).to_contain_text(text)
    expect(tokens.locator("td.countdown")).to_have_text(re.compile(r"^(60:00|59:[0-5]\d)$"))

    # a failed login as the hostile user: the journal shows that name as text too
    requests.post(
        mock_as.token_url,
        data={**DOCUMENTED_REQUEST, "username": HOSTILE, "password": "wrong"},
        timeout=SOCKET_TIMEOUT,
    )
    expect(page.locator("#journal-list tr.call").first).to_contain_text(HOSTILE, timeout=2000)
    expect(page.locator("#journal-list tr.call").first).to_contain_text("invalid_grant")

    # "copy as curl" on the successful request: the real secrets, and it gets a 200 again
    call = page.locator("#journal-list tr.call").nth(1)
    call.get_by_role("button", name=re.compile("^copy as curl")).click()
    command = page.locator("#curl").input_value()
    assert command.startswith("curl ")
    assert "***" not in command
    assert "Ch4ng31t" in command
    assert "forgerock" in command
    run = subprocess.run(
        ["sh", "-c", command + " --silent --show-error --write-out '\\n%{http_code}'"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    body, status = run.stdout.rsplit("\n", 1)
    assert status == "200", run
    assert '"token_type":"Bearer"' in body

    # an SSO session counts down on the mock's clock (AM's 30 idle minutes), and the page ends it
    session = mock_as.login("demo")
    sessions = page.locator("#sessions tbody tr").filter(has_text=session.session.handle)
    expect(sessions).to_contain_text("demo", timeout=2000)
    expect(sessions.locator("td.countdown").first).to_have_text(re.compile(r"^(30:00|29:[0-5]\d)$"))
    # the browser flow's code for that session, counting down its two minutes
    authorize = mock_as.authorize_url(
        redirect_uri="http://127.0.0.1:8400/callback.html",
        scope="openid profile",
        state="s1",
        code_challenge=pkce_challenge("v" * 43),
        code_challenge_method="S256",
        prompt="none",
    )
    r = requests.get(authorize, cookies=session.cookies, allow_redirects=False, timeout=SOCKET_TIMEOUT)
    assert r.status_code == 302, r.text
    codes = page.locator("#codes tbody tr").filter(has_text="sdkPublicClient")
    expect(codes).to_contain_text("demo", timeout=2000)
    expect(codes).to_contain_text("http://127.0.0.1:8400/callback.html")
    expect(codes.locator("td.countdown")).to_have_text(re.compile(r"^[0-2]:[0-5]\d$"))
    mock_as.fail("access_token", status=503, times=None)
    expect(page.locator("#fault-list tbody")).to_contain_text("503", timeout=2000)
    _screenshot(page, tmp_path)  # tokens, a session, a code, a fault, the journal and its curl
    sessions.get_by_role("button", name=re.compile("^end the session of demo")).click()
    expect(page.locator("#sessions tbody")).to_contain_text("no live sessions")
    assert mock_as.sessions == []

    # queued faults are listed, and the page's button clears them in the state
    faults = page.locator("#fault-list tbody")
    expect(faults).to_contain_text("503")
    expect(faults).to_contain_text("endpoint=access_token")
    mock_as.fail("tokeninfo")
    expect(faults.locator("tr")).to_have_count(2)
    faults.get_by_role("button", name="remove fault 2").click()
    expect(faults.locator("tr")).to_have_count(1)
    assert [f.endpoint for f in mock_as.faults] == ["access_token"]
    page.get_by_role("button", name="Clear all faults").click()
    expect(faults).to_contain_text("no faults queued")
    assert mock_as.faults == []

    # the clock: advance by an hour from the keyboard, then freeze and unfreeze with the button
    before = mock_as.clock.now()
    seconds = page.get_by_label("Advance by (seconds)")
    seconds.fill("3600")
    seconds.focus()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Advance")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_contain_text("Clock advanced by 3600 s")
    assert mock_as.clock.now() - before >= 3600
    expect(page.locator("#tokens tbody")).to_contain_text("no live tokens")  # their hour is up
    freeze = page.locator("#freeze")
    freeze.click()
    expect(freeze).to_have_attribute("aria-pressed", "true")
    assert mock_as.clock.frozen
    freeze.click()
    expect(freeze).to_have_attribute("aria-pressed", "false")
    assert not mock_as.clock.frozen


def test_the_inspector_fits_a_narrow_window(inspector):
    page = inspector
    page.set_viewport_size({"width": 380, "height": 800})
    # nothing but the tables' own scrolling boxes is wider than the window
    assert page.evaluate("document.documentElement.scrollWidth") <= 380
    assert page.get_by_role("button", name="Reset to the seeded start").is_visible()


def test_reset_and_reseed_from_the_page(inspector, mock_as):
    from playwright.sync_api import expect

    page = inspector
    journal = page.locator("#journal-list tbody")
    requests.post(mock_as.token_url, data=DOCUMENTED_REQUEST, timeout=SOCKET_TIMEOUT)
    expect(journal.locator("tr.call")).to_have_count(1, timeout=2000)
    # a reset elsewhere (as the fixtures do between tests) empties the journal shown, which then goes on
    mock_as.reset()
    expect(journal).to_contain_text("no requests yet", timeout=2000)
    requests.post(mock_as.token_url, data={**DOCUMENTED_REQUEST, "password": "x"}, timeout=SOCKET_TIMEOUT)
    expect(journal.locator("tr.call")).to_have_count(1, timeout=2000)
    expect(journal.locator("tr.call")).to_contain_text("invalid_grant")
    mock_as.add_user("temporary", "pw")
    expect(_cell(page, "table.users", "temporary")).to_have_count(1, timeout=2000)
    page.get_by_role("button", name="Reset to the seeded start").click()
    expect(page.locator("#status")).to_contain_text("Reset to seed 1")
    expect(_cell(page, "table.users", "temporary")).to_have_count(0, timeout=2000)
    page.get_by_label("New seed").fill("7")
    page.get_by_role("button", name="Reseed").click()
    expect(page.locator("#seed")).to_have_text("7")
    assert mock_as.seed == 7
    expect(_cell(page, "table.users", mock_as.users[1].username)).to_have_count(1, timeout=2000)
    mock_as.state.reseed(9)  # from elsewhere: the page follows
    expect(page.locator("#seed")).to_have_text("9", timeout=2000)
    expect(_cell(page, "table.users", mock_as.users[1].username)).to_have_count(1, timeout=2000)
