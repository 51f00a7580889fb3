"""The resource server's side of AM's OAuth 2.0 surface (reference §9): tokeninfo, introspection and
revocation, and the token lookups every bearer-token endpoint shares.

Every handler reads time from the exchange (``x.now``, the mock's clock) and finds tokens with one
dictionary lookup. A token is good when it exists (not revoked), has not expired and its client is
still registered; what each endpoint answers for a bad one follows AM.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import invalid_grant, invalid_request, invalid_token
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


def bearer_header(x: Exchange) -> str | None:
    header = x.headers.get("authorization", "").strip()
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def presented_access_token(x: Exchange, *, query: bool, form: bool) -> str | None:
    """The bearer token from the header or, where the endpoint reads them, the query or form."""
    in_header = bearer_header(x)
    elsewhere = None
    if query:
        elsewhere = x.query_params.get("access_token") or None
    if elsewhere is None and form:
        elsewhere = x.form.get("access_token") or None
    if in_header is not None and elsewhere is not None:
        raise invalid_request(BOTH_PLACES)
    return in_header or elsewhere


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


def live_access_token(x: Exchange, presented: str | None) -> Token:
    token = live_token(x, presented)
    if token is None or token.kind != "access_token":
        raise invalid_token()
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


def tokeninfo(x: Exchange) -> Response:
    """``GET /oauth2/tokeninfo`` (reference §9.1): AM's fields, ``scope`` as a list, and one key per
    scope holding the user's attribute of that name. Realm-agnostic: the token names its realm."""
    x.require_method("GET")
    presented = presented_access_token(x, query=True, form=False)
    token = live_access_token(x, presented)
    assert presented is not None
    body: dict[str, Any] = {
        "access_token": presented,
        "token_type": "Bearer",
        "expires_in": token.expires_in(x.now),
        "scope": list(token.scopes),
        "client_id": token.client_id,
        "grant_type": token.grant_type,
        "realm": token.realm,
    }
    attributes = profile(x.state, token)
    for scope in token.scopes:
        body.setdefault(scope, attribute(attributes, scope))
    return Response.json(200, body, TOKENINFO_HEADERS)


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
        "scope": " ".join(token.scopes),
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


def introspect(x: Exchange) -> Response:
    """``POST /oauth2/introspect`` (RFC 7662, reference §9.2): client authentication first; then the
    token's fields, or ``{"active": false}`` for anything unknown, expired, revoked or not the
    caller's to see. The token is read from the form body only (AM 7's default)."""
    x.require_form_post()
    client = x.authenticate_client()
    presented = x.form.get("token")
    if not presented:
        raise invalid_request("Missing parameter: token")
    realm = x.realm
    assert realm is not None
    token = live_token(x, presented)
    if token is None or not may_introspect(client, realm, token):
        return Response.json(200, {"active": False})
    return Response.json(200, introspection(x, token))


# -- /oauth2/token/revoke -------------------------------------------------------------------------


def revoke(x: Exchange) -> Response:
    """``POST /oauth2/token/revoke`` (RFC 7009, reference §9.3): ``{}`` whether or not the token was
    known; revoking a refresh token revokes every token of its grant."""
    x.require_form_post()
    client = x.authenticate_client()
    presented = x.param("token")
    if not presented:
        raise invalid_request("Missing parameter: token")
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
