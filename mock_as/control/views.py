"""The control API's answers: users, clients, settings, tokens and calls as JSON."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flask import Response as FlaskResponse

from ..config import ClientConfig, RealmConfig, UserConfig
from ..errors import json_body
from .body import ControlError

if TYPE_CHECKING:
    from ..lockout import Lockout
    from ..state import Call, Realm, Token

# Realm fields that are registries or identity, not provider settings.
NOT_SETTINGS = frozenset({"name", "clients", "users", "services", "fake_users"})


def reply(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> FlaskResponse:
    """``payload`` as JSON (``None``: no body), never cached."""
    if payload is None:
        response = FlaskResponse(b"", status)
    else:
        # escaped: an error may quote the request (a path, a key) and must never carry markup
        response = FlaskResponse(json_body(payload), status, content_type="application/json")
    response.headers["Cache-Control"] = "no-store"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def error_reply(e: ControlError, headers: Mapping[str, str] | None = None) -> FlaskResponse:
    """An error in the control API's format."""
    return reply({"error": e.error, "error_description": e.description}, e.status, headers)


def plain(value: Any) -> Any:
    """Tuples as lists, mappings as dicts: what JSON holds."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def user_json(lockout: Lockout, realm: Realm, user: UserConfig) -> dict[str, Any]:
    """A user as the control API shows it (passwords included: this is a test double)."""
    return {
        "username": user.username,
        "password": user.password,
        "status": user.status,
        "password_expired": user.password_expired,
        "attributes": plain(user.attributes),
        "lockout": lockout.state_of(realm.name, user.username).as_dict(),
    }


def client_json(client: ClientConfig) -> dict[str, Any]:
    """A client as the control API shows it."""
    return plain(dataclasses.asdict(client))  # type: ignore[no-any-return]


def settings_keys() -> tuple[str, ...]:
    """The settings PATCH /settings changes (and GET /settings shows)."""
    return tuple(f.name for f in dataclasses.fields(RealmConfig) if f.name not in NOT_SETTINGS)


def settings_json(config: RealmConfig) -> dict[str, Any]:
    """A realm's provider settings."""
    return {
        name: plain(dataclasses.asdict(v) if dataclasses.is_dataclass(v) and not isinstance(v, type) else v)
        for name in settings_keys()
        for v in (getattr(config, name),)
    }


def token_json(token: Token, now: float) -> dict[str, Any]:
    """A live token: whose, for what, until when (never a password)."""
    return {
        "id": token.id,
        "kind": token.kind,
        "realm": token.realm,
        "client_id": token.client_id,
        "username": token.username,
        "scopes": list(token.scopes),
        "grant_type": token.grant_type,
        "issued_at": token.issued_at,
        "expires_at": token.expires_at,
        "expires_in": token.expires_in(now),
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
