"""CORS as AM's CORS filter does it (reference am-journeys §5), for every surface of AM's.

Allowed origins: every loopback origin (``http://127.0.0.1:<any port>``, ``http://localhost:…``,
``http://[::1]:…``, and their ``https`` forms), :attr:`MockASConfig.cors_origins` and every client's
``cors_origins``. For those, a
preflight is answered here and never reaches an endpoint; an actual request gets the origin echoed
with credentials allowed (F5.9). A request without ``Origin`` is no CORS request. A preflight from
another origin is refused as AM's CORS service does (F5.6: ``400 CORS error occurred``); an actual
request from another origin is answered without CORS headers, so the browser keeps the answer from
the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .errors import RestError
from .paths import is_loopback
from .protocol import Response

if TYPE_CHECKING:
    from .state import State

METHODS = ("GET", "POST", "PUT", "DELETE", "OPTIONS")
# ForgeRock's recommended headers for its SDKs (F5.10, F5.11) and the CREST ones.
HEADERS = (
    "accept",
    "accept-api-version",
    "authorization",
    "content-type",
    "x-requested-with",
    "x-requested-platform",
    "if-match",
    "if-none-match",
    "cache-control",
)
SIMPLE_HEADERS = frozenset({"cache-control", "content-language", "expires", "last-modified", "pragma"})
EXPOSED = "WWW-Authenticate"
MAX_AGE = "600"


def origin_allowed(state: State, origin: str) -> bool:
    """Whether a browser page at ``origin`` may call AM's endpoints with its cookies."""
    if origin in state.config.cors_origins:
        return True
    realms = list(state.realms.values())  # AM adds every client's "JavaScript Origins" (F5.3)
    if any(origin in client.cors_origins for realm in realms for client in list(realm.clients.values())):
        return True
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or parts.path or parts.query:
        return False
    return parts.hostname is not None and is_loopback(parts.hostname)


def _origin_headers(origin: str) -> tuple[tuple[str, str], ...]:
    return (
        ("Vary", "Origin"),
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Allow-Credentials", "true"),
    )


def preflight(state: State, method: str, headers: Mapping[str, str]) -> Response | None:
    """The answer to a CORS preflight (``OPTIONS`` with ``Access-Control-Request-Method``), or
    ``None`` when the request is not one."""
    origin = headers.get("origin")
    wanted = headers.get("access-control-request-method", "")
    if method != "OPTIONS" or not origin or not wanted:
        return None
    asked = [h.strip().lower() for h in headers.get("access-control-request-headers", "").split(",")]
    valid = (
        origin_allowed(state, origin)
        and wanted in METHODS
        and all(not h or h in HEADERS or h in SIMPLE_HEADERS for h in asked)
    )
    if not valid:
        return Response.error(RestError(400, "CORS error occurred"))
    return Response(
        200,
        (
            ("Access-Control-Allow-Methods", ",".join(METHODS)),
            ("Access-Control-Allow-Headers", ",".join(HEADERS)),
            ("Access-Control-Max-Age", MAX_AGE),
            *_origin_headers(origin),
        ),
        b"",
    )


def actual_headers(state: State, headers: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The CORS headers of an answer to a request from an allowed origin (none otherwise)."""
    origin = headers.get("origin")
    if not origin or not origin_allowed(state, origin):
        return ()
    return (("Access-Control-Expose-Headers", EXPOSED), *_origin_headers(origin))
