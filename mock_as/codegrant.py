"""``grant_type=authorization_code`` at ``/oauth2/…/access_token`` (reference am-journeys §3.5, §3.6):
a code from ``authorize`` exchanged for tokens, with AM's checks in AM's order.

The tokens themselves are minted by the token endpoint's shared answer (``mint``, which
:mod:`~mock_as.grants` passes in), so every grant writes the same body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .codes import pkce_matches
from .errors import invalid_grant, invalid_request, unauthorized_client

if TYPE_CHECKING:
    from .protocol import Exchange, Response

Mint = Callable[..., tuple["Response", Any]]
"""The token endpoint's answer builder, :func:`mock_as.grants.token_response`."""


def same_redirect_uri(registered: str | None, presented: str | None) -> bool:
    """OpenAM's comparison (F3.30): query and fragment stripped, case ignored. A code whose request
    named no redirect URI needs none at the exchange."""
    if registered is None:
        return True
    if presented is None:
        return False

    def bare(uri: str) -> str:
        parts = urlsplit(uri)
        return parts._replace(query="", fragment="").geturl().lower()

    return bare(registered) == bare(presented)


def authorization_code_grant(x: Exchange, mint: Mint) -> Response:
    """Redeem a code: the client's, unexpired, for the same redirect URI, with the PKCE verifier
    that answers its challenge. A second redemption fails and revokes what the first one issued."""
    client = x.authenticate_client()
    if "authorization_code" not in client.grant_types:
        raise unauthorized_client()
    presented = x.param("code")
    if not presented:
        raise invalid_request("Missing parameter, 'code'")
    realm = x.realm
    assert realm is not None
    state = x.state
    with state.lock:
        code = state.codes.get(presented)
        if code is None or code.realm != realm.name:
            raise invalid_request("Authorization code doesn't exist.")
        if code.redeemed:
            state.revoke_grant(code.grant_id)
            raise invalid_grant()
        if code.client_id != client.client_id:
            raise invalid_grant()
        if not same_redirect_uri(code.redirect_uri, x.param("redirect_uri")):
            raise invalid_grant()
        if code.expired(x.now):
            raise invalid_grant("Authorization code expired.")
        if code.code_challenge is not None or client.pkce_required:
            verifier = x.param("code_verifier")
            if not verifier:
                raise invalid_request("code_verifier parameter required")
            method = code.code_challenge_method or ""
            if code.code_challenge is None or not pkce_matches(method, code.code_challenge, verifier):
                raise invalid_grant()
        user = realm.users.get(code.username)
        if user is None:
            raise invalid_grant()
        code.redeemed = True
    refresh = realm.config.issue_refresh_token and "refresh_token" in client.grant_types
    response, _ = mint(
        x,
        client,
        username=code.username,
        scopes=code.scopes,
        grant_type="authorization_code",
        refresh=refresh,
        auth_grant_id=code.grant_id,
        user=user,
    )
    return response
