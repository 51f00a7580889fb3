"""The mock's control API under ``/__mock_as__/``: reset, users, clients, settings, clock, faults, journal.

It lives at the live server's root, outside AM's context path (``http://127.0.0.1:<port>/__mock_as__/``
next to ``http://127.0.0.1:<port>/openam/oauth2/…``), so nothing under AM's surface changes. JSON in,
JSON out; errors are ``{"error": …, "error_description": …}`` with a 4xx status. The OpenAPI document
at ``/__mock_as__/openapi.json`` describes every route; users and realms are chosen with a ``realm``
query parameter (``/`` by default, ``customers`` and ``/customers`` alike).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import re
import sys
import typing
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from flask import Blueprint, current_app, request
from flask import Response as FlaskResponse
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from . import __version__
from .config import ClientConfig, LockoutConfig, RealmConfig, UserConfig
from .configfile import _build, _convert
from .control_guard import cors, guard, too_deep
from .errors import ConfigError, json_body
from .faults import Fault, Faults
from .journal import PageError
from .journal import page as journal_page
from .lockout import Lockout
from .paths import CONTROL_PREFIX, ENDPOINT_NAMES, context_prefix, external_base
from .store import StoreUnavailable

if TYPE_CHECKING:
    from .state import Call, Realm, State

PREFIX = CONTROL_PREFIX
log = logging.getLogger("mock_as")

control_api = Blueprint("mock_as_control", __name__, url_prefix=PREFIX)
control_api.before_app_request(guard)  # first: a refused request reaches nothing else
control_api.after_app_request(cors)

# Realm fields that are registries or identity, not provider settings.
NOT_SETTINGS = frozenset({"name", "clients", "users", "services", "fake_users"})
USER_PATCH_KEYS = ("status", "password_expired", "password", "attributes", "unlock")
# Token lifetimes (seconds) are 64-bit integers: a longer one would not fit the clock's arithmetic.
LIFETIME_RANGE = (-(2**63), 2**63 - 1)
LIFETIME_KEYS = ("access_token_lifetime", "refresh_token_lifetime", "id_token_lifetime")
# How far one call may move the clock, either way (about 31,700 years): however often it is moved,
# the clock then stays a finite instant.
MAX_CLOCK_MOVE = 1e12
# The longest timed lock, in minutes (about 19,000 years); 0 still locks until unlocked.
MAX_LOCK_MINUTES = 1e10
# A value sent as a response header (a fault's Retry-After or Content-Type): printable ASCII, not blank.
HEADER_VALUE = re.compile(r"[ -~]*[!-~][ -~]*")


class ControlError(Exception):
    """An answer in the control API's error format."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


def _bad(description: str) -> ControlError:
    return ControlError(400, "invalid_request", description)


def _missing(description: str) -> ControlError:
    return ControlError(404, "not_found", description)


# -- plumbing -----------------------------------------------------------------------------------


def _state() -> State:
    state: State = current_app.extensions["mock_as"]
    return state


def _lockout() -> Lockout:
    return _state().lockout


def _faults() -> Faults:
    return _state().faults


def _reply(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> FlaskResponse:
    if payload is None:
        response = FlaskResponse(b"", status)
    else:
        # escaped: an error may quote the request (a path, a key) and must never carry markup
        response = FlaskResponse(json_body(payload), status, content_type="application/json")
    response.headers["Cache-Control"] = "no-store"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _error_reply(e: ControlError, headers: Mapping[str, str] | None = None) -> FlaskResponse:
    return _reply({"error": e.error, "error_description": e.description}, e.status, headers)


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text} is too large for a 64-bit float")
    return value


def _integer(text: str) -> int:
    value = int(text)
    if abs(value) > sys.float_info.max:
        raise ValueError(f"the number {text[:12]}… is too large for a 64-bit float")
    return value


def _body() -> dict[str, Any]:
    """The JSON object sent (as ``application/json``, see :mod:`.control_guard`); no body is ``{}``.

    Strict JSON: ``NaN`` and ``Infinity`` are refused, numbers must fit a 64-bit float, and text
    must be Unicode (no lone surrogate escapes), so whatever is stored can be answered as JSON."""
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    if too_deep(raw):
        raise _bad("the body is not valid JSON for this API: it nests too deeply")
    try:
        data = json.loads(raw, parse_constant=_not_json, parse_float=_finite, parse_int=_integer)
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise _bad("the body is not valid JSON: it escapes a lone surrogate, which is not text") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise _bad(f"the body is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise _bad("the body must be a JSON object")
    return data


def _whole(value: Any) -> Any:
    """An integral float as an int (JSON Schema counts ``3.0`` as an integer); anything else as is."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _whole_numbers(cls: type[Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with every integral float turned into an int where ``cls`` takes an integer."""
    hints = typing.get_type_hints(cls)

    def takes_int(hint: Any) -> bool:
        return hint is int or int in typing.get_args(hint)

    return {k: _whole(v) if takes_int(hints.get(k)) else v for k, v in data.items()}


def _lifetimes_fit(data: Mapping[str, Any]) -> None:
    """Token lifetimes that were sent as integers must be 64-bit ones."""
    low, high = LIFETIME_RANGE
    for key in LIFETIME_KEYS:
        value = data.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and not low <= value <= high:
            raise _bad(f"{key}: must be a 64-bit integer (between -2**63 and 2**63 - 1), got {value}")


def _built(cls: type[Any], data: Mapping[str, Any]) -> Any:
    """A config dataclass from JSON, with the TOML loader's checks and messages."""
    try:
        return _build(cls, data, "")
    except ConfigError as e:
        raise _bad(str(e).removeprefix("top level: ")) from None


def _only(data: Mapping[str, Any], allowed: tuple[str, ...] | frozenset[str], what: str) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise _bad(f"{unknown[0]}: unknown key for {what} (expected one of {', '.join(sorted(allowed))})")


def _realm() -> Realm:
    name = request.args.get("realm", "/")
    try:
        return _state().realm(name)
    except ConfigError:
        raise _missing(f"no realm {name!r}; known: {', '.join(sorted(_state().realms))}") from None


def _plain(value: Any) -> Any:
    """Tuples as lists, mappings as dicts: what JSON holds."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@control_api.errorhandler(ControlError)
def _control_error(e: ControlError) -> FlaskResponse:
    return _error_reply(e)


@control_api.errorhandler(ConfigError)
def _config_error(e: ConfigError) -> FlaskResponse:
    return _error_reply(_bad(str(e)))


@control_api.errorhandler(HTTPException)
def _http_error(e: HTTPException) -> FlaskResponse:
    code = e.code or 400
    return _error_reply(
        ControlError(code, "invalid_request" if code < 500 else "server_error", e.description or e.name)
    )


@control_api.errorhandler(StoreUnavailable)
def _store_down(e: StoreUnavailable) -> FlaskResponse:
    log.warning("mock_as: control API %s %s answered 503: %s", request.method, request.path, e)
    return _error_reply(
        ControlError(503, "temporarily_unavailable", "the state store did not answer"), {"Retry-After": "1"}
    )


@control_api.errorhandler(Exception)
def _unexpected(e: Exception) -> FlaskResponse:
    log.exception("mock_as: control API error on %s %s", request.method, request.path)
    return _error_reply(ControlError(500, "server_error", "internal error in the mock's control API"))


@control_api.before_app_request
def _routing_errors() -> FlaskResponse | None:
    """Unknown routes and methods under the reserved path answer in the control API's format;
    every other path keeps the app's own answers."""
    exc = request.routing_exception
    if exc is None or not (request.path == PREFIX or request.path.startswith(PREFIX + "/")):
        return None
    if isinstance(exc, MethodNotAllowed):
        allowed = ", ".join(sorted(exc.valid_methods or ()))
        return _error_reply(
            ControlError(405, "method_not_allowed", f"{request.method} is not allowed here; use {allowed}"),
            {"Allow": allowed},
        )
    if isinstance(exc, NotFound):
        return _error_reply(_missing(f"no control route {request.path}; see {PREFIX}/openapi.json"))
    return None  # a redirect (trailing slash) goes its own way


# -- representations ----------------------------------------------------------------------------


def user_json(realm: Realm, user: UserConfig) -> dict[str, Any]:
    """A user as the control API shows it (passwords included: this is a test double)."""
    return {
        "username": user.username,
        "password": user.password,
        "status": user.status,
        "password_expired": user.password_expired,
        "attributes": _plain(user.attributes),
        "lockout": _lockout().state_of(realm.name, user.username).as_dict(),
    }


def client_json(client: ClientConfig) -> dict[str, Any]:
    """A client as the control API shows it."""
    return _plain(dataclasses.asdict(client))  # type: ignore[no-any-return]


def settings_json(config: RealmConfig) -> dict[str, Any]:
    """A realm's provider settings."""
    return {
        f.name: _plain(
            dataclasses.asdict(v) if dataclasses.is_dataclass(v) and not isinstance(v, type) else v
        )
        for f in dataclasses.fields(config)
        if f.name not in NOT_SETTINGS
        for v in (getattr(config, f.name),)
    }


def call_json(call: Call) -> dict[str, Any]:
    """A journal entry."""
    return {
        "method": call.method,
        "path": call.path,
        "endpoint": call.endpoint,
        "realm": call.realm,
        "params": dict(call.params),
        "status": call.status,
        "error": call.error,
        "time": call.time,
    }


def _status() -> dict[str, Any]:
    state = _state()
    return {"seed": state.seed, "now": state.clock.now(), "realms": sorted(state.realms)}


# -- routes: the whole state ----------------------------------------------------------------------


@control_api.get("/")
def index() -> FlaskResponse:
    """Where things are: AM's base URL on this server, the OpenAPI document, the seed."""
    state = _state()
    return _reply(
        {
            "name": "mock-as",
            "version": __version__,
            "am_base_url": external_base(request.environ, context_prefix(state.config.context_path)),
            "openapi": f"{PREFIX}/openapi.json",
            **_status(),
        }
    )


@control_api.post("/reset")
def reset() -> FlaskResponse:
    """Back to the seeded start: users, clients, settings, tokens, clock, journal, faults, locks."""
    _only(_body(), (), "reset")
    _state().reset()
    return _reply(_status())


@control_api.post("/reseed")
def reseed() -> FlaskResponse:
    """Start again from another seed (other fake users, other token strings)."""
    data = _body()
    _only(data, ("seed",), "reseed")
    seed = _whole(data.get("seed"))
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise _bad(f"seed: expected an integer, got {seed!r}")
    if not 0 <= seed < 2**63:
        raise _bad("seed: must be between 0 and 2**63 - 1")
    _state().reseed(seed)
    return _reply(_status())


# -- realms and their settings ------------------------------------------------------------------


@control_api.get("/realms")
def list_realms() -> FlaskResponse:
    """Every realm with its provider settings."""
    return _reply([{"name": r.name, "settings": settings_json(r.config)} for r in _state().realms.values()])


@control_api.get("/settings")
def get_settings() -> FlaskResponse:
    """A realm's provider settings (lifetimes, module messages, lockout …)."""
    return _reply(settings_json(_realm().config))


@control_api.patch("/settings")
def patch_settings() -> FlaskResponse:
    """Change some of a realm's settings until the next reset; ``lockout`` is merged key by key.
    An empty body (or ``{}``) changes nothing and answers the settings as they are."""
    realm = _realm()
    data = _body()
    hints = typing.get_type_hints(RealmConfig)
    _only(data, settings_keys(), "settings")
    data = _whole_numbers(RealmConfig, data)
    _lifetimes_fit(data)
    changes: dict[str, Any] = {}
    for name, value in data.items():
        if name == "lockout":
            if not isinstance(value, Mapping):
                raise _bad("lockout: expected an object")
            lockout_hints = typing.get_type_hints(LockoutConfig)
            _only(value, tuple(lockout_hints), "lockout")
            value = _whole_numbers(LockoutConfig, value)
            merged = {k: _convert(lockout_hints[k], v, f"lockout.{k}") for k, v in value.items()}
            if merged.get("failure_count", 1) < 1:
                raise _bad("lockout.failure_count: must be at least 1")
            if merged.get("interval_minutes", 0) < 0:
                raise _bad("lockout.interval_minutes: must be a number >= 0")
            if not 0 <= merged.get("duration_minutes", 0) <= MAX_LOCK_MINUTES:
                raise _bad(f"lockout.duration_minutes: must be between 0 and {MAX_LOCK_MINUTES:,.0f}")
            changes[name] = dataclasses.replace(realm.config.lockout, **merged)
        else:
            changes[name] = _convert(hints[name], value, name)
    config = _state().update_realm(realm.name, **changes)
    return _reply(settings_json(config))


def settings_keys() -> tuple[str, ...]:
    """The settings PATCH /settings changes (and GET /settings shows)."""
    return tuple(f.name for f in dataclasses.fields(RealmConfig) if f.name not in NOT_SETTINGS)


# -- users --------------------------------------------------------------------------------------


@control_api.get("/users")
def list_users() -> FlaskResponse:
    """A realm's users, seeded ones included, with passwords and lockout state."""
    realm = _realm()
    return _reply([user_json(realm, u) for u in list(realm.users.values())])


@control_api.post("/users")
def add_user() -> FlaskResponse:
    """Add (or replace) a user until the next reset; username and password must not be empty."""
    realm = _realm()
    data = _body()
    user = _built(UserConfig, data)
    for name in ("username", "password"):
        if not getattr(user, name):
            raise _bad(f"{name}: must not be empty")
    if "uid" not in user.attributes:
        user = dataclasses.replace(user, attributes={"uid": user.username, **user.attributes})
    _lockout().clear(realm.name, user.username)
    _state().add_user(user, realm.name)
    return _reply(user_json(realm, user), 201)


def _user(realm: Realm, username: str) -> UserConfig:
    user = realm.users.get(username)
    if user is None:
        raise _missing(f"no user {username!r} in realm {realm.name!r}")
    return user


@control_api.get("/users/<username>")
def get_user(username: str) -> FlaskResponse:
    """One user."""
    realm = _realm()
    return _reply(user_json(realm, _user(realm, username)))


@control_api.patch("/users/<username>")
def patch_user(username: str) -> FlaskResponse:
    """Change a user's account state: ``status`` (``locked`` locks it until unlocked),
    ``password_expired``, ``password``, ``attributes`` (merged; ``null`` removes one), ``unlock``."""
    realm = _realm()
    _user(realm, username)
    data = _body()
    _only(data, USER_PATCH_KEYS, "a user")
    hints = typing.get_type_hints(UserConfig)
    state, lockout = _state(), _lockout()
    with state.lock:
        unlock = data.get("unlock", False)
        if not isinstance(unlock, bool):
            raise _bad(f"unlock: expected true or false, got {unlock!r}")
        changes: dict[str, Any] = {}
        for name in ("password_expired", "password"):
            if name in data:
                changes[name] = _convert(hints[name], data[name], name)
        if "password" in changes and not changes["password"]:
            raise _bad("password: must not be empty")
        if "attributes" in data:
            raw = data["attributes"]
            if not isinstance(raw, Mapping):
                raise _bad("attributes: expected an object")
            attributes = dict(realm.users[username].attributes)
            for key, value in raw.items():
                if value is None:
                    attributes.pop(key, None)
                else:
                    attributes[key] = _convert(
                        typing.get_args(hints["attributes"])[1], value, f"attributes.{key}"
                    )
            changes["attributes"] = attributes
        status = _convert(hints["status"], data["status"], "status") if "status" in data else None
        if unlock:
            lockout.unlock(realm.name, username)
        if status == "locked":
            lockout.lock(realm.name, username)
        elif status is not None:
            lockout.clear(realm.name, username)
            changes["status"] = status
        if changes:
            state.update_user(username, realm.name, **changes)
        return _reply(user_json(realm, realm.users[username]))


@control_api.delete("/users/<username>")
def delete_user(username: str) -> FlaskResponse:
    """Remove a user until the next reset."""
    realm = _realm()
    _user(realm, username)
    _lockout().clear(realm.name, username)
    _state().remove_user(username, realm.name)
    return _reply(None, 204)


# -- clients ------------------------------------------------------------------------------------


@control_api.get("/clients")
def list_clients() -> FlaskResponse:
    """A realm's OAuth 2.0 clients, with secrets."""
    return _reply([client_json(c) for c in list(_realm().clients.values())])


@control_api.post("/clients")
def add_client() -> FlaskResponse:
    """Register (or replace) a client until the next reset."""
    realm = _realm()
    data = _whole_numbers(ClientConfig, _body())
    _lifetimes_fit(data)
    client = _built(ClientConfig, data)
    if not client.client_id:
        raise _bad("client_id: must not be empty")
    _state().add_client(client, realm.name)
    return _reply(client_json(client), 201)


def _client(realm: Realm, client_id: str) -> ClientConfig:
    client = realm.clients.get(client_id)
    if client is None:
        raise _missing(f"no client {client_id!r} in realm {realm.name!r}")
    return client


@control_api.get("/clients/<client_id>")
def get_client(client_id: str) -> FlaskResponse:
    """One client."""
    return _reply(client_json(_client(_realm(), client_id)))


@control_api.delete("/clients/<client_id>")
def delete_client(client_id: str) -> FlaskResponse:
    """Remove a client until the next reset."""
    realm = _realm()
    _client(realm, client_id)
    _state().remove_client(client_id, realm.name)
    return _reply(None, 204)


# -- clock --------------------------------------------------------------------------------------


def _clock_json() -> dict[str, Any]:
    clock = _state().clock
    return {"now": clock.now(), "frozen": clock.frozen}


@control_api.get("/clock")
def get_clock() -> FlaskResponse:
    """The mock's time (epoch seconds), which drives token expiry and lockout."""
    return _reply(_clock_json())


@control_api.post("/clock/advance")
def advance_clock() -> FlaskResponse:
    """Move the mock's clock by ``seconds`` (negative goes back), at most ``MAX_CLOCK_MOVE`` either
    way: a float clock absorbs a move that small near its largest values, so it stays finite."""
    data = _body()
    _only(data, ("seconds",), "clock/advance")
    seconds = data.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise _bad(f"seconds: expected a number, got {seconds!r}")
    if not -MAX_CLOCK_MOVE <= seconds <= MAX_CLOCK_MOVE:
        limit = f"{MAX_CLOCK_MOVE:,.0f}"
        raise _bad(f"seconds: must be between -{limit} and {limit}, got {seconds!r}")
    try:
        _state().clock.advance(float(seconds))
    except ValueError:  # a clock started past every reachable instant (Python API) and pushed over
        raise _bad(f"seconds: the clock would leave every finite instant, got {seconds!r}") from None
    return _reply(_clock_json())


# -- faults -------------------------------------------------------------------------------------


@control_api.get("/faults")
def list_faults() -> FlaskResponse:
    """Every fault queued since the last reset or clear; spent ones have ``remaining: 0``."""
    return _reply([f.as_dict() for f in _faults().all()])


@control_api.post("/faults")
def add_fault() -> FlaskResponse:
    """Queue a fault behind the others; an empty body (or ``{}``) is the default fault, one
    400 ``invalid_grant`` for the next request to AM's surface."""
    data = _whole_numbers(Fault, _body())
    for name in ("retry_after", "content_type"):
        value = data.get(name)
        if isinstance(value, str) and not HEADER_VALUE.fullmatch(value):
            raise _bad(f"{name}: sent as a header, so printable ASCII and not blank, got {value!r}")
    fault = _faults().add(Fault.from_dict(data))
    return _reply(fault.as_dict(), 201)


@control_api.delete("/faults")
def clear_faults() -> FlaskResponse:
    """Remove every fault."""
    _faults().clear()
    return _reply(None, 204)


@control_api.get("/faults/<int:fault_id>")
def get_fault(fault_id: int) -> FlaskResponse:
    """One fault, with how often it fired."""
    fault = _faults().get(fault_id)
    if fault is None:
        raise _missing(f"no fault {fault_id}")
    return _reply(fault.as_dict())


@control_api.delete("/faults/<int:fault_id>")
def delete_fault(fault_id: int) -> FlaskResponse:
    """Remove one fault."""
    if not _faults().remove(fault_id):
        raise _missing(f"no fault {fault_id}")
    return _reply(None, 204)


# -- journal ------------------------------------------------------------------------------------


@control_api.get("/journal")
def journal() -> FlaskResponse:
    """The requests AM's surface received since the last reset, oldest first, secrets redacted;
    ``endpoint`` (one of AM's endpoint names) and ``grant_type`` narrow it, ``limit`` and ``after``
    page it (see :mod:`.journal`)."""
    endpoint = request.args.get("endpoint")
    if endpoint is not None and endpoint not in ENDPOINT_NAMES:
        raise _bad(f"endpoint: {endpoint!r} is not one of {', '.join(ENDPOINT_NAMES)}")
    grant_type = request.args.get("grant_type")

    def keep(c: Call) -> bool:
        return (endpoint is None or c.endpoint == endpoint) and (
            grant_type is None or c.grant_type == grant_type
        )

    first, calls = _state().journal_since()
    try:
        body, headers = journal_page(first, calls, keep, call_json, request.args, request.base_url)
    except PageError as e:
        raise _bad(str(e)) from None
    response = _reply(None, 200, headers)
    response.set_data(body)
    response.content_type = "application/json"
    return response


# -- the description ----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document describing this API, as shipped in the package."""
    text = resources.files("mock_as").joinpath("openapi.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


@control_api.get("/openapi.json")
def openapi() -> FlaskResponse:
    """The OpenAPI document, its server URL pointing at this server."""
    document = dict(openapi_document())
    document["servers"] = [{"url": external_base(request.environ, PREFIX)}]
    return _reply(document)
