"""Seeded fake users and the seeded source of token strings.

The same seed always gives the same users, passwords and tokens. The users come from a faker
instance seeded per realm (never the class-wide ``Faker.seed``, which would disturb a test suite's
own ``faker`` fixture). Tokens come from a keyed hash of a counter: reproducible for whoever knows
the seed, unpredictable from the tokens alone.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from .config import UserConfig


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


@lru_cache(maxsize=64)
def make_users(count: int, *, seed: int, realm: str = "/", locale: str = "en_US") -> tuple[UserConfig, ...]:
    """``count`` fake users with AM profile attributes (uid, cn, givenName, sn, mail, telephoneNumber).

    >>> make_users(2, seed=1) == make_users(2, seed=1)
    True
    """
    if count <= 0:
        return ()
    from faker import Faker  # imported only when fake users are wanted: it is slow to load

    fake = Faker(locale)
    fake.seed_instance(f"mock-as/{seed}/{realm}")
    users: list[UserConfig] = []
    taken = {"demo"}
    while len(users) < count:
        first, last = fake.first_name(), fake.last_name()
        base = f"{_ascii(first)[:1]}{_ascii(last)}" or "user"
        username = base
        suffix = 1
        while username in taken:
            suffix += 1
            username = f"{base}{suffix}"
        taken.add(username)
        users.append(
            UserConfig(
                username=username,
                password=fake.password(length=12, special_chars=False),
                attributes={
                    "uid": username,
                    "cn": f"{first} {last}",
                    "givenName": first,
                    "sn": last,
                    "mail": f"{username}@example.com",
                    "telephoneNumber": fake.phone_number(),
                },
            )
        )
    return tuple(users)


class TokenSource:
    """Reproducible, unpredictable random strings: BLAKE2b keyed with the seed, over a counter.

    :param seed: the key.
    :param allocate: where the counter lives when several processes share it (``allocate(n)``
        reserves ``n`` numbers and returns the first); ``None``: in this object.

    >>> a, b = TokenSource(7), TokenSource(7)
    >>> a.token() == b.token() and len(a.token()) == 27
    True
    """

    __slots__ = ("_allocate", "_counter", "_hashers", "_key", "_lock")

    def __init__(self, seed: int, allocate: Callable[[int], int] | None = None) -> None:
        self._key = hashlib.sha256(f"mock-as:{seed}".encode()).digest()
        self._hashers: dict[int, Any] = {}  # a keyed BLAKE2b per digest size, copied per use (no re-keying)
        self._counter = 0
        self._lock = threading.Lock()
        self._allocate = allocate

    def reset(self) -> None:
        """Start the sequence again: after a reset the same requests get the same tokens."""
        with self._lock:
            self._counter = 0

    def reserve(self, count: int) -> int:
        """Reserve the next ``count`` numbers of the sequence; the first of them."""
        if self._allocate is not None:
            return self._allocate(count)
        with self._lock:
            counter = self._counter
            self._counter = counter + count
        return counter

    def bytes_at(self, counter: int, size: int) -> bytes:
        """``size`` (at most 64) bytes for the sequence number ``counter``."""
        hasher = self._hashers.get(size)
        if hasher is None:
            hasher = self._hashers[size] = hashlib.blake2b(key=self._key, digest_size=size)
        h = hasher.copy()
        h.update(counter.to_bytes(8, "big"))
        return h.digest()

    def random_bytes(self, size: int) -> bytes:
        """``size`` (at most 64) bytes, the next in the sequence."""
        return self.bytes_at(self.reserve(1), size)

    def token(self, counter: int | None = None) -> str:
        """An AM 7 token id: 20 random bytes, base64url without padding (27 characters); the next
        in the sequence, or the one for a ``counter`` reserved with :meth:`reserve`."""
        raw = self.random_bytes(20) if counter is None else self.bytes_at(counter, 20)
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def uuid(self, counter: int | None = None) -> str:
        """A version-4 UUID string, for ids AM writes as UUIDs (``auditTrackingId`` …)."""
        return uuid_str(uuid4_bytes(self.random_bytes(16) if counter is None else self.bytes_at(counter, 16)))


def uuid4_bytes(raw: bytes) -> bytes:
    """16 random bytes with a version-4 UUID's version and variant bits set."""
    out = bytearray(raw)
    out[6] = (out[6] & 0x0F) | 0x40
    out[8] = (out[8] & 0x3F) | 0x80
    return bytes(out)


def uuid_str(raw: bytes) -> str:
    """16 bytes as a lower-case UUID string."""
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
