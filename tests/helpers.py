"""What many test files share: AM's documented request, its error bodies, and the calls that send them."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import requests

from mock_as.config import DOCUMENTED_REQUEST

DOCS_FORM = dict(DOCUMENTED_REQUEST)
"""AM's documented password-grant form, parameter by parameter."""

INVALID_GRANT = {
    "error_description": "The provided access grant is invalid, expired, or revoked.",
    "error": "invalid_grant",
}
INVALID_TOKEN = {
    "error_description": "The access token provided is expired, revoked, malformed, or invalid for other reasons.",
    "error": "invalid_token",
}
CLIENT_FAILED = {"error_description": "Client authentication failed", "error": "invalid_client"}


def basic_value(client_id: str, secret: str, *, form_encoded: bool = False) -> str:
    """An ``Authorization: Basic`` value; ``form_encoded`` first encodes both as RFC 6749 §2.3.1 says."""
    if form_encoded:
        client_id, secret = quote(client_id), quote(secret)
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def basic(client_id: str, secret: str) -> dict[str, str]:
    """The ``Authorization`` header of client_secret_basic."""
    return {"Authorization": basic_value(client_id, secret)}


def form(**changes: str | None) -> dict[str, str]:
    """The documented form with ``changes``; a ``None`` drops that parameter."""
    data = {**DOCS_FORM, **changes}
    return {k: v for k, v in data.items() if v is not None}


def post(
    am: Any, data: Any = DOCS_FORM, *, realm: str = "/", url: str | None = None, **kwargs: Any
) -> requests.Response:
    """POST ``data`` to the realm's token endpoint (or ``url``)."""
    return requests.post(url or am.url_for("access_token", realm), data=data, **kwargs)


def login(am: Any, realm: str = "/", **changes: str | None) -> requests.Response:
    """The documented password grant with ``changes`` (``None`` drops a parameter)."""
    return post(am, form(**changes), realm=realm)
