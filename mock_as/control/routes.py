"""The control API's routes: each maps a URL to the state, reading with :mod:`.body` and answering
with :mod:`.views`. A new route goes here, its schema in ``openapi.json``."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

from flask import Blueprint, request
from flask import Response as FlaskResponse
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from .. import __version__
from ..config import ClientConfig, LockoutConfig, RealmConfig, UserConfig, from_dict
from ..control_guard import cors, guard
from ..errors import ConfigError
from ..faults import Fault
from ..journal import PageError
from ..journal import page as journal_page
from ..paths import CONTROL_PREFIX, ENDPOINT_NAMES, context_prefix, external_base
from ..state import Call, Realm
from ..store import StoreUnavailable
from .body import ControlError, bad, body, conflict, missing, only, realm, state, whole, whole_numbers
from .views import (
    call_json,
    client_json,
    error_reply,
    reply,
    settings_json,
    settings_keys,
    token_json,
    user_json,
)

__all__ = ["PREFIX", "USER_PATCH_KEYS", "control_api", "openapi_document", "settings_keys"]

PREFIX = CONTROL_PREFIX
log = logging.getLogger("mock_as")

control_api = Blueprint("mock_as_control", __name__, url_prefix=PREFIX)
control_api.before_app_request(guard)  # first: a refused request reaches nothing else
control_api.after_app_request(cors)

USER_PATCH_KEYS = ("status", "password_expired", "password", "attributes", "unlock")
# How far one call may move the clock, either way (about 31,700 years): however often it is moved,
# the clock then stays a finite instant.
MAX_CLOCK_MOVE = 1e12


def _built(cls: type[Any], data: Any) -> Any:
    """A model from a JSON body, checked by the model itself."""
    try:
        return from_dict(cls, whole_numbers(cls, data))
    except ConfigError as e:
        raise bad(str(e)) from None


def _replace(
    cls: type[Any], key: str, name: str, registry: Mapping[str, Any], store: Callable[[Any], Any]
) -> tuple[Any, int]:
    """A ``PUT …/<name>``: the model its body sends (``key`` comes from the path), stored in place of
    ``registry``'s entry of that name; the stored model and 201 if it is new, else 200."""
    data = body()
    if key in data:
        raise bad(f"{key}: unknown key (the path names it)")
    model = _built(cls, {**data, key: name})
    with state().lock:
        new = name not in registry
        return store(model), 201 if new else 200


def _taken(kind: str, name: str, where: Realm) -> ControlError:
    """409 for adding what exists."""
    return conflict(
        f"{kind} {name!r} exists in realm {where.name!r}; PUT {PREFIX}/{kind}s/{name} replaces it, PATCH changes it"
    )


# -- errors -------------------------------------------------------------------------------------


@control_api.errorhandler(ControlError)
def _control_error(e: ControlError) -> FlaskResponse:
    return error_reply(e)


@control_api.errorhandler(ConfigError)
def _config_error(e: ConfigError) -> FlaskResponse:
    return error_reply(bad(str(e)))


@control_api.errorhandler(HTTPException)
def _http_error(e: HTTPException) -> FlaskResponse:
    code = e.code or 400
    return error_reply(
        ControlError(code, "invalid_request" if code < 500 else "server_error", e.description or e.name)
    )


@control_api.errorhandler(StoreUnavailable)
def _store_down(e: StoreUnavailable) -> FlaskResponse:
    log.warning("mock_as: control API %s %s answered 503: %s", request.method, request.path, e)
    return error_reply(
        ControlError(503, "temporarily_unavailable", "the state store did not answer"), {"Retry-After": "1"}
    )


@control_api.errorhandler(Exception)
def _unexpected(e: Exception) -> FlaskResponse:
    log.exception("mock_as: control API error on %s %s", request.method, request.path)
    return error_reply(ControlError(500, "server_error", "internal error in the mock's control API"))


@control_api.before_app_request
def _routing_errors() -> FlaskResponse | None:
    """Unknown routes and methods under the reserved path answer in the control API's format;
    every other path keeps the app's own answers."""
    exc = request.routing_exception
    if exc is None or not (request.path == PREFIX or request.path.startswith(PREFIX + "/")):
        return None
    if isinstance(exc, MethodNotAllowed):
        allowed = ", ".join(sorted(exc.valid_methods or ()))
        return error_reply(
            ControlError(405, "method_not_allowed", f"{request.method} is not allowed here; use {allowed}"),
            {"Allow": allowed},
        )
    if isinstance(exc, NotFound):
        return error_reply(missing(f"no control route {request.path}; see {PREFIX}/openapi.json"))
    return None  # a redirect (trailing slash) goes its own way


# -- the whole state ----------------------------------------------------------------------------


def _status() -> dict[str, Any]:
    st = state()
    return {"seed": st.seed, "now": st.clock.now(), "realms": sorted(st.realms)}


@control_api.get("/")
def index() -> FlaskResponse:
    """Where things are: AM's base URL on this server, the OpenAPI document, the seed."""
    return reply(
        {
            "name": "mock-as",
            "version": __version__,
            "am_base_url": external_base(request.environ, context_prefix(state().config.context_path)),
            "openapi": f"{PREFIX}/openapi.json",
            **_status(),
        }
    )


@control_api.post("/reset")
def reset() -> FlaskResponse:
    """Back to the seeded start: users, clients, settings, tokens, clock, journal, faults, locks."""
    only(body(), (), "reset")
    state().reset()
    return reply(_status())


@control_api.post("/reseed")
def reseed() -> FlaskResponse:
    """Start again from another seed (other fake users, other token strings); the seed's bounds
    are :class:`MockASConfig`'s."""
    data = body()
    only(data, ("seed",), "reseed")
    seed = whole(data.get("seed"))
    if seed is None:
        raise bad("seed: expected an integer, got nothing")
    state().reseed(seed)
    return reply(_status())


# -- realms and their settings ------------------------------------------------------------------


@control_api.get("/realms")
def list_realms() -> FlaskResponse:
    """Every realm with its provider settings."""
    return reply([{"name": r.name, "settings": settings_json(r.config)} for r in state().realms.values()])


@control_api.get("/settings")
def get_settings() -> FlaskResponse:
    """A realm's provider settings (lifetimes, module messages, lockout …)."""
    return reply(settings_json(realm().config))


@control_api.patch("/settings")
def patch_settings() -> FlaskResponse:
    """Change some of a realm's settings until the next reset; ``lockout`` is merged key by key.
    An empty body (or ``{}``) changes nothing and answers the settings as they are."""
    where = realm()
    data = body()
    only(data, settings_keys(), "settings")
    changes = whole_numbers(RealmConfig, data)
    if "lockout" in changes:
        lockout = changes["lockout"]
        if not isinstance(lockout, dict):
            raise bad("lockout: expected an object")
        only(lockout, tuple(f.name for f in dataclasses.fields(LockoutConfig)), "lockout")
        current = dataclasses.asdict(where.config.lockout)
        changes["lockout"] = {**current, **whole_numbers(LockoutConfig, lockout)}
    config = state().update_realm(where.name, **changes)
    return reply(settings_json(config))


# -- users --------------------------------------------------------------------------------------


def _user(where: Realm, username: str) -> UserConfig:
    user = where.users.get(username)
    if user is None:
        raise missing(f"no user {username!r} in realm {where.name!r}")
    return user


def _put_user(where: Realm, user: UserConfig) -> UserConfig:
    if "uid" not in user.attributes:
        user = dataclasses.replace(user, attributes={"uid": user.username, **user.attributes})
    st = state()
    st.lockout.clear(where.name, user.username)
    return st.add_user(user, where.name)


@control_api.get("/users")
def list_users() -> FlaskResponse:
    """A realm's users, seeded ones included, with passwords and lockout state."""
    st = state()
    with st.lock:  # one consistent view: a reset or reseed elsewhere replaces the users wholesale
        where = realm()
        users = [user_json(st.lockout, where, u) for u in list(where.users.values())]
    return reply(users)


@control_api.post("/users")
def add_user() -> FlaskResponse:
    """Add a user until the next reset; 409 if the realm has one of that name (``PUT`` replaces it)."""
    where = realm()
    user: UserConfig = _built(UserConfig, body())
    with state().lock:
        if user.username in where.users:
            raise _taken("user", user.username, where)
        user = _put_user(where, user)
    return reply(user_json(state().lockout, where, user), 201)


@control_api.put("/users/<username>")
def put_user(username: str) -> FlaskResponse:
    """Add or replace a user (attributes, status and lockout start afresh); 201 if it is new."""
    where = realm()
    user, status = _replace(UserConfig, "username", username, where.users, lambda u: _put_user(where, u))
    return reply(user_json(state().lockout, where, user), status)


@control_api.get("/users/<username>")
def get_user(username: str) -> FlaskResponse:
    """One user."""
    where = realm()
    return reply(user_json(state().lockout, where, _user(where, username)))


@control_api.patch("/users/<username>")
def patch_user(username: str) -> FlaskResponse:
    """Change a user's account state: ``status`` (``locked`` locks it until unlocked),
    ``password_expired``, ``password``, ``attributes`` (merged; ``null`` removes one), ``unlock``."""
    where = realm()
    user = _user(where, username)
    data = body()
    only(data, USER_PATCH_KEYS, "a user")
    st = state()
    with st.lock:
        unlock = data.get("unlock", False)
        if not isinstance(unlock, bool):
            raise bad(f"unlock: expected true or false, got {unlock!r}")
        changes: dict[str, Any] = {
            k: data[k] for k in ("password_expired", "password", "status") if k in data
        }
        if "attributes" in data:
            raw = data["attributes"]
            if not isinstance(raw, dict):
                raise bad("attributes: expected an object")
            attributes = {**user.attributes, **raw}
            changes["attributes"] = {k: v for k, v in attributes.items() if v is not None}
        # the model checks every value before anything changes
        checked = dataclasses.replace(user, **changes)
        status = changes.pop("status", None)
        if unlock:
            st.lockout.unlock(where.name, username)
        if status == "locked":
            st.lockout.lock(where.name, username)
        elif status is not None:
            st.lockout.clear(where.name, username)
            changes["status"] = checked.status
        if changes:
            st.update_user(username, where.name, **changes)
        return reply(user_json(st.lockout, where, where.users[username]))


@control_api.delete("/users/<username>")
def delete_user(username: str) -> FlaskResponse:
    """Remove a user until the next reset."""
    where = realm()
    _user(where, username)
    state().lockout.clear(where.name, username)
    state().remove_user(username, where.name)
    return reply(None, 204)


# -- clients ------------------------------------------------------------------------------------


def _client(where: Realm, client_id: str) -> ClientConfig:
    client = where.clients.get(client_id)
    if client is None:
        raise missing(f"no client {client_id!r} in realm {where.name!r}")
    return client


@control_api.get("/clients")
def list_clients() -> FlaskResponse:
    """A realm's OAuth 2.0 clients, with secrets."""
    return reply([client_json(c) for c in list(realm().clients.values())])


@control_api.post("/clients")
def add_client() -> FlaskResponse:
    """Register a client until the next reset; 409 if the realm has one of that id (``PUT``
    replaces it, ``PATCH`` changes it)."""
    where = realm()
    client: ClientConfig = _built(ClientConfig, body())
    with state().lock:
        if client.client_id in where.clients:
            raise _taken("client", client.client_id, where)
        state().add_client(client, where.name)
    return reply(client_json(client), 201)


@control_api.put("/clients/<client_id>")
def put_client(client_id: str) -> FlaskResponse:
    """Register or replace a client; 201 if it is new."""
    where = realm()
    client, status = _replace(
        ClientConfig, "client_id", client_id, where.clients, lambda c: state().add_client(c, where.name)
    )
    return reply(client_json(client), status)


@control_api.patch("/clients/<client_id>")
def patch_client(client_id: str) -> FlaskResponse:
    """Change some of a client's settings until the next reset."""
    where = realm()
    data = body()
    only(data, tuple(f.name for f in dataclasses.fields(ClientConfig) if f.name != "client_id"), "a client")
    with state().lock:
        client = dataclasses.replace(_client(where, client_id), **whole_numbers(ClientConfig, data))
        state().add_client(client, where.name)
    return reply(client_json(client))


@control_api.get("/clients/<client_id>")
def get_client(client_id: str) -> FlaskResponse:
    """One client."""
    return reply(client_json(_client(realm(), client_id)))


@control_api.delete("/clients/<client_id>")
def delete_client(client_id: str) -> FlaskResponse:
    """Remove a client until the next reset."""
    where = realm()
    _client(where, client_id)
    state().remove_client(client_id, where.name)
    return reply(None, 204)


# -- tokens -------------------------------------------------------------------------------------


@control_api.get("/tokens")
def list_tokens() -> FlaskResponse:
    """The live tokens (neither expired nor revoked), oldest first; ``realm``, ``client_id`` and
    ``username`` narrow them."""
    st = state()
    now = st.clock.now()
    wanted = {k: request.args[k] for k in ("client_id", "username") if k in request.args}
    realm_name = realm().name if "realm" in request.args else None
    with st.lock:
        tokens = [t for t in st.tokens.values() if not t.expired(now)]
    chosen = [
        t
        for t in sorted(tokens, key=lambda t: t.issued_at)
        if (realm_name is None or t.realm == realm_name)
        and all(getattr(t, k) == v for k, v in wanted.items())
    ]
    return reply([token_json(t, now) for t in chosen])


# -- clock --------------------------------------------------------------------------------------


def _clock_json() -> dict[str, Any]:
    clock = state().clock
    return {"now": clock.now(), "frozen": clock.frozen}


@control_api.get("/clock")
def get_clock() -> FlaskResponse:
    """The mock's time (epoch seconds), which drives token expiry and lockout."""
    return reply(_clock_json())


@control_api.post("/clock/advance")
def advance_clock() -> FlaskResponse:
    """Move the mock's clock by ``seconds`` (negative goes back), at most ``MAX_CLOCK_MOVE`` either
    way: a float clock absorbs a move that small near its largest values, so it stays finite."""
    data = body()
    only(data, ("seconds",), "clock/advance")
    seconds = data.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise bad(f"seconds: expected a number, got {seconds!r}")
    if not -MAX_CLOCK_MOVE <= seconds <= MAX_CLOCK_MOVE:
        limit = f"{MAX_CLOCK_MOVE:,.0f}"
        raise bad(f"seconds: must be between -{limit} and {limit}, got {seconds!r}")
    try:
        state().clock.advance(float(seconds))
    except ValueError:  # a clock started past every reachable instant (Python API) and pushed over
        raise bad(f"seconds: the clock would leave every finite instant, got {seconds!r}") from None
    return reply(_clock_json())


# -- faults -------------------------------------------------------------------------------------


@control_api.get("/faults")
def list_faults() -> FlaskResponse:
    """Every fault queued since the last reset or clear; spent ones have ``remaining: 0``."""
    return reply([f.as_dict() for f in state().faults.all()])


@control_api.post("/faults")
def add_fault() -> FlaskResponse:
    """Queue a fault behind the others; an empty body (or ``{}``) is the default fault, one
    400 ``invalid_grant`` for the next request to AM's surface."""
    fault = state().faults.add(Fault.from_dict(whole_numbers(Fault, body())))
    return reply(fault.as_dict(), 201)


@control_api.delete("/faults")
def clear_faults() -> FlaskResponse:
    """Remove every fault."""
    state().faults.clear()
    return reply(None, 204)


@control_api.get("/faults/<int:fault_id>")
def get_fault(fault_id: int) -> FlaskResponse:
    """One fault, with how often it fired."""
    fault = state().faults.get(fault_id)
    if fault is None:
        raise missing(f"no fault {fault_id}")
    return reply(fault.as_dict())


@control_api.delete("/faults/<int:fault_id>")
def delete_fault(fault_id: int) -> FlaskResponse:
    """Remove one fault."""
    if not state().faults.remove(fault_id):
        raise missing(f"no fault {fault_id}")
    return reply(None, 204)


# -- journal ------------------------------------------------------------------------------------


@control_api.get("/journal")
def journal() -> FlaskResponse:
    """The requests AM's surface received since the last reset, oldest first, secrets redacted;
    ``endpoint`` (one of AM's endpoint names) and ``grant_type`` narrow it, ``limit`` and ``after``
    page it (see :mod:`mock_as.journal`)."""
    endpoint = request.args.get("endpoint")
    if endpoint is not None and endpoint not in ENDPOINT_NAMES:
        raise bad(f"endpoint: {endpoint!r} is not one of {', '.join(ENDPOINT_NAMES)}")
    grant_type = request.args.get("grant_type")

    def keep(c: Call) -> bool:
        return (endpoint is None or c.endpoint == endpoint) and (
            grant_type is None or c.grant_type == grant_type
        )

    first, calls = state().journal_since()
    try:
        page, headers = journal_page(first, calls, keep, call_json, request.args, request.base_url)
    except PageError as e:
        raise bad(str(e)) from None
    response = reply(None, 200, headers)
    response.set_data(page)
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
    return reply(document)
