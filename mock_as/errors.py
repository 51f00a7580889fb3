"""Errors: the OAuth 2.0 errors AM answers with, and :class:`MockASError` for misuse of the mock."""

from __future__ import annotations

import json


class MockASError(Exception):
    """The mock was used wrongly (a bad setting, a server started twice …); never an HTTP answer."""


class ConfigError(MockASError):
    """A configuration (file, marker or keyword) is invalid; the message names the key."""


_MARKUP = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def json_body(payload: object) -> bytes:
    """Compact JSON with ``<``, ``>`` and ``&`` written as escapes: an error that quotes the request
    (a rejected scope, a method) then never carries markup, and every JSON parser reads the same text."""
    return json.dumps(payload, separators=(",", ":")).translate(_MARKUP).encode()


class OAuthError(Exception):
    """An error AM answers with: ``{"error_description": …, "error": …}`` and a status (RFC 6749 §5.2).

    AM serialises its error map from a hash map, so ``error_description`` comes first on the wire.
    """

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

    def body(self) -> bytes:
        """The JSON body, in AM's key order."""
        return json_body({"error_description": self.description, "error": self.error})


class NotFound(Exception):
    """AM's router answer for an unknown realm or path: a CREST-style 404 body, not an OAuth error."""

    def __init__(self, message: str = "Realm not found") -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> bytes:
        return json_body({"code": 404, "reason": "Not Found", "message": self.message})


INVALID_GRANT = "The provided access grant is invalid, expired, or revoked."
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
        return OAuthError(
            "invalid_client", description, 401, (("WWW-Authenticate", f'Basic realm="{realm}"'),)
        )
    return OAuthError("invalid_client", description)


def unauthorized_client(
    description: str = "The authenticated client is not authorized to use this authorization grant type.",
) -> OAuthError:
    return OAuthError("unauthorized_client", description)


def invalid_token() -> OAuthError:
    return OAuthError(
        "invalid_token",
        "The access token provided is expired, revoked, malformed, or invalid for other reasons.",
        401,
    )
