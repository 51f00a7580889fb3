"""The one in-memory state both transports serve: realms, clients, users, services and tokens.

No Flask here. Every mutation holds ``State.lock``; :meth:`State.reset` rebuilds the seeded starting
point from frozen configuration, which costs microseconds.
"""

from __future__ import annotations

import dataclasses
import heapq
import secrets
import threading
from collections import deque
from collections.abc import Iterable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from .clock import Clock
from .codes import Codes
from .config import ClientConfig, MockASConfig, RealmConfig, ServiceConfig, UserConfig
from .errors import ConfigError
from .faults import Faults
from .keys import SigningKeys
from .lockout import Lockout
from .paths import issuer_url, normalise_realm
from .seeding import TokenSource, make_users
from .sessions import Sessions
from .tokens_jwt import TokenFormats

__all__ = ["Call", "Realm", "State", "Token", "normalise_realm"]

JOURNAL_LIMIT = 10_000


class Token(NamedTuple):
    """An issued access or refresh token, as AM keeps it server-side (in its CTS)."""

    id: str
    kind: str  # "access_token" | "refresh_token"
    realm: str
    client_id: str
    username: str
    scopes: tuple[str, ...]
    grant_type: str
    issued_at: float
    expires_at: float | None  # None: never expires
    auth_grant_id: str
    audit_id: str

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def expires_in(self, now: float) -> int:
        """Whole seconds left, as AM reports them: AM writes the answer a moment after minting,
        so a 3600-second token reads 3599. The mock takes that moment to be one millisecond."""
        if self.expires_at is None:
            return -1
        return max(0, int(self.expires_at - now - 0.001))


class TokenStore(MutableMapping[str, Token]):
    """Issued tokens by id, kept as plain tuples of strings and numbers.

    The garbage collector stops tracking such tuples, so a million live tokens do not make every
    full collection walk a million objects (which showed as pauses of a few hundred milliseconds)."""

    __slots__ = ("_rows",)

    def __init__(self) -> None:
        self._rows: dict[str, tuple[Any, ...]] = {}

    def __getitem__(self, token_id: str) -> Token:
        return Token._make(self._rows[token_id])

    def get(self, token_id: str, default: Token | None = None) -> Token | None:  # type: ignore[override]
        row = self._rows.get(token_id)
        return default if row is None else Token._make(row)

    def __setitem__(self, token_id: str, token: Token) -> None:
        self._rows[token_id] = tuple(token)

    def __delitem__(self, token_id: str) -> None:
        del self._rows[token_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, token_id: object) -> bool:
        return token_id in self._rows

    def clear(self) -> None:
        self._rows.clear()

    def __repr__(self) -> str:
        return f"<TokenStore of {len(self._rows)} tokens>"


@dataclass(slots=True)
class Call:
    """One request the mock received, secrets redacted: what a test asserts on."""

    method: str
    path: str
    endpoint: str | None
    realm: str | None
    params: dict[str, str]
    status: int
    error: str | None
    time: float

    @property
    def grant_type(self) -> str | None:
        return self.params.get("grant_type")

    @property
    def client_id(self) -> str | None:
        return self.params.get("client_id")

    @property
    def username(self) -> str | None:
        return self.params.get("username")

    @property
    def scope(self) -> str | None:
        return self.params.get("scope")


class Realm:
    """A realm's live settings and registries."""

    __slots__ = ("clients", "config", "name", "services", "users")

    def __init__(self, config: RealmConfig, users: Iterable[UserConfig]) -> None:
        self.name = config.name
        self.config = config
        self.clients: dict[str, ClientConfig] = {c.client_id: c for c in config.clients}
        self.users: dict[str, UserConfig] = {u.username: u for u in users}
        self.services: dict[str, ServiceConfig] = {s.name: s for s in config.services}


class State:
    """Realms, clients, users, services and issued tokens, behind one lock, and its features:
    ``lockout`` (AM's login failure lockout), ``faults`` (the injected-fault queue), ``keys`` (the
    signing key), ``formats`` (what clients hold for a token: an id or a JWT), ``sessions`` (SSO
    sessions) and ``codes`` (authorization codes and saved consent).

    :param config: what to serve.
    :param clock: the clock that drives issuing and validation (a fresh one by default).
    """

    def __init__(self, config: MockASConfig | None = None, clock: Clock | None = None) -> None:
        self.config = config or MockASConfig()
        self.clock = clock or Clock(self.config.clock_start)
        self.lock = threading.RLock()
        self.seed: int = self.config.seed if self.config.seed is not None else secrets.randbits(63)
        self.random = TokenSource(self.seed)
        self._initial: tuple[tuple[RealmConfig, tuple[UserConfig, ...]], ...] = ()
        self.realms: dict[str, Realm] = {}
        self.tokens = TokenStore()
        self._expiry: list[tuple[float, str]] = []
        self.journal: deque[Call] = deque(maxlen=JOURNAL_LIMIT)
        self._build_initial()
        self.lockout = Lockout(self)
        self.faults = Faults()
        self.keys = SigningKeys(self)  # a configured PEM is parsed here, so a bad one fails at start
        self.formats = TokenFormats(self)
        self.sessions = Sessions(self)
        self.codes = Codes(self)
        self.reset()

    # -- set-up -------------------------------------------------------------------------------

    def _build_initial(self) -> None:
        built = []
        seen: set[str] = set()
        for realm in self.config.realms:
            name = normalise_realm(realm.name)
            if name in seen:
                raise ConfigError(f"realm {name!r} is configured twice")
            seen.add(name)
            realm = dataclasses.replace(realm, name=name)
            count = self.config.users if realm.fake_users is None else realm.fake_users
            fixed = {u.username for u in realm.users}
            fake = tuple(
                u
                for u in make_users(count, seed=self.seed, realm=name, locale=self.config.locale)
                if u.username not in fixed
            )
            built.append((realm, realm.users + fake))
        self._initial = tuple(built)

    def reset(self) -> None:
        """Back to the seeded starting point: configured realms and users, no tokens, empty journal,
        the token sequence restarted and the clock back to its configured start."""
        with self.lock:
            self.realms = {cfg.name: Realm(cfg, users) for cfg, users in self._initial}
            self.tokens = TokenStore()
            self._expiry = []
            self.journal.clear()
            self.random.reset()
            self.clock.reset(self.config.clock_start)
            self.lockout.reset()
            self.faults.reset()
            self.keys.reset()
            self.formats.reset()
            self.sessions.reset()
            self.codes.reset()

    def reseed(self, seed: int) -> None:
        """Start again from another seed: new fake users, a new token sequence."""
        self.reconfigure(dataclasses.replace(self.config, seed=seed))

    def reconfigure(self, config: MockASConfig) -> None:
        """Serve another configuration from now on (a per-test marker does this), then reset.
        The context path cannot change under a running server."""
        if config.context_path != self.config.context_path:
            raise ConfigError("context_path cannot change at runtime")
        with self.lock:
            if config == self.config:
                self.reset()
                return
            self.config = config
            if config.seed is not None and config.seed != self.seed:
                self.seed = config.seed
                self.random = TokenSource(config.seed)
            self._build_initial()
            self.reset()

    # -- registries ---------------------------------------------------------------------------

    def issuer(self, base_url: str, realm: str) -> str:
        """The ``iss`` of ``realm`` for a client that reached the mock at ``base_url``."""
        return issuer_url(base_url, realm, self.config.issuer)

    def realm(self, name: str) -> Realm:
        """The realm called ``name`` (``/``, ``/customers`` …); :class:`ConfigError` if there is none."""
        found = self.realms.get(normalise_realm(name))
        if found is None:
            raise ConfigError(f"no realm {name!r}; known: {sorted(self.realms)}")
        return found

    def add_realm(self, config: RealmConfig) -> Realm:
        """Add (or replace) a realm until the next reset."""
        name = normalise_realm(config.name)
        config = dataclasses.replace(config, name=name)
        with self.lock:
            realm = Realm(config, config.users)
            self.realms[name] = realm
            return realm

    def update_realm(self, name: str, **settings: Any) -> RealmConfig:
        """Change a realm's provider settings (lifetimes, lockout …) until the next reset."""
        with self.lock:
            realm = self.realm(name)
            try:
                realm.config = dataclasses.replace(realm.config, **settings)
            except TypeError as e:
                raise ConfigError(str(e)) from e
            return realm.config

    def add_user(self, user: UserConfig, realm: str = "/") -> UserConfig:
        """Add (or replace) a user in a realm until the next reset."""
        with self.lock:
            self.realm(realm).users[user.username] = user
        return user

    def update_user(self, username: str, realm: str = "/", **changes: Any) -> UserConfig:
        """Change a user (status, password, attributes …) until the next reset."""
        with self.lock:
            users = self.realm(realm).users
            if username not in users:
                raise ConfigError(f"no user {username!r} in realm {realm!r}")
            try:
                users[username] = dataclasses.replace(users[username], **changes)
            except TypeError as e:
                raise ConfigError(str(e)) from e
            return users[username]

    def remove_user(self, username: str, realm: str = "/") -> None:
        with self.lock:
            self.realm(realm).users.pop(username, None)

    def add_client(self, client: ClientConfig, realm: str = "/") -> ClientConfig:
        """Add (or replace) a client in a realm until the next reset."""
        with self.lock:
            self.realm(realm).clients[client.client_id] = client
        return client

    def remove_client(self, client_id: str, realm: str = "/") -> None:
        with self.lock:
            self.realm(realm).clients.pop(client_id, None)

    def add_service(self, service: ServiceConfig, realm: str = "/") -> ServiceConfig:
        with self.lock:
            self.realm(realm).services[service.name] = service
        return service

    # -- tokens -------------------------------------------------------------------------------

    def issue(
        self,
        *,
        kind: str,
        realm: str,
        client_id: str,
        username: str,
        scopes: tuple[str, ...],
        grant_type: str,
        lifetime: float,
        auth_grant_id: str | None = None,
        now: float | None = None,
    ) -> Token:
        """Mint and store a token; ``lifetime`` < 0 never expires. Expired tokens are purged as we go."""
        if now is None:
            now = self.clock.now()
        random = self.random
        with self.lock:
            token = Token(
                id=random.token(),
                kind=kind,
                realm=realm,
                client_id=client_id,
                username=username,
                scopes=scopes,
                grant_type=grant_type,
                issued_at=now,
                expires_at=None if lifetime < 0 else now + lifetime,
                auth_grant_id=auth_grant_id or random.token(),
                audit_id=random.uuid(),
            )
            self.tokens[token.id] = token
            if token.expires_at is not None:
                heapq.heappush(self._expiry, (token.expires_at, token.id))
            self._purge(now)
        return token

    def _purge(self, now: float) -> None:
        # Each issue pops at most a few expired entries, so memory stays flat without a sweeper thread.
        heap = self._expiry
        for _ in range(4):
            if not heap or heap[0][0] > now:
                return
            _, token_id = heapq.heappop(heap)
            token = self.tokens.get(token_id)
            if token is not None and token.expired(now):
                del self.tokens[token_id]

    def find(self, token_id: str, now: float | None = None) -> Token | None:
        """The live token with that id, or ``None`` (unknown, revoked or expired)."""
        token = self.tokens.get(token_id)
        if token is None:
            return None
        if token.expired(self.clock.now() if now is None else now):
            return None
        return token

    def revoke(self, token_id: str) -> None:
        with self.lock:
            self.tokens.pop(token_id, None)

    def revoke_grant(self, auth_grant_id: str) -> int:
        """Revoke every token of one grant (what revoking a refresh token does in AM)."""
        with self.lock:
            doomed = [t.id for t in self.tokens.values() if t.auth_grant_id == auth_grant_id]
            for token_id in doomed:
                del self.tokens[token_id]
        return len(doomed)

    def record(self, call: Call) -> None:
        self.journal.append(call)
