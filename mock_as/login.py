"""The one password check every login shares: the password grant and REST authentication run the
same users, account states, services and lockout counters (reference am-oauth2 §10, am-journeys §1.9).

:func:`check_password` runs a realm's authentication service over a username and a password and
says how it ended; each caller words that in its own surface's format.
"""

from __future__ import annotations

import enum
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import ServiceConfig, UserConfig
    from .state import Realm, State


class Outcome(enum.Enum):
    """How a login ended."""

    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"  # unknown user, wrong password, or the service refused
    INACTIVE = "inactive"
    LOCKED = "locked"
    PASSWORD_EXPIRED = "password_expired"


@dataclass(frozen=True, slots=True)
class LoginResult:
    """The outcome and the user as the check saw it (``None`` for an unknown user)."""

    outcome: Outcome
    user: UserConfig | None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


def check_password(
    state: State, realm: Realm, service: ServiceConfig, username: str, password: str, now: float
) -> LoginResult:
    """Check ``username``/``password`` with ``service`` in ``realm`` at ``now``, as AM's login does:
    let a lock that ran out go, count a failure against the lockout (which may lock the account),
    then look at the account's state; a success clears the failure count."""
    lockout = state.lockout
    user = lockout.before_login(realm, username, now)
    ok = (
        user is not None
        and not service.fail
        and (service.users is None or username in service.users)
        and hmac.compare_digest(password.encode(), user.password.encode())
    )
    if not ok or user is None:
        lockout.after_failure(realm, user, now)
        # the failure may just have locked the account: answer with the user as it is now
        return LoginResult(Outcome.BAD_CREDENTIALS, realm.users.get(username))
    if user.status == "inactive":
        return LoginResult(Outcome.INACTIVE, user)
    if user.status == "locked":
        return LoginResult(Outcome.LOCKED, user)
    if user.password_expired:
        return LoginResult(Outcome.PASSWORD_EXPIRED, user)
    lockout.after_success(realm, user.username)  # AM clears the failure count on a successful login
    return LoginResult(Outcome.OK, user)
