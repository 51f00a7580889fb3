"""Transport-neutral HTTP exchange: one request in, one response out.

Both transports build an :class:`Exchange` (the live server from a WSGI environ, the in-process patch
straight from the client's request object) and hand it to the same endpoint code, so they cannot drift.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import unquote, unquote_plus

from .errors import (
    JSON_TYPE,
    HTTPError,
    OAuthError,
    compact_json,
    invalid_client,
    invalid_request,
    method_not_allowed,
)

if TYPE_CHECKING:
    from .config import ClientConfig
    from .state import Realm, State

FORM = "application/x-www-form-urlencoded"
# What never reaches the journal in clear.
SECRET_PARAMS = frozenset({"password", "client_secret", "client_assertion", "tokenId", "csrf"})


def _parse_form(raw: str) -> dict[str, str]:
    """``parse_qsl(raw, keep_blank_values=True, errors="replace")``, first value winning for a
    repeated key, as in AM (Restlet's getFirstValue); a field is only unquoted when it needs it."""
    out: dict[str, str] = {}
    for field in raw.split("&"):
        if not field:
            continue
        key, _, value = field.partition("=")
        if "+" in key:
            key = key.replace("+", " ")
        if "%" in key:
            key = unquote(key, errors="replace")
        if key in out:
            continue
        if "+" in value:
            value = value.replace("+", " ")
        if "%" in value:
            value = unquote(value, errors="replace")
        out[key] = value
    return out


class Response:
    """Status, headers and body: what both transports write back.

    ``action`` asks the transport for something other than an answer: ``"drop"`` closes the
    connection without one (a live server aborts the socket, in-process clients get a connection
    error). ``delay`` is how many seconds the transport waits before it answers (an injected fault):
    each transport waits its own way, and an in-process client's timeout still applies."""

    __slots__ = ("action", "body", "delay", "headers", "status")

    def __init__(
        self,
        status: int,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
        action: str | None = None,
        delay: float = 0.0,
    ) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.action = action
        self.delay = delay

    @classmethod
    def json(
        cls, status: int, payload: Mapping[str, Any], headers: tuple[tuple[str, str], ...] = JSON_TYPE
    ) -> Response:
        return cls(status, headers, compact_json(payload).encode())

    @classmethod
    def error(cls, e: HTTPError) -> Response:
        """The answer for an error: its status, headers and body, rendered by the error itself."""
        return cls(e.status, e.response_headers(), e.body())


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
        "args",
        "base_url",
        "body",
        "delay",
        "endpoint",
        "headers",
        "method",
        "notes",
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
        self.args: tuple[str, ...] = ()  # what the route read from the path (a user id …)
        self.delay = 0.0  # seconds the transport waits before answering (an injected fault)
        self.notes: dict[str, str] = {}  # what a JSON endpoint read from headers or body, for the journal
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
        query = self._query if self._query is not None else self.query_params
        value = query.get(name)
        if value is None:
            return (self._form if self._form is not None else self.form).get(name)
        return value

    def require_method(self, *allowed: str) -> None:
        """AM's 405 for a method the endpoint does not serve."""
        if self.method not in allowed:
            raise method_not_allowed(self.method, *allowed)

    def require_form_post(self) -> None:
        """AM's TokenEndpointFilter: POST only, and a non-empty body must be form-encoded."""
        self.require_method("POST")
        if self.body and self.media_type != FORM:
            raise invalid_request("Invalid Content Type")

    @property
    def basic(self) -> tuple[str, str] | None:
        """The Basic credentials of the ``Authorization`` header; ``None`` without Basic.
        Malformed Basic credentials raise :class:`MalformedBasic`."""
        scheme, _, credentials = self.headers.get("authorization", "").strip().partition(" ")
        if scheme.lower() != "basic":
            return None
        decoded = decode_basic(credentials)
        if decoded is None:
            raise MalformedBasic
        return decoded

    def client_id(self) -> str | None:
        """The client id a request names: the ``client_id`` parameter, else the Basic header's."""
        named = self.param("client_id")
        if named is not None:
            return named
        try:
            basic = self.basic
        except MalformedBasic:
            return None
        return None if basic is None else basic[0]

    def redacted_params(self) -> dict[str, str]:
        """Query and form parameters with passwords and secrets masked, for the journal."""
        merged = {**self.form, **self.query_params} if (self.body or self.query) else {}
        merged.update(self.notes)
        for key in SECRET_PARAMS & merged.keys():
            merged[key] = "***"
        return merged

    # -- client authentication (AM's ClientCredentialsReader / ClientAuthenticator) -------------

    def authenticate_client(self) -> ClientConfig:
        """The client this request authenticates as, or AM's ``invalid_client`` answer."""
        realm = self.realm
        assert realm is not None
        try:
            credentials = self.basic
        except MalformedBasic:
            raise invalid_client(realm.name, basic=True) from None
        basic = credentials is not None
        form_id = self.param("client_id")
        client_id: str | None
        secret: str | None
        if credentials is not None:
            client_id, secret = credentials
            if form_id is not None and form_id != client_id:
                # OpenAM rejects two different identities in one request.
                raise invalid_request("Client authentication failed")
            method = "client_secret_basic"
        else:
            client_id, secret = form_id, self.param("client_secret")
            method = "client_secret_post"
        if not client_id:
            raise invalid_client(realm.name, basic=basic)
        client = realm.clients.get(client_id)
        if client is None or not client.active:
            raise invalid_client(realm.name, basic=basic)
        if method == "client_secret_post" and secret is None and client.token_endpoint_auth_method == "none":
            method = "none"  # a public client naming itself
        # AM checks an openid client's method at the token endpoint only, after the lookup and before
        # the secret (reference §3: ClientCredentialsReader.extractCredentials).
        if (
            self.endpoint == "access_token"
            and "openid" in client.scopes
            and method != client.token_endpoint_auth_method
        ):
            raise invalid_client(
                realm.name,
                basic=basic,
                description="Invalid authentication method for accessing this endpoint.",
            )
        if client.secret is None:
            return client  # AM does not authenticate public clients
        if secret is None or not hmac.compare_digest(secret.encode(), client.secret.encode()):
            raise invalid_client(realm.name, basic=basic)
        return client


class MalformedBasic(Exception):
    """Basic credentials that are not ``base64(id:secret)``."""


def decode_basic(encoded: str) -> tuple[str, str] | None:
    """``base64(urlencode(id):urlencode(secret))`` -> (id, secret); ``None`` when malformed."""
    encoded = encoded.strip()
    try:
        raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        client_id, sep, secret = raw.decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not sep:
        return None
    return unquote_plus(client_id), unquote_plus(secret)


# -- routing ------------------------------------------------------------------------------------

Handler = Callable[[Exchange], Response]
"""An endpoint: one request in, one answer out; errors are raised as :class:`HTTPError`."""


class Route(NamedTuple):
    """What a surface reads from a path: the realm (``None`` when the realm part is malformed: AM's
    "Realm not found"), the endpoint's name and any values the path carries (a user id …)."""

    realm: str | None
    endpoint: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Surface:
    """One of AM's URL spaces below the context path (``/oauth2/``, ``/json/`` …).

    :param prefix: the paths it owns.
    :param parse: a path -> its :class:`Route`, or ``None`` for a path it does not serve.
    :param handlers: endpoint name -> handler, complete when the surface's module is imported.
    :param error: how this surface answers a bare status and message (a cap exceeded, a bug).
    :param realm_query: whether ``?realm=`` overrides the path's realm (reference §1.2).
    """

    prefix: str
    parse: Callable[[str], Route | None]
    handlers: Mapping[str, Handler]
    error: Callable[[int, str], HTTPError]
    realm_query: bool = True


def oauth2_error(status: int, message: str) -> OAuthError:
    """An OAuth error for a bare status: ``server_error`` for 5xx, ``invalid_request`` otherwise."""
    return OAuthError("server_error" if status >= 500 else "invalid_request", message, status)
