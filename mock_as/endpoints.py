"""AM's OAuth 2.0 surface: realm routing and the endpoint handlers, free of any web framework.

``handle(state, method, path, query, headers, body, base_url)`` is the single entry point both
transports call. Realm forms (reference §1.2): ``/oauth2/access_token``,
``/oauth2/realms/root/access_token``, ``/oauth2/realms/root/realms/a/realms/b/access_token``,
legacy ``/oauth2/a/b/access_token`` and ``?realm=/a``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from .errors import NotFound, OAuthError, invalid_request
from .grants import GRANT_HANDLERS
from .limits import oversize
from .protocol import NO_STORE, Exchange, Response
from .state import Call, State, normalise_realm

log = logging.getLogger("mock_as")

Handler = Callable[[Exchange], Response]

# Endpoint name -> its path segments below /oauth2 (after the realm part).
ENDPOINT_PATHS: dict[str, tuple[str, ...]] = {
    "access_token": ("access_token",),
    "tokeninfo": ("tokeninfo",),
    "introspect": ("introspect",),
    "revoke": ("token", "revoke"),
    "userinfo": ("userinfo",),
    "idtokeninfo": ("idtokeninfo",),
    "openid-configuration": (".well-known", "openid-configuration"),
    "jwk_uri": ("connect", "jwk_uri"),
}
_BY_SEGMENTS = {segments: name for name, segments in ENDPOINT_PATHS.items()}

HANDLERS: dict[str, Handler] = {}


def endpoint(name: str) -> Callable[[Handler], Handler]:
    """Register the handler of one of :data:`ENDPOINT_PATHS`."""

    def register(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn

    return register


def realm_path(realm: str) -> str:
    """The URL path segment of a realm: ``/`` -> ``/realms/root``, ``/a/b`` -> ``/realms/root/realms/a/realms/b``."""
    parts = [p for p in realm.split("/") if p]
    return "/realms/root" + "".join(f"/realms/{p}" for p in parts)


def parse_path(path: str) -> tuple[str | None, str] | None:
    """``/oauth2/<realm part>/<endpoint>`` -> (realm, endpoint name), or ``None`` if it is not AM's.
    The realm is ``None`` when the realm part is malformed (AM: no such realm)."""
    if not path.startswith("/oauth2/"):
        return None
    segments = path[len("/oauth2/") :].split("/")
    for size in (2, 1):
        if len(segments) >= size:
            name = _BY_SEGMENTS.get(tuple(segments[-size:]))
            if name is not None:
                return _realm_from_segments(segments[:-size]), name
    return None


def _realm_from_segments(segments: list[str]) -> str | None:
    if not segments:
        return "/"
    if "" in segments:
        return None
    if segments[0] == "realms":
        # realms/root[/realms/<name>]… : pairs, the first naming root.
        if len(segments) % 2 or segments[1] != "root" or any(s != "realms" for s in segments[2::2]):
            return None
        return "/" + "/".join(segments[3::2])
    return "/" + "/".join(segments)  # the legacy /oauth2/<realm>/ form


def handle(
    state: State,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    base_url: str,
) -> Response:
    """Answer one request to AM's surface; ``path`` is below the context path (``/oauth2/…``).
    Never raises: every failure is an answer in AM's format."""
    x = Exchange(state, method, path, query, headers, body, base_url)
    error = None
    too_big = oversize(path, query, headers, body)
    try:
        if too_big is not None:
            raise too_big
        response = _dispatch(x)
    except OAuthError as e:
        error = e.error
        response = Response(e.status, NO_STORE + e.headers, e.body())
    except NotFound as e:
        error = "not_found"
        response = Response(404, NO_STORE[:1], e.body())
    except Exception:  # a bug of ours must still answer in AM's format, and never with a traceback
        log.exception("mock_as: internal error on %s %s", method, path)
        error = "server_error"
        response = Response(500, NO_STORE, OAuthError("server_error", "Internal Server Error", 500).body())
    state.record(
        Call(
            method=method,
            path=path,
            endpoint=x.endpoint,
            realm=x.realm.name if x.realm is not None else None,
            params={} if too_big is not None else x.redacted_params(),
            status=response.status,
            error=error,
            time=x.now,
        )
    )
    return response


def _dispatch(x: Exchange) -> Response:
    parsed = parse_path(x.path)
    if parsed is None:
        raise NotFound("Not Found")
    realm_name, name = parsed
    override = x.query_params.get("realm")
    if override:
        realm_name = normalise_realm(override)  # the query form overrides the path (reference §1.2)
    realm = None if realm_name is None else x.state.realms.get(realm_name)
    if realm is None:
        raise NotFound("Realm not found")
    x.realm = realm
    x.endpoint = name
    faults = x.state.extensions.get("faults")
    if faults is not None:
        injected = faults.take(x)
        if injected is not None:
            return injected  # type: ignore[no-any-return]
    handler = HANDLERS.get(name)
    if handler is None:
        raise NotFound("Not Found")
    return handler(x)


@endpoint("access_token")
def access_token(x: Exchange) -> Response:
    """``/oauth2/access_token``: AM's TokenEndpointFilter, then the grant handler (reference §2)."""
    x.require_form_post()
    grant_type = x.param("grant_type")
    if not grant_type:
        raise invalid_request("Grant type is not set")
    handler = GRANT_HANDLERS.get(grant_type)
    if handler is None:
        raise OAuthError("unsupported_grant_type", "Grant type is not supported")
    return handler(x)
