"""Safe defaults: what a test double on a shared host must never do.

It must not listen beyond loopback unless told (and then it says so), compare secrets in a way
that leaks their length or prefix through timing, write passwords or secrets to logs or the
journal, hand out guessable tokens when no seed is fixed, or echo request input as markup.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest
import requests

from tests.conftest import DOCS_FORM

MARKUP = "<script>alert(1)</script>"


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


# -- no reflected input ----------------------------------------------------------------------------


def _hostile_requests(am) -> dict[str, tuple[str, str, dict[str, str], dict[str, str] | None]]:
    """Requests that put markup where the answer might quote it: (method, url, headers, form)."""
    token_url = am.token_url
    return {
        "realm in path": (
            "POST",
            f"{am.base_url}/oauth2/realms/root/realms/{quote(MARKUP)}/access_token",
            {},
            DOCS_FORM,
        ),
        "legacy realm": ("POST", f"{am.base_url}/oauth2/{quote(MARKUP)}/access_token", {}, DOCS_FORM),
        "endpoint": ("GET", f"{am.base_url}/oauth2/realms/root/{quote(MARKUP)}", {}, None),
        "realm query": ("POST", f"{token_url}?realm={quote(MARKUP)}", {}, DOCS_FORM),
        "scope": ("POST", token_url, {}, {**DOCS_FORM, "scope": MARKUP}),
        "grant type": ("POST", token_url, {}, {**DOCS_FORM, "grant_type": MARKUP}),
        "username": ("POST", token_url, {}, {**DOCS_FORM, "username": MARKUP}),
        "auth chain": ("POST", token_url, {}, {**DOCS_FORM, "auth_chain": MARKUP}),
        "client id": ("POST", token_url, {}, {**DOCS_FORM, "client_id": MARKUP}),
        "basic header": ("POST", token_url, _basic(MARKUP, MARKUP), {"grant_type": "password"}),
        "content type": ("POST", token_url, {"Content-Type": MARKUP}, None),
        "bearer": ("GET", am.url_for("tokeninfo") + f"?access_token={quote(MARKUP)}", {}, None),
        "revoke": (
            "POST",
            am.url_for("revoke"),
            {},
            {"token": MARKUP, "client_id": "myClient", "client_secret": "forgerock"},
        ),
    }


CASES = [
    "realm in path",
    "legacy realm",
    "endpoint",
    "realm query",
    "scope",
    "grant type",
    "username",
    "auth chain",
    "client id",
    "basic header",
    "content type",
    "bearer",
    "revoke",
]


@pytest.mark.parametrize("case", CASES)
def test_answers_never_echo_markup(am, case):
    method, url, headers, form = _hostile_requests(am)[case]
    body = "x=1" if case == "content type" else form
    r = requests.request(method, url, headers=headers, data=body)
    assert r.status_code < 500
    assert r.headers["Content-Type"].startswith("application/json")
    assert b"<" not in r.content, r.content
    assert b">" not in r.content, r.content
    json.loads(r.content)


def test_quoted_input_reads_the_same_once_parsed(am):
    """The escaping is JSON's own: a client still reads AM's message word for word."""
    r = requests.post(am.token_url, data={**DOCS_FORM, "scope": f"write {MARKUP} a&b"})
    assert r.status_code == 400
    assert r.json() == {
        "error_description": f"Unknown/invalid scope(s): [{MARKUP}, a&b]",
        "error": "invalid_scope",
    }


def test_method_is_not_echoed_as_markup(mock_as_requests):
    """Only an in-process client can send a method that is not an HTTP token."""
    r = requests.request(MARKUP, mock_as_requests.token_url)
    assert r.status_code == 405
    assert b"<" not in r.content
    assert r.json()["error_description"] == f"Required Method: POST found: {MARKUP.upper()}"


def test_paths_outside_am_answer_json_without_echo(mock_as):
    root = mock_as.base_url.rsplit("/", 1)[0]
    r = requests.get(f"{root}/{quote(MARKUP)}")
    assert r.status_code == 404
    assert r.json() == {"code": 404, "reason": "Not Found", "message": "Not Found"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/__mock_as__/{quote(MARKUP)}", None),
        ("POST", "/__mock_as__/users", {MARKUP: 1}),
        ("GET", f"/__mock_as__/users/{quote(MARKUP)}", None),
        ("POST", "/__mock_as__/clock/advance", {"seconds": MARKUP}),
    ],
)
def test_control_api_errors_never_echo_markup(mock_as, method, path, body):
    root = mock_as.base_url.rsplit("/", 1)[0]
    r = requests.request(method, root + path, json=body)
    assert 400 <= r.status_code < 500
    assert b"<" not in r.content, r.content
    assert MARKUP in r.json()["error_description"]
