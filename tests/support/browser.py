"""Browser fixtures: Debian's Chromium driven by Playwright, and a static site on its own origin.

``browser`` (module) is one headless Chromium from ``/usr/bin/chromium`` (never a Playwright
download); ``page`` (function) is a page in a fresh browser context, so cookies and storage never
leak between tests. ``static_site`` serves ``tests/browser/`` on another loopback port than the
mock's, so an app page there is cross-origin to the mock, as a real single-page app is.

Without Chromium (or the ``playwright`` package) the tests that use these fixtures are skipped with
the reason; with ``MOCK_AS_REQUIRE_BROWSER=1`` (set by ``.ci/run``) they fail instead.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = os.environ.get("MOCK_AS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BROWSER_DIR = Path(__file__).resolve().parent.parent / "browser"
SDK_DIR = BROWSER_DIR / "sdk"


def _required(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


def unavailable(reason: str, env: str) -> None:
    """Skip the test for a missing tool, or fail it when ``env`` says the tool is required (CI)."""
    if _required(env):
        pytest.fail(f"{reason} ({env}=1 requires it)", pytrace=False)
    pytest.skip(reason)


# Module scope, not session: Playwright's sync API keeps an asyncio loop running on the thread while
# it is open, so tests elsewhere that call asyncio.run() (httpx's async client) would fail beside it.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium (``/usr/bin/chromium``, or ``$MOCK_AS_CHROMIUM``) per test module.

    Playwright gives each launch a fresh temporary profile. While it is open, ``asyncio.run()`` cannot
    be called in the same module's tests. Skipped when Chromium or the ``playwright`` package is
    missing, failed instead under ``MOCK_AS_REQUIRE_BROWSER=1``."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)", "MOCK_AS_REQUIRE_BROWSER")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable(
            "the playwright package is not installed (pip install -e '.[test]')", "MOCK_AS_REQUIRE_BROWSER"
        )
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh browser context (no cookies, no storage), closed after the test."""
    context = browser.new_context()
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


# -- a static site on its own origin ----------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    # Module scripts must come with a JavaScript type, which mimetypes does not know for .mjs.
    extensions_map = {  # noqa: RUF012 - the base class declares it as a plain class attribute
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".map": "application/json",
    }

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass(frozen=True)
class StaticSite:
    """A directory served over HTTP on a loopback port: ``url("app/index.html")`` is a page's URL."""

    root: Path
    origin: str

    def url(self, path: str = "") -> str:
        """The absolute URL of ``path`` (relative to ``root``) on this site."""
        return f"{self.origin}/{path.lstrip('/')}"


@contextlib.contextmanager
def serve_directory(root: Path, host: str = "127.0.0.1") -> Iterator[StaticSite]:
    """Serve ``root`` read-only on ``host`` and a free port until the block ends."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer((host, 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="static-site", daemon=True)
    thread.start()
    try:
        yield StaticSite(root=root, origin=f"http://{host}:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="session")
def static_site() -> Iterator[StaticSite]:
    """``tests/browser/`` served on 127.0.0.1 and its own port: the app page is
    ``static_site.url("app/index.html")`` and the SDK is under ``sdk/node_modules/``."""
    with serve_directory(BROWSER_DIR) as site:
        yield site


def require_sdk() -> None:
    """Skip (or under ``MOCK_AS_REQUIRE_BROWSER=1`` fail) when the SDK's npm packages are not installed."""
    if not (SDK_DIR / "node_modules" / "@forgerock" / "javascript-sdk" / "package.json").is_file():
        how = "npm ci --prefix tests/browser/sdk" if shutil.which("npm") else "install npm, then npm ci"
        unavailable(f"ForgeRock's JavaScript SDK is not installed ({how})", "MOCK_AS_REQUIRE_BROWSER")
