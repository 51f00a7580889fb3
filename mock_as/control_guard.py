"""Who may talk to the control API: this machine's own tools, not the web pages its browser shows.

The control API changes everything (users, faults, the seed) and shows every password, so a page on
any site must not drive it: a cross-site form post, or a page whose host name was rebound to
127.0.0.1 (DNS rebinding), would otherwise reach it. :func:`guard` runs before every request under
``/__mock_as__`` and refuses, changing nothing:

* a ``Host`` that is not a loopback name or address (``localhost``, ``*.localhost``, 127.0.0.0/8,
  ``::1``) nor one of :attr:`~mock_as.config.MockASConfig.control_hosts`: 403;
* an ``Origin`` (or a ``Sec-Fetch-Site`` of ``cross-site``/``same-site``) other than the mock's own
  or one of :attr:`~mock_as.config.MockASConfig.control_origins`: 403;
* a write (POST, PUT, PATCH, DELETE) with a body that is not ``application/json``: 415.

An allowed origin other than the mock's own gets the CORS headers a browser needs to read the answer
(:func:`cors`).

curl, requests and any other client on the same machine send none of these, so they keep working.
AM's own endpoints are not guarded: they answer form posts from anywhere, as AM does.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Response, current_app, request

from .errors import json_body
from .paths import CONTROL_PREFIX

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON_MEDIA = "application/json"
ANY = "*"
MAX_JSON_DEPTH = 64
"""How deeply the control API's JSON may nest (its documents need four levels)."""


class Refusal(Exception):
    """Why a request to the control API was refused: a status, an error code and a description."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> bytes:
        """The control API's error JSON."""
        return json_body({"error": self.error, "error_description": self.description})


def split_host(host: str) -> str:
    """The name or address of a ``Host`` value, without its port or brackets, lower-cased."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host[1:]
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def is_loopback_name(name: str) -> bool:
    """``localhost``, a name under ``.localhost`` (RFC 6761: never leaves the machine), or a
    loopback address."""
    name = name.rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_allowed(host: str, allowed: Iterable[str] = ()) -> bool:
    """Whether a ``Host`` header names this machine's loopback or one of ``allowed`` (``name``,
    ``name:port``, or ``*``)."""
    lowered = host.strip().lower()
    name = split_host(lowered)
    if is_loopback_name(name):
        return True
    for entry in allowed:
        entry = entry.strip().lower()
        if entry in (ANY, lowered, name):
            return True
    return False


def _origin_of(scheme: str, host: str) -> str:
    return f"{scheme}://{host.strip().lower()}"


def origin_allowed(origin: str, own: str, allowed: Iterable[str] = ()) -> bool:
    """Whether a browser page at ``origin`` may call the API: the mock's own origin ``own`` (its
    inspector pages) or one of ``allowed`` (``*`` for any). ``null`` (a sandboxed page, a file)
    is never the mock's own."""
    origin = origin.strip().lower().rstrip("/")
    if origin == own.lower():
        return True
    return any(entry.strip() == ANY or entry.strip().lower().rstrip("/") == origin for entry in allowed)


def check(
    method: str,
    headers: Mapping[str, str],
    environ: Mapping[str, Any],
    body_length: int,
    hosts: Iterable[str] = (),
    origins: Iterable[str] = (),
) -> None:
    """Raise :class:`Refusal` unless this request may reach the control API; ``headers`` are
    lower-cased names."""
    # Browsers always send Host; a request without one (HTTP/1.0) comes from a tool, not a page.
    host = headers.get("host")
    if host is None:
        host = "localhost"
    if not host_allowed(host, hosts):
        raise Refusal(
            403,
            "forbidden",
            "the control API answers only requests to a loopback host (localhost, 127.0.0.1, ::1); "
            "allow another with --control-host / MOCK_AS_CONTROL_HOSTS / control_hosts",
        )
    own = _origin_of(str(environ.get("wsgi.url_scheme", "http")), host)
    origin = headers.get("origin")
    if origin is not None:
        if not origin_allowed(origin, own, origins):
            raise Refusal(
                403,
                "forbidden",
                "the control API does not answer pages of another origin; allow one with "
                "--control-origin / MOCK_AS_CONTROL_ORIGINS / control_origins",
            )
    elif headers.get("sec-fetch-site", "").strip().lower() in ("cross-site", "same-site"):
        raise Refusal(403, "forbidden", "the control API does not answer pages of another site")
    if method.upper() in WRITES:
        media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media != JSON_MEDIA and (media or body_length):
            raise Refusal(
                415,
                "unsupported_media_type",
                "the control API takes JSON: send Content-Type: application/json "
                "(curl --json '…', or -H 'Content-Type: application/json')",
            )


def under_control(path: str) -> bool:
    """Whether ``path`` is the control API's (or a page of the mock's own under its prefix)."""
    return path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")


def guard() -> Any:
    """The Flask ``before_request`` hook: ``None`` to go on, or the refusal as a response.

    Registered through the control blueprint for every path under ``/__mock_as__`` (unknown routes
    and pages of the mock's own included), so nothing there is answered to a foreign page."""
    if not under_control(request.path):
        return None
    config = current_app.extensions["mock_as"].config
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        check(
            request.method,
            headers,
            request.environ,
            request.content_length or 0,
            config.control_hosts,
            config.control_origins,
        )
    except Refusal as e:
        response = Response(e.body(), e.status, content_type=JSON_MEDIA)
        response.headers["Cache-Control"] = "no-store"
        return response
    return None


def too_deep(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a JSON text opens more than ``limit`` arrays or objects at once, read without
    parsing (a parser recurses once per level and would run out of stack first)."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


CORS_METHODS = "GET, POST, PUT, PATCH, DELETE"


def cors(response: Response) -> Response:
    """The Flask ``after_request`` hook: let a page of an allowed origin
    (:attr:`~mock_as.config.MockASConfig.control_origins`) read the control API's answers and send
    its JSON (the preflight ``OPTIONS`` is answered too). Nothing for any other origin."""
    origin = request.headers.get("Origin")
    if origin is None or not under_control(request.path) or response.status_code in (403, 415):
        return response
    allowed = current_app.extensions["mock_as"].config.control_origins
    if not allowed or not origin_allowed(origin, "", allowed):
        return response
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers.add("Vary", "Origin")
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
    return response
