"""The one in-memory state both transports serve: realms, clients, users, services and tokens.

No Flask here. Every mutation holds ``State.lock``; :meth:`State.reset` rebuilds the seeded starting
point from frozen configuration, which costs microseconds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import heapq
import itertools
import json
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from .clock import Clock
from .config import ClientConfig, MockASConfig, RealmConfig, ServiceConfig, UserConfig
from .errors import ConfigError
from .faults import Faults
from .keys import SigningKeys
from .lockout import Lockout
from .paths import issuer_url, normalise_realm
from .seeding import TokenSource, make_users
from .sessions import Session, Sessions
from .store import RedisMapping, RedisStore, SharedLock, StoreUnavailable, dumps, json_dumps, loads
from .tokens_jwt import TokenFormats

__all__ = ["Call", "Realm", "State", "StoreUnavailable", "Token", "normalise_realm"]

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


def _encode_token(token: Token) -> bytes:
    return json_dumps(list(token))


def _decode_token(data: bytes) -> Token:
    row = json.loads(data)
    row[5] = tuple(row[5])
    return Token._make(row)


class SharedTokens(RedisMapping[Token]):
    """Issued tokens in the store, one key each, purged by Redis's expiry; each grant's tokens are
    indexed (``grant:<id>``, and ``grantp:<id>`` for those that never expire) for revoking a grant."""

    def write(self, pipe: Any, record_id: str, value: Token) -> None:
        super().write(pipe, record_id, value)
        if value.expires_at is None:
            pipe.sadd(self.store.key("grantp", value.auth_grant_id), record_id)
        else:
            grant = self.store.key("grant", value.auth_grant_id)
            at = int((value.expires_at - self._now() + time.time()) * 1000) + 1000
            pipe.sadd(grant, record_id)
            pipe.pexpireat(grant, at, nx=True)
            pipe.pexpireat(grant, at, gt=True)

    def revoke_grant(self, auth_grant_id: str) -> int:
        """Delete every token of the grant; how many were live."""
        store = self.store
        keys = (store.key("grant", auth_grant_id), store.key("grantp", auth_grant_id))

        def run() -> int:
            members: set[bytes] = set()
            for key in keys:
                members |= store.redis.smembers(key)
            pipe = store.pipeline()
            for member in members:
                pipe.delete(self._key(member.decode()))
            pipe.delete(*keys)
            return sum(int(n) for n in pipe.execute()[: len(members)])

        return store.call(run)


class SharedJournal:
    """The journal in the store, read as the in-memory deque is (iterate, ``len``)."""

    def __init__(self, state: State) -> None:
        self._state = state

    def __iter__(self) -> Iterator[Call]:
        return iter(self._state.journal_since(0)[1])

    def __len__(self) -> int:
        store = self._state.store
        assert store is not None
        return int(store.call(lambda: store.redis.llen(store.key("journal"))))


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
    signing key), ``formats`` (what clients hold for a token: an id or a JWT) and ``sessions`` (SSO
    sessions).

    :param config: what to serve.
    :param clock: the clock that drives issuing and validation (a fresh one by default).
    """

    def __init__(self, config: MockASConfig | None = None, clock: Clock | None = None) -> None:
        self.config = config or MockASConfig()
        self.clock = clock or Clock(self.config.clock_start)
        self.lock: Any = threading.RLock()
        self.store: RedisStore | None = None
        self.seed: int = self.config.seed if self.config.seed is not None else secrets.randbits(63)
        if self.config.store is not None:
            self._open_store()
        self.random = self._token_source(self.seed)
        self._initial: tuple[tuple[RealmConfig, tuple[UserConfig, ...]], ...] = ()
        self.realms: dict[str, Realm] = {}
        self.tokens: MutableMapping[str, Token] = TokenStore()
        self._expiry: list[tuple[float, str]] = []
        self.journal: Any = deque()
        self._journal_sizes: deque[int] = deque()
        self._journal_bytes = 0
        self._journal_first = 0  # the sequence number of the journal's first entry since the reset
        self._journal_lock = threading.Lock()
        self._order: deque[str] = deque()  # token ids, oldest first, for the max_tokens cap
        self._dirty = False
        self._build_initial()
        self.lockout = Lockout(self)
        self.faults = Faults(lambda: self.config.fault_documents)
        self.keys = SigningKeys(self)  # a configured PEM is parsed here, so a bad one fails at start
        self.formats = TokenFormats(self)
        self.sessions = Sessions(self, self._session_storage)
        if self.store is None:
            self.reset()
        else:
            self._join()

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
        the token sequence restarted and the clock back to its configured start. With a store, for
        every process that shares it."""
        with self.lock:
            self._reset_local()
            if self.store is not None:
                self._publish_all()

    def _reset_local(self) -> None:
        self.realms = {cfg.name: Realm(cfg, users) for cfg, users in self._initial}
        self._expiry = []
        self._order = deque()
        self._dirty = False
        if self.store is not None:
            self.tokens = SharedTokens(
                self.store,
                "tok",
                _encode_token,
                _decode_token,
                expires_at=lambda t: t.expires_at,
                now=self.clock.now,
            )
            self.journal = SharedJournal(self)
        else:
            self.tokens = TokenStore()
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
                self.random = self._token_source(config.seed)
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
            self._dirty = True
            return realm

    def update_realm(self, name: str, **settings: Any) -> RealmConfig:
        """Change a realm's provider settings (lifetimes, lockout …) until the next reset."""
        with self.lock:
            realm = self.realm(name)
            try:
                realm.config = dataclasses.replace(realm.config, **settings)
            except TypeError as e:
                raise ConfigError(str(e)) from e
            self._dirty = True
            return realm.config

    def add_user(self, user: UserConfig, realm: str = "/") -> UserConfig:
        """Add (or replace) a user in a realm until the next reset."""
        with self.lock:
            self.realm(realm).users[user.username] = user
            self._dirty = True
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
            self._dirty = True
            return users[username]

    def remove_user(self, username: str, realm: str = "/") -> None:
        with self.lock:
            self.realm(realm).users.pop(username, None)
            self._dirty = True

    def add_client(self, client: ClientConfig, realm: str = "/") -> ClientConfig:
        """Add (or replace) a client in a realm until the next reset."""
        with self.lock:
            self.realm(realm).clients[client.client_id] = client
            self._dirty = True
        return client

    def remove_client(self, client_id: str, realm: str = "/") -> None:
        with self.lock:
            self.realm(realm).clients.pop(client_id, None)
            self._dirty = True

    def add_service(self, service: ServiceConfig, realm: str = "/") -> ServiceConfig:
        with self.lock:
            self.realm(realm).services[service.name] = service
            self._dirty = True
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
        if self.store is not None:
            # Three numbers of the shared sequence in one round trip, the token in another; Redis's
            # expiry purges it, and max_tokens is Redis's own maxmemory policy's business.
            first = random.reserve(3)
            token = Token(
                id=random.token(first),
                kind=kind,
                realm=realm,
                client_id=client_id,
                username=username,
                scopes=scopes,
                grant_type=grant_type,
                issued_at=now,
                expires_at=None if lifetime < 0 else now + lifetime,
                auth_grant_id=auth_grant_id or random.token(first + 1),
                audit_id=random.uuid(first + 2),
            )
            self.tokens[token.id] = token
            return token
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
        if isinstance(self.tokens, SharedTokens):
            return self.tokens.revoke_grant(auth_grant_id)
        with self.lock:
            doomed = [t.id for t in self.tokens.values() if t.auth_grant_id == auth_grant_id]
            for token_id in doomed:
                del self.tokens[token_id]
        return len(doomed)

    def record(self, call: Call) -> None:
        """Journal ``call``, cut to the journal's caps; the oldest entries make room."""
        call, size = clipped(call)
        if self.store is not None:
            self._record_shared(call)
            return
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
        if self.store is not None:
            return self._journal_shared(first)
        with self._journal_lock:
            start = max(first, self._journal_first)
            skip = start - self._journal_first
            calls = list(itertools.islice(self.journal, skip, None)) if skip else list(self.journal)
        return start, calls

    # -- the shared store (``config.store``) ----------------------------------------------------

    def changed(self) -> None:
        """Mark the registries (realms, users, clients, lockout records) changed: with a store, the
        outermost holder of :attr:`lock` writes them when it lets go."""
        self._dirty = True

    def sync(self) -> None:
        """Bring this process's copy up to date with the store (a reset, a reseed, a changed user,
        client, realm or fault, the clock) before a request; nothing to do without a store.
        :class:`StoreUnavailable` when the store does not answer."""
        if self.store is not None:
            self._pull(locked=False)

    def _token_source(self, seed: int) -> TokenSource:
        return TokenSource(seed) if self.store is None else TokenSource(seed, self.store.counter)

    def _session_storage(self) -> MutableMapping[str, Session]:
        if self.store is None:
            return {}
        return RedisMapping(
            self.store,
            "sess",
            dumps,
            loads,
            expires_at=lambda s: min(s.idle_expires_at, s.expires_at),
            now=self.clock.now,
        )

    def _open_store(self) -> None:
        config = self.config
        assert config.store is not None
        timeout = config.store_timeout
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not math.isfinite(timeout)
            or not 0 < timeout <= 60
        ):
            raise ConfigError(f"store_timeout: expected seconds above 0, at most 60, got {timeout!r}")
        run = config.store_namespace or "default"
        seed = str(config.seed) if config.seed is not None else "any"
        store = RedisStore(config.store, f"mock-as:{run}:{seed}", float(timeout))
        self.store = store
        self._seen: dict[str, str] = {}
        self._faults_dirty = False
        self.lock = SharedLock(store, lambda: self._pull(locked=True), self._push)
        if config.seed is None:
            stored = store.meta().get("seed")
            if stored is not None:
                self.seed = int(stored)  # the process that came first drew it
        self.clock.on_change = self._publish_clock

    def _join(self) -> None:
        """Take the namespace's state, or write the seeded start if this process is the first."""
        self.faults.share(
            guard=self.lock,
            on_change=self._faults_changed,
            claim=self._claim_fault,
            counts=self._fault_counts,
        )
        with self.lock:
            pass  # taking the lock pulls, and writes the seeded start into an empty namespace

    def _faults_changed(self) -> None:
        self._faults_dirty = True

    def _claim_fault(self, fault_id: int) -> int:
        store = self.store
        assert store is not None
        return int(store.call(lambda: store.redis.hincrby(store.key("fired"), str(fault_id), 1)))

    def _fault_counts(self) -> dict[int, int]:
        store = self.store
        assert store is not None
        raw = store.call(lambda: store.redis.hgetall(store.key("fired")))
        return {int(k): int(v) for k, v in raw.items()}

    def _registry(self) -> bytes:
        realms = {n: (r.config, r.clients, r.users, r.services) for n, r in self.realms.items()}
        return dumps((realms, self.lockout.records()))

    def _load_registry(self, data: bytes) -> None:
        realms, records = loads(data)
        loaded: dict[str, Realm] = {}
        for name, (config, clients, users, services) in realms.items():
            # The same Realm objects, updated: a request that holds one sees the change.
            realm = self.realms.get(name) or Realm(config, ())
            realm.config, realm.clients, realm.users, realm.services = config, clients, users, services
            loaded[name] = realm
        self.realms = loaded
        self.lockout.restore(records)

    def _publish_clock(self, offset: float, frozen_at: float | None) -> None:
        store = self.store
        assert store is not None
        store.call(lambda: store.redis.hset(store.key("meta"), "clock", json.dumps([offset, frozen_at])))

    def _publish_all(self) -> None:
        """Wipe the namespace and write this process's state as the start (with the lock held)."""
        store = self.store
        assert store is not None
        store.wipe()
        version = secrets.token_hex(8)
        meta = {
            "gen": version,
            "rv": version,
            "fv": version,
            "seed": str(self.seed),
            "clock": json.dumps(list(self.clock.dump())),
        }

        def run() -> None:
            pipe = store.pipeline()
            pipe.set(store.key("registry"), self._registry())
            pipe.set(store.key("faults"), dumps(self.faults.snapshot()))
            pipe.hset(store.key("meta"), mapping=meta)
            pipe.execute()

        store.call(run)
        self._seen = dict(meta)
        self._dirty = self._faults_dirty = False

    def _push(self) -> None:
        """Write what changed under the lock (called before the outermost release)."""
        store = self.store
        assert store is not None
        if not (self._dirty or self._faults_dirty):
            return
        version = secrets.token_hex(8)
        values: dict[str, str] = {}

        def run() -> None:
            pipe = store.pipeline()
            if self._dirty:
                pipe.set(store.key("registry"), self._registry())
                values["rv"] = version
            if self._faults_dirty:
                pipe.set(store.key("faults"), dumps(self.faults.snapshot()))
                values["fv"] = version
            pipe.hset(store.key("meta"), mapping=values)
            pipe.execute()

        store.call(run)
        self._seen.update(values)
        self._dirty = self._faults_dirty = False

    def _pull(self, *, locked: bool) -> None:
        store = self.store
        assert store is not None
        meta = store.meta()
        if not meta.get("gen"):
            # A new namespace, or Redis lost its data (restarted without persistence): the seeded
            # start is written again, once, by whoever takes the lock first.
            if not locked:
                with self.lock:
                    return
            self._reset_local()
            self._publish_all()
            return
        seen = self._seen
        if meta["gen"] != seen.get("gen"):
            self._adopt(meta)
            seen = self._seen
        keys = []
        if meta.get("rv") != seen.get("rv"):
            keys.append("registry")
        if meta.get("fv") != seen.get("fv"):
            keys.append("faults")
        if keys:
            found = store.call(lambda: store.redis.mget([store.key(k) for k in keys]))
            for name, data in zip(keys, found, strict=True):
                if data is None:
                    continue
                if name == "registry":
                    self._load_registry(data)
                    seen["rv"] = meta.get("rv", "")
                else:
                    self.faults.restore(*loads(data))
                    seen["fv"] = meta.get("fv", "")
        clock = meta.get("clock")
        if clock is not None and clock != seen.get("clock"):
            offset, frozen_at = json.loads(clock)
            self.clock.load(float(offset), None if frozen_at is None else float(frozen_at))
            seen["clock"] = clock

    def _adopt(self, meta: dict[str, str]) -> None:
        """Another process reset (or reseeded) the store: start again from its seed."""
        seed = int(meta.get("seed", self.seed))
        if seed != self.seed:
            self.seed = seed
            self.random = self._token_source(seed)
            self.config = dataclasses.replace(self.config, seed=seed)
            self._build_initial()
        self._reset_local()
        self._seen = {"gen": meta["gen"]}

    def _record_shared(self, call: Call) -> None:
        store = self.store
        assert store is not None
        key = store.key("journal")

        def run() -> None:
            pipe = store.pipeline()
            pipe.rpush(key, dumps(call))
            pipe.ltrim(key, -JOURNAL_LIMIT, -1)
            pipe.incr(store.key("jseq"))
            pipe.execute()

        with contextlib.suppress(StoreUnavailable):  # best effort: the request itself was answered
            store.call(run)

    def _journal_shared(self, first: int) -> tuple[int, list[Call]]:
        store = self.store
        assert store is not None

        def run() -> tuple[list[bytes], int]:
            pipe = store.pipeline()
            pipe.lrange(store.key("journal"), 0, -1)
            pipe.get(store.key("jseq"))
            entries, total = pipe.execute()
            return entries, int(total or 0)

        entries, total = store.call(run)
        oldest = total - len(entries)
        start = max(first, oldest)
        return start, [loads(e) for e in entries[start - oldest :]]
