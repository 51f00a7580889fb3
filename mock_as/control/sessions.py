"""The control API's SSO sessions, ``/__mock_as__/sessions``: list, open and revoke the sessions a
REST or browser login holds (reference am-journeys §2), on the control API's blueprint, so its guard,
JSON reading and error format apply."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Response as FlaskResponse
from flask import request

from ..errors import ConfigError
from ..handle import MockAS
from ..paths import context_prefix, external_base
from .body import ControlError, bad, body, missing, only, state
from .routes import control_api
from .views import reply

if TYPE_CHECKING:
    from ..sessions import Session

LOGIN_KEYS = ("username", "realm", "password", "service")


def session_json(session: Session) -> dict[str, Any]:
    """A session as the control API shows it (its token included: this is a test double)."""
    return {
        "token_id": session.token_id,
        "handle": session.handle,
        "realm": session.realm,
        "username": session.username,
        "service": session.service,
        "created": session.created,
        "last_access": session.last_access,
        "idle_expires_at": session.idle_expires_at,
        "expires_at": session.expires_at,
        "properties": dict(session.properties),
    }


def _realm_filter() -> str | None:
    name = request.args.get("realm")
    if name is None:
        return None
    try:
        return state().realm(name).name
    except ConfigError:
        raise missing(f"no realm {name!r}") from None


def _find(token: str) -> Session:
    st = state()
    session = st.sessions.get(token, st.clock.now()) or st.sessions.by_handle(token)
    if session is None or not session.valid(st.clock.now()):
        raise missing("no live session with that token or handle")
    return session


@control_api.get("/sessions")
def list_sessions() -> FlaskResponse:
    """The live sessions, oldest first; ``?realm=`` narrows them to one realm."""
    st = state()
    return reply([session_json(s) for s in st.sessions.live(st.clock.now(), _realm_filter())])


@control_api.post("/sessions")
def open_session() -> FlaskResponse:
    """Log a user in without a request to AM's surface: ``{"username", "realm"?, "password"?,
    "service"?}``; answers the session and its ``Set-Cookie`` value."""
    data = body()
    only(data, LOGIN_KEYS, "sessions")
    for key in LOGIN_KEYS:
        if key in data and not isinstance(data[key], str):
            raise bad(f"{key}: expected a string")
    if not data.get("username"):
        raise bad("username: required")
    st = state()
    try:
        where = st.realm(data.get("realm", "/"))
    except ConfigError:
        raise missing(f"no realm {data.get('realm')!r}") from None
    if data["username"] not in where.users:
        raise missing(f"no user {data['username']!r} in realm {where.name!r}")
    service = data.get("service")
    if service is not None and service not in where.services:
        raise missing(f"no authentication service {service!r} in realm {where.name!r}")
    handle = MockAS(st, external_base(request.environ, context_prefix(st.config.context_path)))
    try:
        login = handle.login(data["username"], where.name, password=data.get("password"), service=service)
    except ConfigError as e:  # the password check failed
        raise ControlError(401, "access_denied", str(e)) from None
    answer = session_json(login.session)
    answer["cookie"] = {"name": login.cookie_name, "value": login.token_id}
    return reply(answer, 201)


@control_api.delete("/sessions")
def end_sessions() -> FlaskResponse:
    """End every session (``?realm=``: of one realm); answers how many ended."""
    return reply({"ended": state().sessions.end_all(_realm_filter())})


@control_api.get("/sessions/<token>")
def get_session(token: str) -> FlaskResponse:
    """One live session, by SSO token or session handle."""
    return reply(session_json(_find(token)))


@control_api.delete("/sessions/<token>")
def end_session(token: str) -> FlaskResponse:
    """End one session (by SSO token or handle), as a logout would."""
    state().sessions.end(_find(token).token_id)
    return reply(None, 204)
