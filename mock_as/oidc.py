"""The resource server's side of AM (reference §9): tokeninfo, introspection, revocation, userinfo,
OpenID discovery, the JWK set, idtokeninfo, and the id_token of a token response.

Every handler reads time from the exchange (``x.now``, the mock's clock) and finds tokens with one
dictionary lookup. A token is good when it exists (not revoked), has not expired and its client is
still registered; what each endpoint answers for a bad one follows AM.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .endpoints import ENDPOINT_PATHS, endpoint
from .errors import OAuthError, invalid_grant, invalid_request, invalid_token
from .grants import presented_id, resolve_token_id
from .keys import b64url, signing_key
from .protocol import Response
from .tokens_jwt import issuer_url

if TYPE_CHECKING:
    from .config import ClientConfig, UserConfig
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

# AM's default OIDC claims script: scope -> (claim, profile attribute).
SCOPE_CLAIMS: dict[str, tuple[tuple[str, str], ...]] = {
    "profile": (
        ("name", "cn"),
        ("family_name", "sn"),
        ("given_name", "givenName"),
        ("zoneinfo", "preferredtimezone"),
        ("locale", "preferredlocale"),
    ),
    "email": (("email", "mail"),),
    "phone": (("phone_number", "telephoneNumber"),),
    "address": (("address", "postalAddress"),),
}


# -- shared checks --------------------------------------------------------------------------------


def _require_method(x: Exchange, *allowed: str) -> None:
    if x.method not in allowed:
        raise OAuthError(
            "method_not_allowed",
            f"Required Method: {' or '.join(allowed)} found: {x.method}",
            405,
            (("Allow", ", ".join(allowed)),),
        )


def _bearer_header(x: Exchange) -> str | None:
    header = x.headers.get("authorization", "").strip()
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def _presented_access_token(x: Exchange, *, query: bool, form: bool) -> str | None:
    """The bearer token from the header or, where the endpoint reads them, the query or form."""
    in_header = _bearer_header(x)
    elsewhere = None
    if query:
        elsewhere = x.query_params.get("access_token") or None
    if elsewhere is None and form:
        elsewhere = x.form.get("access_token") or None
    if in_header is not None and elsewhere is not None:
        raise invalid_request(BOTH_PLACES)
    return in_header or elsewhere


def _client_registered(state: State, token: Token) -> bool:
    realm = state.realms.get(token.realm)
    return realm is not None and token.client_id in realm.clients


def _live_token(x: Exchange, presented: str | None) -> Token | None:
    """The live token behind ``presented``: known, not revoked, not expired, client still there."""
    if not presented:
        return None
    token = x.state.find(resolve_token_id(x, presented), x.now)
    if token is None or not _client_registered(x.state, token):
        return None
    return token


def _live_access_token(x: Exchange, presented: str | None) -> Token:
    token = _live_token(x, presented)
    if token is None or token.kind != "access_token":
        raise invalid_token()
    return token


def _profile(state: State, token: Token) -> Mapping[str, str | tuple[str, ...]]:
    realm = state.realms.get(token.realm)
    if realm is None or token.grant_type == "client_credentials":
        return {}
    user = realm.users.get(token.username)
    return {} if user is None else user.attributes


def _attribute(attributes: Mapping[str, str | tuple[str, ...]], name: str) -> str:
    value = attributes.get(name)
    if value is None:
        return ""
    return value if isinstance(value, str) else ",".join(value)


def oidc_claims(attributes: Mapping[str, str | tuple[str, ...]], scopes: tuple[str, ...]) -> dict[str, Any]:
    """The OpenID claims the granted ``scopes`` release from a profile (empty attributes left out)."""
    claims: dict[str, Any] = {}
    for scope in scopes:
        for claim, attribute in SCOPE_CLAIMS.get(scope, ()):
            value = _attribute(attributes, attribute)
            if value:
                claims[claim] = {"formatted": value} if claim == "address" else value
    return claims


# -- /oauth2/tokeninfo ----------------------------------------------------------------------------


@endpoint("tokeninfo")
def tokeninfo(x: Exchange) -> Response:
    """``GET /oauth2/tokeninfo`` (reference §9.1): AM's fields, ``scope`` as a list, and one key per
    scope holding the user's attribute of that name. Realm-agnostic: the token names its realm."""
    _require_method(x, "GET")
    presented = _presented_access_token(x, query=True, form=False)
    token = _live_access_token(x, presented)
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
    attributes = _profile(x.state, token)
    for scope in token.scopes:
        body.setdefault(scope, _attribute(attributes, scope))
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
    body["iss"] = issuer_url(x.state, x.base_url, token.realm)
    body["auth_level"] = 0
    body["authGrantId"] = token.auth_grant_id
    body["auditTrackingId"] = token.audit_id
    body["expires_in"] = token.expires_in(x.now)
    return body


@endpoint("introspect")
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
    token = _live_token(x, presented)
    if token is None or not may_introspect(client, realm, token):
        return Response.json(200, {"active": False})
    return Response.json(200, introspection(x, token))


# -- /oauth2/token/revoke -------------------------------------------------------------------------


@endpoint("revoke")
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
        token = state.tokens.get(resolve_token_id(x, presented))
        if token is not None and token.realm == realm.name:
            if token.client_id != client.client_id:
                raise invalid_grant(f"The provided token id : {presented} belongs to different access grant.")
            if token.kind == "refresh_token":
                state.revoke_grant(token.auth_grant_id)
            else:
                state.revoke(token.id)
    return Response.json(200, {})


# -- /oauth2/userinfo -----------------------------------------------------------------------------


@endpoint("userinfo")
def userinfo(x: Exchange) -> Response:
    """``GET``/``POST /oauth2/userinfo`` (reference §9.4): the claims of the token's OpenID scopes,
    then ``sub`` and ``subname``. The token must belong to this realm."""
    _require_method(x, "GET", "POST")
    presented = _presented_access_token(x, query=False, form=x.method == "POST")
    token = _live_access_token(x, presented)
    realm = x.realm
    assert realm is not None
    if token.realm != realm.name:
        raise invalid_token()
    body: dict[str, Any] = {}
    if "openid" in token.scopes:
        body.update(oidc_claims(_profile(x.state, token), token.scopes))
    body["sub"] = token.username
    body["subname"] = token.username
    return Response.json(200, body)


# -- id_token -------------------------------------------------------------------------------------


def at_hash(access_token: str) -> str:
    """OpenID Connect Core §3.1.3.6: the left half of the SHA-256 of the token, base64url."""
    return b64url(hashlib.sha256(access_token.encode("ascii")).digest()[:16])


def make_id_token(x: Exchange, client: ClientConfig, user: UserConfig | None, access: Token) -> str | None:
    """The id_token of a token response that granted ``openid`` to a user (none for a client acting
    for itself): AM's claims, the profile claims of the granted scopes, signed with the mock's key."""
    if user is None:
        return None
    realm = x.realm
    assert realm is not None
    now = int(x.now)
    claims: dict[str, Any] = {
        "at_hash": at_hash(presented_id(x, access)),
        "sub": user.username,
        "auditTrackingId": access.audit_id,
        "subname": user.username,
        "iss": issuer_url(x.state, x.base_url, realm.name),
        "tokenName": "id_token",
        "aud": client.client_id,
        "azp": client.client_id,
        "auth_time": now,
        "realm": realm.name,
        "exp": now + realm.config.id_token_lifetime,
        "tokenType": "JWTToken",
        "iat": now,
    }
    for claim, value in oidc_claims(user.attributes, access.scopes).items():
        claims.setdefault(claim, value)
    return signing_key(x.state).encode(claims)


# -- /oauth2/idtokeninfo --------------------------------------------------------------------------


@endpoint("idtokeninfo")
def idtokeninfo(x: Exchange) -> Response:
    """``POST /oauth2/idtokeninfo``: validate an id_token this realm issued to the authenticating
    client and return its claims (all, or those named in ``claims``, comma-separated)."""
    x.require_form_post()
    client = x.authenticate_client()
    presented = x.param("id_token")
    if not presented:
        raise invalid_request("Missing parameter: id_token")
    realm = x.realm
    assert realm is not None
    claims = signing_key(x.state).decode(presented)
    if claims is None or claims.get("tokenName") != "id_token":
        raise invalid_request("Invalid ID token")
    aud = claims.get("aud")
    first_aud = aud[0] if isinstance(aud, list) and aud else aud
    if first_aud != client.client_id:
        raise invalid_request("ID token audience does not match the client")
    if claims.get("realm") != realm.name or claims.get("iss") != issuer_url(x.state, x.base_url, realm.name):
        raise invalid_request("ID token was not issued by this realm")
    exp = claims.get("exp")
    if not isinstance(exp, int) or x.now >= exp:
        raise invalid_request("ID token has expired")
    wanted = x.param("claims")
    if wanted:
        names = [n.strip() for n in wanted.split(",") if n.strip()]
        claims = {name: claims[name] for name in names if name in claims}
    return Response.json(200, claims)


# -- discovery and keys ---------------------------------------------------------------------------


@endpoint("openid-configuration")
def openid_configuration(x: Exchange) -> Response:
    """``GET /oauth2/.well-known/openid-configuration`` (reference §9.5) for this realm."""
    _require_method(x, "GET")
    realm = x.realm
    assert realm is not None
    issuer = issuer_url(x.state, x.base_url, realm.name)

    def url(name: str) -> str:
        return f"{issuer}/{'/'.join(ENDPOINT_PATHS[name])}"

    scopes = sorted({"openid", *(s for c in realm.clients.values() for s in c.scopes)})
    claims = sorted({"sub", "subname", *(claim for spec in SCOPE_CLAIMS.values() for claim, _ in spec)})
    body: dict[str, Any] = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": url("access_token"),
        "userinfo_endpoint": url("userinfo"),
        "introspection_endpoint": url("introspect"),
        "revocation_endpoint": url("revoke"),
        "jwks_uri": url("jwk_uri"),
        "registration_endpoint": f"{issuer}/connect/register",
        "end_session_endpoint": f"{issuer}/connect/endSession",
        "check_session_iframe": f"{issuer}/connect/checkSession",
        "device_authorization_endpoint": f"{issuer}/device/code",
        "pushed_authorization_request_endpoint": f"{issuer}/par",
        "scopes_supported": scopes,
        "claims_supported": claims,
        "response_types_supported": [
            "code",
            "token",
            "id_token",
            "code token",
            "code id_token",
            "token id_token",
            "code token id_token",
        ],
        "grant_types_supported": ["password", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [signing_key(x.state).alg],
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "claims_parameter_supported": False,
        "request_parameter_supported": True,
        "acr_values_supported": [],
    }
    return Response.json(200, body)


@endpoint("jwk_uri")
def jwk_uri(x: Exchange) -> Response:
    """``GET /oauth2/connect/jwk_uri``: the public key that verifies id_tokens and client-based tokens."""
    _require_method(x, "GET")
    return Response.json(200, signing_key(x.state).jwks())


def install(state: State) -> None:
    """Hook the id_token into token responses that grant ``openid``."""
    state.extensions["id_token"] = make_id_token
