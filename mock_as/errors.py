"""Errors: every error answer the mock sends, rendered in one place, and :class:`MockASError` for
misuse of the mock.

An :class:`HTTPError` is an answer: a status, headers, a JSON body and the short code the journal
records. :class:`OAuthError` is the OAuth 2.0 shape (``{"error_description", "error"}``),
:class:`NotFound` and :class:`RestError` AM's CREST shape (``{"code", "reason", "message"}``).
Both transports, the control API and the fault injector raise these and nothing else renders them.
"""

from __future__ import annotations

import functools
import json
import json.encoder
from collections.abc import Callable
from http import HTTPStatus


class MockASError(Exception):
    """The mock was used wrongly (a bad setting, a server started twice …); never an HTTP answer."""


class ConfigError(MockASError):
    """A configuration (file, marker or keyword) is invalid; the message names the key."""


def _unserializable(value: object) -> object:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _compact_encoder() -> Callable[[object], str]:
    """``json.dumps(value, separators=(",", ":"))``, its C encoder made once rather than on every
    call (our answers hold no cycles to look for); the pure-Python one where there is no C one."""
    make = getattr(json.encoder, "c_make_encoder", None)  # the C accelerator (not in the stubs)
    if make is None:  # pragma: no cover (CPython always has it)
        return json.JSONEncoder(separators=(",", ":")).encode
    encode = make(
        None, _unserializable, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, True
    )
    return lambda value: "".join(encode(value, 0))


compact_json = _compact_encoder()
"""Compact JSON text, as ``json.dumps(value, separators=(",", ":"))`` writes it."""

_MARKUP = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def json_body(payload: object) -> bytes:
    """Compact JSON with ``<``, ``>`` and ``&`` written as escapes: an error that quotes the request
    (a rejected scope, a method) then never carries markup, and every JSON parser reads the same text."""
    return compact_json(payload).translate(_MARKUP).encode()


@functools.cache
def reason_phrase(status: int) -> str:
    """The standard reason phrase of ``status``, or ``Error`` for a status HTTP does not name."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


JSON_TYPE: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
# AM's OAuth2Filter adds these to every token endpoint answer (RFC 6749 §5.1).
NO_STORE: tuple[tuple[str, str], ...] = (
    ("Content-Type", "application/json"),
    ("Cache-Control", "no-store"),
    ("Pragma", "no-cache"),
)


class HTTPError(Exception):
    """An error answer: ``status``, extra ``headers``, :meth:`body` and the journal's ``code``."""

    status: int = 500
    headers: tuple[tuple[str, str], ...] = ()
    base_headers: tuple[tuple[str, str], ...] = JSON_TYPE

    @property
    def code(self) -> str:
        """What the journal records as the call's error."""
        raise NotImplementedError

    def body(self) -> bytes:
        raise NotImplementedError

    def response_headers(self) -> tuple[tuple[str, str], ...]:
        """The content type (and, for the token endpoint, AM's no-store headers) then the extras."""
        return self.base_headers + self.headers


class OAuthError(HTTPError):
    """An error AM answers with: ``{"error_description": …, "error": …}`` and a status (RFC 6749 §5.2).

    AM serialises its error map from a hash map, so ``error_description`` comes first on the wire,
    then ``state`` where the endpoint echoes it (:attr:`state`), then ``error`` (reference §5).
    ``echoes_state`` is false for the errors AM builds without the request (a Restlet server error).
    """

    base_headers = NO_STORE
    echoes_state = True
    state: str | None = None

    def __init__(
        self,
        error: str,
        description: str,
        status: int = 400,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.headers = headers

    @property
    def code(self) -> str:
        return self.error

    def body(self) -> bytes:
        """The JSON body, in AM's key order; ``state`` only when set and not empty."""
        if self.state:
            return json_body(
                {"error_description": self.description, "state": self.state, "error": self.error}
            )
        return json_body({"error_description": self.description, "error": self.error})

    def echo(self, state: str | None) -> OAuthError:
        """This error with the request's ``state`` echoed, where AM echoes it (reference §5)."""
        if self.echoes_state:
            self.state = state
        return self

    def unfiltered(self) -> OAuthError:
        """This error as an endpoint without AM's OAuth2Filter sends it: no ``Cache-Control`` or
        ``Pragma`` (tokeninfo, introspect, revoke, userinfo … reference §4)."""
        self.base_headers = JSON_TYPE
        return self


class RestletServerError(OAuthError):
    """AM's ``server_error`` for an exception its OAuth2 code did not raise itself: status 400, the
    Restlet status text as the description, never a ``state`` (reference §5, §6)."""

    echoes_state = False

    def __init__(self, description: str) -> None:
        super().__init__("server_error", description, 400)


class RestError(HTTPError):
    """AM's CREST error: ``{"code": 401, "reason": "Unauthorized", "message": …}``, with an optional
    ``detail`` object (AM's ``detail`` key, e.g. a lockout's ``failureUrl``)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        reason: str | None = None,
        detail: dict[str, object] | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.reason = reason or reason_phrase(status)
        self.detail = detail
        self.headers = headers

    @property
    def code(self) -> str:
        return self.reason.lower().replace(" ", "_")

    def payload(self) -> dict[str, object]:
        out: dict[str, object] = {"code": self.status, "reason": self.reason, "message": self.message}
        if self.detail is not None:
            out["detail"] = self.detail
        return out

    def body(self) -> bytes:
        return json_body(self.payload())


class NotFound(RestError):
    """AM's router answer for an unknown realm or path: a CREST-style 404 body, not an OAuth error.
    Its ``Content-Type`` is plain JSON: no token-endpoint cache headers."""

    def __init__(self, message: str = "Realm not found") -> None:
        super().__init__(404, message)

    @property
    def code(self) -> str:
        return "not_found"


def method_not_allowed(method: str, *allowed: str, allow_header: bool = True) -> OAuthError:
    """AM's OAuth 405: ``Required Method: GET or POST found: PUT`` (with ``Allow`` where AM sends it)."""
    headers = (("Allow", ", ".join(allowed)),) if allow_header else ()
    return OAuthError(
        "method_not_allowed", f"Required Method: {' or '.join(allowed)} found: {method}", 405, headers
    )


def basic_challenge(realm: str) -> tuple[str, str]:
    """The ``WWW-Authenticate`` header AM sends a client that authenticated with Basic."""
    return ("WWW-Authenticate", f'Basic realm="{realm}"')


INVALID_GRANT = "The provided access grant is invalid, expired, or revoked."
REFRESH_INVALID_GRANT = "grant is invalid"
# Restlet's status text for a 500 (``Status.toString``): what AM's token endpoint says when the login
# throws (an unknown ``auth_chain``) or asks for more than a name and a password (reference §5, §6).
RESTLET_500 = "Internal Server Error (500)"
LOGIN_FAILED_UNEXPECTEDLY = f"{RESTLET_500} - The server encountered an unexpected condition which prevented it from fulfilling the request"
MISSING_REQUIREMENTS = f"{RESTLET_500} - Missing requirements"
INVALID_TOKEN = "The access token provided is expired, revoked, malformed, or invalid for other reasons."
CLIENT_AUTH_FAILED = "Client authentication failed"


def invalid_request(description: str) -> OAuthError:
    return OAuthError("invalid_request", description)


def invalid_grant(description: str = INVALID_GRANT) -> OAuthError:
    return OAuthError("invalid_grant", description)


def invalid_scope(description: str) -> OAuthError:
    return OAuthError("invalid_scope", description)


def invalid_client(realm: str, *, basic: bool, description: str = CLIENT_AUTH_FAILED) -> OAuthError:
    """AM answers 400 when the credentials came in the form, 401 with a challenge when Basic was used."""
    if basic:
        return OAuthError("invalid_client", description, 401, (basic_challenge(realm),))
    return OAuthError("invalid_client", description)


def unauthorized_client(
    description: str = "The authenticated client is not authorized to use this authorization grant type.",
) -> OAuthError:
    return OAuthError("unauthorized_client", description)


def invalid_token() -> OAuthError:
    """The 401 of tokeninfo and userinfo for a missing, unknown, expired or revoked token; AM sends
    no ``WWW-Authenticate`` with it (reference §9.1, §9.4)."""
    return OAuthError("invalid_token", INVALID_TOKEN, 401)


def bad_request(description: str) -> OAuthError:
    """AM's ``BadRequestException``: 400 ``bad_request`` (idtokeninfo, endSession; reference §9.6)."""
    return OAuthError("bad_request", description)
