"""AM's SSO sessions (reference am-journeys §1.10, §2): what a REST or browser login creates, what
``iPlanetDirectoryPro`` names, and what ``/json/…/sessions``, ``/oauth2/authorize`` and
``endSession`` read. ``state.sessions``, reset with the state, every instant from the mock's clock.

A session is valid until it has been idle for the realm's ``session_max_idle_minutes`` or has lived
its ``session_max_minutes`` (AM's defaults 30 and 120), whichever comes first.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .store import RedisMapping

if TYPE_CHECKING:
    from .seeding import TokenSource
    from .state import Realm, State

_C66 = str.maketrans({"+": "-", "/": "_", "=": "."})


def _c66(raw: bytes) -> str:
    # AM's cookie-safe base64: '+' '/' '=' written as '-' '_' '.' (reference F1.42)
    return base64.b64encode(raw).decode("ascii").translate(_C66)


def _field(name: str, value: str) -> bytes:
    data = value.encode("ascii")
    return len(name).to_bytes(2, "big") + name.encode("ascii") + len(data).to_bytes(2, "big") + data


def sso_token(random: TokenSource, counter: int | None = None) -> str:
    """An SSO token id in AM 7's shape (reference F1.42): a c66-encoded random part, then
    ``.*<c66 of the session's extension fields SI, SK, S1>*``, e.g.
    ``AQIC5w….*AAJTSQACMDEAAlNLABQ…*``. Reproducible from the seed like every other token: the next
    two numbers of the sequence, or ``counter`` and the one after it (from ``random.reserve``)."""
    if counter is None:
        counter = random.reserve(2)
    key = str(int.from_bytes(random.bytes_at(counter, 8), "big") % 10**19).rjust(19, "0")
    extension = _field("SI", "01") + _field("SK", "-" + key) + _field("S1", "")
    return "AQIC5w" + _c66(random.bytes_at(counter + 1, 32)) + "*" + _c66(extension) + "*"


@dataclass(slots=True)
class Session:
    """One SSO session.

    :param token_id: the SSO token (``tokenId``, the cookie's value).
    :param handle: the session handle (what ``logoutByHandle`` names).
    :param realm: the realm it was authenticated in.
    :param username: who logged in.
    :param service: the tree or chain that authenticated them.
    :param created: when (epoch seconds, on the mock's clock).
    :param last_access: the last time it was used in a way that resets idle time.
    :param max_idle: seconds of idleness it survives.
    :param max_time: seconds it lives at most.
    :param properties: session properties (``AMCtxId`` …).
    """

    token_id: str
    handle: str
    realm: str
    username: str
    service: str
    created: float
    last_access: float
    max_idle: float
    max_time: float
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def idle_expires_at(self) -> float:
        return self.last_access + self.max_idle

    @property
    def expires_at(self) -> float:
        return self.created + self.max_time

    def valid(self, now: float) -> bool:
        return now < self.idle_expires_at and now < self.expires_at


class Sessions:
    """The live SSO sessions by token id: ``state.sessions``.

    :param storage: makes the mapping that keeps them (a dict; a store's mapping when shared).
    """

    def __init__(self, state: State, storage: Callable[[], MutableMapping[str, Session]] = dict) -> None:
        self._state = state
        self._lock = threading.Lock()
        self._storage = storage
        self._by_token: MutableMapping[str, Session] = storage()

    def reset(self) -> None:
        """Forget every session."""
        with self._lock:
            self._by_token = self._storage()

    def create(self, realm: Realm, username: str, service: str, now: float) -> Session:
        """Start a session for ``username`` in ``realm``, authenticated by ``service``."""
        random = self._state.random
        config = realm.config
        first = random.reserve(4)  # one round trip to a shared store for the four below
        session = Session(
            token_id=sso_token(random, first),
            handle="shandle:" + random.token(first + 2),
            realm=realm.name,
            username=username,
            service=service,
            created=now,
            last_access=now,
            max_idle=config.session_max_idle_minutes * 60.0,
            max_time=config.session_max_minutes * 60.0,
            properties={"AMCtxId": random.uuid(first + 3)},
        )
        with self._lock:
            self._by_token[session.token_id] = session
        return session

    def get(self, token_id: str | None, now: float, *, touch: bool = False) -> Session | None:
        """The valid session behind ``token_id`` (``None``: unknown, ended or timed out); ``touch``
        resets its idle time, as most uses of a session do in AM."""
        if not token_id:
            return None
        with self._lock:
            session = self._by_token.get(token_id)
            if session is None:
                return None
            if not session.valid(now):
                self._by_token.pop(token_id, None)
                return None
            if touch:
                session.last_access = now
                records = self._by_token
                if isinstance(records, RedisMapping) and not records.keep(token_id, session):
                    return None  # ended meanwhile by another process
            return session

    def end(self, token_id: str) -> Session | None:
        """End the session (a logout); the session it was, or ``None``."""
        with self._lock:
            return self._by_token.pop(token_id, None)

    def by_handle(self, handle: str) -> Session | None:
        """The session with that handle, valid or not."""
        with self._lock:
            return next((s for s in self._by_token.values() if s.handle == handle), None)

    def live(self, now: float, realm: str | None = None) -> list[Session]:
        """Every valid session (of ``realm``, when given), oldest first."""
        with self._lock:
            return [
                s for s in self._by_token.values() if s.valid(now) and (realm is None or s.realm == realm)
            ]

    def end_all(self, realm: str | None = None) -> int:
        """End every session (of ``realm``, when given); how many there were."""
        with self._lock:
            doomed = [t for t, s in self._by_token.items() if realm is None or s.realm == realm]
            for token_id in doomed:
                self._by_token.pop(token_id, None)
        return len(doomed)


@dataclass(frozen=True, slots=True)
class LoginSession:
    """A live SSO session as a client holds it: what :meth:`MockAS.login` returns.

    :param session: the session on the mock's side.
    :param cookie_name: the session cookie's name (``iPlanetDirectoryPro`` by default).
    :param base_url: where the clients reach the mock (the cookie's host and ``Secure`` flag).
    """

    session: Session
    cookie_name: str
    base_url: str

    @property
    def token_id(self) -> str:
        """The SSO token (``tokenId``, the cookie's value)."""
        return self.session.token_id

    @property
    def cookies(self) -> dict[str, str]:
        """``{cookie name: token}``, for ``requests.get(…, cookies=login.cookies)`` or httpx."""
        return {self.cookie_name: self.token_id}

    @property
    def headers(self) -> dict[str, str]:
        """The token as the header named after the cookie, as frodo and the native SDKs send it."""
        return {self.cookie_name: self.token_id}

    @property
    def cookie(self) -> dict[str, str | bool]:
        """The cookie as a browser holds it, in the shape of Playwright's
        ``context.add_cookies([login.cookie])``: name, value, domain, path, httpOnly, secure, sameSite."""
        parts = urlsplit(self.base_url)
        secure = parts.scheme == "https"
        return {
            "name": self.cookie_name,
            "value": self.token_id,
            "domain": parts.hostname or "localhost",
            "path": "/",
            "httpOnly": True,
            "secure": secure,
            "sameSite": "None" if secure else "Lax",
        }
