"""The one entry point both transports call: a request below the context path in, AM's answer out.

``handle(state, method, path, query, headers, body, base_url)`` finds the surface that owns the
path (:data:`SURFACES`: ``/oauth2/…`` today; each new surface is a module exposing a
:class:`~mock_as.protocol.Surface` and a row here), resolves the realm, lets an injected fault
answer first, runs the endpoint, renders any error in that surface's format, and records the call.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from . import cors, loginpage, oauth2, rest
from .errors import HTTPError, NotFound, OAuthError, RestError
from .limits import oversize
from .paths import normalise_realm
from .protocol import Exchange, Response, Surface, oauth2_error
from .state import Call, State, StoreUnavailable

log = logging.getLogger("mock_as")

SURFACES: tuple[Surface, ...] = (oauth2.SURFACE, rest.SURFACE, loginpage.SURFACE)


def surface_of(path: str) -> Surface | None:
    """The surface that owns ``path`` (below the context path), if any."""
    for surface in SURFACES:
        if path.startswith(surface.prefix):
            return surface
    return None


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
    Never raises: every failure is an answer in the surface's format."""
    down: StoreUnavailable | None = None
    try:
        state.sync()
    except StoreUnavailable as e:
        down = e
    x = Exchange(state, method, path, query, headers, body, base_url)
    surface = surface_of(path)
    error = surface.error if surface is not None else oauth2_error
    too_big = oversize(path, query, headers, body)
    code = None
    preflight = None
    try:
        if down is not None:
            raise down
        if too_big is not None:
            raise error(*too_big)
        if surface is None:
            raise NotFound("Not Found")
        preflight = cors.preflight(state, method, headers)
        response = preflight or _dispatch(x, surface)
    except HTTPError as e:
        code = e.code
        response = Response.error(e)
    except StoreUnavailable as e:
        log.warning("mock_as: %s %s answered 503: %s", method, path, e)
        response = Response.error(unavailable(surface))
        response.delay = x.delay
        return response  # not journaled: the journal is in the store that did not answer
    except Exception:  # a bug of ours must still answer in AM's format, and never with a traceback
        log.exception("mock_as: internal error on %s %s", method, path)
        failure = error(500, "Internal Server Error")
        code = failure.code
        response = Response.error(failure)
    response.delay = x.delay
    if "origin" in headers and preflight is None:  # a preflight's answer has its CORS headers already
        response.headers += cors.actual_headers(state, headers)
    state.record(
        Call(
            method=method,
            path=x.path,  # an endpoint may mask a secret the path carries
            endpoint=x.endpoint,
            realm=x.realm.name if x.realm is not None else None,
            params={} if too_big is not None else x.redacted_params(),
            status=response.status,
            error=code,
            time=x.now,
        )
    )
    return response


def unavailable(surface: Surface | None) -> HTTPError:
    """AM's answer while its data store is down: 503, ``temporarily_unavailable`` on /oauth2 (RFC
    6749's code for an overloaded or maintained server), CREST's 503 on /json; ``Retry-After: 1``."""
    retry = (("Retry-After", "1"),)
    if surface is rest.SURFACE:
        return RestError(503, "Service Unavailable", headers=retry)
    return OAuthError("temporarily_unavailable", "Service Unavailable", 503, retry)


def _dispatch(x: Exchange, surface: Surface) -> Response:
    route = surface.parse(x.path)
    if route is None:
        raise NotFound("Not Found")
    realm_name = route.realm
    if surface.realm_query:
        override = x.query_params.get("realm")
        if override:
            realm_name = normalise_realm(override)  # the query form overrides the path (reference §1.2)
    realm = None if realm_name is None else x.state.realms.get(realm_name)
    if realm is None:
        raise NotFound("Realm not found")
    x.realm = realm
    x.endpoint = route.endpoint
    x.args = route.args
    injected = x.state.faults.take(x)
    if injected is not None:
        return injected
    return surface.handlers[route.endpoint](x)
