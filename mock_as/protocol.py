"""Transport-neutral HTTP exchange: one request in, one response out.

Both transports build an :class:`Exchange` (the live server from a WSGI environ, the in-process patch
straight from the client's request object) and hand it to the same endpoint code, so they cannot drift.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote_plus

from .errors import OAuthError, invalid_client, invalid_request

if TYPE_CHECKING:
    from .config import ClientConfig
    from .state import Realm, State

FORM = "application/x-www-form-urlencoded"
JSON_HEADERS: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
# AM's OAuth2Filter adds these to every token endpoint answer (RFC 6749 §5.1).
NO_STORE: tuple[tuple[str, str], ...] = (
    ("Content-Type", "application/json"),
    ("Cache-Control", "no-store"),
    ("Pragma", "no-cache"),
)
# What never reaches the journal in clear.
SECRET_PARAMS = frozenset({"password", "client_secret", "client_assertion"})


def _parse_form(raw: str) -> dict[str, str]:
    # First value wins for a repeated key, as in AM (Restlet's getFirstValue).
    out: dict[str, str] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True, errors="replace"):
        out.setdefault(key, value)
    return out


class Response:
    """Status, headers and body: what both transports write back.

    ``action`` asks the transport for something other than an answer: ``"drop"`` closes the
    connection without one (a live server aborts the socket, in-process clients get a connection
    error)."""

    __slots__ = ("action", "body", "headers", "status")

    def __init__(
        self, status: int, headers: tuple[tuple[str, str], ...], body: bytes, action: str | None = None
    ) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.action = action

    @classmethod
    def json(
        cls, status: int, payload: Mapping[str, Any], headers: tuple[tuple[str, str], ...] = JSON_HEADERS
    ) -> Response:
        return cls(status, headers, json.dumps(payload, separators=(",", ":")).encode())


class Exchange:
    """One request as the endpoints see it.

    :param method: the HTTP method.
    :param path: the path below the context path (``/oauth2/realms/root/access_token``).
    :param query: the raw query string.
    :param headers: header names lower-cased.
    :param body: the raw body.
    :param base_url: scheme, host and context path as the client addressed them (for issuers).
    """

    __slots__ = (
        "_form",
        "_query",
        "base_url",
        "body",
        "endpoint",
        "headers",
        "method",
        "now",
        "path",
        "query",
        "realm",
        "state",
    )

    def __init__(
        self,
        state: State,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes,
        base_url: str,
    ) -> None:
        self.state = state
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.base_url = base_url
        self.now = state.clock.now()
        self.realm: Realm | None = None
        self.endpoint: str | None = None
        self._form: dict[str, str] | None = None
        self._query: dict[str, str] | None = None

    # -- parameters ---------------------------------------------------------------------------

    @property
    def query_params(self) -> dict[str, str]:
        if self._query is None:
            self._query = _parse_form(self.query) if self.query else {}
        return self._query

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def form(self) -> dict[str, str]:
        """The form body; empty unless the body is form-encoded."""
        if self._form is None:
            if self.body and self.media_type == FORM:
                self._form = _parse_form(self.body.decode("utf-8", "replace"))
            else:
                self._form = {}
        return self._form

    def param(self, name: str) -> str | None:
        """A parameter as AM reads it: the query string wins over the body."""
        value = self.query_params.get(name)
        return self.form.get(name) if value is None else value

    def require_form_post(self) -> None:
        """AM's TokenEndpointFilter: POST only, and a non-empty body must be form-encoded."""
        if self.method != "POST":
            raise OAuthError(
                "method_not_allowed", f"Required Method: POST found: {self.method}", 405, (("Allow", "POST"),)
            )
        if self.body and self.media_type != FORM:
            raise invalid_request("Invalid Content Type")

    def redacted_params(self) -> dict[str, str]:
        """Query and form parameters with passwords and secrets masked, for the journal."""
        merged = {**self.form, **self.query_params} if (self.body or self.query) else {}
        for key in SECRET_PARAMS & merged.keys():
            merged[key] = "***"
        return merged

    # -- client authentication (AM's ClientCredentialsReader / ClientAuthenticator) -------------

    def authenticate_client(self) -> ClientConfig:
        """The client this request authenticates as, or AM's ``invalid_client`` answer."""
        realm = self.realm
        assert realm is not None
        scheme, _, credentials = self.headers.get("authorization", "").strip().partition(" ")
        basic = scheme.lower() == "basic"
        form_id = self.param("client_id")
        client_id: str | None
        secret: str | None
        if basic:
            client_id, secret = _decode_basic(credentials, realm.name)
            if form_id is not None and form_id != client_id:
                # OpenAM rejects two different identities in one request.
                raise invalid_request("Client authentication failed")
            method = "client_secret_basic"
        else:
            client_id, secret = form_id, self.param("client_secret")
            method = "client_secret_post" if secret is not None else "none"
        if not client_id:
            raise invalid_client(realm.name, basic=basic)
        client = realm.clients.get(client_id)
        if client is None or not client.active:
            raise invalid_client(realm.name, basic=basic)
        if client.secret is None:
            return client  # AM does not authenticate public clients
        if secret is None or not hmac.compare_digest(secret.encode(), client.secret.encode()):
            raise invalid_client(realm.name, basic=basic)
        if "openid" in client.scopes and method != client.token_endpoint_auth_method:
            raise invalid_client(
                realm.name,
                basic=basic,
                description="Invalid authentication method for accessing this endpoint.",
            )
        return client


def _decode_basic(encoded: str, realm: str) -> tuple[str, str]:
    """``base64(urlencode(id):urlencode(secret))``; anything malformed is a failed authentication."""
    try:
        raw = base64.b64decode(encoded.strip() + "=" * (-len(encoded.strip()) % 4), validate=True)
        client_id, sep, secret = raw.decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid_client(realm, basic=True) from None
    if not sep:
        raise invalid_client(realm, basic=True)
    return unquote_plus(client_id), unquote_plus(secret)
