"""Configuration: realms, clients, users and authentication services, as frozen dataclasses.

These are the same terms the TOML file (``mock-as serve --config``), the pytest marker, the control
API and the Python API use. Names follow AM's own settings where AM has one (``accessTokenLifetime``
becomes ``access_token_lifetime``, "Organization Authentication Configuration" ``org_auth_service`` …).

Every model checks its own values when it is built (``__post_init__``), whichever way they come in,
and raises :class:`ConfigError` naming the key: ``realms[0].clients[1].grant_types[0]: 'implicit' is
not one of …``. Bounds live in each field's metadata, in JSON Schema's words (``minimum``,
``maximum``, ``minLength``), so the control API's OpenAPI document is held to the same numbers.
Plain data (parsed TOML or JSON, a marker's dicts) becomes a model through :func:`from_dict`.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Union

from .errors import ConfigError
from .paths import normalise_realm

UserStatus = Literal["active", "inactive", "locked"]
ServiceKind = Literal["chain", "tree"]
TokenFormat = Literal["opaque", "jwt"]
AuthMethod = Literal["client_secret_basic", "client_secret_post", "none"]
SigningAlg = Literal["RS256", "ES256"]
GrantType = Literal["password", "refresh_token", "client_credentials", "authorization_code"]
"""The grant types the token endpoint serves (a test holds this to the endpoint's table)."""

DEFAULT_BASE_URL = "https://openam.example.com:8443/openam"
DEFAULT_CONTEXT_PATH = "/openam"
DEFAULT_MAX_TOKENS = 1_000_000
"""The live tokens a mock keeps by default (about 600 bytes each: some 600 MB at the cap)."""

INT64 = {"minimum": -(2**63), "maximum": 2**63 - 1}
"""Token lifetimes are 64-bit integers: a longer one would not fit the clock's arithmetic."""
NOT_EMPTY = {"minLength": 1}
MAX_LOCK_MINUTES = 1e10
SESSION_MINUTES = {"exclusiveMinimum": 0, "maximum": 1e10}
"""The longest timed lock, in minutes (about 19,000 years); 0 still locks until unlocked."""


# -- checking values against the annotations and the fields' bounds ------------------------------


def _kind(value: Any) -> str:
    return {dict: "a table", list: "an array", tuple: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _convert(hint: Any, value: Any, path: str) -> Any:
    """``value`` as ``hint`` asks (arrays as tuples, integers as floats where a number is wanted),
    or :class:`ConfigError` naming ``path``."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, path)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{path}: unexpected {_kind(value)}")
    if origin is Literal:
        if isinstance(value, bool) or value not in args:
            raise ConfigError(f"{path}: {value!r} is not one of {', '.join(map(repr, args))}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{path}: expected an array, got {_kind(value)}")
        return tuple(_convert(args[0], item, f"{path}[{i}]") for i, item in enumerate(value))
    if origin in (Mapping, dict) or hint is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: expected a table, got {_kind(value)}")
        for k in value:
            if not isinstance(k, str):
                raise ConfigError(f"{path}: keys must be strings, got {k!r}")
        return {k: _convert(args[1], v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if isinstance(value, hint):
            return value
        if isinstance(value, Mapping):
            return from_dict(hint, value, path)
        raise ConfigError(f"{path}: expected a table, got {_kind(value)}")
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true or false, got {_kind(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: expected an integer, got {_kind(value)}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{path}: expected a number, got {_kind(value)}")
        if not math.isfinite(value):
            raise ConfigError(f"{path}: expected a finite number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected a string, got {_kind(value)}")
        return value
    raise ConfigError(f"{path}: cannot read a value of type {hint!r}")  # pragma: no cover


def _bounds(metadata: Mapping[str, Any], value: Any, path: str) -> None:
    """The field's ``minimum``/``exclusiveMinimum``/``maximum``/``minLength`` (JSON Schema's words)
    hold for ``value``."""
    if isinstance(value, str):
        if len(value) < metadata.get("minLength", 0):
            raise ConfigError(f"{path}: must not be empty")
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    above = metadata.get("exclusiveMinimum")
    if above is not None and not value > above:
        raise ConfigError(f"{path}: must be above {above}, got {value!r}")
    low, high = metadata.get("minimum"), metadata.get("maximum")
    if (low is None or value >= low) and (high is None or value <= high):
        return
    if high is None:
        raise ConfigError(f"{path}: must be at least {low}, got {value!r}")
    if low is None:
        raise ConfigError(f"{path}: must be at most {high}, got {value!r}")
    if (low, high) == (INT64["minimum"], INT64["maximum"]):
        raise ConfigError(f"{path}: must be a 64-bit integer (between -2**63 and 2**63 - 1), got {value}")
    raise ConfigError(f"{path}: must be between {low:,} and {high:,}, got {value!r}")


def check_fields(obj: Any) -> None:
    """Check (and normalise) every field of a frozen model against its annotation and bounds."""
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        if not f.init:
            continue
        value = getattr(obj, f.name)
        converted = _convert(hints[f.name], value, f.name)
        _bounds(f.metadata, converted, f.name)
        if converted is not value:
            object.__setattr__(obj, f.name, converted)


def from_dict(cls: type[Any], data: Mapping[str, Any], path: str = "") -> Any:
    """A model from plain data (parsed TOML or JSON, a marker's dict): unknown or missing keys and
    bad values are :class:`ConfigError` naming the key (below ``path``)."""
    where = f"{path}: " if path else ""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}expected a table, got {_kind(data)}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields), key=str)
    if unknown:
        prefix = f"{path}." if path else ""
        raise ConfigError(f"{prefix}{unknown[0]}: unknown key (expected one of {', '.join(sorted(fields))})")
    missing = [
        n
        for n, f in fields.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and n not in data
    ]
    if missing:
        raise ConfigError(f"{where}missing required key {missing[0]!r}")
    try:
        return cls(**data)
    except ConfigError as e:
        raise ConfigError(f"{path}.{e}" if path else str(e)) from None


def _unique(items: Iterable[Any], key: str, path: str) -> None:
    seen: set[Any] = set()
    for i, item in enumerate(items):
        value = getattr(item, key)
        if value in seen:
            raise ConfigError(f"{path}[{i}].{key}: {value!r} is listed twice")
        seen.add(value)


# -- the models -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class UserConfig:
    """A user in a realm's identity store.

    :param username: the login name (AM's ``uid``).
    :param password: the password the password grant checks.
    :param attributes: profile attributes (``cn``, ``mail`` …); a tuple for a multi-valued one.
    :param status: ``active``, ``inactive`` (AM's ``inetUserStatus``) or ``locked``.
    :param password_expired: the authentication module demands a password reset.
    """

    username: str = field(metadata=NOT_EMPTY)
    password: str = field(metadata=NOT_EMPTY)
    attributes: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    status: UserStatus = "active"
    password_expired: bool = False

    def __post_init__(self) -> None:
        check_fields(self)

    @classmethod
    def of(cls, username: str, password: str, **settings: Any) -> UserConfig:
        """A user the way :meth:`MockAS.add_user` and the marker's ``extra_users`` take one:
        ``status``, ``password_expired`` and ``attributes`` are settings, any other keyword is a
        profile attribute (``mail="bjensen@example.com"``); ``uid`` defaults to the username."""
        fields = {k: settings.pop(k) for k in ("status", "password_expired") if k in settings}
        attributes = dict(settings.pop("attributes", None) or {})
        if not isinstance(username, str):
            raise ConfigError(f"username: expected a string, got {_kind(username)}")
        attributes = {"uid": username, **attributes, **settings}
        return cls(username=username, password=password, attributes=attributes, **fields)


@dataclass(frozen=True, kw_only=True)
class ClientConfig:
    """An OAuth 2.0 client registered in a realm.

    :param client_id: the client's id (case-sensitive, as in AM).
    :param secret: its secret; ``None`` makes a public client, which AM does not authenticate.
    :param scopes: the scopes it may be granted.
    :param default_scopes: what it gets when a request names no scope.
    :param grant_types: what it may use (``password``, ``refresh_token``, ``client_credentials``);
        AM 6.5+ answers ``unauthorized_client`` for others.
    :param token_endpoint_auth_method: AM enforces it only for clients allowed ``openid``.
    :param access_token_lifetime: seconds; 0 uses the realm's.
    :param refresh_token_lifetime: seconds; 0 uses the realm's, -1 never expires.
    :param active: an inactive client fails authentication.
    :param redirect_uris: where ``/oauth2/authorize`` may send the browser back, compared exactly
        (a loopback URI registered without a port matches any port, RFC 8252 §7.3).
    :param pkce_required: ``authorize`` demands a ``code_challenge`` (AM's "Code Verifier Parameter
        Required").
    :param implied_consent: the user is never asked for consent (AM's "Implied consent"; on for the
        mock's clients, as the JS SDK's ``prompt=none`` login needs).
    :param post_logout_redirect_uris: where ``connect/endSession`` may send the browser after logout.
    :param cors_origins: browser origins allowed to call AM with credentials (AM's "JavaScript Origins").
    """

    client_id: str = field(metadata=NOT_EMPTY)
    secret: str | None = None
    scopes: tuple[str, ...] = ()
    default_scopes: tuple[str, ...] = ()
    grant_types: tuple[GrantType, ...] = ("password",)
    token_endpoint_auth_method: AuthMethod = "client_secret_basic"
    access_token_lifetime: int = field(default=0, metadata=INT64)
    refresh_token_lifetime: int = field(default=0, metadata=INT64)
    active: bool = True
    redirect_uris: tuple[str, ...] = ()
    pkce_required: bool = False
    implied_consent: bool = True
    post_logout_redirect_uris: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True, kw_only=True)
class ServiceConfig:
    """An authentication service (a chain, or a tree in AM 7) the password grant can run.

    :param name: e.g. ``ldapService``, ``Example``.
    :param kind: ``chain`` or ``tree``; informational, both behave alike here.
    :param users: the usernames it can authenticate; ``None`` means every user of the realm.
    :param fail: it cannot finish with a name and a password alone (an interactive service): AM's
        token endpoint answers ``server_error`` "Internal Server Error (500) - Missing requirements".
    """

    name: str = field(metadata=NOT_EMPTY)
    kind: ServiceKind = "chain"
    users: tuple[str, ...] | None = None
    fail: bool = False

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True, kw_only=True)
class LockoutConfig:
    """AM's core authentication lockout for a realm, with AM's defaults (off, 5 failures, 300 min, 0).

    :param enabled: "Login Failure Lockout Mode".
    :param failure_count: failures within the interval that lock the account (at least 1).
    :param interval_minutes: the window failures are counted in (0 or more).
    :param duration_minutes: how long the lock lasts; 0 locks until an administrator unlocks.
    :param warn_after: "Warn User After N Failures": from this many failures on, a tree's failed REST
        login says how many are left before the lock (0, AM's default, never warns).
    """

    enabled: bool = False
    failure_count: int = field(default=5, metadata={"minimum": 1})
    interval_minutes: float = field(default=300, metadata={"minimum": 0})
    duration_minutes: float = field(default=0, metadata={"minimum": 0, "maximum": MAX_LOCK_MINUTES})
    warn_after: int = field(default=0, metadata={"minimum": 0})

    def __post_init__(self) -> None:
        check_fields(self)


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
    :param password_grant_auth_service: "Password Grant Authentication Service", one of
        ``services``; ``None`` is unset.
    :param org_auth_service: "Organization Authentication Configuration", one of ``services``
        (AM's default ``ldapService``).
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
    access_token_lifetime: int = field(default=3600, metadata=INT64)
    refresh_token_lifetime: int = field(default=604800, metadata=INT64)
    issue_refresh_token: bool = True
    issue_refresh_token_on_refresh: bool = True
    module_messages: bool = False
    token_format: TokenFormat = "opaque"
    id_token_lifetime: int = field(default=3600, metadata=INT64)
    lockout: LockoutConfig = field(default_factory=LockoutConfig)
    session_max_idle_minutes: float = field(default=30, metadata=SESSION_MINUTES)
    session_max_minutes: float = field(default=120, metadata=SESSION_MINUTES)
    fake_users: int | None = field(default=None, metadata={"minimum": 0, "maximum": 10_000})

    def __post_init__(self) -> None:
        check_fields(self)
        try:
            object.__setattr__(self, "name", normalise_realm(self.name))
        except ValueError as e:
            raise ConfigError(f"name: {e}") from None
        _unique(self.clients, "client_id", "clients")
        _unique(self.users, "username", "users")
        _unique(self.services, "name", "services")

    def merged(self, other: RealmConfig) -> RealmConfig:
        """This realm with ``other``'s settings, and its clients, users and services added (by
        client id, username and service name: ``other``'s replace this realm's of the same name)."""

        def by(key: str, mine: tuple[Any, ...], theirs: tuple[Any, ...]) -> tuple[Any, ...]:
            merged = {getattr(x, key): x for x in mine}
            merged.update({getattr(x, key): x for x in theirs})
            return tuple(merged.values())

        return dataclasses.replace(
            other,
            clients=by("client_id", self.clients, other.clients),
            users=by("username", self.users, other.users),
            services=by("name", self.services, other.services),
        )


def check_services(config: RealmConfig, services: Iterable[str]) -> None:
    """The services a realm's settings name must be among ``services``."""
    known = set(services)
    for key in ("org_auth_service", "password_grant_auth_service"):
        value = getattr(config, key)
        if value is not None and value not in known:
            raise ConfigError(
                f"{key}: {value!r} names no authentication service of realm {config.name!r} "
                f"(known: {', '.join(sorted(known)) or 'none'})"
            )


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

# A public client for browser apps, set up as ForgeRock's SDK guides set one up (reference F3.41):
# no secret, authentication method "none", code and refresh grants, PKCE, implied consent.
BROWSER_CLIENT = ClientConfig(
    client_id="sdkPublicClient",
    scopes=("openid", "profile", "email", "address", "phone"),
    default_scopes=("openid", "profile"),
    grant_types=("authorization_code", "refresh_token"),
    token_endpoint_auth_method="none",
    redirect_uris=("http://localhost/callback.html", "http://127.0.0.1/callback.html"),
    pkce_required=True,
    post_logout_redirect_uris=("http://localhost/", "http://127.0.0.1/"),
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
    """The realms a fresh mock serves: ``/`` and ``/customers``, each with AM's documented client,
    the public browser client ``sdkPublicClient`` and the user ``demo``."""
    return tuple(
        RealmConfig(name=name, clients=(DOCS_CLIENT, BROWSER_CLIENT), users=(DEMO_USER,))
        for name in ("/", "/customers")
    )


def merge_realms(base: Iterable[RealmConfig], extra: Iterable[RealmConfig]) -> tuple[RealmConfig, ...]:
    """``base`` with each realm of ``extra`` merged into the one of the same name (see
    :meth:`RealmConfig.merged`), or added after them."""
    realms = {r.name: r for r in base}
    for realm in extra:
        mine = realms.get(realm.name)
        realms[realm.name] = realm if mine is None else mine.merged(realm)
    return tuple(realms.values())


@dataclass(frozen=True, kw_only=True)
class MockASConfig:
    """Everything that shapes a mock: the one source of settings for every entry point.

    :param seed: fixes the fake users and every token string; ``None`` draws one at random.
    :param users: seeded fake users added to each realm.
    :param locale: the faker locale the fake users come from.
    :param realms: the realms served. With ``defaults`` (the default) each one merges into the
        default realm of its name (``/`` and ``/customers``, each with ``myClient`` and ``demo``):
        clients by ``client_id``, users by ``username``, services by name, its settings over the
        defaults; other names are added.
    :param defaults: start from the default realms; ``False`` serves only ``realms``.
    :param context_path: where AM is deployed (``/openam``, or ``/am`` for AM 7+ conventions).
    :param base_url: the URL patched in-process (the host of AM's docs by default).
    :param issuer: a fixed issuer base (``https://am.example.com/am``); ``None`` derives it per request.
    :param host: the address the live server binds.
    :param port: the live server's port (0 picks a free one).
    :param tls: the live server speaks HTTPS, with a certificate for ``127.0.0.1``, ``::1`` and
        ``localhost`` from a throwaway CA.
    :param tls_ca: where to write that CA's certificate (PEM), which implies ``tls``; ``None`` writes
        it to a temporary file. The handle's ``ca_bundle`` names it.
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

    seed: int | None = field(default=None, metadata={"minimum": 0, "maximum": 2**63 - 1})
    users: int = field(default=3, metadata={"minimum": 0, "maximum": 10_000})
    locale: str = field(default="en_US", metadata=NOT_EMPTY)
    realms: tuple[RealmConfig, ...] = ()
    defaults: bool = True
    context_path: str = DEFAULT_CONTEXT_PATH
    base_url: str = field(default=DEFAULT_BASE_URL, metadata=NOT_EMPTY)
    issuer: str | None = None
    host: str = "127.0.0.1"
    port: int = field(default=0, metadata={"minimum": 0, "maximum": 65535})
    tls: bool = False
    tls_ca: str | None = None
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

    def __post_init__(self) -> None:
        check_fields(self)
        if self.tls_ca is not None:
            object.__setattr__(self, "tls", True)  # where to write the CA only makes sense with TLS
        path = self.context_path.strip("/")
        object.__setattr__(self, "context_path", f"/{path}" if path else "")
        _unique(self.realms, "name", "realms")
        given = {r.name: i for i, r in enumerate(self.realms)}
        if self.defaults:
            object.__setattr__(self, "realms", merge_realms(default_realms(), self.realms))
        for realm in self.realms:
            try:
                check_services(realm, (s.name for s in realm.services))
            except ConfigError as e:
                raise ConfigError(f"realms[{given.get(realm.name, 0)}].{e}") from None
