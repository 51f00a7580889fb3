"""AM's OAuth 2.0 surface, ``<context>/oauth2/…``: the endpoint table.

A new ``/oauth2`` endpoint is a handler in the module of its audience (grants for the token
endpoint, :mod:`~mock_as.resource` for resource servers, :mod:`~mock_as.oidc` for OpenID Connect),
its path in :data:`mock_as.paths.OAUTH2_ENDPOINTS`, and a row here.
"""

from __future__ import annotations

import functools
from types import MappingProxyType

from . import authorize, grants, oidc, resource
from .paths import OAUTH2, OAUTH2_ENDPOINTS, parse_oauth2_path
from .protocol import Handler, Route, Surface, oauth2_error

HANDLERS: MappingProxyType[str, Handler] = MappingProxyType(
    {
        "access_token": grants.access_token,
        "tokeninfo": resource.tokeninfo,
        "introspect": resource.introspect,
        "revoke": resource.revoke,
        "userinfo": oidc.userinfo,
        "idtokeninfo": oidc.idtokeninfo,
        "openid-configuration": oidc.discovery(grants.GRANT_HANDLERS),
        "jwk_uri": oidc.jwk_uri,
        "authorize": authorize.authorize,
        "endSession": authorize.end_session,
    }
)
assert HANDLERS.keys() == OAUTH2_ENDPOINTS.keys(), "every /oauth2 path has a handler"


def _parse(path: str) -> Route | None:
    # A suite asks the same few paths over and over: short ones are remembered (a few hundred
    # bytes each at most, so odd long paths cannot make the cache large).
    return _parse_short(path) if len(path) <= 256 else _route(path)


def _route(path: str) -> Route | None:
    parsed = parse_oauth2_path(path)
    return None if parsed is None else Route(*parsed)


_parse_short = functools.lru_cache(maxsize=1024)(_route)


SURFACE = Surface(prefix=OAUTH2, parse=_parse, handlers=HANDLERS, error=oauth2_error)
