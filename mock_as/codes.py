"""Authorization codes and saved consent: what ``/oauth2/…/authorize`` hands out and the
``authorization_code`` grant redeems (reference am-journeys §3.3, §3.5, §3.6). ``state.codes``,
reset with the state, every instant from the mock's clock.

A code remembers what its authorization request carried (client, redirect URI, scopes, nonce, PKCE
challenge) and the SSO session it was issued on, so the tokens it buys carry the session's
``auth_time`` and the request's ``nonce``. A code is redeemed once; presenting it again revokes
everything it issued, as AM does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .state import State

PKCE_METHODS = ("S256", "plain")
# RFC 7636 §4.1: a verifier is 43 to 128 characters long. Its characters are not checked: ForgeRock's
# JS SDK sends base64 with "+", "/" and "=" (reference F3.25).
VERIFIER_LENGTHS = range(43, 129)
CODE_LIFETIME = 120  # seconds: AM's default "Authorization Code Lifetime"
OPS_CLAIM = "org.forgerock.openidconnect.ops"


@dataclass(slots=True)
class AuthorizationCode:
    """One code as AM keeps it until it is redeemed or expires.

    :param code: the code string.
    :param realm: the realm that issued it.
    :param client_id: the client it was issued to.
    :param username: the resource owner.
    :param redirect_uri: the ``redirect_uri`` the request sent (``None``: it named none and the
        client's only registered URI was used; the exchange then needs none either).
    :param scopes: the scopes granted.
    :param nonce: the request's ``nonce``, for the id_token.
    :param code_challenge: the PKCE challenge, if the request sent one.
    :param code_challenge_method: ``S256`` or ``plain``.
    :param auth_time: when the user logged in (the SSO session's creation).
    :param session_handle: the SSO session's handle (the id_token's ``ops`` claim).
    :param grant_id: the ``auth_grant_id`` of every token the code buys.
    :param issued_at: when it was issued.
    :param expires_at: when it stops being redeemable.
    :param redeemed: whether it has bought tokens already.
    """

    code: str
    realm: str
    client_id: str
    username: str
    redirect_uri: str | None
    scopes: tuple[str, ...]
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: float
    session_handle: str
    grant_id: str
    issued_at: float
    expires_at: float
    redeemed: bool = False

    def expired(self, now: float) -> bool:
        return now >= self.expires_at


def pkce_challenge(verifier: str, method: str = "S256") -> str:
    """The challenge of ``verifier``: base64url(SHA-256(its bytes)) without padding, or itself for
    ``plain``."""
    if method == "plain":
        return verifier
    digest = hashlib.sha256(verifier.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def pkce_matches(method: str, challenge: str, verifier: str) -> bool:
    """Whether ``verifier`` answers ``challenge`` (reference F3.23): any characters, 43 to 128 of them."""
    if len(verifier) not in VERIFIER_LENGTHS or method not in PKCE_METHODS:
        return False
    return hmac.compare_digest(pkce_challenge(verifier, method).encode(), challenge.encode())


class Codes:
    """Issued authorization codes and saved consent decisions: ``state.codes``."""

    def __init__(self, state: State) -> None:
        self._state = state
        self._lock = threading.Lock()
        self._codes: dict[str, AuthorizationCode] = {}
        self._grants: dict[str, dict[str, Any]] = {}
        self._consent: dict[tuple[str, str, str], frozenset[str]] = {}

    def reset(self) -> None:
        """Forget every code, grant and saved consent."""
        with self._lock:
            self._codes = {}
            self._grants = {}
            self._consent = {}

    def issue(
        self,
        *,
        realm: str,
        client_id: str,
        username: str,
        redirect_uri: str | None,
        scopes: tuple[str, ...],
        nonce: str | None,
        code_challenge: str | None,
        code_challenge_method: str | None,
        auth_time: float,
        session_handle: str,
        lifetime: float,
        now: float,
    ) -> AuthorizationCode:
        """Issue a code for one authorization request; expired codes are dropped as we go."""
        random = self._state.random
        code = AuthorizationCode(
            code=random.token(),
            realm=realm,
            client_id=client_id,
            username=username,
            redirect_uri=redirect_uri,
            scopes=scopes,
            nonce=nonce,
            code_challenge=code_challenge,
            code_challenge_method=code_challenge_method,
            auth_time=auth_time,
            session_handle=session_handle,
            grant_id=random.token(),
            issued_at=now,
            expires_at=now + lifetime,
        )
        claims: dict[str, Any] = {"auth_time": int(auth_time), OPS_CLAIM: session_handle}
        if nonce is not None:
            claims["nonce"] = nonce
        with self._lock:
            for stale in [c for c, v in self._codes.items() if v.expired(now)]:
                del self._codes[stale]
            self._codes[code.code] = code
            self._grants[code.grant_id] = claims
        return code

    def get(self, code: str) -> AuthorizationCode | None:
        """The code, redeemed or not, expired or not (the grant tells these apart)."""
        with self._lock:
            return self._codes.get(code)

    def live(self, now: float) -> list[AuthorizationCode]:
        """The codes neither redeemed nor expired at ``now``, oldest first."""
        with self._lock:
            codes = [c for c in self._codes.values() if not c.redeemed and not c.expired(now)]
        return sorted(codes, key=lambda c: c.issued_at)

    def id_token_claims(self, grant_id: str) -> dict[str, Any]:
        """What the id_tokens of a code's grant carry besides the usual claims: ``auth_time``
        (the login), ``nonce`` (the request's) and AM's ``ops`` (the SSO session); empty for
        tokens no code bought."""
        with self._lock:
            return dict(self._grants.get(grant_id, {}))

    def remember_consent(self, realm: str, username: str, client_id: str, scopes: tuple[str, ...]) -> None:
        """Save a consent decision (``save_consent=on``) until the next reset."""
        key = (realm, username, client_id)
        with self._lock:
            self._consent[key] = self._consent.get(key, frozenset()) | frozenset(scopes)

    def has_consent(self, realm: str, username: str, client_id: str, scopes: tuple[str, ...]) -> bool:
        """Whether the user saved consent to all of ``scopes`` for the client."""
        with self._lock:
            return frozenset(scopes) <= self._consent.get((realm, username, client_id), frozenset())
