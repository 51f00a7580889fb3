"""The mock's login page, ``<context>/UI/Login?realm=…&goto=…`` (AM's classic login URL, reference
am-journeys F3.5): where ``/oauth2/authorize`` sends a browser that has no SSO session.

The page is plain HTML with a small script of the mock's own (:mod:`mock_as.pages`): it runs the
realm's REST journey (``/json/…/authenticate``, the callbacks an SDK answers), whose success sets
the session cookie, and then returns to ``goto``. ``goto`` must point back into this mock; any
other target is dropped, so the page cannot be used as an open redirect. ``service`` (or
``authIndexType=service&authIndexValue=…``) picks the tree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from .pages import LOGIN_SCRIPT, login_page, page_headers
from .paths import LOGIN_PAGE, UI, realm_path
from .protocol import Response, Route, Surface, oauth2_error

if TYPE_CHECKING:
    from .protocol import Exchange


def safe_goto(x: Exchange, goto: str | None) -> str | None:
    """``goto`` if it leads back into this mock (same scheme, host and context path), else ``None``."""
    if not goto:
        return None
    base = urlsplit(x.base_url)
    target = urlsplit(goto)
    if target.scheme != base.scheme or target.netloc != base.netloc:
        return None
    if not target.path.startswith(base.path.rstrip("/") + "/"):
        return None
    return goto


def login(x: Exchange) -> Response:
    """``GET <context>/UI/Login``: the login page for the realm named by ``?realm=``."""
    x.require_method("GET")
    realm = x.realm
    assert realm is not None
    query = {}
    service = x.query_params.get("service") or (
        x.query_params.get("authIndexValue") if x.query_params.get("authIndexType") == "service" else None
    )
    if service:
        query = {"authIndexType": "service", "authIndexValue": service}
    url = f"{x.base_url}/json{realm_path(realm.name)}/authenticate"
    if query:
        url += "?" + urlencode(query)
    body = login_page(realm=realm.name, authenticate_url=url, goto=safe_goto(x, x.query_params.get("goto")))
    return Response(200, page_headers(LOGIN_SCRIPT), body)


def _parse(path: str) -> Route | None:
    return Route("/", "login_page") if path == LOGIN_PAGE else None


SURFACE = Surface(prefix=UI, parse=_parse, handlers={"login_page": login}, error=oauth2_error)
