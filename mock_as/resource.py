"""The resource server's side of AM's OAuth 2.0 surface (reference §9): tokeninfo, introspection and
revocation, and the token lookups every bearer-token endpoint shares.

Every handler reads time from the exchange (``x.now``, the mock's clock) and finds tokens with one
dictionary lookup. A token is good when it exists (not revoked), has not expired and its client is
still registered; what each endpoint answers for a bad one follows AM. None of these endpoints sits
behind AM's OAuth2Filter, so their errors carry no ``Cache-Control``/``Pragma`` (reference §4).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import OAuthError, invalid_grant, invalid_request, invalid_token
from .javaset import hash_set_order, stored_scope_order
from .protocol import Response

if TYPE_CHECKING:
    from .config import ClientConfig
    from .protocol import Exchange
    from .state import Realm, State, Token

# AM's ValidationServerResource marks tokeninfo answers uncacheable.
TOKENINFO_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Type", "application/json"),
    ("Cache-Control", "no-cache, no-store"),
)
BOTH_PLACES = "Access Token cannot be provided in both query and header"
INTROSPECT_ALL = "am-introspect-all-tokens"
INTROSPECT_ANY_REALM = "am-introspect-all-tokens-any-realm"

# -- shared checks --------------------------------------------------------------------------------


def unfiltered(handler: Callable[[Exchange], Response]) -> Callable[[Exchange], Response]:
    """An endpoint AM serves without its OAuth2Filter: its OAuth errors carry no cache headers."""

    @functools.wraps(handler)
    def endpoint(x: Exchange) -> Response:
        try:
            return handler(x)
        except OAuthError as e:
            raise e.unfiltered() from None

    return endpoint


def java_map(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` in the iteration order of the Java ``HashMap`` AM fills in ``body``'s order."""
    return {key: body[key] for key in _java_map_order(tuple(body))}


@functools.lru_cache(maxsize=4096)
def _java_map_order(keys: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(hash_set_order(keys))


@functools.lru_cache(maxsize=4096)
def stored_order(scopes: tuple[str, ...]) -> tuple[str, ...]:
    """A token's scopes as tokeninfo and introspect read them back (a ``HashSet``, reference §7.1)."""
    return tuple(stored_scope_order(scopes))


def bearer_header(x: Exchange) -> str | None:
    header = x.headers.get("authorization", "").strip()
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def single_access_token(
    x: Exchange, elsewhere: str | None, both: OAuthError, realm: str | None = None
) -> tuple[str, Token]:
    """AM's two verifiers (reference §9.1, §9.4): the header's token and the one ``elsewhere`` (query or
    form) are each checked; both valid is ``both``, one valid is used, none is ``invalid_token``.
    With ``realm``, a token of another realm counts as invalid."""
    found = []
    for presented in (bearer_header(x), elsewhere or None):
        token = live_token(x, presented)
        if token is not None and token.kind == "access_token" and realm in (None, token.realm):
            assert presented is not None
            found.append((presented, token))
    if len(found) == 2:
        raise both
    if not found:
        raise invalid_token()
    return found[0]


def client_registered(state: State, token: Token) -> bool:
    realm = state.realms.get(token.realm)
    return realm is not None and token.client_id in realm.clients


def live_token(x: Exchange, presented: str | None) -> Token | None:
    """The live token behind ``presented``: known, not revoked, not expired, client still there."""
    if not presented:
        return None
    token = x.state.find(x.state.formats.resolve(presented), x.now)
    if token is None or not client_registered(x.state, token):
        return None
    return token


def profile(state: State, token: Token) -> Mapping[str, str | tuple[str, ...]]:
    realm = state.realms.get(token.realm)
    if realm is None or token.grant_type == "client_credentials":
        return {}
    user = realm.users.get(token.username)
    return {} if user is None else user.attributes


def attribute(attributes: Mapping[str, str | tuple[str, ...]], name: str) -> str:
    value = attributes.get(name)
    if value is None:
        return ""
    return value if isinstance(value, str) else ",".join(value)


# -- /oauth2/tokeninfo ----------------------------------------------------------------------------


@unfiltered
def tokeninfo(x: Exchange) -> Response:
    """``GET /oauth2/tokeninfo`` (reference §9.1): AM's fields, ``scope`` as a list, then one key per
    scope holding the user's attribute of that name, written after the standard fields so a scope
    named like one replaces it; keys in Java ``HashMap`` order. Realm-agnostic: the token names its
    realm. A token in both header and query is an error only when both are valid."""
    x.require_method("GET")
    presented, token = single_access_token(
        x, x.query_params.get("access_token"), invalid_request(BOTH_PLACES)
    )
    scopes = list(stored_order(tuple(token.scopes)))
    body: dict[str, Any] = {
        "access_token": presented,
        "token_type": "Bearer",
        "expires_in": token.expires_in(x.now),
        "scope": scopes,
        "client_id": token.client_id,
        "grant_type": token.grant_type,
        "realm": token.realm,
    }
    attributes = profile(x.state, token)
    for scope in scopes:
        body[scope] = attribute(attributes, scope)
    return Response.json(200, java_map(body), TOKENINFO_HEADERS)


# -- /oauth2/introspect ---------------------------------------------------------------------------


def may_introspect(client: ClientConfig, realm: Realm, token: Token) -> bool:
    """AM's rule: the token's own client, a client of the token's realm allowed
    ``am-introspect-all-tokens``, or any client allowed ``am-introspect-all-tokens-any-realm``."""
    if INTROSPECT_ANY_REALM in client.scopes:
        return True
    if token.realm != realm.name:
        return False
    return token.client_id == client.client_id or INTROSPECT_ALL in client.scopes


def introspection(x: Exchange, token: Token) -> dict[str, Any]:
    """The RFC 7662 answer for an active token, with AM 7's fields in its order."""
    body: dict[str, Any] = {
        "active": True,
        "scope": " ".join(stored_order(tuple(token.scopes))),
        "realm": token.realm,
        "client_id": token.client_id,
        "user_id": token.username,
        "username": token.username,
        "token_type": "Bearer" if token.kind == "access_token" else "refresh_token",
    }
    if token.expires_at is not None:
        body["exp"] = int(token.expires_at)
    body["sub"] = token.username
    body["subname"] = token.username
    body["iss"] = x.state.issuer(x.base_url, token.realm)
    body["auth_level"] = 0
    body["authGrantId"] = token.auth_grant_id
    body["auditTrackingId"] = token.audit_id
    body["expires_in"] = token.expires_in(x.now)
    return body


# ``token_type_hint`` -> the token kinds AM looks up; absent: access tokens, then refresh tokens.
# Any other hint (``requesting_party_token`` included: the mock issues no UMA tokens) finds nothing.
HINT_KINDS: Mapping[str | None, tuple[str, ...]] = {
    None: ("access_token", "refresh_token"),
    "access_token": ("access_token",),
    "refresh_token": ("refresh_token",),
}


@unfiltered
def introspect(x: Exchange) -> Response:
    """``POST /oauth2/introspect`` (RFC 7662, reference §9.2): client authentication first, failing
    without a ``WWW-Authenticate`` challenge; then the token's fields, or ``{"active": false}`` for
    anything unknown, expired, revoked, not of the hinted kind or not the caller's to see. The token
    is read from the form body only (AM 7's default)."""
    x.require_form_post()
    try:
        client = x.authenticate_client()
    except OAuthError as e:
        e.headers = ()  # this resource sets no challenge
        raise
    presented = x.form.get("token")
    if not presented:
        raise invalid_request("Missing parameter: token")
    realm = x.realm
    assert realm is not None
    kinds = HINT_KINDS.get(x.param("token_type_hint"), ())
    token = live_token(x, presented)
    if token is None or token.kind not in kinds or not may_introspect(client, realm, token):
        return Response.json(200, {"active": False})
    return Response.json(200, introspection(x, token))


# -- /oauth2/token/revoke -------------------------------------------------------------------------


@unfiltered
def revoke(x: Exchange) -> Response:
    """``POST /oauth2/token/revoke`` (RFC 7009, reference §9.3): ``{}`` whether or not the token was
    known; revoking a refresh token revokes every token of its grant. ``token`` is checked before the
    client is authenticated, and every error echoes ``state``."""
    x.require_form_post()
    try:
        return _revoke(x)
    except OAuthError as e:
        raise e.echo(x.param("state")) from None


def _revoke(x: Exchange) -> Response:
    presented = x.param("token")
    if not presented:
        raise invalid_request("Missing parameter: token")
    client = x.authenticate_client()
    realm = x.realm
    assert realm is not None
    state = x.state
    with state.lock:
        token = state.tokens.get(state.formats.resolve(presented))
        if token is not None and token.realm == realm.name:
            if token.client_id != client.client_id:
                raise invalid_grant(f"The provided token id : {presented} belongs to different access grant.")
            if token.kind == "refresh_token":
                state.revoke_grant(token.auth_grant_id)
            else:
                state.revoke(token.id)
    return Response.json(200, {})
