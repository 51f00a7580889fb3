"""AM's REST surface, ``<context>/json/…``: login, SSO sessions, users and server information
(reference am-journeys §1, §2, §4).

* ``authenticate``: zero-page login with ``X-OpenAM-Username``/``X-OpenAM-Password`` and the
  callbacks protocol (NameCallback, PasswordCallback), over the same password check, users,
  services and lockout as the password grant (:mod:`~mock_as.login`). Success opens an SSO session
  (:mod:`~mock_as.sessions`) and sets its cookie.
* ``sessions``: ``validate``, ``getSessionInfo`` (and ``…AndResetIdleTime``),
  ``getSessionProperties``, ``refresh``, ``logout``, ``logoutByHandle``.
* ``users``: ``?_action=idFromSession`` and a user's own ``GET users/<id>``.
* ``serverinfo/*`` and ``serverinfo/version``.

Every resource picks its version from ``Accept-API-Version`` as CREST does (the newest minor
version of the requested major; the newest of all without the header) and answers errors in CREST's
``{"code", "reason", "message"}`` shape, except ``authenticate`` 1.x: ``{"errorMessage"}``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .errors import JSON_TYPE, RestError, compact_json, json_body
from .login import Outcome, check_password
from .paths import JSON, JSON_ENDPOINTS, context_prefix, parse_json_path
from .protocol import Handler, Response, Route, Surface
from .sessions import Session

if TYPE_CHECKING:
    from .config import ServiceConfig, UserConfig
    from .protocol import Exchange
    from .state import Realm, State

Version = tuple[int, int]

# The resource versions AM routes (F1.5, F2.1, F2.6, F2.8, F2.31, F2.35): a request for ``major.minor``
# gets the newest ``major.x`` with ``x >= minor``.
AUTHENTICATE_VERSIONS: tuple[Version, ...] = ((1, 2), (2, 1))
SESSIONS_VERSIONS: tuple[Version, ...] = ((1, 2), (2, 1), (3, 1), (4, 0), (5, 1))
USERS_VERSIONS: tuple[Version, ...] = ((1, 2), (2, 1), (3, 0))
SERVERINFO_VERSIONS: tuple[Version, ...] = ((1, 1),)

AUTH_ID_LIFETIME = 900  # seconds between iat and exp of a real authId (F1.33)
NO_TOKEN = "iPlanetDirectoryCookie not set on request"
ACCESS_DENIED = "Access Denied"
NOT_JSON = "The request could not be processed because the provided content is not valid JSON"
# The version the mock reports at serverinfo/version.
AM_VERSION = "7.5.0"
AM_FULL_VERSION = "ForgeRock Access Management 7.5.0 Build mock-as (2024-March-01 00:00)"
EXPIRED_COOKIE = "Expires=Thu, 01 Jan 1970 00:00:00 GMT"
# authIndexType values AM documents (F1.19); only ``service`` selects by name here.
AUTH_INDEX_TYPES = frozenset(
    {"service", "composite_advice", "composite", "level", "module", "resource", "role", "user"}
)


# -- versions, tokens, bodies ---------------------------------------------------------------------


def _requested(x: Exchange) -> Version | None:
    """The resource version ``Accept-API-Version`` asks for (``None``: none asked)."""
    raw = x.headers.get("accept-api-version")
    if raw is None:
        return None
    for part in raw.split(","):
        key, sep, value = part.strip().partition("=")
        if key.strip().lower() != "resource":
            continue
        match = re.fullmatch(r"\s*(\d{1,6})(?:\.(\d{1,6}))?\s*", value) if sep else None
        if match is None:
            raise RestError(400, f"Malformed Accept-API-Version header: resource={value.strip()}")
        return int(match.group(1)), int(match.group(2) or 0)
    return None


def negotiate(x: Exchange, available: tuple[Version, ...]) -> Version:
    """The version of a resource that answers ``x`` (F1.8, F1.10, F1.11)."""
    asked = _requested(x)
    if asked is None:
        return available[-1]  # AM's default version behaviour: Latest
    fits = [v for v in available if v[0] == asked[0] and v[1] >= asked[1]]
    if not fits:
        shown = f"{asked[0]}.{asked[1]}"
        raise RestError(404, f'Accept-API-Version: Requested version "{shown}" does not match any routes.')
    return fits[-1]


def _content_version(version: Version) -> tuple[str, str]:
    return ("Content-API-Version", f"resource={version[0]}.{version[1]}")


def cookie_value(headers: Mapping[str, str], name: str) -> str | None:
    """The value of cookie ``name`` in the request's ``Cookie`` header."""
    for part in headers.get("cookie", "").split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key.strip() == name:
            return value.strip().strip('"') or None
    return None


def caller_token(x: Exchange) -> str | None:
    """The caller's SSO token: the session cookie, else the header named after it (F1.62)."""
    name = x.state.config.cookie_name
    return cookie_value(x.headers, name) or x.headers.get(name.lower()) or None


def _check_csrf(x: Exchange) -> None:
    """AM's CSRF filter (F1.13): a state-changing request that carries the session cookie must also
    carry ``X-Requested-With`` or ``Accept-API-Version``."""
    if x.method in ("GET", "HEAD", "OPTIONS"):
        return
    if cookie_value(x.headers, x.state.config.cookie_name) is None:
        return
    if "x-requested-with" not in x.headers and "accept-api-version" not in x.headers:
        raise RestError(403, "Forbidden")


def _json_object(x: Exchange, *, strict_media: bool) -> dict[str, Any]:
    """The JSON object in the body (``{}`` for none). With ``strict_media`` a non-empty body must
    be ``application/json`` (F1.16)."""
    raw = x.body.strip()
    if not raw:
        return {}
    if strict_media and x.media_type != "application/json":
        raise RestError(415, "Unsupported Media Type")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        raise RestError(400, NOT_JSON) from None
    if not isinstance(data, dict):
        raise RestError(400, NOT_JSON)
    return data


def _iso(instant: float) -> str:
    return datetime.fromtimestamp(int(instant), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def universal_id(realm: str, username: str) -> str:
    """A user's universal id (DN) as AM writes it: ``id=demo,ou=user,dc=openam,dc=forgerock,dc=org``
    in the top realm, ``…,o=<sub>,ou=services,…`` below it."""
    parts = [p for p in realm.split("/") if p]
    where = "".join(f"o={p}," for p in reversed(parts)) + ("ou=services," if parts else "")
    return f"id={username},ou=user,{where}dc=openam,dc=forgerock,dc=org"


def _answer(status: int, payload: Mapping[str, Any], version: Version, *extra: tuple[str, str]) -> Response:
    headers = (*JSON_TYPE, ("Cache-Control", "no-store"), _content_version(version), *extra)
    return Response(status, headers, json_body(payload))


def _note(x: Exchange, **values: str | None) -> None:
    """What the journal records of a JSON request besides its query (secrets are masked there)."""
    for key, value in values.items():
        if value is not None:
            x.notes[key] = value


# -- the session cookie ---------------------------------------------------------------------------


def session_cookie(state: State, token_id: str, *, secure: bool) -> str:
    """The ``Set-Cookie`` value of a new session: ``iPlanetDirectoryPro=<token>; Path=/; HttpOnly``
    (F1.58); over HTTPS also ``Secure; SameSite=None`` as Identity Cloud sends it (F1.58, F1.59)."""
    cookie = f"{state.config.cookie_name}={token_id}; Path=/; HttpOnly"
    return cookie + "; Secure; SameSite=None" if secure else cookie


def cleared_cookie(state: State) -> str:
    """The ``Set-Cookie`` value that ends the session cookie at logout (F2.24)."""
    return f'{state.config.cookie_name}=""; {EXPIRED_COOKIE}; Path=/'


def _secure(x: Exchange) -> bool:
    return x.base_url.startswith("https://")


# -- authId: the in-progress login, signed and expiring --------------------------------------------


def _auth_id_key(state: State) -> bytes:
    return hashlib.sha256(f"mock-as authId:{state.seed}".encode()).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_auth_id(x: Exchange, realm: Realm, service: ServiceConfig) -> str:
    """An HS256 JWT with AM's authId claims (F1.33), valid for 15 minutes on the mock's clock."""
    state = x.state
    iat = int(x.now)
    claims = {
        "authIndexValue": service.name,
        "otk": state.random.token(),
        "authIndexType": "service",
        "realm": realm.name,
        "sessionId": state.random.token(),
        "iat": iat,
        "exp": iat + AUTH_ID_LIFETIME,
    }
    head = _b64(b'{"typ":"JWT","alg":"HS256"}') + "." + _b64(compact_json(claims).encode())
    signature = hmac.new(_auth_id_key(state), head.encode("ascii"), hashlib.sha256).digest()
    return head + "." + _b64(signature)


def read_auth_id(x: Exchange, auth_id: object) -> dict[str, Any]:
    """The claims of an authId this mock signed; AM's errors for a forged or expired one."""
    if not isinstance(auth_id, str) or auth_id.count(".") != 2 or len(auth_id) > 4096:
        raise RestError(400, "Failed to parse JWT")
    head, _, signature = auth_id.rpartition(".")
    payload = head.partition(".")[2]
    try:
        given = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, binascii.Error, RecursionError):
        raise RestError(400, "Failed to parse JWT") from None
    expected = hmac.new(_auth_id_key(x.state), head.encode("ascii", "replace"), hashlib.sha256).digest()
    if not hmac.compare_digest(given, expected):
        raise RestError(400, "AuthId JWT Signature not valid")
    if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int):
        raise RestError(400, "Failed to parse JWT")
    if x.now >= claims["exp"]:
        raise RestError(401, "Session has timed out", detail={"errorCode": "110"})  # F1.47
    return claims


# -- authenticate ---------------------------------------------------------------------------------

_PROMPTS = (("NameCallback", "User Name"), ("PasswordCallback", "Password"))


def _callbacks(tree: bool) -> list[dict[str, Any]]:
    """NameCallback ``IDToken1`` and PasswordCallback ``IDToken2`` in AM's JSON (F1.32)."""
    out: list[dict[str, Any]] = []
    for i, (kind, prompt) in enumerate(_PROMPTS):
        callback: dict[str, Any] = {
            "type": kind,
            "output": [{"name": "prompt", "value": prompt}],
            "input": [{"name": f"IDToken{i + 1}", "value": ""}],
        }
        if tree:
            callback["_id"] = i
        out.append(callback)
    return out


def _submitted(body: Mapping[str, Any]) -> tuple[str, str]:
    """Username and password from a callback submission; AM's chain errors for the wrong callbacks
    (F1.36). Top-level keys other than ``authId`` and ``callbacks`` are ignored (F1.35)."""
    callbacks = body.get("callbacks")
    if not isinstance(callbacks, list) or len(callbacks) != len(_PROMPTS):
        raise RestError(400, "Incorrect number of callbacks found in JSON response")
    values: list[str] = []
    for callback, (kind, _) in zip(callbacks, _PROMPTS, strict=True):
        if not isinstance(callback, dict) or callback.get("type") != kind:
            raise RestError(400, "Required callback not found in JSON response")
        inputs = callback.get("input")
        if not isinstance(inputs, list) or not inputs or not isinstance(inputs[0], dict):
            raise RestError(400, f"Invalid input for {kind}")
        value = inputs[0].get("value", "")
        if not isinstance(value, str):
            raise RestError(400, f"Invalid input for {kind}")
        values.append(value)
    return values[0], values[1]


_ENCODED_WORD = "=?"


def decode_header_value(raw: str) -> str:
    """An ``X-OpenAM-*`` header's text: RFC 2047 encoded words decoded (F1.28); raw UTF-8 (which
    arrives read as Latin-1) read as UTF-8."""
    if _ENCODED_WORD in raw:
        try:
            return str(make_header(decode_header(raw)))
        except (ValueError, LookupError, HeaderParseError):
            raise RestError(400, "Invalid encoded header value") from None
    try:
        return raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return raw


def _service_for(x: Exchange, realm: Realm) -> ServiceConfig:
    """The service ``authIndexType``/``authIndexValue`` select, else the realm's default (F1.18-F1.21)."""
    kind = x.query_params.get("authIndexType")
    value = x.query_params.get("authIndexValue")
    if kind is not None and kind not in AUTH_INDEX_TYPES:
        raise RestError(400, "Unknown Authentication Index Type")
    name = value if kind == "service" and value else realm.config.org_auth_service
    service = realm.services.get(name)
    if service is None:
        raise RestError(400, "No Configuration found")
    return service


def _warning(x: Exchange, realm: Realm, user: UserConfig | None) -> RestError | None:
    """The tree's lockout warning once the realm's ``warn_after`` failures are reached (F1.52)."""
    settings = realm.config.lockout
    if user is None or not settings.enabled or not settings.warn_after or user.status == "locked":
        return None
    failures = x.state.lockout.state_of(realm.name, user.username).failures
    if failures < settings.warn_after:
        return None
    left = settings.failure_count - failures
    message = f"Warning: You will be locked out after {left} more failure(s)."
    return RestError(401, message, detail={"failureUrl": ""})


def _failure(service: ServiceConfig, outcome: Outcome) -> RestError:
    """The 401 a tree or a chain answers a failed login with (F1.44-F1.46, F1.52-F1.55)."""
    if service.kind == "tree":
        locked = outcome in (Outcome.LOCKED, Outcome.INACTIVE)
        return RestError(401, "User Locked Out." if locked else "Login failure")
    messages = {Outcome.LOCKED: "Your account has been locked.", Outcome.INACTIVE: "User not Active"}
    return RestError(401, messages.get(outcome, "Authentication Failed"))


def _log_in(
    x: Exchange, realm: Realm, service: ServiceConfig, username: str, password: str, version: Version
) -> Response:
    _note(x, username=username, password="***")
    result = check_password(x.state, realm, service, username, password, x.now)
    if not result.ok or result.user is None:
        if service.kind == "tree" and result.outcome is Outcome.BAD_CREDENTIALS:
            warning = _warning(x, realm, result.user)
            if warning is not None:
                raise warning
        raise _failure(service, result.outcome)
    success_url = context_prefix(x.state.config.context_path) + "/console"
    if x.query_params.get("noSession") == "true":
        return _answer(200, {"successUrl": success_url, "realm": realm.name}, version)
    session = x.state.sessions.create(realm, result.user.username, service.name, x.now)
    body = {"tokenId": session.token_id, "successUrl": success_url, "realm": realm.name}
    cookie = session_cookie(x.state, session.token_id, secure=_secure(x))
    return _answer(200, body, version, ("Set-Cookie", cookie))


def _step(x: Exchange, realm: Realm, service: ServiceConfig, version: Version) -> Response:
    tree = service.kind == "tree"
    body: dict[str, Any] = {"authId": make_auth_id(x, realm, service)}
    if not tree:  # a chain's step also names its template, stage and header (F1.31)
        body.update(template="", stage="DataStore1", header="Sign in")
    body["callbacks"] = _callbacks(tree)
    return _answer(200, body, version)


def _authenticate(x: Exchange, version: Version) -> Response:
    if x.method != "POST":
        raise RestError(405, "Method Not Allowed")
    body = _json_object(x, strict_media=True)
    auth_id = body.get("authId")
    if auth_id is not None:  # a continuation: realm and service come from the authId (F1.22)
        claims = read_auth_id(x, auth_id)
        realm = x.state.realms.get(str(claims.get("realm")))
        service = None if realm is None else realm.services.get(str(claims.get("authIndexValue")))
        if realm is None or service is None:
            raise RestError(400, "No Configuration found")
        x.realm = realm
        username, password = _submitted(body)
        return _log_in(x, realm, service, username, password, version)
    realm = x.realm
    assert realm is not None
    service = _service_for(x, realm)
    raw_user = x.headers.get("x-openam-username")
    raw_password = x.headers.get("x-openam-password")
    if raw_user is not None and raw_password is not None:  # zero-page login (F1.25, F1.26)
        return _log_in(
            x, realm, service, decode_header_value(raw_user), decode_header_value(raw_password), version
        )
    return _step(x, realm, service, version)


class LegacyAuthError(RestError):
    """``authenticate`` 1.x errors: ``{"errorMessage": …}`` (F1.6, F1.7)."""

    def body(self) -> bytes:
        return json_body({"errorMessage": self.message})


def authenticate(x: Exchange) -> Response:
    """``POST …/json/realms/root[/realms/<sub>]/authenticate``: start, continue or finish a login."""
    version = negotiate(x, AUTHENTICATE_VERSIONS)
    try:
        return _authenticate(x, version)
    except RestError as e:
        headers = (*e.headers, _content_version(version))
        if version[0] == 1:
            raise LegacyAuthError(e.status, e.message, headers=headers) from None
        raise RestError(e.status, e.message, detail=e.detail, headers=headers) from None


def _unsupported(action: str) -> RestError:
    """An action the resource does not have. CREST's NotSupportedException would be a 501 (reference
    F2.3, status UNCONFIRMED); the mock answers bad input with a 4xx, so 400 with AM's message."""
    if not action:
        return RestError(400, "Missing _action parameter")
    return RestError(400, f"Action {action} not implemented for this resource")


# -- sessions -------------------------------------------------------------------------------------


def _session_info(x: Exchange, session: Session) -> dict[str, Any]:
    """getSessionInfo's answer (F2.14)."""
    return {
        "username": session.username,
        "universalId": universal_id(session.realm, session.username),
        "realm": session.realm,
        "latestAccessTime": _iso(session.last_access),
        "maxIdleExpirationTime": _iso(session.idle_expires_at),
        "maxSessionExpirationTime": _iso(session.expires_at),
        "properties": dict(session.properties),
    }


def _refreshed(x: Exchange, session: Session) -> dict[str, Any]:
    """refresh's answer in OpenAM's shape (F2.18): idle seconds, limits in minutes, seconds left."""
    return {
        "uid": session.username,
        "realm": session.realm,
        "idletime": int(x.now - session.last_access),
        "maxidletime": int(session.max_idle // 60),
        "maxsessiontime": int(session.max_time // 60),
        "maxtime": max(0, int(session.expires_at - x.now)),
    }


# Actions by the lowest major version that has them (F2.1, F2.6).
_SESSION_ACTIONS: Mapping[str, int] = {
    "validate": 1,
    "logout": 1,
    "getSessionInfo": 2,
    "getSessionInfoAndResetIdleTime": 2,
    "getSessionProperties": 2,
    "refresh": 2,
    "logoutByHandle": 2,
}
# OpenAM's 1.x timing actions (F2.19): what each answers for a live session.
_LEGACY_ACTIONS = ("isActive", "getIdle", "getMaxIdle", "getMaxSessionTime", "getMaxTime", "getTimeLeft")


def _legacy(x: Exchange, action: str, session: Session | None) -> dict[str, Any]:
    if action == "isActive":
        if session is not None and x.query_params.get("refresh") == "true":
            x.state.sessions.get(session.token_id, x.now, touch=True)
        return {"active": session is not None}
    if session is None:
        return {"valid": False}
    if action == "getIdle":
        return {"idletime": int(x.now - session.last_access)}
    if action == "getMaxIdle":
        return {"maxidletime": int(session.max_idle // 60)}
    if action == "getMaxSessionTime":
        return {"maxsessiontime": int(session.max_time // 60)}
    return {"maxtime": max(0, int(session.expires_at - x.now))}  # getMaxTime, getTimeLeft


def sessions(x: Exchange) -> Response:
    """``POST …/json/realms/…/sessions[/][<tokenId>]?_action=…`` (reference §2.1-§2.6)."""
    version = negotiate(x, SESSIONS_VERSIONS)
    if x.method != "POST":
        raise RestError(405, "Method Not Allowed")
    action = x.query_params.get("_action", "")
    legacy = action in _LEGACY_ACTIONS
    if version[0] != 1 if legacy else _SESSION_ACTIONS.get(action, 99) > version[0]:
        raise _unsupported(action)
    body = _json_object(x, strict_media=False)
    state = x.state
    caller = caller_token(x)
    named = body.get("tokenId")
    explicit = (
        (x.args[0] if x.args else None)
        or x.query_params.get("tokenId")
        or (named if isinstance(named, str) else None)
    )
    target = explicit or caller
    _note(x, tokenId="***" if target else None)
    if x.args:  # the 1.x form names the token in the path: the journal must not show it
        x.path = x.path[: x.path.rindex(x.args[0])] + "***"
    if action == "validate":  # needs no caller session (F2.2, F2.10-F2.13)
        if target is None:
            raise RestError(400, NO_TOKEN)
        session = state.sessions.get(target, x.now, touch=True)
        if session is None:
            return _answer(200, {"valid": False}, version)
        payload = {
            "valid": True,
            "sessionUid": session.properties.get("AMCtxId", session.handle),
            "uid": session.username,
            "realm": session.realm,
        }
        return _answer(200, payload, version)
    authenticated = state.sessions.get(caller, x.now) or state.sessions.get(explicit, x.now)
    if authenticated is None:
        raise RestError(401, ACCESS_DENIED)  # F2.23
    session = state.sessions.get(target, x.now)
    if legacy:
        return _answer(200, _legacy(x, action, session), version)
    if action == "logout":
        if session is None:
            return _answer(200, {"result": "Token has expired"}, version)  # F2.22
        state.sessions.end(session.token_id)
        result = {"result": "Successfully logged out"}
        return _answer(200, result, version, ("Set-Cookie", cleared_cookie(state)))
    if action == "logoutByHandle":
        handles = body.get("sessionHandles")
        if not isinstance(handles, list) or not all(isinstance(h, str) for h in handles):
            raise RestError(400, "sessionHandles: expected a list of session handles")
        ended: dict[str, bool] = {}
        for handle in handles:
            found = state.sessions.by_handle(handle)
            ended[handle] = found is not None and state.sessions.end(found.token_id) is not None
        return _answer(200, {"result": ended}, version)
    if session is None:
        return _answer(200, {"valid": False}, version)  # F2.16, F2.18
    if action == "getSessionInfo":
        return _answer(200, _session_info(x, session), version)  # does not reset idle time (F2.15)
    if action == "getSessionInfoAndResetIdleTime":
        state.sessions.get(session.token_id, x.now, touch=True)
        return _answer(200, _session_info(x, session), version)
    if action == "getSessionProperties":
        return _answer(200, {}, version)  # AM's default allow-list of readable properties is empty
    # refresh
    state.sessions.get(session.token_id, x.now, touch=True)
    return _answer(200, _refreshed(x, session), version)


# -- users ----------------------------------------------------------------------------------------


def user_profile(realm: str, user: UserConfig) -> dict[str, Any]:
    """A user as ``GET /json/users/<id>`` shows it (F2.30): ``username``, ``realm``, and every
    attribute as an array."""
    out: dict[str, Any] = {"_id": user.username, "username": user.username, "realm": realm}
    for key, value in user.attributes.items():
        out[key] = [value] if isinstance(value, str) else list(value)
    out.setdefault("uid", [user.username])
    out["universalid"] = [universal_id(realm, user.username)]
    out["inetuserstatus"] = ["Active" if user.status == "active" else "Inactive"]
    return out


def users(x: Exchange) -> Response:
    """``POST …/users?_action=idFromSession`` and ``GET …/users/<id>`` (F2.29-F2.32)."""
    version = negotiate(x, USERS_VERSIONS)
    realm = x.realm
    assert realm is not None
    session = x.state.sessions.get(caller_token(x), x.now, touch=True)
    if x.method == "POST":
        action = x.query_params.get("_action", "")
        if x.args or action != "idFromSession":
            raise _unsupported(action)
        _json_object(x, strict_media=False)
        if session is None:
            raise RestError(403, "SSO Token cannot be retrieved.")
        payload = {
            "id": session.username,
            "realm": session.realm,
            "dn": universal_id(session.realm, session.username),
            "successURL": context_prefix(x.state.config.context_path) + "/console",
            "fullLoginURL": None,
        }
        return _answer(200, payload, version)
    if x.method not in ("GET", "HEAD"):
        raise RestError(405, "Method Not Allowed")
    if session is None:
        raise RestError(401, ACCESS_DENIED)
    user = realm.users.get(x.args[0]) if x.args else None
    if user is None or session.realm != realm.name or session.username != user.username:
        raise RestError(403, "User not permitted.")
    profile = user_profile(realm.name, user)
    fields = x.query_params.get("_fields")
    if fields:
        wanted = {f.strip() for f in fields.split(",")}
        profile = {k: v for k, v in profile.items() if k in wanted or k == "_id"}
    return _answer(200, profile, version)


# -- serverinfo -----------------------------------------------------------------------------------


def _revision(payload: Mapping[str, Any]) -> str:
    return str(zlib.crc32(json.dumps(payload, sort_keys=True).encode()))


def server_info(x: Exchange) -> dict[str, Any]:
    """``serverinfo/*`` as AM 8.0.1 answered it (F2.35), with the mock's cookie name."""
    config = x.state.config
    info: dict[str, Any] = {
        "_id": "*",
        "domains": [],
        "protectedUserAttributes": ["telephoneNumber", "mail"],
        "cookieName": config.cookie_name,
        "secureCookie": _secure(x),
        "forgotPassword": "false",
        "forgotUsername": "false",
        "kbaEnabled": "false",
        "selfRegistration": "false",
        "lang": "en-US",
        "successfulUserRegistrationDestination": "default",
        "socialImplementations": [],
        "referralsEnabled": "false",
        "zeroPageLogin": {"enabled": False, "refererWhitelist": [], "allowedWithoutReferer": True},
        "realm": x.realm.name if x.realm is not None else "/",
        "xuiUserSessionValidationEnabled": True,
        "fileBasedConfiguration": True,
        "userIdAttributes": [],
        "nodeDesignerXuiEnabled": True,
    }
    return {"_id": "*", "_rev": _revision(info), **info}


def serverinfo(x: Exchange) -> Response:
    """``GET /json/serverinfo/*`` and ``/json/serverinfo/version``, readable without a session (F2.34)."""
    version = negotiate(x, SERVERINFO_VERSIONS)
    if x.method not in ("GET", "HEAD"):
        raise RestError(405, "Method Not Allowed")
    which = x.args[0] if x.args else ""
    if which == "*":
        return _answer(200, server_info(x), version)
    if which == "version":
        payload: dict[str, Any] = {
            "version": AM_VERSION,
            "fullVersion": AM_FULL_VERSION,
            "revision": "mock-as",
            "date": "2024-March-01 00:00",
        }
        # serverinfo/version answers as resource 1.0 (F2.36)
        return _answer(200, {"_id": "version", "_rev": _revision(payload), **payload}, (1, 0))
    raise RestError(404, f"Resource '{which}' not found")


# -- the surface ----------------------------------------------------------------------------------


def _guarded(handler: Handler) -> Handler:
    def guarded(x: Exchange) -> Response:
        _check_csrf(x)
        return handler(x)

    guarded.__doc__ = handler.__doc__
    return guarded


HANDLERS: MappingProxyType[str, Handler] = MappingProxyType(
    {
        "authenticate": _guarded(authenticate),
        "sessions": _guarded(sessions),
        "users": _guarded(users),
        "serverinfo": _guarded(serverinfo),
    }
)
assert HANDLERS.keys() == set(JSON_ENDPOINTS), "every /json resource has a handler"


def _parse(path: str) -> Route | None:
    parsed = parse_json_path(path)
    return None if parsed is None else Route(*parsed)


def rest_error(status: int, message: str) -> RestError:
    """A CREST error for a bare status (a cap exceeded, a bug): ``{"code", "reason", "message"}``."""
    return RestError(status, message)


SURFACE = Surface(prefix=JSON, parse=_parse, handlers=HANDLERS, error=rest_error)

__all__ = [
    "SURFACE",
    "caller_token",
    "cleared_cookie",
    "cookie_value",
    "session_cookie",
    "universal_id",
]
