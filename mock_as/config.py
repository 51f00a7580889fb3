"""Configuration: realms, clients, users and authentication services, as frozen dataclasses.

These are the same terms the TOML file (``mock-as serve --config``), the pytest marker and the
Python API use. Names follow AM's own settings where AM has one (``accessTokenLifetime`` becomes
``access_token_lifetime``, "Organization Authentication Configuration" ``org_auth_service`` …).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import ConfigError

UserStatus = Literal["active", "inactive", "locked"]
ServiceKind = Literal["chain", "tree"]
TokenFormat = Literal["opaque", "jwt"]
AuthMethod = Literal["client_secret_basic", "client_secret_post", "none"]
SigningAlg = Literal["RS256", "ES256"]

DEFAULT_BASE_URL = "https://openam.example.com:8443/openam"
DEFAULT_CONTEXT_PATH = "/openam"
DEFAULT_MAX_TOKENS = 1_000_000
"""The live tokens a mock keeps by default (about 600 bytes each: some 600 MB at the cap)."""


@dataclass(frozen=True, kw_only=True)
class UserConfig:
    """A user in a realm's identity store.

    :param username: the login name (AM's ``uid``).
    :param password: the password the password grant checks.
    :param attributes: profile attributes (``cn``, ``mail`` …); a tuple for a multi-valued one.
    :param status: ``active``, ``inactive`` (AM's ``inetUserStatus``) or ``locked``.
    :param password_expired: the authentication module demands a password reset.
    """

    username: str
    password: str
    attributes: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    status: UserStatus = "active"
    password_expired: bool = False


@dataclass(frozen=True, kw_only=True)
class ClientConfig:
    """An OAuth 2.0 client registered in a realm.

    :param client_id: the client's id (case-sensitive, as in AM).
    :param secret: its secret; ``None`` makes a public client, which AM does not authenticate.
    :param scopes: the scopes it may be granted.
    :param default_scopes: what it gets when a request names no scope.
    :param grant_types: what it may use; AM 6.5+ answers ``unauthorized_client`` for others.
    :param token_endpoint_auth_method: AM enforces it only for clients allowed ``openid``.
    :param access_token_lifetime: seconds; 0 uses the realm's.
    :param refresh_token_lifetime: seconds; 0 uses the realm's, -1 never expires.
    :param active: an inactive client fails authentication.
    """

    client_id: str
    secret: str | None = None
    scopes: tuple[str, ...] = ()
    default_scopes: tuple[str, ...] = ()
    grant_types: tuple[str, ...] = ("password",)
    token_endpoint_auth_method: AuthMethod = "client_secret_basic"
    access_token_lifetime: int = 0
    refresh_token_lifetime: int = 0
    active: bool = True


@dataclass(frozen=True, kw_only=True)
class ServiceConfig:
    """An authentication service (a chain, or a tree in AM 7) the password grant can run.

    :param name: e.g. ``ldapService``, ``Example``.
    :param kind: ``chain`` or ``tree``; informational, both behave alike here.
    :param users: the usernames it can authenticate; ``None`` means every user of the realm.
    :param fail: it cannot finish with a name and a password alone (an interactive service): AM's
        token endpoint answers ``server_error`` "Internal Server Error (500) - Missing requirements".
    """

    name: str
    kind: ServiceKind = "chain"
    users: tuple[str, ...] | None = None
    fail: bool = False


@dataclass(frozen=True, kw_only=True)
class LockoutConfig:
    """AM's core authentication lockout for a realm, with AM's defaults (off, 5 failures, 300 min, 0).

    :param enabled: "Login Failure Lockout Mode".
    :param failure_count: failures within the interval that lock the account.
    :param interval_minutes: the window failures are counted in.
    :param duration_minutes: how long the lock lasts; 0 locks until an administrator unlocks.
    :param warn_after: "Warn User After N Failures": from this many failures on, a tree's failed REST
        login says how many are left before the lock (0, AM's default, never warns).
    """

    enabled: bool = False
    failure_count: int = 5
    interval_minutes: float = 300
    duration_minutes: float = 0
    warn_after: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.warn_after, bool) or not isinstance(self.warn_after, int) or self.warn_after < 0:
            raise ConfigError(f"lockout.warn_after: expected a whole number >= 0, got {self.warn_after!r}")


def _default_services() -> tuple[ServiceConfig, ...]:
    return (
        ServiceConfig(name="ldapService"),
        ServiceConfig(name="DataStore"),
        ServiceConfig(name="Example", kind="tree"),
        ServiceConfig(name="Login", kind="tree"),  # the tree ForgeRock's SDKs start by default
        ServiceConfig(name="PasswordGrant", kind="tree"),
    )


@dataclass(frozen=True, kw_only=True)
class RealmConfig:
    """A realm and its OAuth2 provider settings.

    :param name: ``/`` for the top-level realm, ``/customers`` or ``/customers/europe`` below it.
    :param clients: its OAuth 2.0 clients.
    :param users: its fixed users (seeded fake users are added to these).
    :param services: the authentication services it knows.
    :param password_grant_auth_service: "Password Grant Authentication Service"; ``None`` is unset.
    :param org_auth_service: "Organization Authentication Configuration" (AM's default ``ldapService``).
    :param access_token_lifetime: seconds (AM's default 3600).
    :param refresh_token_lifetime: seconds (AM's default 604800); -1 never expires.
    :param issue_refresh_token: "Issue Refresh Tokens".
    :param issue_refresh_token_on_refresh: "Issue Refresh Tokens on Refreshing Access Tokens" (rotation).
    :param module_messages: "Enable auth module messages for Password Credentials Grant".
    :param token_format: ``opaque`` (server-side, AM's default) or ``jwt`` (client-based tokens).
    :param id_token_lifetime: seconds an id_token lives (AM's ``jwtTokenLifetime``, default 3600).
    :param lockout: the login failure lockout settings.
    :param session_max_idle_minutes: an SSO session ends after this long unused (AM's default 30).
    :param session_max_minutes: an SSO session ends this long after login at the latest (AM's 120).
    :param fake_users: how many seeded fake users to add; ``None`` uses :attr:`MockASConfig.users`.
    """

    name: str = "/"
    clients: tuple[ClientConfig, ...] = ()
    users: tuple[UserConfig, ...] = ()
    services: tuple[ServiceConfig, ...] = field(default_factory=_default_services)
    password_grant_auth_service: str | None = None
    org_auth_service: str = "ldapService"
    access_token_lifetime: int = 3600
    refresh_token_lifetime: int = 604800
    issue_refresh_token: bool = True
    issue_refresh_token_on_refresh: bool = True
    module_messages: bool = False
    token_format: TokenFormat = "opaque"
    id_token_lifetime: int = 3600
    lockout: LockoutConfig = field(default_factory=LockoutConfig)
    session_max_idle_minutes: float = 30
    session_max_minutes: float = 120
    fake_users: int | None = None

    def __post_init__(self) -> None:
        for name in ("session_max_idle_minutes", "session_max_minutes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1e10:
                raise ConfigError(f"{name}: expected minutes above 0 (at most 1e10), got {value!r}")


DEMO_USER = UserConfig(
    username="demo",
    password="Ch4ng31t",
    attributes={
        "uid": "demo",
        "cn": "demo",
        "givenName": "demo",
        "sn": "demo",
        "mail": "demo@example.com",
    },
)

DOCS_CLIENT = ClientConfig(
    client_id="myClient",
    secret="forgerock",
    scopes=("write",),
    default_scopes=("write",),
    grant_types=("password",),
)


# AM's documented ROPC request (the curl example of its docs), parameter by parameter, in its order.
DOCUMENTED_REQUEST: Mapping[str, str] = {
    "grant_type": "password",
    "username": DEMO_USER.username,
    "password": DEMO_USER.password,
    "scope": "write",
    "client_id": DOCS_CLIENT.client_id,
    "client_secret": "forgerock",
}


def default_realms() -> tuple[RealmConfig, ...]:
    """The realms a fresh mock serves: ``/`` and ``/customers``, each with AM's documented client and user."""
    return tuple(
        RealmConfig(name=name, clients=(DOCS_CLIENT,), users=(DEMO_USER,)) for name in ("/", "/customers")
    )


@dataclass(frozen=True, kw_only=True)
class MockASConfig:
    """Everything that shapes a mock: the one source of settings for every entry point.

    :param seed: fixes the fake users and every token string; ``None`` draws one at random.
    :param users: seeded fake users added to each realm.
    :param locale: the faker locale the fake users come from.
    :param realms: the realms served (default ``/`` and ``/customers``).
    :param context_path: where AM is deployed (``/openam``, or ``/am`` for AM 7+ conventions).
    :param base_url: the URL patched in-process (the host of AM's docs by default).
    :param issuer: a fixed issuer base (``https://am.example.com/am``); ``None`` derives it per request.
    :param host: the address the live server binds.
    :param port: the live server's port (0 picks a free one).
    :param clock_start: freeze the clock at this epoch instant; ``None`` follows wall-clock time.
    :param signing_key_pem: the key that signs id_tokens and client-based tokens: PEM text, or the
        path of a PEM file (an unencrypted RSA key of 2048+ bits, or an EC P-256 key); ``None``
        derives one from the seed.
    :param signing_alg: ``RS256`` (the default) or ``ES256`` for a seed-derived key; with
        ``signing_key_pem`` the key's type decides and this may only confirm it.
    :param cookie_name: AM's SSO session cookie (and the header named after it).
    :param cors_origins: browser origins allowed to call AM's endpoints with credentials, besides
        every loopback origin (``http://127.0.0.1:*``, ``http://localhost:*``), which always are.
    :param control_hosts: ``Host`` names (``name`` or ``name:port``; ``*`` for any) the control API
        answers besides loopback ones (``localhost``, 127.0.0.0/8, ``::1``): a container's service
        name, a shared CI host. Binding another address does not add it.
    :param control_origins: browser origins (``http://localhost:3000``; ``*`` for any) that may call
        the control API; by default only the mock's own pages may.
    :param fault_documents: let a fault serve a type a browser renders as a page (``text/html``,
        XML, SVG, PDF); it is then sent with a ``Content-Security-Policy`` that blocks scripts.
    :param max_tokens: the most live tokens kept; beyond it the oldest go first (and then answer as
        unknown tokens). ``None``: no cap.
    :param store: where the state lives: ``None`` in this process (the default, fastest), or
        ``redis://host:port/db`` shared by every process and host that names the same database and
        namespace (see the README's "Several processes").
    :param store_namespace: the key prefix's run part in the store (``default``); the plugin sets one
        per test run and pytest-xdist worker. The seed completes it (``mock-as:<run>:<seed>``).
    :param store_timeout: seconds the mock waits for the store before it answers 503.
    """

    seed: int | None = None
    users: int = 3
    locale: str = "en_US"
    realms: tuple[RealmConfig, ...] = field(default_factory=default_realms)
    context_path: str = DEFAULT_CONTEXT_PATH
    base_url: str = DEFAULT_BASE_URL
    issuer: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    clock_start: float | None = None
    signing_key_pem: str | None = None
    signing_alg: SigningAlg | None = None
    cookie_name: str = "iPlanetDirectoryPro"
    cors_origins: tuple[str, ...] = ()
    control_hosts: tuple[str, ...] = ()
    control_origins: tuple[str, ...] = ()
    fault_documents: bool = False
    max_tokens: int | None = DEFAULT_MAX_TOKENS
    store: str | None = None
    store_namespace: str | None = None
    store_timeout: float = 1.0


def make_config(config: MockASConfig | None = None, **settings: Any) -> MockASConfig:
    """A :class:`MockASConfig` from a base config and keyword overrides, with a clear error for a bad key."""
    base = config or MockASConfig()
    if not settings:
        return base
    known = {f.name for f in dataclasses.fields(MockASConfig)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ConfigError(f"unknown setting(s) {unknown}; known: {sorted(known)}")
    return dataclasses.replace(base, **settings)
