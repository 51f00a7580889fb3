"""OpenID Connect on AM's OAuth 2.0 surface: userinfo, idtokeninfo, discovery, the JWK set, and the
id_token of a token response (reference §9.4 to §9.6).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import invalid_request, invalid_token
from .keys import b64url
from .paths import OAUTH2_ENDPOINTS
from .protocol import Response
from .resource import attribute, live_access_token, presented_access_token, profile

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


def userinfo(x: Exchange) -> Response:
    """``GET``/``POST /oauth2/userinfo`` (reference §9.4): the claims of the token's OpenID scopes,
    then ``sub`` and ``subname``. The token must belong to this realm."""
    x.require_method("GET", "POST")
    presented = presented_access_token(x, query=False, form=x.method == "POST")
    token = live_access_token(x, presented)
    realm = x.realm
    assert realm is not None
    if token.realm != realm.name:
        raise invalid_token()
    body: dict[str, Any] = {}
    if "openid" in token.scopes:
        body.update(oidc_claims(profile(x.state, token), token.scopes))
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
    claims = x.state.keys.current.decode(presented)
    if claims is None or claims.get("tokenName") != "id_token":
        raise invalid_request("Invalid ID token")
    aud = claims.get("aud")
    first_aud = aud[0] if isinstance(aud, list) and aud else aud
    if first_aud != client.client_id:
        raise invalid_request("ID token audience does not match the client")
    if claims.get("realm") != realm.name or claims.get("iss") != x.state.issuer(x.base_url, realm.name):
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


def openid_configuration(x: Exchange) -> Response:
    """``GET /oauth2/.well-known/openid-configuration`` (reference §9.5) for this realm."""
    x.require_method("GET")
    realm = x.realm
    assert realm is not None
    issuer = x.state.issuer(x.base_url, realm.name)

    def url(name: str) -> str:
        return f"{issuer}/{'/'.join(OAUTH2_ENDPOINTS[name])}"

    scopes = sorted({"openid", *(s for c in realm.clients.values() for s in c.scopes)})
    claims = sorted({"sub", "subname", *(claim for spec in SCOPE_CLAIMS.values() for claim, _ in spec)})
    body: dict[str, Any] = {
        "issuer": issuer,
        "authorization_endpoint": url("authorize"),
        "token_endpoint": url("access_token"),
        "userinfo_endpoint": url("userinfo"),
        "introspection_endpoint": url("introspect"),
        "revocation_endpoint": url("revoke"),
        "jwks_uri": url("jwk_uri"),
        "registration_endpoint": f"{issuer}/connect/register",
        "end_session_endpoint": url("end_session"),
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
        "grant_types_supported": ["password", "refresh_token", "client_credentials", "authorization_code"],
        "code_challenge_methods_supported": ["plain", "S256"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [x.state.keys.current.alg],
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


def jwk_uri(x: Exchange) -> Response:
    """``GET /oauth2/connect/jwk_uri``: the public key that verifies id_tokens and client-based tokens."""
    x.require_method("GET")
    return Response.json(200, x.state.keys.current.jwks())
