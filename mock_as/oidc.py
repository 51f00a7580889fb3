"""OpenID Connect on AM's OAuth 2.0 surface: userinfo, idtokeninfo, discovery, the JWK set, and the
id_token of a token response (reference §9.4 to §9.6).
"""

from __future__ import annotations

import calendar
import hashlib
import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import OAuthError, RestletServerError, bad_request
from .javaset import hash_set_order
from .keys import b64url, b64url_decode
from .paths import OAUTH2_ENDPOINTS, normalise_realm
from .protocol import Handler, Response
from .resource import attribute, java_map, profile, single_access_token, unfiltered

if TYPE_CHECKING:
    from .config import ClientConfig, UserConfig
    from .protocol import Exchange
    from .state import Token

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


def oidc_claims(attributes: Mapping[str, str | tuple[str, ...]], scopes: tuple[str, ...]) -> dict[str, Any]:
    """The OpenID claims the granted ``scopes`` release from a profile (empty attributes left out)."""
    claims: dict[str, Any] = {}
    for scope in scopes:
        for claim, name in SCOPE_CLAIMS.get(scope, ()):
            value = attribute(attributes, name)
            if value:
                claims[claim] = {"formatted": value} if claim == "address" else value
    return claims


# -- /oauth2/userinfo -----------------------------------------------------------------------------


BOTH_FORM_AND_HEADER = "Access Token cannot be provided in both form and header"


def updated_at(attributes: Mapping[str, str | tuple[str, ...]]) -> str:
    """AM's ``updated_at``: the profile's modify timestamp, else its create timestamp, in epoch
    seconds as a string; ``"0"`` when neither is set (reference §9.4). LDAP generalized time
    (``20240131120000Z``) and plain epoch seconds are read."""
    for name in ("modifyTimestamp", "createTimestamp"):
        value = attribute(attributes, name).split(",")[0].strip()
        if value.isdigit():
            return value
        try:
            return str(calendar.timegm(time.strptime(value[:14], "%Y%m%d%H%M%S")))
        except ValueError:
            continue
    return "0"


@unfiltered
def userinfo(x: Exchange) -> Response:
    """``GET``/``POST /oauth2/userinfo`` (reference §9.4): the claims of the token's OpenID scopes,
    then ``sub``, ``subname`` and ``updated_at``. The token comes from the ``Authorization`` header
    or a form body's ``access_token`` and must belong to this realm; a valid token in both places
    is AM's ``server_error``. No valid token is a 401 ``invalid_token`` without a challenge, as AM
    answers it."""
    x.require_method("GET", "POST")
    realm = x.realm
    assert realm is not None
    _, token = single_access_token(
        x, x.form.get("access_token"), RestletServerError(BOTH_FORM_AND_HEADER), realm=realm.name
    )
    attributes = profile(x.state, token)
    body: dict[str, Any] = {}
    if "openid" in token.scopes:
        body.update(oidc_claims(attributes, token.scopes))
    body["sub"] = token.username
    body["subname"] = token.username
    body["updated_at"] = updated_at(attributes)
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
        "at_hash": at_hash(x.state.formats.present(access, x.base_url)),
        "sub": user.username,
        "auditTrackingId": access.audit_id,
        "subname": user.username,
        "iss": x.state.issuer(x.base_url, realm.name),
        "tokenName": "id_token",
        "aud": client.client_id,
        "azp": client.client_id,
        "auth_time": now,
        "realm": realm.name,
        "exp": now + realm.config.id_token_lifetime,
        "tokenType": "JWTToken",
        "iat": now,
    }
    claims.update(x.state.codes.id_token_claims(access.auth_grant_id))  # nonce, auth_time, ops of a code
    for claim, value in oidc_claims(user.attributes, access.scopes).items():
        claims.setdefault(claim, value)
    return x.state.keys.current.encode(claims)


# -- /oauth2/idtokeninfo --------------------------------------------------------------------------


def _jwt_part(text: str) -> Any:
    return json.loads(b64url_decode(text))


@unfiltered
def idtokeninfo(x: Exchange) -> Response:
    """``POST /oauth2/idtokeninfo`` (reference §9.6): validate an id_token and return its claims (all,
    or those named in ``claims``, comma-separated). The client is the token's first ``aud`` and the
    realm its ``realm`` claim, whatever the URL says. AM asks for client authentication only for
    HMAC-signed id tokens, which the mock never issues, so none is needed."""
    x.require_method("POST")
    presented = x.param("id_token")
    if not presented or not presented.strip():
        raise bad_request("no id_token in request")
    parts = presented.split(".")
    if len(parts) not in (3, 5):
        raise bad_request(f"invalid id_token: not right number of dots, {len(parts)}")
    try:
        claims = _jwt_part(parts[1]) if len(parts) == 3 else None
    except (ValueError, UnicodeDecodeError):
        claims = None
    if not isinstance(claims, dict):
        raise bad_request("invalid id_token")
    aud = claims.get("aud")
    client_id = aud[0] if isinstance(aud, list) and aud else aud
    realm_claim = claims.get("realm", "/")
    realm = x.state.realms.get(normalise_realm(realm_claim)) if isinstance(realm_claim, str) else None
    if realm is None:
        raise OAuthError("Invalid realm", f"Invalid realm: {realm_claim}")
    if not isinstance(client_id, str) or client_id not in realm.clients:
        raise OAuthError("invalid_client", "no registered client matches audience of id_token")
    exp = claims.get("exp")
    if isinstance(exp, int | float) and x.now >= exp:
        raise bad_request("id_token has expired")
    verified = x.state.keys.current.decode(presented)
    if (
        verified is None
        or verified.get("tokenName") != "id_token"
        or verified.get("iss") != x.state.issuer(x.base_url, realm.name)
        or not isinstance(exp, int | float)
    ):
        raise bad_request("invalid id_token")
    wanted = x.param("claims")
    if wanted is not None:
        verified = {name: verified[name] for name in wanted.split(",") if name in verified}
    return Response.json(200, verified)


# -- discovery and keys ---------------------------------------------------------------------------


OPENID_CONNECT_VERSION = "3.0"  # OpenAM's getOpenIDConnectVersion (reference §9.5)

# Discovery fields that name an endpoint -> that endpoint's name in paths.OAUTH2_ENDPOINTS. A field is
# listed exactly while its endpoint is served, so the document grows with the endpoint table.
ENDPOINT_FIELDS: tuple[tuple[str, str], ...] = (
    ("authorization_endpoint", "authorize"),
    ("token_endpoint", "access_token"),
    ("userinfo_endpoint", "userinfo"),
    ("end_session_endpoint", "endSession"),
    ("jwks_uri", "jwk_uri"),
    ("revocation_endpoint", "revoke"),
    ("introspection_endpoint", "introspect"),
)
# What a served authorization endpoint adds: its response type and PKCE methods.
AUTHORIZE_FIELDS: Mapping[str, list[str]] = {
    "response_types_supported": ["code"],
    "code_challenge_methods_supported": ["S256", "plain"],
}
# RFC 8414 §2 requires a non-empty response_types_supported even where no authorization endpoint is
# served; "none" (OAuth 2.0 Multiple Response Type Encoding Practices §4) promises no token from one.
NO_AUTHORIZE_RESPONSE_TYPES = ["none"]
# AM's client authentication methods the token endpoint serves (reference §3), and "none" for a
# public client naming itself.
TOKEN_AUTH_METHODS = ["client_secret_post", "client_secret_basic", "none"]


def discovery_document(
    x: Exchange, grant_types: Mapping[str, object], endpoints: Mapping[str, object] = OAUTH2_ENDPOINTS
) -> dict[str, Any]:
    """The realm's OpenID provider metadata (reference §9.5): AM's fields where the mock serves what
    they name, nothing it does not serve, keys and sets in the order of AM's Java ``HashMap``."""
    realm = x.realm
    assert realm is not None
    issuer = x.state.issuer(x.base_url, realm.name)
    body: dict[str, Any] = {"version": OPENID_CONNECT_VERSION, "issuer": issuer}
    for field, name in ENDPOINT_FIELDS:
        if name in endpoints:
            body[field] = f"{issuer}/{'/'.join(OAUTH2_ENDPOINTS[name])}"
    scopes = {"openid", *(s for c in realm.clients.values() for s in c.scopes)}
    claims = {"sub", "subname", "updated_at", *(claim for spec in SCOPE_CLAIMS.values() for claim, _ in spec)}
    body["claims_supported"] = hash_set_order(sorted(claims))
    body["scopes_supported"] = hash_set_order(sorted(scopes))
    body["response_types_supported"] = list(NO_AUTHORIZE_RESPONSE_TYPES)
    body["subject_types_supported"] = ["public"]
    body["id_token_signing_alg_values_supported"] = [x.state.keys.current.alg]
    body["acr_values_supported"] = []
    body["claims_parameter_supported"] = False
    body["token_endpoint_auth_methods_supported"] = hash_set_order(TOKEN_AUTH_METHODS)
    body["grant_types_supported"] = hash_set_order(grant_types)
    if "authorize" in endpoints:
        body.update({field: list(values) for field, values in AUTHORIZE_FIELDS.items()})
    return java_map(body)


def discovery(grant_types: Mapping[str, object]) -> Handler:
    """``GET /oauth2/.well-known/openid-configuration`` for the grants of ``grant_types`` (read per
    request, so a grant added to the table later is listed)."""

    @unfiltered
    def openid_configuration(x: Exchange) -> Response:
        x.require_method("GET")
        return Response.json(200, discovery_document(x, grant_types))

    return openid_configuration


@unfiltered
def jwk_uri(x: Exchange) -> Response:
    """``GET /oauth2/connect/jwk_uri``: the public key that verifies id_tokens and client-based tokens."""
    x.require_method("GET")
    return Response.json(200, x.state.keys.current.jwks())
