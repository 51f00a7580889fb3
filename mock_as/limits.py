"""Size caps on one request, the same on both transports.

The live server passes them to waitress, which refuses a larger request before reading it whole;
:func:`~mock_as.endpoints.handle` applies them too, so an in-process client (or any other WSGI
server) meets the same caps with the same answer: AM's error JSON with status 413 or 431.
"""

from __future__ import annotations

from collections.abc import Mapping

MAX_BODY_BYTES = 1024 * 1024
"""The largest body accepted (a token request is well under a kilobyte)."""
MAX_HEADER_BYTES = 64 * 1024
"""The largest request head accepted: the request line and every header together."""

TOO_LARGE = "Request Entity Too Large"
HEADERS_TOO_LARGE = "Request Header Fields Too Large"


def oversize(path: str, query: str, headers: Mapping[str, str], body: bytes) -> tuple[int, str] | None:
    """The status and reason for a request beyond the caps, or ``None``."""
    if len(body) > MAX_BODY_BYTES:
        return 413, TOO_LARGE
    # Each header line is "name: value\r\n" on the wire.
    head = (
        len(path) + len(query) + sum(map(len, headers)) + sum(map(len, headers.values())) + 4 * len(headers)
    )
    if head > MAX_HEADER_BYTES:
        return 431, HEADERS_TOO_LARGE
    return None
