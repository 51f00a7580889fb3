"""AM's login failure lockout for the password grant (reference §10), on the mock's clock.

AM counts a user's failed logins per realm. A failure within ``interval_minutes`` of the previous
one adds to the count; a later one starts the count again at one. When the count reaches
``failure_count`` the account locks: for ``duration_minutes``, or until an administrator unlocks
it when the duration is 0 (AM's default). A successful login clears the count.

A locked account shows as ``status == "locked"`` on the user, so the password grant answers it as
AM does (``invalid_grant``, or "User Locked Out." with module messages on), and the handle and the
control API show it. Every instant comes from the exchange (``x.now``), never from the wall clock.

Not modelled: "store invalid attempts in data store" (the count lives in memory here, as with AM's
option off) and the lockout duration multiplier. The warning after N failures is worded by REST
login (:mod:`~mock_as.rest`) from the count kept here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .config import LockoutConfig
from .errors import ConfigError

if TYPE_CHECKING:
    from .config import UserConfig, UserStatus
    from .state import Realm, State

LOCKED = "locked"

__all__ = ["LockState", "Lockout", "LockoutConfig"]


@dataclass(slots=True)
class _Record:
    failures: int = 0
    last_failure: float | None = None
    locked_at: float | None = None
    until: float | None = None  # None while locked: until an administrator unlocks
    previous_status: UserStatus = "active"


@dataclass(frozen=True, slots=True)
class LockState:
    """A user's lockout as the mock sees it at one instant.

    :param locked: the account is locked (by lockout or by an administrator).
    :param failures: failed logins counted towards the next lock.
    :param locked_at: when the lockout locked it (``None`` if it was not the lockout).
    :param locked_until: when the lock runs out; ``None`` locks until unlocked.
    """

    locked: bool
    failures: int
    locked_at: float | None
    locked_until: float | None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape the control API answers with."""
        return dataclasses.asdict(self)


class Lockout:
    """Failure counts and locks per (realm, username): ``state.lockout``, reset with the state.

    Every login (the password grant, REST authentication) calls :meth:`before_login` before it
    checks the password, then :meth:`after_failure` or :meth:`after_success`.
    """

    def __init__(self, state: State) -> None:
        self.state = state
        self._records: dict[tuple[str, str], _Record] = {}

    def reset(self) -> None:
        """Forget every count and lock (the users themselves are rebuilt by the state)."""
        with self.state.lock:
            self._records.clear()

    def records(self) -> dict[tuple[str, str], _Record]:
        """The records as a shared store keeps them (with the registries)."""
        return self._records

    def restore(self, records: dict[tuple[str, str], _Record]) -> None:
        """Take the records another process wrote."""
        self._records = records

    # -- hooks every login calls ----------------------------------------------------------------

    def before_login(self, realm: Realm, username: str, now: float) -> UserConfig | None:
        """Let a lock that ran out by ``now`` go; the user as the password check should see it."""
        if username in realm.users:
            self.refresh(realm.name, username, now)
        return realm.users.get(username)

    def after_failure(self, realm: Realm, user: UserConfig | None, now: float) -> None:
        """Count a failed login, and lock the account when the count is reached."""
        if user is None:
            return  # AM has nothing to count or lock for an unknown user
        settings = realm.config.lockout
        if not settings.enabled or user.status == LOCKED:
            return  # a locked account's failures do not extend the lock
        with self.state.lock:
            record = self._records.setdefault((realm.name, user.username), _Record())
            window = settings.interval_minutes * 60
            if record.last_failure is not None and now - record.last_failure < window:
                record.failures += 1
            else:
                record.failures = 1
            record.last_failure = now
            self.state.changed()
            if record.failures >= settings.failure_count:
                duration = settings.duration_minutes * 60
                self._lock(realm.name, user, record, now, now + duration if duration > 0 else None)

    def after_success(self, realm: Realm, username: str) -> None:
        """A successful login clears the failure count, as AM does."""
        if (realm.name, username) not in self._records:
            return  # nothing to clear (the usual case): no lock to take
        with self.state.lock:
            if self._records.pop((realm.name, username), None) is not None:
                self.state.changed()

    # -- what the handle and the control API use ----------------------------------------------

    def refresh(self, realm: str, username: str, now: float) -> None:
        """Unlock the account if its timed lock has run out by ``now``; drop a lock record an
        administrator overrode by changing the user's status."""
        record = self._records.get((realm, username))
        if record is None or record.locked_at is None:
            return  # no lock to let go (the usual case): no lock to take
        with self.state.lock:
            key = (realm, username)
            record = self._records.get(key)
            if record is None or record.locked_at is None:
                return
            self.state.changed()
            user = self.state.realms[realm].users.get(username) if realm in self.state.realms else None
            if user is None or user.status != LOCKED:
                del self._records[key]
            elif record.until is not None and now >= record.until:
                del self._records[key]
                self.state.update_user(username, realm, status=record.previous_status)

    def lock(self, realm: str, username: str, until: float | None = None) -> UserConfig:
        """Lock an account as an administrator would (until :meth:`unlock`, or until ``until``)."""
        with self.state.lock:
            realm = self.state.realm(realm).name
            user = self._user(realm, username)
            record = self._records.get((realm, username))
            if user.status == LOCKED:
                if record is not None and record.locked_at is not None:
                    record.until = until  # an administrator's lock replaces a timed one
                    self.state.changed()
                return user
            record = self._records.setdefault((realm, username), _Record())
            return self._lock(realm, user, record, self.state.clock.now(), until)

    def unlock(self, realm: str, username: str) -> UserConfig:
        """Unlock an account and clear its failure count. A locked account goes back to the status
        it had before it was locked (``active`` if it was locked from the start)."""
        with self.state.lock:
            realm = self.state.realm(realm).name
            user = self._user(realm, username)
            record = self._records.pop((realm, username), None)
            self.state.changed()
            if user.status == LOCKED:
                previous = record.previous_status if record is not None else "active"
                user = self.state.update_user(username, realm, status=previous)
            return user

    def clear(self, realm: str, username: str) -> None:
        """Forget the account's count and lock record without touching the user."""
        with self.state.lock:
            self._records.pop((self.state.realm(realm).name, username), None)
            self.state.changed()

    def state_of(self, realm: str, username: str) -> LockState:
        """The account's lockout now (a timed lock that ran out is released first)."""
        with self.state.lock:
            realm = self.state.realm(realm).name
            self.refresh(realm, username, self.state.clock.now())
            user = self._user(realm, username)
            record = self._records.get((realm, username)) or _Record()
            locked = user.status == LOCKED
            failures = record.failures
            window = self.state.realms[realm].config.lockout.interval_minutes * 60
            if record.last_failure is None or self.state.clock.now() - record.last_failure >= window:
                failures = 0  # the next failure would start the count again
            return LockState(
                locked=locked,
                failures=0 if locked else failures,
                locked_at=record.locked_at if locked else None,
                locked_until=record.until if locked else None,
            )

    # -- internals -----------------------------------------------------------------------------

    def _user(self, realm: str, username: str) -> UserConfig:
        user = self.state.realms[realm].users.get(username)
        if user is None:
            raise ConfigError(f"no user {username!r} in realm {realm!r}")
        return user

    def _lock(
        self, realm: str, user: UserConfig, record: _Record, now: float, until: float | None
    ) -> UserConfig:
        self.state.changed()
        record.previous_status = user.status
        record.locked_at = now
        record.until = until
        record.failures = 0
        return self.state.update_user(user.username, realm, status=LOCKED)
