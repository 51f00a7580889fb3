"""AM's ``/oauth2/access_token`` and the grants it serves: password (the centre), refresh_token,
client_credentials.

Each handler follows AM's order of checks: client authentication, the client's allowed grant types,
the request's own parameters, the resource owner, then scopes (reference §2, §3, §5, §7, §8).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from .codegrant import authorization_code_grant
from .errors import (
    NO_STORE,
    OAuthError,
    invalid_grant,
    invalid_request,
    invalid_scope,
    unauthorized_client,
)
from .login import Outcome, check_password
from .oidc import make_id_token
from .protocol import Response

if TYPE_CHECKING:
    from .config import ClientConfig, UserConfig
    from .protocol import Exchange
    from .state import Realm, Token

PASSWORD_RESET_MESSAGE = "Password must be reset. Please navigate to <Password Reset URL>."
MODULE_MESSAGES = {"inactive": "User is not Active", "locked": "User Locked Out."}


def split_scope(raw: str | None) -> tuple[str, ...]:
    """Space-separated scopes, duplicates dropped, request order kept."""
    if not raw:
        return ()
    return tuple(dict.fromkeys(raw.split()))


def _scope_list(scopes: list[str] | tuple[str, ...]) -> str:
    # AM prints the offending scopes as a Java set: [a, b]
    return "[" + ", ".join(scopes) + "]"


def validate_scopes(client: ClientConfig, raw: str | None) -> tuple[str, ...]:
    """AM's default scope validator: any scope outside the allowed set rejects the request whole."""
    requested = split_scope(raw)
    if not requested:
        if not client.default_scopes:
            raise invalid_scope("No scope requested and no default scope configured")
        return tuple(client.default_scopes)
    bad = [s for s in requested if s not in client.scopes]
    if bad:
        raise invalid_scope(f"Unknown/invalid scope(s): {_scope_list(bad)}")
    return requested


def require_grant(client: ClientConfig, grant_type: str) -> None:
    if grant_type not in client.grant_types:
        raise unauthorized_client()


def lifetimes(realm: Realm, client: ClientConfig) -> tuple[int, int]:
    """Access and refresh token lifetimes: the client's where set (non-zero), else the realm's."""
    cfg = realm.config
    return (
        client.access_token_lifetime or cfg.access_token_lifetime,
        client.refresh_token_lifetime or cfg.refresh_token_lifetime,
    )


# -- the resource owner ---------------------------------------------------------------------------


def choose_service(x: Exchange) -> str:
    """AM's precedence: ``auth_chain``, then the realm's password grant service, then its default."""
    realm = x.realm
    assert realm is not None
    return (
        x.param("auth_chain")
        or realm.config.password_grant_auth_service
        or realm.config.org_auth_service
        or "ldapService"
    )


def authenticate_owner(x: Exchange) -> UserConfig:
    """Run the chosen authentication service with the username and password callbacks."""
    realm = x.realm
    assert realm is not None
    username = x.param("username")
    if not username:
        raise invalid_request("Missing parameter, 'username'")
    password = x.param("password")
    if not password:
        raise invalid_request("Missing parameter, 'password'")
    service = realm.services.get(choose_service(x))
    if service is None:
        # AM fails the login with an AuthLoginException, which its token endpoint turns into a
        # server_error carrying status 400 (reference §5, §6).
        raise OAuthError("server_error", "Authentication service not found")
    result = check_password(x.state, realm, service, username, password, x.now)
    user = result.user
    if result.outcome is Outcome.BAD_CREDENTIALS or user is None:
        raise invalid_grant()
    messages = realm.config.module_messages
    if result.outcome in (Outcome.INACTIVE, Outcome.LOCKED):
        raise invalid_grant(MODULE_MESSAGES[user.status]) if messages else invalid_grant()
    if result.outcome is Outcome.PASSWORD_EXPIRED:
        raise invalid_grant(PASSWORD_RESET_MESSAGE) if messages else invalid_grant()
    return user


# -- answers -------------------------------------------------------------------------------------


def token_response(
    x: Exchange,
    client: ClientConfig,
    *,
    username: str,
    scopes: tuple[str, ...],
    grant_type: str,
    refresh: bool,
    auth_grant_id: str | None = None,
    user: UserConfig | None = None,
    refresh_scopes: tuple[str, ...] | None = None,
    refresh_lifetime: float | None = None,
) -> tuple[Response, Token]:
    """Mint the tokens and write them in AM's field order:
    access_token, [refresh_token], scope, [id_token], token_type, expires_in.

    A refresh token gets ``refresh_scopes`` (default: the access token's) and ``refresh_lifetime``
    (default: the client's or realm's)."""
    realm = x.realm
    assert realm is not None
    state = x.state
    access_life, refresh_life = lifetimes(realm, client)
    access = state.issue(
        kind="access_token",
        realm=realm.name,
        client_id=client.client_id,
        username=username,
        scopes=scopes,
        grant_type=grant_type,
        lifetime=access_life,
        auth_grant_id=auth_grant_id,
        now=x.now,
    )
    body: dict[str, Any] = {"access_token": presented_id(x, access)}
    if refresh:
        rt = state.issue(
            kind="refresh_token",
            realm=realm.name,
            client_id=client.client_id,
            username=username,
            scopes=scopes if refresh_scopes is None else refresh_scopes,
            grant_type=grant_type,
            lifetime=refresh_life if refresh_lifetime is None else refresh_lifetime,
            auth_grant_id=access.auth_grant_id,
            now=x.now,
        )
        body["refresh_token"] = presented_id(x, rt)
    if scopes:
        body["scope"] = " ".join(scopes)
    if "openid" in scopes:
        id_token = make_id_token(x, client, user, access)
        if id_token:
            body["id_token"] = id_token
    body["token_type"] = "Bearer"
    body["expires_in"] = access.expires_in(x.now)
    return Response.json(200, body, NO_STORE), access


def presented_id(x: Exchange, token: Token) -> str:
    """What the client sees: the opaque id, or a signed JWT where the realm uses client-based tokens."""
    return x.state.formats.present(token, x.base_url)


# -- grant handlers ------------------------------------------------------------------------------


def password_grant(x: Exchange) -> Response:
    """Resource Owner Password Credentials (RFC 6749 §4.3) as AM serves it."""
    client = x.authenticate_client()
    require_grant(client, "password")
    user = authenticate_owner(x)
    scopes = validate_scopes(client, x.param("scope"))
    realm = x.realm
    assert realm is not None
    refresh = realm.config.issue_refresh_token and "refresh_token" in client.grant_types
    response, _ = token_response(
        x, client, username=user.username, scopes=scopes, grant_type="password", refresh=refresh, user=user
    )
    return response


def refresh_grant(x: Exchange) -> Response:
    """Refresh (RFC 6749 §6) with AM's rotation: the old refresh token stops working."""
    client = x.authenticate_client()
    require_grant(client, "refresh_token")
    presented = x.param("refresh_token")
    if not presented:
        raise invalid_request("Missing parameter, 'refresh_token'")
    realm = x.realm
    assert realm is not None
    state = x.state
    with state.lock:
        old = state.tokens.get(state.formats.resolve(presented))
        if old is None or old.kind != "refresh_token" or old.realm != realm.name:
            raise invalid_request("RefreshToken does not exist")
        if old.client_id != client.client_id:
            raise invalid_request("Token was issued to a different client")
        if old.expired(x.now):
            raise invalid_grant("grant is invalid")
        requested = split_scope(x.param("scope"))
        if requested:
            broader = [s for s in requested if s not in old.scopes]
            if broader:
                raise invalid_scope(f"Unknown/invalid scope(s): {_scope_list(broader)}")
        scopes = requested or old.scopes
        rotate = realm.config.issue_refresh_token_on_refresh
        if rotate:
            state.tokens.pop(old.id, None)
    response, _ = token_response(
        x,
        client,
        username=old.username,
        scopes=scopes,
        grant_type=old.grant_type,
        refresh=rotate,
        auth_grant_id=old.auth_grant_id,
        user=realm.users.get(old.username),
        # The new refresh token keeps the original grant's scopes (RFC 6749 §6); one that never
        # expired still never expires.
        refresh_scopes=old.scopes,
        refresh_lifetime=-1 if old.expires_at is None else None,
    )
    return response


def client_credentials_grant(x: Exchange) -> Response:
    """Client credentials (RFC 6749 §4.4): confidential clients only, no refresh token."""
    client = x.authenticate_client()
    require_grant(client, "client_credentials")
    if client.secret is None:
        raise unauthorized_client("Public clients can't use client credentials grant.")
    scopes = validate_scopes(client, x.param("scope"))
    response, _ = token_response(
        x, client, username=client.client_id, scopes=scopes, grant_type="client_credentials", refresh=False
    )
    return response


GRANT_HANDLERS: dict[str, Callable[[Exchange], Response]] = {
    "password": password_grant,
    "refresh_token": refresh_grant,
    "client_credentials": client_credentials_grant,
    "authorization_code": partial(authorization_code_grant, mint=token_response),
}


def access_token(x: Exchange) -> Response:
    """``/oauth2/access_token``: AM's TokenEndpointFilter, then the grant handler (reference §2)."""
    x.require_form_post()
    grant_type = x.param("grant_type")
    if not grant_type:
        raise invalid_request("Grant type is not set")
    handler = GRANT_HANDLERS.get(grant_type)
    if handler is None:
        raise OAuthError("unsupported_grant_type", "Grant type is not supported")
    return handler(x)
