"""Paths, realms and URLs: every shape of an address the mock reads or writes, in one place.

Realm names are ``/`` for the top-level realm and ``/a/b`` below it. In URLs AM writes them as
``/realms/root`` and ``/realms/root/realms/a/realms/b`` (reference §1.2), and it still reads the
legacy ``/oauth2/a/b/…`` form and a ``?realm=/a`` override.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

OAUTH2 = "/oauth2/"
JSON = "/json/"
CONTROL_PREFIX = "/__mock_as__"

# Endpoint name -> its path segments below /oauth2 (after the realm part).
OAUTH2_ENDPOINTS: Mapping[str, tuple[str, ...]] = {
    "access_token": ("access_token",),
    "tokeninfo": ("tokeninfo",),
    "introspect": ("introspect",),
    "revoke": ("token", "revoke"),
    "userinfo": ("userinfo",),
    "idtokeninfo": ("idtokeninfo",),
    "openid-configuration": (".well-known", "openid-configuration"),
    "jwk_uri": ("connect", "jwk_uri"),
    "authorize": ("authorize",),
    "endSession": ("connect", "endSession"),
}
_OAUTH2_BY_SEGMENTS = {segments: name for name, segments in OAUTH2_ENDPOINTS.items()}

# Resource name -> AM's REST resources below /json (after the realm part), reference am-journeys §1, §2.
JSON_ENDPOINTS: tuple[str, ...] = ("authenticate", "sessions", "users", "serverinfo")

# The login page a browser without a session is sent to (AM's classic ``/UI/Login``, reference F3.5).
UI = "/UI/"
LOGIN_PAGE = "/UI/Login"

ENDPOINT_NAMES: tuple[str, ...] = (*OAUTH2_ENDPOINTS, *JSON_ENDPOINTS, "login_page")
"""Every endpoint name a journal entry, a fault or a URL builder may use, surface by surface."""


def normalise_realm(name: str) -> str:
    """``customers``, ``/customers/`` and ``/root/customers`` all name ``/customers``; ``/`` is the top."""
    parts = [p for p in name.strip().split("/") if p]
    if parts and parts[0] == "root":
        parts = parts[1:]
    return "/" + "/".join(parts)


def realm_path(realm: str) -> str:
    """The URL path segment of a realm: ``/`` -> ``/realms/root``, ``/a/b`` -> ``/realms/root/realms/a/realms/b``."""
    parts = [p for p in realm.split("/") if p]
    return "/realms/root" + "".join(f"/realms/{p}" for p in parts)


def realm_from_segments(segments: list[str], *, legacy: bool = True) -> str | None:
    """The realm named by the path segments before an endpoint: ``[]`` is the top realm,
    ``realms/root[/realms/<name>]…`` pairs name a sub-realm, and (where ``legacy``) ``a/b`` is the
    old ``/oauth2/a/b/`` form. ``None`` when the segments are malformed (AM: no such realm)."""
    if not segments:
        return "/"
    if "" in segments:
        return None
    if segments[0] == "realms":
        if len(segments) % 2 or segments[1] != "root" or any(s != "realms" for s in segments[2::2]):
            return None
        return "/" + "/".join(segments[3::2])
    return "/" + "/".join(segments) if legacy else None


def parse_oauth2_path(path: str) -> tuple[str | None, str] | None:
    """``/oauth2/<realm part>/<endpoint>`` -> (realm, endpoint name), or ``None`` if it is not one.
    The realm is ``None`` when the realm part is malformed."""
    if not path.startswith(OAUTH2):
        return None
    segments = path[len(OAUTH2) :].split("/")
    for size in (2, 1):
        if len(segments) >= size:
            name = _OAUTH2_BY_SEGMENTS.get(tuple(segments[-size:]))
            if name is not None:
                return realm_from_segments(segments[:-size]), name
    return None


def _json_tail_ok(endpoint: str, tail: list[str]) -> bool:
    # What may follow a resource's name: nothing or a trailing slash everywhere, one id for
    # ``sessions/<tokenId>`` (the 1.x validate form) and ``users/<id>``, one for ``serverinfo/*``.
    if not tail or tail == [""]:
        return endpoint != "serverinfo"
    if len(tail) != 1:
        return False
    return endpoint in ("sessions", "users", "serverinfo")


def parse_json_path(path: str) -> tuple[str | None, str, tuple[str, ...]] | None:
    """``/json/<realm part>/<resource>[/<id>]`` -> (realm, resource, ids), or ``None`` if it is not one.

    The realm part is ``realms/root[/realms/<name>]…``, the older ``<name>/…`` form or nothing
    (reference F1.1-F1.4); ``sessions`` and ``sessions/`` are the same (F2.9). The realm is ``None``
    when the realm part is malformed."""
    if not path.startswith(JSON):
        return None
    segments = path[len(JSON) :].split("/")
    fallback: tuple[str | None, str, tuple[str, ...]] | None = None
    for i, segment in enumerate(segments):
        if segment not in JSON_ENDPOINTS:
            continue
        tail = segments[i + 1 :]
        if not _json_tail_ok(segment, tail):
            continue
        ids = tuple(t for t in tail if t)
        realm = realm_from_segments(segments[:i])
        if realm is not None:
            return realm, segment, ids
        fallback = fallback or (None, segment, ids)
    return fallback


def json_url(base_url: str, endpoint: str, realm: str = "/") -> str:
    """The URL of an AM REST resource in ``realm``, in the ``/json/realms/root`` form of AM's docs
    (``serverinfo`` has no realm: ``/json/serverinfo/*``)."""
    if endpoint == "serverinfo":
        return f"{base_url.rstrip('/')}/json/serverinfo/*"
    return f"{base_url.rstrip('/')}/json{realm_path(realm)}/{endpoint}"


def oauth2_url(base_url: str, endpoint: str, realm: str = "/") -> str:
    """The URL of an ``/oauth2`` endpoint in ``realm``, in the ``/realms/root`` form of AM's docs."""
    return f"{base_url.rstrip('/')}/oauth2{realm_path(realm)}/{'/'.join(OAUTH2_ENDPOINTS[endpoint])}"


def login_page_url(base_url: str, realm: str, goto: str) -> str:
    """The mock's login page for ``realm``, returning to ``goto`` after a successful login."""
    return f"{base_url.rstrip('/')}{LOGIN_PAGE}?{urlencode({'realm': realm, 'goto': goto})}"


def issuer_url(base_url: str, realm: str, issuer: str | None = None) -> str:
    """AM's issuer for ``realm``: ``<base>/oauth2`` for the top realm,
    ``<base>/oauth2/realms/root/realms/<name>`` below it; ``issuer`` pins ``<base>``."""
    base = (issuer or base_url).rstrip("/")
    return f"{base}/oauth2" + ("" if realm == "/" else realm_path(realm))


def context_prefix(context_path: str) -> str:
    """A context path as a path prefix: ``/openam`` stays, ``/`` and ``""`` become ``""``."""
    return context_path.rstrip("/")


def external_base(environ: Mapping[str, Any], context_path: str) -> str:
    """Scheme, host and context path as the client addressed them, honouring X-Forwarded-* headers
    (a mock behind a proxy or in a container must put the client's view in its issuer)."""
    host = (
        environ.get("HTTP_HOST", "")
        or f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
    )
    return proxied_base(
        environ["wsgi.url_scheme"],
        host,
        context_path,
        environ.get("HTTP_X_FORWARDED_PROTO", ""),
        environ.get("HTTP_X_FORWARDED_HOST", ""),
        environ.get("HTTP_X_FORWARDED_PREFIX", ""),
    )


FORWARDED_HEADERS = ("x-forwarded-proto", "x-forwarded-host", "x-forwarded-prefix")
"""The proxy headers that change the base URL the client sees (lower-cased)."""


def proxied_base(
    scheme: str, host: str, context_path: str, proto: str, forwarded_host: str, prefix: str
) -> str:
    """The base URL a client behind a proxy addressed: the first of a list of forwarded values
    wins, an empty one leaves the server's own."""
    scheme = proto.split(",")[0].strip() or scheme
    host = forwarded_host.split(",")[0].strip() or host
    return f"{scheme}://{host}{prefix.rstrip('/')}{context_path}"


def server_url(host: str, port: int, context_path: str = "", scheme: str = "http") -> str:
    """``http://127.0.0.1:8080/openam``, with an IPv6 address in brackets."""
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}{context_prefix(context_path)}"


def control_url(base_url: str, context_path: str) -> str:
    """The control API's root for a server whose AM base URL is ``base_url``: at the server's root,
    outside AM's context path."""
    base = base_url.rstrip("/")
    context = context_prefix(context_path)
    if context and base.endswith(context):
        base = base[: -len(context)]
    return f"{base}{CONTROL_PREFIX}"


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine's loopback only (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
