"""Client-based ("stateless") tokens: signed JWTs for realms with ``token_format = "jwt"``.

AM hands such a realm's clients the whole token as a JWT instead of a reference to its CTS entry.
The mock still keeps the :class:`~mock_as.state.Token` record and the JWT carries its id as ``jti``,
so tokeninfo, introspection, refresh and revocation treat both formats alike: revoking a
client-based token deletes its record, which has the effect of AM's deny list (a revoked JWT keeps
a valid signature but is refused everywhere).

The claims follow AM's client-based access tokens: ``sub``, ``cts``, ``auditTrackingId``,
``subname``, ``iss``, ``tokenName``, ``token_type``, ``authGrantId``, ``aud``, ``nbf``,
``grant_type``, ``scope`` (a list), ``auth_time``, ``realm``, ``exp``, ``iat``, ``expires_in``
(the lifetime in seconds) and ``jti``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from .paths import issuer_url

if TYPE_CHECKING:
    from .state import State, Token

_CACHE_SIZE = 1024


def token_claims(token: Token, issuer: str) -> dict[str, Any]:
    """The claims of a client-based access or refresh token, in AM's order."""
    iat = int(token.issued_at)
    claims: dict[str, Any] = {
        "sub": token.username,
        "cts": "OAUTH2_STATELESS_GRANT",
        "auditTrackingId": token.audit_id,
        "subname": token.username,
        "iss": issuer,
        "tokenName": token.kind,
        "token_type": "Bearer",
        "authGrantId": token.auth_grant_id,
        "aud": token.client_id,
        "nbf": iat,
        "grant_type": token.grant_type,
        "scope": list(token.scopes),
        "auth_time": iat,
        "realm": token.realm,
    }
    if token.expires_at is not None:
        claims["exp"] = int(token.expires_at)
    claims["iat"] = iat
    claims["expires_in"] = -1 if token.expires_at is None else int(token.expires_at - token.issued_at)
    claims["jti"] = token.id
    return claims


class TokenFormats:
    """``state.formats``: what a client holds for a token. Encodes a realm's tokens as JWTs where the
    realm asks for it, and remembers the last ones issued so a token response and its id_token's
    ``at_hash`` see the very same string."""

    __slots__ = ("_issued", "_state")

    def __init__(self, state: State) -> None:
        self._state = state
        self._issued: OrderedDict[str, str] = OrderedDict()

    def reset(self) -> None:
        """Forget the issued strings (the tokens themselves are gone with the state's reset)."""
        self._issued.clear()

    def present(self, token: Token, base_url: str) -> str:
        """What a client receives for ``token``: its id, or a signed JWT in a ``jwt`` realm."""
        realm = self._state.realms.get(token.realm)
        if realm is None or realm.config.token_format != "jwt":
            return token.id
        cached = self._issued.get(token.id)
        if cached is not None:
            return cached
        state = self._state
        encoded = state.keys.current.encode(
            token_claims(token, issuer_url(base_url, token.realm, state.config.issuer))
        )
        self._issued[token.id] = encoded
        if len(self._issued) > _CACHE_SIZE:
            self._issued.popitem(last=False)
        return encoded

    def resolve(self, presented: str) -> str:
        """The stored token id behind what a client presents (itself, unless it is one of the
        mock's JWTs, whose ``jti`` it is)."""
        return self.token_id(presented) or presented

    def token_id(self, presented: str) -> str | None:
        """The ``jti`` of a JWT this mock signed, or ``None`` for anything else."""
        if presented.count(".") != 2:
            return None
        claims = self._state.keys.current.decode(presented)
        if claims is None:
            return None
        jti = claims.get("jti")
        return jti if isinstance(jti, str) else None
