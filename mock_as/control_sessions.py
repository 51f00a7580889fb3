"""The control API's SSO sessions, ``/__mock_as__/sessions``: list, open and revoke the sessions a
REST or browser login holds (reference am-journeys §2), in the control API's JSON and error format.

A blueprint of its own next to :mod:`~mock_as.control`, registered by :func:`~mock_as.app.create_app`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from flask import Blueprint, current_app, request
from flask import Response as FlaskResponse

from .errors import ConfigError, json_body
from .handle import MockAS
from .paths import CONTROL_PREFIX, context_prefix, external_base

if TYPE_CHECKING:
    from .sessions import Session
    from .state import State

sessions_api = Blueprint("mock_as_sessions", __name__, url_prefix=CONTROL_PREFIX + "/sessions")

LOGIN_KEYS = ("username", "realm", "password", "service")


class _Problem(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


def _reply(payload: Any, status: int = 200) -> FlaskResponse:
    response = FlaskResponse(json_body(payload), status, content_type="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


@sessions_api.errorhandler(_Problem)
def _problem(e: _Problem) -> FlaskResponse:
    return _reply({"error": e.error, "error_description": e.description}, e.status)


@sessions_api.errorhandler(ConfigError)
def _config_error(e: ConfigError) -> FlaskResponse:
    return _problem(_Problem(400, "invalid_request", str(e)))


def _state() -> State:
    state: State = current_app.extensions["mock_as"]
    return state


def _handle() -> MockAS:
    state = _state()
    return MockAS(state, external_base(request.environ, context_prefix(state.config.context_path)))


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
        return _state().realm(name).name
    except ConfigError:
        raise _Problem(404, "not_found", f"no realm {name!r}") from None


def _find(token: str) -> Session:
    state = _state()
    session = state.sessions.get(token, state.clock.now()) or state.sessions.by_handle(token)
    if session is None or not session.valid(state.clock.now()):
        raise _Problem(404, "not_found", "no live session with that token or handle")
    return session


@sessions_api.get("")
def list_sessions() -> FlaskResponse:
    """The live sessions, oldest first; ``?realm=`` narrows them to one realm."""
    state = _state()
    return _reply([session_json(s) for s in state.sessions.live(state.clock.now(), _realm_filter())])


@sessions_api.post("")
def open_session() -> FlaskResponse:
    """Log a user in without a request to AM's surface: ``{"username", "realm"?, "password"?,
    "service"?}``; answers the session and its ``Set-Cookie`` value."""
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw) if raw else {}
    except (ValueError, RecursionError):
        raise _Problem(400, "invalid_request", "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise _Problem(400, "invalid_request", "the body must be a JSON object")
    unknown = sorted(set(data) - set(LOGIN_KEYS))
    if unknown:
        raise _Problem(
            400, "invalid_request", f"{unknown[0]}: unknown key (expected one of {', '.join(LOGIN_KEYS)})"
        )
    for key in LOGIN_KEYS:
        if key in data and not isinstance(data[key], str):
            raise _Problem(400, "invalid_request", f"{key}: expected a string")
    if not data.get("username"):
        raise _Problem(400, "invalid_request", "username: required")
    state = _state()
    try:
        where = state.realm(data.get("realm", "/"))
    except ConfigError:
        raise _Problem(404, "not_found", f"no realm {data.get('realm')!r}") from None
    if data["username"] not in where.users:
        raise _Problem(404, "not_found", f"no user {data['username']!r} in realm {where.name!r}")
    service = data.get("service")
    if service is not None and service not in where.services:
        raise _Problem(404, "not_found", f"no authentication service {service!r} in realm {where.name!r}")
    try:
        login = _handle().login(data["username"], where.name, password=data.get("password"), service=service)
    except ConfigError as e:  # the password check failed
        raise _Problem(401, "access_denied", str(e)) from None
    body = session_json(login.session)
    body["cookie"] = {"name": login.cookie_name, "value": login.token_id}
    return _reply(body, 201)


@sessions_api.delete("")
def end_sessions() -> FlaskResponse:
    """End every session (``?realm=``: of one realm); answers how many ended."""
    return _reply({"ended": _state().sessions.end_all(_realm_filter())})


@sessions_api.get("/<token>")
def get_session(token: str) -> FlaskResponse:
    """One live session, by SSO token or session handle."""
    return _reply(session_json(_find(token)))


@sessions_api.delete("/<token>")
def end_session(token: str) -> FlaskResponse:
    """End one session (by SSO token or handle), as a logout would."""
    _state().sessions.end(_find(token).token_id)
    return FlaskResponse(b"", 204, headers={"Cache-Control": "no-store"})
