"""Where the state lives when several processes serve one mock: a Redis (or Valkey) database.

The default is no store at all: :class:`~mock_as.state.State` keeps everything in its own process,
as fast as plain dictionaries. With ``store = "redis://host:port/db"`` the state keeps what every
process must agree on in Redis, under one key namespace:

* ``meta`` (a hash): the reset generation, the versions of the registry and of the fault queue, the
  seed and the clock (its offset and whether it is frozen). Every request reads it once
  (:meth:`RedisStore.meta`) and a process that sees a newer version reloads that part.
* ``registry``: the realms (settings, clients, users, services) and the lockout records, written
  whenever a change is made under the shared lock.
* ``faults`` and ``fired``: the fault queue and how often each fault fired (``HINCRBY``, so a fault
  with ``times=1`` fires once across all processes).
* ``tok:<id>`` (with Redis expiry doing the purge) and ``grant:<id>`` (the tokens of one grant).
* ``sess:<id>``: SSO sessions; ``journal`` (a capped list) and ``jseq``; ``counter``, the sequence
  behind every token string (``INCRBY``: unique across processes, reproducible from the seed and the
  order of issue).
* ``lock``: the mutex (``SET NX PX``) that makes a change of the registry, a refresh-token rotation or
  a lockout count atomic across processes.

Every Redis error (unreachable, slower than ``timeout``) comes out as :class:`StoreUnavailable`,
which the endpoints answer as AM does when its data store is down: 503, in the surface's format.
"""

from __future__ import annotations

import io
import pickle
import secrets
import threading
import time
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

from .errors import ConfigError, compact_json

__all__ = [
    "STORE_TIMEOUT",
    "RedisMapping",
    "RedisStore",
    "SharedLock",
    "StoreUnavailable",
    "check_store_url",
    "dumps",
    "loads",
]

STORE_TIMEOUT = 1.0
"""Seconds the mock waits for Redis (connecting, one command, or the shared lock) before it answers
503: the bound on how long a request takes when the store is down or slow."""
LOCK_LEASE_MS = 10_000
"""How long a process may hold the shared lock before Redis lets it go (a crashed process)."""
SCHEMES = ("redis", "rediss", "unix")
_T = TypeVar("_T")


class StoreUnavailable(Exception):
    """Redis did not answer within the timeout (or refused): the request gets AM's 503."""


def check_store_url(url: str) -> str:
    """``url`` if it names a Redis database the ``redis`` client understands; :class:`ConfigError`
    otherwise (a typo fails at start, not at the first request)."""
    if not isinstance(url, str) or urlsplit(url).scheme not in SCHEMES:
        raise ConfigError(f"store: expected redis://host:port/db (or rediss://, unix://), got {url!r}")
    return url


# -- what goes into the store ------------------------------------------------------------------

_MODULES = frozenset({"mock_as.config", "mock_as.lockout", "mock_as.faults", "mock_as.sessions"})
_BUILTINS = frozenset(
    {("builtins", "frozenset"), ("builtins", "set"), ("builtins", "bytes"), ("mock_as.state", "Call")}
)


class _Unpickler(pickle.Unpickler):
    """Unpickles only the classes the mock defines for its records (no function, no module, no
    dotted name) and a few built-in containers: a value planted in Redis cannot name any other code."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _BUILTINS or (module in _MODULES and "." not in name):
            found = super().find_class(module, name)
            if isinstance(found, type) and found.__module__ in (module, "builtins"):
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not a mock-as record type")


def dumps(value: Any) -> bytes:
    """``value`` as the store keeps a record (the mock's own dataclasses, pickled)."""
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def loads(data: bytes) -> Any:
    """A record written by :func:`dumps` (restricted to the mock's own types)."""
    return _Unpickler(io.BytesIO(data)).load()


# -- the connection ----------------------------------------------------------------------------


class RedisStore:
    """One Redis database and one namespace in it, shared by every process that names both.

    :param url: ``redis://host:port/db`` (password and TLS as the ``redis`` client reads them).
    :param namespace: the key prefix (``mock-as:<run>:<seed>``): two mocks on one Redis with
        different namespaces never see each other.
    :param timeout: seconds for a connection, a command, or the shared lock (:data:`STORE_TIMEOUT`).
    """

    shared = True

    def __init__(self, url: str, namespace: str, timeout: float = STORE_TIMEOUT) -> None:
        import redis  # only a mock with a store needs the client library

        self.url = check_store_url(url)
        self.namespace = namespace
        self.timeout = timeout
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self.redis: Any = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry_on_timeout=False,
            health_check_interval=0,
            max_connections=256,
        )
        self._release = self.redis.register_script(
            "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
        )

    def key(self, *parts: str) -> str:
        """The full name of a key of this namespace."""
        return ":".join((self.namespace, *parts))

    def call(self, operation: Callable[[], _T]) -> _T:
        """Run ``operation`` against Redis; its errors come out as :class:`StoreUnavailable`."""
        try:
            return operation()
        except self._errors as e:
            raise StoreUnavailable(f"the state store did not answer: {type(e).__name__}: {e}") from e

    def pipeline(self) -> Any:
        """A transaction (``MULTI``/``EXEC``): its commands reach Redis in one round trip."""
        return self.redis.pipeline(transaction=True)

    # -- meta --------------------------------------------------------------------------------

    def meta(self) -> dict[str, str]:
        """The namespace's ``meta`` hash (empty: nothing written yet, or Redis lost it)."""
        raw: dict[bytes, bytes] = self.call(lambda: self.redis.hgetall(self.key("meta")))
        return {k.decode(): v.decode() for k, v in raw.items()}

    def bump(self, field: str, **values: str) -> None:
        """Raise ``field``'s version in ``meta`` and set ``values`` there, in one round trip."""

        def run() -> None:
            pipe = self.pipeline()
            pipe.hincrby(self.key("meta"), field, 1)
            if values:
                pipe.hset(self.key("meta"), mapping=values)
            pipe.execute()

        self.call(run)

    def counter(self, count: int) -> int:
        """Reserve ``count`` numbers of the token sequence; the first of them."""
        last = int(self.call(lambda: self.redis.incrby(self.key("counter"), count)))
        return last - count

    def wipe(self) -> None:
        """Delete every key of the namespace but the lock (a reset)."""

        def run() -> None:
            keep = self.key("lock").encode()
            batch: list[bytes] = []
            for key in self.redis.scan_iter(match=self.key("*"), count=1000):
                if key != keep:
                    batch.append(key)
                if len(batch) >= 1000:
                    self.redis.delete(*batch)
                    batch = []
            if batch:
                self.redis.delete(*batch)

        self.call(run)

    # -- the shared lock ---------------------------------------------------------------------

    def acquire(self) -> str:
        """Take the namespace's lock (waiting at most ``timeout``); the lease's token."""
        token = secrets.token_hex(8)
        key = self.key("lock")
        deadline = time.monotonic() + self.timeout
        pause = 0.0005
        while True:
            if self.call(lambda: self.redis.set(key, token, nx=True, px=LOCK_LEASE_MS)):
                return token
            if time.monotonic() > deadline:
                raise StoreUnavailable(f"the state store's lock stayed taken for {self.timeout:g}s")
            time.sleep(pause)
            pause = min(pause * 2, 0.01)

    def release(self, token: str) -> None:
        """Give the lock back (only if this lease still holds it)."""
        self.call(lambda: self._release(keys=[self.key("lock")], args=[token]))


class SharedLock:
    """``state.lock`` with a store: this process's re-entrant lock, and while the outermost holder
    holds it, the store's lock too, so what happens under it is atomic across processes.

    :param on_acquire: called after the outermost acquire (bring the local copy up to date).
    :param on_release: called before the outermost release (write what changed).
    """

    def __init__(
        self, store: RedisStore, on_acquire: Callable[[], None], on_release: Callable[[], None]
    ) -> None:
        self._local = threading.RLock()
        self._store = store
        self._depth = threading.local()
        self._on_acquire = on_acquire
        self._on_release = on_release
        self._lease: str | None = None

    def __enter__(self) -> Self:
        self._local.acquire()
        depth = getattr(self._depth, "n", 0)
        if depth == 0:
            try:
                self._lease = self._store.acquire()
            except BaseException:
                self._local.release()
                raise
            self._depth.n = 1
            try:
                self._on_acquire()
            except BaseException:
                self._exit_outermost(write=False)
                raise
        else:
            self._depth.n = depth + 1
        return self

    def __exit__(self, *exc: object) -> None:
        depth = self._depth.n
        if depth == 1:
            self._exit_outermost(write=True)
        else:
            self._depth.n = depth - 1
            self._local.release()

    def _exit_outermost(self, write: bool) -> None:
        try:
            if write:
                self._on_release()
        finally:
            self._depth.n = 0
            lease, self._lease = self._lease, None
            try:
                if lease is not None:
                    self._store.release(lease)
            finally:
                self._local.release()

    # threading.RLock's names, for code that calls them directly
    def acquire(self) -> bool:
        """Take the lock (as ``with``); :class:`StoreUnavailable` if the store's lock stays taken."""
        self.__enter__()
        return True

    def release(self) -> None:
        """Let the lock go (as leaving ``with``)."""
        self.__exit__(None, None, None)


class RedisMapping(MutableMapping[str, _T]):
    """Records by id, one Redis key each (``<namespace>:<prefix>:<id>``), with an optional expiry.

    :param encode: a record as bytes. :param decode: back.
    :param expires_at: the epoch instant a record may go (``None``: kept); Redis then purges it.
    :param now: the mock's clock, so an instant on a shifted clock maps to Redis's wall clock.
    """

    def __init__(
        self,
        store: RedisStore,
        prefix: str,
        encode: Callable[[_T], bytes],
        decode: Callable[[bytes], _T],
        expires_at: Callable[[_T], float | None] = lambda _: None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.prefix = prefix
        self._encode = encode
        self._decode = decode
        self._expires_at = expires_at
        self._now = now

    def _key(self, record_id: str) -> str:
        return self.store.key(self.prefix, record_id)

    def __getitem__(self, record_id: str) -> _T:
        found: _T | None = self.get(record_id)
        if found is None:
            raise KeyError(record_id)
        return found

    def get(self, record_id: str, default: Any = None) -> Any:
        """The record with that id, or ``default`` (one ``GET``)."""
        if not isinstance(record_id, str) or not record_id:
            return default
        data = self.store.call(lambda: self.store.redis.get(self._key(record_id)))
        return default if data is None else self._decode(data)

    def write(self, pipe: Any, record_id: str, value: _T) -> None:
        """Queue the write of ``value`` on ``pipe`` (with its expiry)."""
        at = self._expires_at(value)
        if at is None:
            pipe.set(self._key(record_id), self._encode(value))
        else:
            # Redis's own clock purges it a second after it expires on the mock's (shifted) clock,
            # which alone decides whether it is valid.
            pipe.set(self._key(record_id), self._encode(value), pxat=self.wall_ms(at))

    def wall_ms(self, at: float) -> int:
        """The instant ``at`` on the mock's clock as Redis's wall-clock milliseconds, plus one second."""
        return int((at - self._now() + time.time()) * 1000) + 1000

    def __setitem__(self, record_id: str, value: _T) -> None:
        def run() -> None:
            pipe = self.store.pipeline()
            self.write(pipe, record_id, value)
            pipe.execute()

        self.store.call(run)

    def keep(self, record_id: str, value: _T) -> bool:
        """Write ``value`` only if the record is still there (``SET XX``): a change to a record
        another process deleted meanwhile does not bring it back. Whether it was there."""
        at = self._expires_at(value)
        key, data = self._key(record_id), self._encode(value)
        if at is None:
            return bool(self.store.call(lambda: self.store.redis.set(key, data, xx=True)))
        return bool(self.store.call(lambda: self.store.redis.set(key, data, xx=True, pxat=self.wall_ms(at))))

    def __delitem__(self, record_id: str) -> None:
        if self.pop(record_id, None) is None:
            raise KeyError(record_id)

    def pop(self, record_id: str, default: Any = None) -> Any:
        """Delete and return the record at once (``GETDEL``): of two processes popping the same
        record, one gets it and the other ``default``."""
        data = self.store.call(lambda: self.store.redis.getdel(self._key(record_id)))
        return default if data is None else self._decode(data)

    def __contains__(self, record_id: object) -> bool:
        if not isinstance(record_id, str):
            return False
        return bool(self.store.call(lambda: self.store.redis.exists(self._key(record_id))))

    def _keys(self) -> list[bytes]:
        match = self._key("*")
        return list(self.store.call(lambda: list(self.store.redis.scan_iter(match=match, count=1000))))

    def __iter__(self) -> Iterator[str]:
        cut = len(self._key(""))
        return iter([k.decode()[cut:] for k in self._keys()])

    def __len__(self) -> int:
        return len(self._keys())

    def values(self) -> list[_T]:  # type: ignore[override]
        """Every record, read in one round trip after the scan."""
        keys = self._keys()
        if not keys:
            return []
        found = self.store.call(lambda: self.store.redis.mget(keys))
        return [self._decode(d) for d in found if d is not None]

    def items(self) -> list[tuple[str, _T]]:  # type: ignore[override]
        """Every ``(id, record)``, read in one round trip after the scan."""
        keys = self._keys()
        if not keys:
            return []
        cut = len(self._key(""))
        found = self.store.call(lambda: self.store.redis.mget(keys))
        return [
            (k.decode()[cut:], self._decode(d)) for k, d in zip(keys, found, strict=True) if d is not None
        ]

    def clear(self) -> None:
        """Delete every record of this prefix."""
        keys = self._keys()
        if keys:
            self.store.call(lambda: self.store.redis.delete(*keys))


def json_dumps(value: Any) -> bytes:
    """Compact JSON bytes."""
    return compact_json(value).encode()
