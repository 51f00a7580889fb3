"""AM's ``/oauth2/access_token`` and the grants it serves: password (the centre), refresh_token,
client_credentials.

Each handler follows AM's order of checks: client authentication, the client's allowed grant types,
the request's own parameters, the resource owner, then scopes (reference §2, §3, §5, §7, §8); the
refresh grant reads its ``refresh_token`` before it authenticates the client (§8). Every error a grant
raises echoes the request's ``state`` (§5), and granted scopes come out in the order of the Java set
AM holds them in (§7.1, :mod:`~mock_as.javaset`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from .codegrant import authorization_code_grant
from .errors import (
    LOGIN_FAILED_UNEXPECTEDLY,
    MISSING_REQUIREMENTS,
    NO_STORE,
    REFRESH_INVALID_GRANT,
    OAuthError,
    RestletServerError,
    invalid_grant,
    invalid_request,
    invalid_scope,
    method_not_allowed,
    unauthorized_client,
)
from .javaset import (
    default_scope_order,
    granted_scope_order,
    invalid_scope_description,
    refresh_scope_order,
)
from .login import Outcome, check_password
from .oidc import make_id_token
from .protocol import Response

if TYPE_CHECKING:
    from .config import ClientConfig, UserConfig
    from .protocol import Exchange
    from .state import Realm, Token

# The stock LDAP module's text (amAuthLDAP.properties ``PasswordReset``, reference §5).
PASSWORD_RESET_MESSAGE = "Password must be reset."
MODULE_MESSAGES = {"inactive": "User is not Active", "locked": "User Locked Out."}


def split_scope(raw: str | None) -> tuple[str, ...]:
    """Space-separated scopes, duplicates dropped, request order kept."""
    if not raw:
        return ()
    return tuple(dict.fromkeys(raw.split()))


def validate_scopes(client: ClientConfig, raw: str | None) -> tuple[str, ...]:
    """AM's default scope validator: any scope outside the allowed set rejects the request whole.
    Granted scopes are in ``HashSet`` order, default scopes in ``TreeSet`` order (reference §7.1)."""
    requested = split_scope(raw)
    if not requested:
        if not client.default_scopes:
            raise invalid_scope("No scope requested and no default scope configured")
        return tuple(default_scope_order(client.default_scopes))
    if any(s not in client.scopes for s in requested):
        raise invalid_scope(invalid_scope_description(" ".join(requested), client.scopes))
    return granted_order(tuple(client.scopes), requested)


@functools.lru_cache(maxsize=4096)
def granted_order(allowed: tuple[str, ...], requested: tuple[str, ...]) -> tuple[str, ...]:
    """:func:`~mock_as.javaset.granted_scope_order`, remembered: the token path asks it every time."""
    return tuple(granted_scope_order(allowed, requested))


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
        # The login throws; AM's token endpoint answers Restlet's 500 text as a 400 server_error
        # without state (reference §5, §6).
        raise RestletServerError(LOGIN_FAILED_UNEXPECTEDLY)
    if service.fail:
        # A service that asks for more than a name and a password (reference §6).
        raise RestletServerError(MISSING_REQUIREMENTS)
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
    """Refresh (RFC 6749 §6) with AM's rotation: the old refresh token stops working.

    AM's order (reference §8): ``refresh_token`` present, client authentication, lookup (an unknown,
    rotated, other-realm token or one that is not a refresh token is ``grant is invalid``), same client
    (ignoring case), not expired, scope. Without ``scope`` the original scopes come back sorted."""
    presented = x.param("refresh_token")
    if not presented:
        raise invalid_request("Missing parameter, 'refresh_token'")
    client = x.authenticate_client()
    require_grant(client, "refresh_token")
    realm = x.realm
    assert realm is not None
    state = x.state
    with state.lock:
        old = state.tokens.get(state.formats.resolve(presented))
        if old is None or old.kind != "refresh_token" or old.realm != realm.name:
            raise invalid_grant(REFRESH_INVALID_GRANT)
        if old.client_id.lower() != client.client_id.lower():
            raise invalid_request("Token was issued to a different client")
        if old.expired(x.now):
            raise invalid_grant(REFRESH_INVALID_GRANT)
        requested = split_scope(x.param("scope"))
        if any(s not in old.scopes for s in requested):
            raise invalid_scope(invalid_scope_description(" ".join(requested), old.scopes))
        scopes = tuple(refresh_scope_order(old.scopes, " ".join(requested)))
        rotate = realm.config.issue_refresh_token_on_refresh
        if rotate and state.tokens.pop(old.id, None) is None:
            raise invalid_grant(REFRESH_INVALID_GRANT)  # spent meanwhile (a shared store's GETDEL)
    response, _ = token_response(
        x,
        client,
        username=old.username,
        scopes=scopes,
        grant_type="refresh_token",  # the grant that minted them, as AM records it (reference §8)
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
    """``/oauth2/access_token``: AM's TokenEndpointFilter, then the grant handler (reference §2).

    The filter's 405 lists no ``Allow`` header; every error of a grant echoes ``state`` (§5)."""
    if x.method != "POST":
        raise method_not_allowed(x.method, "POST", allow_header=False)
    x.require_form_post()
    grant_type = x.param("grant_type")
    if not grant_type:
        raise invalid_request("Grant type is not set")
    handler = GRANT_HANDLERS.get(grant_type)
    if handler is None:
        raise OAuthError("unsupported_grant_type", "Grant type is not supported")
    try:
        return handler(x)
    except OAuthError as e:
        raise e.echo(x.param("state")) from None
