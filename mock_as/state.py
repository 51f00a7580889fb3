"""The one in-memory state both transports serve: realms, clients, users, services and tokens.

No Flask here. Every mutation holds ``State.lock``; :meth:`State.reset` rebuilds the seeded starting
point from frozen configuration, which costs microseconds.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
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
"""The most entries the journal keeps; the oldest go first."""
JOURNAL_VALUE_BYTES = 1024
"""The most bytes (UTF-8) kept of one value: the path, a parameter's name or value. A longer one is
cut and ends with ``…``."""
JOURNAL_ENTRY_BYTES = 8 * 1024
"""The most bytes of one entry's path and parameters; the parameters beyond are summed up under the
key ``…`` (``"12000 more"``)."""
JOURNAL_BYTES = 4 * 1024 * 1024
"""The most bytes the journal keeps in all (its entries counted as above, plus a fixed
:data:`JOURNAL_ENTRY_OVERHEAD` each); the oldest entries go first."""
JOURNAL_ENTRY_OVERHEAD = 256
"""What an entry costs beyond its text: the record itself, its fixed fields."""
MORE = "…"


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


def _size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "replace"))


def clip(text: str, limit: int = JOURNAL_VALUE_BYTES) -> str:
    """``text`` cut to at most ``limit`` bytes of UTF-8, ending with ``…`` when cut."""
    if len(text) <= limit and _size(text) <= limit:
        return text
    cut = text.encode("utf-8", "replace")[: limit - len(MORE.encode())]
    return cut.decode("utf-8", "ignore") + MORE


def clipped(call: Call) -> tuple[Call, int]:
    """``call`` as the journal keeps it (values and entry cut to their caps) and its cost in bytes."""
    path = clip(call.path)
    used = _size(path)
    params: dict[str, str] = {}
    count = len(call.params)
    changed = path is not call.path
    for key, value in call.params.items():
        short_key, short_value = clip(key), clip(value)
        changed = changed or short_key is not key or short_value is not value
        size = _size(short_key) + _size(short_value)
        if used + size > JOURNAL_ENTRY_BYTES:
            params[MORE] = f"{count - len(params)} more"
            used += 16
            changed = True
            break
        params[short_key] = short_value
        used += size
    if changed:
        call = dataclasses.replace(call, path=path, params=params)
    return call, used + JOURNAL_ENTRY_OVERHEAD


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
        self.journal: deque[Call] = deque()
        self._journal_sizes: deque[int] = deque()
        self._journal_bytes = 0
        self._journal_first = 0  # the sequence number of the journal's first entry since the reset
        self._journal_lock = threading.Lock()
        self._order: deque[str] = deque()  # token ids, oldest first, for the max_tokens cap
        self._build_initial()
        self.lockout = Lockout(self)
        self.faults = Faults(lambda: self.config.fault_documents)
        self.keys = SigningKeys(self)  # a configured PEM is parsed here, so a bad one fails at start
        self.formats = TokenFormats(self)
        self.sessions = Sessions(self)
        self.codes = Codes(self)
        self.reset()

    # -- set-up -------------------------------------------------------------------------------

    def _build_initial(self) -> None:
        cap = self.config.max_tokens
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
            raise ConfigError(
                f"max_tokens: expected a whole number of at least 1 (or none: no cap), got {cap!r}"
            )
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
            self._order = deque()
            with self._journal_lock:  # new containers: the old ones' memory goes back at once
                self.journal = deque()
                self._journal_sizes = deque()
                self._journal_bytes = 0
                self._journal_first = 0
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
            cap = self.config.max_tokens
            if cap is not None:
                self._order.append(token.id)
                if len(self.tokens) > cap:
                    self._evict(cap)
                self._compact()
        return token

    def _compact(self) -> None:
        """Drop the ids of revoked, expired and evicted tokens from the issue order and the expiry
        heap once they outnumber the live ones: all at once, so issuing stays O(1) on average and
        the cap bounds the memory of both."""
        room = 2 * len(self.tokens) + 1024
        if len(self._order) > room:
            self._order = deque(i for i in self._order if i in self.tokens)
        if len(self._expiry) > room:
            self._expiry = [entry for entry in self._expiry if entry[1] in self.tokens]
            heapq.heapify(self._expiry)

    def _evict(self, cap: int) -> None:
        """Drop the oldest live tokens until ``cap`` are left (they then answer as unknown)."""
        order, tokens = self._order, self.tokens
        while len(tokens) > cap and order:
            token_id = order.popleft()
            if token_id in tokens:
                del tokens[token_id]

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
        """Journal ``call``, cut to the journal's caps; the oldest entries make room."""
        call, size = clipped(call)
        with self._journal_lock:
            journal, sizes = self.journal, self._journal_sizes
            journal.append(call)
            sizes.append(size)
            self._journal_bytes += size
            while len(journal) > 1 and (self._journal_bytes > JOURNAL_BYTES or len(journal) > JOURNAL_LIMIT):
                journal.popleft()
                self._journal_bytes -= sizes.popleft()
                self._journal_first += 1

    def journal_since(self, first: int = 0) -> tuple[int, list[Call]]:
        """The journal's entries from sequence number ``first`` on (0 is the first since the reset),
        and the sequence number of the first one returned."""
        with self._journal_lock:
            start = max(first, self._journal_first)
            skip = start - self._journal_first
            calls = list(itertools.islice(self.journal, skip, None)) if skip else list(self.journal)
        return start, calls
