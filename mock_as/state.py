"""The one in-memory state both transports serve: realms, clients, users, services and tokens.

No Flask here. Every mutation holds ``State.lock``; :meth:`State.reset` rebuilds the seeded starting
point from frozen configuration, which costs microseconds.

With ``config.store`` (``redis://…``) the same state is shared by every process that names the store
(:mod:`mock_as.store`): tokens, sessions and the journal live in Redis; the registries (realms, users,
clients, lockout records) and the fault queue are kept here as a copy that :meth:`State.sync` brings up to
date before each request and that the outermost holder of ``State.lock`` (then also the store's lock)
writes back when it changed; the clock's offset is shared.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import functools
import itertools
import json
import math
import re
import secrets
import struct
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from .clock import Clock
from .codes import Codes
from .config import ClientConfig, MockASConfig, RealmConfig, ServiceConfig, UserConfig, check_services
from .errors import ConfigError
from .faults import Faults
from .keys import SigningKeys
from .lockout import Lockout
from .paths import issuer_url, normalise_realm
from .seeding import TokenSource, make_users, uuid4_bytes, uuid_str
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
COMPACT_EVERY = 256
"""Issues between two looks at the max_tokens order and expiry queues for ids to forget."""
NAMESPACE = re.compile(r"[A-Za-z0-9._-]{1,100}")
"""What ``store_namespace`` may be: no ``:`` (the key separator) and no glob character, so one
namespace's keys never match another's pattern."""
#: faker's own default locale: always there, so its fake users can wait until they are needed.
DEFAULT_LOCALE = "en_US"


_R = TypeVar("_R")


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


def _grant_bytes(value: str) -> bytes | None:
    """A token id as :class:`~mock_as.seeding.TokenSource` writes it (base64url of 20 bytes, no
    padding) -> those 20 bytes; ``None`` for any other string."""
    if len(value) != 27:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=")
    except (binascii.Error, ValueError):
        return None
    return raw if _grant_str(raw) == value else None


def _grant_str(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw)[:27].decode()


def _uuid_bytes(value: str) -> bytes | None:
    """A lower-case UUID string -> its 16 bytes; ``None`` for any other string."""
    if len(value) != 36:
        return None
    try:
        raw = bytes.fromhex(value[:8] + value[9:13] + value[14:18] + value[19:23] + value[24:])
    except ValueError:
        return None
    return raw if uuid_str(raw) == value else None


#: A compact row: the index of the token's shared fields, the issue instant, the token's number in
#: the issue order, the grant id's 20 bytes and the audit id's 16.
_ROW = struct.Struct("<IdQ36s")
SHARDS = 64
"""The dicts the token map is spread over (a power of two)."""
_SHARD_MASK = SHARDS - 1
_GRANT = slice(20, 40)
_SEQ = struct.Struct("<Q")
_SEQ_AT = 12  # where a row's issue sequence number starts


class TokenStore(MutableMapping[str, Token]):
    """Issued tokens by id, in a compact form, with their expiry queues.

    A live token costs its id, one slot of the map and a row of 56 bytes (:data:`_ROW`): the index
    of a tuple shared by every token with the same kind, realm, client, user, scopes, grant type
    and lifetime; the issue instant; its number in the issue order (what iteration follows); the
    grant and audit ids as raw bytes. Reading one builds the
    :class:`Token` back, equal field for field (a token whose ids or times do not fit that form is
    kept whole, as a tuple). Rows are ``bytes``, which the garbage collector does not track, so the
    map is left untracked and a full collection does not walk a million tokens (it only glances
    over the expiry queues' pointers to strings).

    The map is :data:`SHARDS` dicts, a token in the one its id's hash picks: a dict that churns at a
    constant size is rebuilt now and then (a new table before the old is freed), and one table for
    every token would be megabytes that the C allocator keeps a spare of; a shard's table is small,
    and a freed one is reused by the next.

    Expiry: one first-in, first-out queue of ids per lifetime (on a clock that moves forward, the
    oldest of a queue expires first; a token issued after the clock moved back waits behind older
    ones); :meth:`purge` drops a few expired tokens from the queues' heads, so memory stays flat
    without a sweeper thread."""

    __slots__ = ("_count", "_fields", "_index", "_last_grant", "_queues", "_sequence", "_shards")

    def __init__(self) -> None:
        self._shards: tuple[dict[str, bytes | tuple[Any, ...]], ...] = tuple({} for _ in range(SHARDS))
        self._count = 0
        self._sequence = 0  # the next token's number in the issue order
        self._fields: list[tuple[Any, ...]] = []
        self._index: dict[tuple[Any, ...], int] = {}
        self._last_grant: tuple[str, bytes] = ("", b"")
        self._queues: dict[float, deque[str]] = {}

    def _pack(
        self, token: Token, sequence: int, grant: bytes | None = None, audit: bytes | None = None
    ) -> tuple[bytes | tuple[Any, ...], float | None]:
        issued, expires = token.issued_at, token.expires_at
        lifetime = None if expires is None else expires - issued
        if lifetime is not None and issued + lifetime != expires:
            return (*token, sequence), lifetime
        if grant is None:
            grant = self._grant_bytes(token.auth_grant_id)
        if audit is None:
            audit = _uuid_bytes(token.audit_id)
        if grant is None or audit is None or type(issued) is not float:
            return (*token, sequence), lifetime
        key = (
            token.kind,
            token.realm,
            token.client_id,
            token.username,
            token.scopes,
            token.grant_type,
            lifetime,
        )
        index = self._index.get(key)
        if index is None:
            index = self._index[key] = len(self._fields)
            self._fields.append(key)
        return _ROW.pack(index, issued, sequence, grant + audit), lifetime

    def _grant_bytes(self, grant_id: str) -> bytes | None:
        # A refresh token shares the grant of the access token stored just before it.
        last_id, last_raw = self._last_grant
        if grant_id == last_id:
            return last_raw
        return _grant_bytes(grant_id)

    def _unpack(self, token_id: str, row: bytes | tuple[Any, ...]) -> Token:
        if isinstance(row, tuple):
            return Token._make(row[:-1])
        index, issued, _, ids = _ROW.unpack(row)
        kind, realm, client_id, username, scopes, grant_type, lifetime = self._fields[index]
        return Token(
            token_id,
            kind,
            realm,
            client_id,
            username,
            scopes,
            grant_type,
            issued,
            None if lifetime is None else issued + lifetime,
            _grant_str(ids[:20]),
            uuid_str(ids[20:]),
        )

    def _expires(self, row: bytes | tuple[Any, ...]) -> float | None:
        if isinstance(row, tuple):
            return row[8]  # type: ignore[no-any-return]
        index, issued, _, _ = _ROW.unpack(row)
        lifetime = self._fields[index][6]
        return None if lifetime is None else issued + lifetime

    @staticmethod
    def _sequence_of(row: bytes | tuple[Any, ...]) -> int:
        if isinstance(row, tuple):
            return row[-1]  # type: ignore[no-any-return]
        return _SEQ.unpack_from(row, _SEQ_AT)[0]  # type: ignore[no-any-return]

    def __getitem__(self, token_id: str) -> Token:
        return self._unpack(token_id, self._shards[hash(token_id) & _SHARD_MASK][token_id])

    def get(self, token_id: str, default: Token | None = None) -> Token | None:  # type: ignore[override]
        row = self._shards[hash(token_id) & _SHARD_MASK].get(token_id)
        return default if row is None else self._unpack(token_id, row)

    def __setitem__(self, token_id: str, token: Token) -> None:
        self.add(token, token_id=token_id)

    def add(
        self,
        token: Token,
        grant: bytes | None = None,
        audit: bytes | None = None,
        token_id: str | None = None,
    ) -> None:
        """Store ``token`` under its id (or ``token_id``); ``grant`` and ``audit`` are the raw bytes
        its grant and audit ids were made from, when the caller has them (else they are read back
        from the ids)."""
        if token_id is None:
            token_id = token.id
        shard = self._shards[hash(token_id) & _SHARD_MASK]
        old = shard.get(token_id)
        if old is None:
            sequence = self._sequence
            self._sequence = sequence + 1
            self._count += 1
        else:  # stored again: it keeps its place in the issue order
            sequence = self._sequence_of(old)
        row, lifetime = self._pack(token, sequence, grant, audit)
        shard[token_id] = row
        if type(row) is bytes:
            self._last_grant = (token.auth_grant_id, row[_GRANT])
        if lifetime is not None:
            queue = self._queues.get(lifetime)
            if queue is None:
                queue = self._queues[lifetime] = deque()
            queue.append(token_id)

    def purge(self, now: float, budget: int = 4) -> None:
        """Pop at most ``budget`` entries off the expiry queues' heads: expired tokens are dropped,
        ids already gone (revoked) are forgotten."""
        shards = self._shards
        for queue in self._queues.values():
            while budget > 0 and queue:
                token_id = queue[0]
                shard = shards[hash(token_id) & _SHARD_MASK]
                row = shard.get(token_id)
                if row is not None:
                    expires = self._expires(row)
                    if expires is None or now < expires:
                        break
                    del shard[token_id]
                    self._count -= 1
                queue.popleft()
                budget -= 1

    def of_grant(self, auth_grant_id: str) -> list[str]:
        """The ids of every token of one grant, compared without building the tokens."""
        raw = _grant_bytes(auth_grant_id)
        return [
            token_id
            for shard in self._shards
            for token_id, row in shard.items()
            if (row[_GRANT] == raw if type(row) is bytes else row[9] == auth_grant_id)
        ]

    def compact(self) -> None:
        """Forget the queued ids of tokens no longer stored (revoked or evicted)."""
        for lifetime, queue in list(self._queues.items()):
            kept = deque(i for i in queue if i in self)
            if kept:
                self._queues[lifetime] = kept
            else:
                del self._queues[lifetime]

    def queued(self) -> int:
        """How many ids wait in the expiry queues (live, or revoked and not yet popped)."""
        return sum(len(q) for q in self._queues.values())

    def __delitem__(self, token_id: str) -> None:
        del self._shards[hash(token_id) & _SHARD_MASK][token_id]
        self._count -= 1

    def __iter__(self) -> Iterator[str]:
        """The ids in the order the tokens were issued (the map itself is spread over shards)."""
        rows = itertools.chain.from_iterable(shard.items() for shard in self._shards)
        ordered = sorted(rows, key=lambda item: self._sequence_of(item[1]))
        return iter([token_id for token_id, _ in ordered])

    def __len__(self) -> int:
        return self._count

    def __contains__(self, token_id: object) -> bool:
        return type(token_id) is str and token_id in self._shards[hash(token_id) & _SHARD_MASK]

    def rows(self) -> Iterator[bytes | tuple[Any, ...]]:
        """Every stored row (for measuring the store)."""
        return itertools.chain.from_iterable(shard.values() for shard in self._shards)

    def table_bytes(self) -> int:
        """The memory of the map's tables (not of the ids and rows they point to)."""
        return sum(sys.getsizeof(shard) for shard in self._shards)

    def clear(self) -> None:
        for shard in self._shards:
            shard.clear()
        self._count = 0
        self._sequence = 0
        self._fields.clear()
        self._index.clear()
        self._queues.clear()
        self._last_grant = ("", b"")

    def __repr__(self) -> str:
        return f"<TokenStore of {self._count} tokens>"


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
            at = self.wall_ms(value.expires_at)
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


#: Characters an entry's path, keys and values may add up to and still fit every cap uncut: a
#: character is at most 4 bytes of UTF-8, so none of them can pass JOURNAL_VALUE_BYTES.
_UNCUT_CHARS = min(JOURNAL_VALUE_BYTES, JOURNAL_ENTRY_BYTES) // 4


def clipped(call: Call) -> tuple[Call, int]:
    """``call`` as the journal keeps it (values and entry cut to their caps) and its cost in bytes."""
    text = call.path + "".join(itertools.chain.from_iterable(call.params.items()))
    if len(text) <= _UNCUT_CHARS:  # the usual request: nothing to cut, one measure of its bytes
        return call, _size(text) + JOURNAL_ENTRY_OVERHEAD
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


_FILL_LOCK = threading.Lock()


class _Users(dict[str, UserConfig]):
    """A realm's users, its seeded fake users added the first time they may be needed: any read
    of a name that is not already there, and every other use of the map. Until then faker (slow
    to import) is not loaded, so a server answers its first token without it. Once filled, the
    map holds what an eager one would, in the same order: the fixed users, then the fake ones."""

    __slots__ = ("_pending",)

    def __init__(self, fixed: Iterable[UserConfig], fakes: Callable[[], Iterable[UserConfig]] | None) -> None:
        super().__init__((u.username, u) for u in fixed)
        self._pending = fakes

    def _fill(self) -> None:
        if self._pending is None:
            return
        with _FILL_LOCK:
            fakes = self._pending
            if fakes is None:
                return
            for user in fakes():
                if not dict.__contains__(self, user.username):
                    dict.__setitem__(self, user.username, user)
            self._pending = None

    def __getitem__(self, username: str) -> UserConfig:
        if self._pending is not None and not dict.__contains__(self, username):
            self._fill()
        return dict.__getitem__(self, username)

    def get(self, username: str, default: Any = None) -> Any:
        if self._pending is not None and not dict.__contains__(self, username):
            self._fill()
        return dict.get(self, username, default)

    def __contains__(self, username: object) -> bool:
        if self._pending is not None and not dict.__contains__(self, username):
            self._fill()
        return dict.__contains__(self, username)


def _filling(name: str) -> Callable[..., Any]:
    method = getattr(dict, name)

    def filled(self: _Users, *args: Any, **kwargs: Any) -> Any:
        self._fill()
        return method(self, *args, **kwargs)

    filled.__name__ = name
    return filled


for _name in (
    "__iter__",
    "__len__",
    "__reversed__",
    "__repr__",
    "__eq__",
    "__ne__",
    "__or__",
    "__ror__",
    "__ior__",
    "__reduce_ex__",
    "__setitem__",
    "__delitem__",
    "keys",
    "values",
    "items",
    "pop",
    "popitem",
    "setdefault",
    "update",
    "clear",
    "copy",
):
    setattr(_Users, _name, _filling(_name))


class Realm:
    """A realm's live settings and registries."""

    __slots__ = ("clients", "config", "name", "services", "users")

    def __init__(
        self,
        config: RealmConfig,
        users: Iterable[UserConfig],
        fakes: Callable[[], Iterable[UserConfig]] | None = None,
    ) -> None:
        self.name = config.name
        self.config = config
        self.clients: dict[str, ClientConfig] = {c.client_id: c for c in config.clients}
        self.users: dict[str, UserConfig] = _Users(users, fakes)
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
        self.lock: Any = threading.RLock()
        self.store: RedisStore | None = None
        self.seed: int = self.config.seed if self.config.seed is not None else secrets.randbits(63)
        if self.config.store is not None:
            self._open_store()
        self.random = self._token_source(self.seed)
        self._initial: tuple[
            tuple[RealmConfig, tuple[UserConfig, ...], Callable[[], Iterable[UserConfig]] | None], ...
        ] = ()
        self.realms: dict[str, Realm] = {}
        self.tokens: TokenStore | SharedTokens = TokenStore()
        self.journal: Any = deque()
        self._journal_sizes: deque[int] = deque()
        self._journal_bytes = 0
        self._journal_first = 0  # the sequence number of the journal's first entry since the reset
        self._journal_lock = threading.Lock()
        self._order: deque[str] = deque()  # token ids, oldest first, for the max_tokens cap
        self._uncompacted = 0  # tokens issued since the last look at what _compact would drop
        self._dirty = False
        self._build_initial()
        self.lockout = Lockout(self)
        self.faults = Faults(lambda: self.config.fault_documents)
        self.keys = SigningKeys(self)  # a configured PEM is parsed here, so a bad one fails at start
        self.formats = TokenFormats(self)
        self.sessions = Sessions(self, self._session_storage)
        self.codes = Codes(self)  # in this process only, also with a store (see README)
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
            fakes = None
            if count > 0:
                fakes = functools.partial(
                    make_users, count, seed=self.seed, realm=name, locale=self.config.locale
                )
                if self.config.locale != DEFAULT_LOCALE:
                    fakes()  # made now, so that a locale faker lacks fails here (then cached)
            built.append((realm, realm.users, fakes))
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
        self.realms = {cfg.name: Realm(cfg, users, fakes) for cfg, users, fakes in self._initial}
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
                config = dataclasses.replace(realm.config, **settings)
            except TypeError as e:
                raise ConfigError(str(e)) from e
            check_services(config, realm.services)
            realm.config = config
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
            # The numbers of the shared sequence the in-memory state would take (id, grant unless
            # given, audit id) in one round trip, the token in another: the same tokens as without
            # a store. Redis's expiry purges it; max_tokens is Redis's own maxmemory's business.
            first = random.reserve(2 if auth_grant_id else 3)
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
                audit_id=random.uuid(first + (1 if auth_grant_id else 2)),
            )
            self.tokens[token.id] = token
            return token
        tokens = self.tokens
        assert isinstance(tokens, TokenStore)  # without a store
        with self.lock:
            # The same numbers of the sequence as the store's path above: id, grant unless given, audit.
            first = random.reserve(2 if auth_grant_id else 3)
            token_id = random.token(first)
            grant = None
            if not auth_grant_id:
                grant = random.bytes_at(first + 1, 20)
                auth_grant_id = _grant_str(grant)
            audit = uuid4_bytes(random.bytes_at(first + (1 if grant is None else 2), 16))
            token = Token(
                token_id,
                kind,
                realm,
                client_id,
                username,
                scopes,
                grant_type,
                now,
                None if lifetime < 0 else now + lifetime,
                auth_grant_id,
                uuid_str(audit),
            )
            tokens.add(token, grant, audit)
            tokens.purge(now)
            cap = self.config.max_tokens
            if cap is not None:
                self._order.append(token.id)
                if len(self.tokens) > cap:
                    self._evict(cap)
                self._uncompacted += 1
                if self._uncompacted >= COMPACT_EVERY:
                    self._uncompacted = 0
                    self._compact()
        return token

    def _compact(self) -> None:
        """Drop the ids of revoked, expired and evicted tokens from the issue order and the expiry
        queues once they outnumber the live ones: all at once, so issuing stays O(1) on average and
        the cap bounds the memory of both (looked at every :data:`COMPACT_EVERY` issues)."""
        tokens = self.tokens
        assert isinstance(tokens, TokenStore)  # without a store
        room = 2 * len(tokens) + 1024
        if len(self._order) > room:
            self._order = deque(i for i in self._order if i in tokens)
        if tokens.queued() > room:
            tokens.compact()

    def _evict(self, cap: int) -> None:
        """Drop the oldest live tokens until ``cap`` are left (they then answer as unknown)."""
        order, tokens = self._order, self.tokens
        while len(tokens) > cap and order:
            token_id = order.popleft()
            if token_id in tokens:
                del tokens[token_id]

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
        tokens = self.tokens
        with self.lock:
            doomed = tokens.of_grant(auth_grant_id)
            for token_id in doomed:
                del tokens[token_id]
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

    def records(
        self, prefix: str, expires_at: Callable[[_R], float | None] = lambda _: None
    ) -> MutableMapping[str, _R]:
        """Where a feature keeps its records by id (sessions; authorization codes and the like):
        a dict without a store; with one, a mapping on Redis, shared by every process (keys
        ``<namespace>:<prefix>:<id>``, purged by Redis at ``expires_at``, on the mock's clock; ``pop``
        is atomic, so a one-time record is taken once). Record classes must be ones the store's
        unpickler allows (:mod:`mock_as.store`)."""
        if self.store is None:
            return {}
        return RedisMapping(self.store, prefix, dumps, loads, expires_at=expires_at, now=self.clock.now)

    def _session_storage(self) -> MutableMapping[str, Session]:
        return self.records("sess", lambda s: min(s.idle_expires_at, s.expires_at))

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
        if not isinstance(run, str) or not NAMESPACE.fullmatch(run):
            raise ConfigError(
                f"store_namespace: expected letters, digits, '.', '_' or '-' (at most 100), got {run!r}"
            )
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
        # Plain dicts: the fake users are filled in (a store shares them as users like any other).
        realms = {n: (r.config, r.clients, dict(r.users.items()), r.services) for n, r in self.realms.items()}
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
        seen = self._seen
        if not locked and (
            not meta.get("gen")
            or meta["gen"] != seen.get("gen")
            or meta.get("rv") != seen.get("rv")
            or meta.get("fv") != seen.get("fv")
        ):
            # Something to reload: under the lock, so that no holder of it in this process is
            # between reading the registry and writing it back (its change would be lost).
            with self.lock:
                return  # taking it pulled
        if not meta.get("gen"):
            # A new namespace, or Redis lost its data (restarted without persistence): the seeded
            # start is written again, once, by whoever takes the lock first.
            self._reset_local()
            self._publish_all()
            return
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
