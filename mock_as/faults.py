"""Fault injection: make AM's surface say no, fail, answer garbage, hang up or be slow, on purpose.

A :class:`Fault` names which requests it hits (endpoint, realm, client, user, grant type; each
``None`` matches anything) and what happens to them. Faults wait in a queue, in the order they were
added; each request takes the first live fault that matches it. ``times=1`` fires once, ``times=N``
N times, ``times=None`` until cleared. The queue empties with the state's reset.

What a fault does, from its fields:

* ``drop``: close the connection without an answer (live: the socket is closed; in-process:
  ``requests.ConnectionError`` / ``httpx.RemoteProtocolError``).
* ``empty``: an answer with an empty body (status 200 unless given).
* ``malformed``: a JSON body cut short (status 200 unless given).
* ``body`` (+ ``content_type``): that body (status 200 unless given).
* otherwise an error in AM's format, ``{"error_description": …, "error": …}``, with ``status``
  (default 400, or 429 with ``retry_after``) and ``error``/``description`` (default: AM's error for
  that status, see :func:`default_error`).
* ``delay`` seconds first, for any of the above. A fault with only a delay answers normally, late.
* ``retry_after`` adds a ``Retry-After`` header.

Delays are real waits, taken by the transport that answers (:attr:`Response.delay`): in-process, a
delay longer than the client's read timeout ends in the client's own timeout error after that
timeout, as it would on a socket.
"""

from __future__ import annotations

import contextlib
import heapq
import math
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .browser import NO_SCRIPT, renders_as_document
from .errors import (
    CLIENT_AUTH_FAILED,
    INVALID_GRANT,
    ConfigError,
    OAuthError,
    RestError,
    basic_challenge,
    compact_json,
    invalid_token,
    reason_phrase,
)
from .paths import ENDPOINT_NAMES, JSON_ENDPOINTS, normalise_realm
from .protocol import MalformedBasic, Response

if TYPE_CHECKING:
    from .protocol import Exchange

DROP = "drop"
MAX_DELAY = 300.0
MAX_FAULTS = 1000
"""The most faults the queue holds, spent ones included: the oldest spent ones make room for new
ones, and with that many still live a new one is refused."""
# A value sent as a response header (Retry-After, Content-Type): printable ASCII, not blank.
HEADER_VALUE = re.compile(r"[ -~]*[!-~][ -~]*")
JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
# Endpoints a resource server calls with a bearer token: their 401 is invalid_token, not invalid_client.
BEARER_ENDPOINTS = frozenset({"tokeninfo", "userinfo", "idtokeninfo"})
# A token answer and an error answer, cut off mid-value.
_MALFORMED_OK = b'{"access_token":"sbQZuveFumUDV5R1vVBl6QAGNB8","scope":"wr'
_MALFORMED_ERROR = b'{"error_description":"The provided access grant is inv'

MATCH_FIELDS = ("endpoint", "realm", "client_id", "username", "grant_type")
ACTION_FIELDS = (
    "status",
    "error",
    "description",
    "body",
    "content_type",
    "malformed",
    "empty",
    "drop",
    "delay",
    "retry_after",
    "times",
    "expected",
)
INPUT_FIELDS = MATCH_FIELDS + ACTION_FIELDS


def default_error(status: int, endpoint: str | None = None) -> tuple[str, str]:
    """AM's ``error`` and ``error_description`` for a status the caller gave without them.

    400 is the password grant's ``invalid_grant``; 401 is ``invalid_client`` (``invalid_token`` on
    tokeninfo, userinfo and idtokeninfo); 429 and 503 are ``temporarily_unavailable``; other
    statuses are ``invalid_request`` (4xx) or ``server_error`` (5xx) with the reason phrase.
    """
    if status == 400:
        return "invalid_grant", INVALID_GRANT
    if status == 401:
        if endpoint in BEARER_ENDPOINTS:
            e = invalid_token()
            return e.error, e.description
        return "invalid_client", CLIENT_AUTH_FAILED
    phrase = reason_phrase(status)
    if status in (429, 503):
        return "temporarily_unavailable", phrase
    named = {403: "access_denied", 404: "not_found", 405: "method_not_allowed"}
    if status in named:
        return named[status], phrase
    return ("server_error" if status >= 500 else "invalid_request"), phrase


def _check_str(name: str, value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ConfigError(f"{name}: expected a non-empty string, got {value!r}")


def _check_flag(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{name}: expected true or false, got {value!r}")


@dataclass(kw_only=True, eq=False)
class Fault:
    """One injected fault: which requests it hits and what they get instead of AM's answer.

    :param endpoint: one of ``access_token``, ``tokeninfo``, ``introspect``, ``revoke``,
        ``userinfo``, ``idtokeninfo``, ``openid-configuration``, ``jwk_uri``; ``None``: any.
    :param realm: ``/``, ``/customers`` …; ``None``: any.
    :param client_id: the client id the request sends (form, query or Basic header); ``None``: any.
    :param username: the ``username`` parameter; ``None``: any.
    :param grant_type: the ``grant_type`` parameter; ``None``: any.
    :param status: the HTTP status (200-599); ``None`` picks one (see the module's docs).
    :param error: the OAuth ``error`` code of an error answer.
    :param description: its ``error_description``.
    :param body: a body to send instead (text, bytes, or a dict/list sent as JSON).
    :param content_type: the body's media type (default JSON for dict/list, text otherwise).
    :param malformed: send a JSON body cut short.
    :param empty: send an empty body.
    :param drop: close the connection without an answer.
    :param delay: seconds to wait first (at most 300).
    :param retry_after: a ``Retry-After`` value (seconds, or an HTTP date).
    :param times: how many requests it hits; ``None`` until it is cleared.
    :param expected: the test expects it to fire: the pytest fixtures fail the test at teardown
        if it never did.
    """

    endpoint: str | None = None
    realm: str | None = None
    client_id: str | None = None
    username: str | None = None
    grant_type: str | None = None
    status: int | None = None
    error: str | None = None
    description: str | None = None
    body: str | bytes | dict[str, Any] | list[Any] | None = None
    content_type: str | None = None
    malformed: bool = False
    empty: bool = False
    drop: bool = False
    delay: float = 0.0
    retry_after: int | str | None = None
    times: int | None = 1
    expected: bool = False
    id: int = 0
    fired: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        for name in ("endpoint", "realm", "client_id", "username", "grant_type", "error", "description"):
            _check_str(name, getattr(self, name))
        _check_str("content_type", self.content_type)
        if self.endpoint is not None and self.endpoint not in ENDPOINT_NAMES:
            raise ConfigError(f"endpoint: {self.endpoint!r} is not one of {', '.join(ENDPOINT_NAMES)}")
        if self.realm is not None:
            self.realm = normalise_realm(self.realm)
        for name in ("malformed", "empty", "drop", "expected"):
            _check_flag(name, getattr(self, name))
        for name in ("retry_after", "content_type"):
            value = getattr(self, name)
            if isinstance(value, str) and not HEADER_VALUE.fullmatch(value):
                raise ConfigError(
                    f"{name}: sent as a header, so printable ASCII and not blank, got {value!r}"
                )
        if self.body is not None and not isinstance(self.body, str | bytes | dict | list):
            raise ConfigError(f"body: expected text, bytes or a JSON object/array, got {self.body!r}")
        if (
            isinstance(self.delay, bool)
            or not isinstance(self.delay, int | float)
            or not math.isfinite(self.delay)
        ):
            raise ConfigError(f"delay: expected a number of seconds, got {self.delay!r}")
        if not 0 <= self.delay <= MAX_DELAY:
            raise ConfigError(f"delay: must be between 0 and {MAX_DELAY:g} seconds, got {self.delay!r}")
        self.delay = float(self.delay)
        if self.times is not None and (isinstance(self.times, bool) or not isinstance(self.times, int)):
            raise ConfigError(f"times: expected a whole number or null (until cleared), got {self.times!r}")
        if self.times is not None and self.times < 1:
            raise ConfigError(f"times: must be at least 1 (or null, until cleared), got {self.times!r}")
        if self.retry_after is not None:
            valid = (
                isinstance(self.retry_after, int)
                and not isinstance(self.retry_after, bool)
                and self.retry_after >= 0
            ) or (isinstance(self.retry_after, str) and self.retry_after.strip() != "")
            if not valid:
                raise ConfigError(
                    f"retry_after: expected seconds (>= 0) or an HTTP date, got {self.retry_after!r}"
                )
        if self.status is not None and (
            isinstance(self.status, bool) or not isinstance(self.status, int) or not 200 <= self.status <= 599
        ):
            raise ConfigError(f"status: expected an HTTP status from 200 to 599, got {self.status!r}")
        shapes = [n for n in ("drop", "empty", "malformed") if getattr(self, n)]
        if self.body is not None:
            shapes.append("body")
        if len(shapes) > 1:
            raise ConfigError(f"{' and '.join(shapes)}: a fault sends one kind of answer, pick one")
        if shapes and (self.error is not None or self.description is not None):
            raise ConfigError(f"error/description: only for an error answer, not with {shapes[0]}")
        if self.drop and (self.status is not None or self.retry_after is not None or self.content_type):
            raise ConfigError("drop: a dropped connection sends nothing (no status, headers or body)")
        if self.content_type is not None and not shapes:
            raise ConfigError("content_type: only with body, empty or malformed")
        if self.status is None and not self.drop:
            if shapes:
                self.status = 200
            elif self.retry_after is not None:
                self.status = 429
            elif self.error is not None or self.description is not None or self.delay == 0:
                self.status = 400
            # else: a delay alone, then AM's own answer

    # -- reading ------------------------------------------------------------------------------

    @property
    def remaining(self) -> int | None:
        """How many more requests it will hit (``None``: until cleared)."""
        return None if self.times is None else max(0, self.times - self.fired)

    @property
    def active(self) -> bool:
        """Whether it still waits for a request."""
        remaining = self.remaining
        return remaining is None or remaining > 0

    @property
    def kind(self) -> str:
        """``drop``, ``empty``, ``malformed``, ``body``, ``error`` or ``delay`` (late, but AM's answer)."""
        if self.drop:
            return "drop"
        if self.empty:
            return "empty"
        if self.malformed:
            return "malformed"
        if self.body is not None:
            return "body"
        return "delay" if self.status is None else "error"

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of the control API (what it accepts, plus ``id``, ``kind``, ``fired``,
        ``remaining``)."""
        out: dict[str, Any] = {"id": self.id, "kind": self.kind}
        for name in INPUT_FIELDS:
            out[name] = getattr(self, name)
        if isinstance(self.body, bytes):
            out["body"] = self.body.decode("utf-8", "replace")
        out["fired"] = self.fired
        out["remaining"] = self.remaining
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        """A fault from the control API's JSON; :class:`ConfigError` names any bad key."""
        unknown = sorted(set(data) - set(INPUT_FIELDS))
        if unknown:
            raise ConfigError(f"{unknown[0]}: unknown key (expected one of {', '.join(INPUT_FIELDS)})")
        return cls(**data)

    # -- firing -------------------------------------------------------------------------------

    def matches(self, x: Exchange) -> bool:
        """Whether the request ``x`` (realm and endpoint resolved) is one this fault hits."""
        if self.endpoint is not None and x.endpoint != self.endpoint:
            return False
        if self.realm is not None and (x.realm is None or x.realm.name != self.realm):
            return False
        if self.client_id is not None and x.client_id() != self.client_id:
            return False
        if self.username is not None and x.param("username") != self.username:
            return False
        return self.grant_type is None or x.param("grant_type") == self.grant_type

    def answer(self, x: Exchange) -> Response | None:
        """The answer to send (``None``: AM's own answer), after the fault's delay, which it asks of
        the transport through ``x.delay``. An error answer is raised as :class:`OAuthError`, so the
        journal records its code."""
        x.delay = self.delay
        if self.drop:
            return Response(0, (), b"", action=DROP)
        status = self.status
        if status is None:
            return None
        extra: tuple[tuple[str, str], ...] = ()
        if self.retry_after is not None:
            extra = (("Retry-After", str(self.retry_after)),)
        if self.empty:
            return Response(status, _typed(self.content_type or JSON, extra), b"")
        if self.malformed:
            payload = _MALFORMED_OK if status < 400 else _MALFORMED_ERROR
            return Response(status, _typed(self.content_type or JSON, extra), payload)
        if self.body is not None:
            payload, media = _encode(self.body)
            return Response(status, _typed(self.content_type or media, extra), payload)
        if x.endpoint in JSON_ENDPOINTS:  # AM's REST resources answer in CREST's shape
            raise RestError(status, self.description or reason_phrase(status), headers=extra)
        error, description = default_error(status, x.endpoint)
        if self.error is not None:
            error = self.error
            description = self.description if self.description is not None else reason_phrase(status)
        elif self.description is not None:
            description = self.description
        if status == 401 and error == "invalid_client" and _sent_basic(x):
            # AM challenges a client that authenticated with Basic (reference §3).
            realm = x.realm.name if x.realm is not None else "/"
            extra = (basic_challenge(realm), *extra)
        raise OAuthError(error, description, status, extra)


def _typed(content_type: str, extra: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The headers of a body a fault chose: its type, and for a document no script at all."""
    if renders_as_document(content_type):
        return (("Content-Type", content_type), NO_SCRIPT, *extra)
    return (("Content-Type", content_type), *extra)


def _encode(body: str | bytes | dict[str, Any] | list[Any]) -> tuple[bytes, str]:
    if isinstance(body, bytes):
        return body, TEXT
    if isinstance(body, str):
        return body.encode("utf-8"), TEXT
    return compact_json(body).encode(), JSON


def _sent_basic(x: Exchange) -> bool:
    try:
        return x.basic is not None
    except MalformedBasic:
        return False


def _nothing() -> None:
    pass


# -- the queue ----------------------------------------------------------------------------------


class Faults:
    """The queue of faults: ``state.faults``, reset with the state.

    Live faults are kept per endpoint in tuples that are replaced, never changed, so a request reads
    them without the lock and takes it only to fire the one it matched. Spent faults leave that
    index at once and stay listed (:meth:`all`) until :data:`MAX_FAULTS` needs their room.

    :param allow_documents: whether a fault may send a type a browser renders as a page
        (:attr:`~mock_as.config.MockASConfig.fault_documents`), asked on each :meth:`add`.
    """

    def __init__(self, allow_documents: Callable[[], bool] = lambda: False) -> None:
        self._lock = threading.Lock()
        self._allow_documents = allow_documents
        self._faults: dict[int, Fault] = {}  # by id, oldest first, spent ones included
        self._live: dict[str | None, tuple[Fault, ...]] = {}  # endpoint (None: any) -> live faults
        self._next_id = 1
        self._wake = threading.Event()
        self._guard: AbstractContextManager[Any] = contextlib.nullcontext()
        self._on_change: Callable[[], None] = _nothing
        self._claim: Callable[[int], int] | None = None
        self._counts: Callable[[], dict[int, int]] | None = None

    def share(
        self,
        *,
        guard: AbstractContextManager[Any],
        on_change: Callable[[], None],
        claim: Callable[[int], int],
        counts: Callable[[], dict[int, int]],
    ) -> None:
        """Keep the queue in a store shared by several processes: changes happen under ``guard``
        (the store's lock) and call ``on_change``; ``claim(id)`` counts one firing across all
        processes and returns the count; ``counts()`` reads every count."""
        self._guard = guard
        self._on_change = on_change
        self._claim = claim
        self._counts = counts

    def snapshot(self) -> tuple[list[Fault], int]:
        """The queue and the next id, as a store keeps them."""
        with self._lock:
            return list(self._faults.values()), self._next_id

    def restore(self, faults: list[Fault], next_id: int) -> None:
        """Take the queue another process wrote."""
        live: dict[str | None, tuple[Fault, ...]] = {}
        for fault in faults:
            if fault.active:
                live[fault.endpoint] = (*live.get(fault.endpoint, ()), fault)
        with self._lock:
            self._faults = {f.id: f for f in faults}
            self._live = live
            self._next_id = next_id

    def reset(self) -> None:
        """Empty the queue and restart the ids at 1; pending delays end now."""
        with self._lock:
            self._faults = {}
            self._live = {}
            self._next_id = 1
        self.wake()

    def add(self, fault: Fault) -> Fault:
        """Queue ``fault`` behind the others; it gets the next id. :class:`ConfigError` for a
        document type without the setting that allows one, or with :data:`MAX_FAULTS` live."""
        if renders_as_document(fault.content_type) and not self._allow_documents():
            raise ConfigError(
                f"content_type: {fault.content_type!r} is rendered by browsers as a page, which could "
                "run script in the mock's origin; send text/plain or JSON, or allow documents with "
                "the fault_documents setting (--fault-documents)"
            )
        with self._guard, self._lock:
            if len(self._faults) >= MAX_FAULTS:
                spent = next((i for i, f in self._faults.items() if not f.active), None)
                if spent is None:
                    raise ConfigError(f"at most {MAX_FAULTS} faults can wait at once; clear some first")
                del self._faults[spent]
            fault.id = self._next_id
            self._next_id += 1
            self._faults[fault.id] = fault
            key = fault.endpoint
            self._live = {**self._live, key: (*self._live.get(key, ()), fault)}
            self._on_change()
        return fault

    def _unindex(self, fault: Fault) -> None:
        """Take ``fault`` out of the live index (with the lock held)."""
        key = fault.endpoint
        kept = tuple(f for f in self._live.get(key, ()) if f is not fault)
        live = dict(self._live)
        if kept:
            live[key] = kept
        else:
            live.pop(key, None)
        self._live = live

    def remove(self, fault_id: int) -> bool:
        """Take the fault with that id out of the queue; ``False`` if there is none."""
        with self._guard, self._lock:
            fault = self._faults.pop(fault_id, None)
            if fault is not None:
                self._unindex(fault)
                self._on_change()
        return fault is not None

    def clear(self) -> None:
        """Take every fault out of the queue; pending delays end now."""
        with self._guard, self._lock:
            self._faults = {}
            self._live = {}
            self._on_change()
        self.wake()

    def all(self) -> list[Fault]:
        """Every fault since the last reset or clear, spent ones (``remaining == 0``) included
        (the oldest spent ones leave when :data:`MAX_FAULTS` is reached)."""
        counts = self._counts() if self._counts is not None else None
        with self._lock:
            faults = list(self._faults.values())
            if counts is not None:
                for fault in faults:
                    fired = counts.get(fault.id, 0)
                    fault.fired = fired if fault.times is None else min(fired, fault.times)
            return faults

    def get(self, fault_id: int) -> Fault | None:
        """The fault with that id, or ``None``."""
        if self._counts is not None:
            self.all()  # its firings in every process sharing the store
        return self._faults.get(fault_id)

    def _candidates(self, endpoint: str | None) -> Iterator[Fault]:
        live = self._live  # one snapshot: replaced, never changed
        if not live:
            return iter(())
        named = live.get(endpoint, ()) if endpoint is not None else ()
        anyone = live.get(None, ())
        if not named or not anyone:
            return iter(named or anyone)
        return heapq.merge(named, anyone, key=lambda f: f.id)

    def take(self, x: Exchange) -> Response | None:
        """The hook the endpoints call once the realm is known: the first live fault matching ``x``
        fires (``None`` when none does, or when it only delays)."""
        for fault in self._candidates(x.endpoint):
            if not fault.matches(x):
                continue
            with self._lock:
                if not fault.active or self._faults.get(fault.id) is not fault:
                    continue  # spent or removed meanwhile
                if self._claim is None:
                    fault.fired += 1
                    if not fault.active:
                        self._unindex(fault)
            if self._claim is not None and not self._claimed(fault):
                continue  # another process fired it its last time
            return fault.answer(x)
        return None

    def _claimed(self, fault: Fault) -> bool:
        """Count a firing in the store: whether this one is within the fault's ``times``."""
        assert self._claim is not None
        fired = self._claim(fault.id)
        within = fault.times is None or fired <= fault.times
        with self._lock:
            fault.fired = fired if fault.times is None else min(fired, fault.times)
            if not fault.active and self._faults.get(fault.id) is fault:
                self._unindex(fault)
        return within

    def wake(self) -> None:
        """End every pending :meth:`wait` now (faults cleared, the state reset, a server stopping)."""
        with self._lock:
            event, self._wake = self._wake, threading.Event()
        event.set()

    def wait(self, seconds: float) -> bool:
        """Wait out a fault's delay, or less if :meth:`wake` comes first (then ``True``)."""
        return self._wake.wait(seconds) if seconds > 0 else False
