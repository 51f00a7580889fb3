"""Safe defaults: what a test double on a shared host must never do.

It must not listen beyond loopback unless told (and then it says so), compare secrets in a way
that leaks their length or prefix through timing, write passwords or secrets to logs or the
journal, hand out guessable tokens when no seed is fixed, or echo request input as markup.
"""

from __future__ import annotations

import ast
import base64
import hmac
import ipaddress
import json
import logging
import signal
import socket
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest
import requests

from tests.helpers import DOCS_FORM
from tests.helpers import basic as _basic

MARKUP = "<script>alert(1)</script>"


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


# -- listening: loopback unless told, and a warning when told otherwise ----------------------------


def test_every_entry_point_binds_loopback_by_default():
    from mock_as.cli import cli_config
    from mock_as.config import MockASConfig
    from mock_as.plugin import build_config

    assert MockASConfig().host == "127.0.0.1"
    assert build_config({}, {}).host == "127.0.0.1"
    assert cli_config({"host": None}, {}).host == "127.0.0.1"


def _outward_address() -> str | None:
    """This machine's address on its default route (no packet is sent), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: routing only, nothing goes out
        except OSError:
            return None
        address = s.getsockname()[0]
    return None if ipaddress.ip_address(address).is_loopback else address


def test_the_fixture_server_is_not_reachable_from_outside(mock_as_server):
    assert mock_as_server.base_url.startswith("http://127.0.0.1:")
    address = _outward_address()
    if address is None:
        pytest.skip("this machine has no address beyond loopback to try")
    with (
        pytest.raises((ConnectionRefusedError, TimeoutError)),
        socket.create_connection((address, mock_as_server.port), timeout=5),
    ):
        pass


class _Unstarted:
    """Stands in for the waitress server: nothing is bound, so nothing is exposed."""

    effective_port = 8080

    def __init__(self, host: str) -> None:
        self.effective_host = host
        self.trigger = SimpleNamespace(pull_trigger=lambda action=None: None)
        self.task_dispatcher = SimpleNamespace(shutdown=lambda timeout=None: True)
        self._map: dict[int, object] = {}  # no sockets: the serving loop ends at once

    def run(self) -> None:
        pass

    def close(self) -> None:
        pass


HOSTS = [
    ("0.0.0.0", True),
    ("::", True),
    ("192.0.2.10", True),
    ("am.example.com", True),
    ("", True),
    ("127.0.0.1", False),
    ("127.8.9.10", False),
    ("localhost", False),
    ("::1", False),
]


@pytest.mark.parametrize(("host", "warned"), HOSTS)
def test_serve_warns_when_it_listens_beyond_loopback(monkeypatch, host, warned):
    from click.testing import CliRunner

    from mock_as.cli import main

    bound: list[str] = []

    def make_server(state, host, port, threads=4):
        bound.append(host)
        return _Unstarted(host)

    monkeypatch.setattr("mock_as.cli.make_wsgi_server", make_server)
    monkeypatch.setattr(signal, "signal", lambda *args: None)  # leave the test process's handlers be
    result = CliRunner().invoke(main, ["serve", "--host", host, "--port", "0", "--quiet"])
    assert result.exit_code == 0, result.output
    assert bound == [host]
    assert ("WARNING: listening on" in result.stderr) is warned
    if warned:
        assert "reachable from other machines" in result.stderr


@pytest.mark.parametrize(("host", "warned"), HOSTS)
def test_a_server_started_from_python_warns_when_it_listens_beyond_loopback(
    monkeypatch, caplog, host, warned
):
    """``MockASServer(host=...)``, and so the fixtures with ``MOCK_AS_HOST``, log the same warning."""
    from mock_as.server import MockASServer

    monkeypatch.setattr("mock_as.server.make_wsgi_server", lambda state, host, port: _Unstarted(host))
    with caplog.at_level(logging.WARNING, logger="mock_as"), MockASServer(host=host):
        pass
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert bool(warnings) is warned
    if warned:
        assert "reachable from other machines" in warnings[0]


# -- secrets: compared in constant time, never written down ---------------------------------------


def test_secrets_and_passwords_are_compared_in_constant_time(am, monkeypatch):
    compared: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def recording(a, b):
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    assert requests.post(am.token_url, data=DOCS_FORM).status_code == 200
    assert (b"forgerock", b"forgerock") in compared  # the client secret, sent in the form
    assert (b"Ch4ng31t", b"Ch4ng31t") in compared  # the user's password
    compared.clear()
    form = {k: v for k, v in DOCS_FORM.items() if k not in ("client_id", "client_secret")}
    r = requests.post(am.token_url, data={**form, "password": "wrong"}, headers=_basic("myClient", "nope"))
    assert r.status_code == 401
    assert compared == [(b"nope", b"forgerock")]  # a Basic secret goes the same way


def test_no_secret_is_compared_with_plain_equality():
    """Nowhere in the package is a secret or password held against another with == or !=."""
    import mock_as

    names = {"secret", "password", "client_secret"}
    offending = []
    for path in Path(mock_as.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Compare) and any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
                for side in (node.left, *node.comparators):
                    name = side.attr if isinstance(side, ast.Attribute) else getattr(side, "id", None)
                    if name in names:
                        offending.append(f"{path.name}:{node.lineno}")
    assert offending == []


SENTINEL_PASSWORD = "pw-4f1c9e-sentinel"
SENTINEL_SECRET = "cs-8b27d0-sentinel"


def _leaks(text: str) -> bool:
    return SENTINEL_PASSWORD in text or SENTINEL_SECRET in text


def test_passwords_and_secrets_never_reach_the_logs_or_the_journal(am, caplog, monkeypatch):
    import mock_as.grants

    am.add_user("alice", SENTINEL_PASSWORD)
    am.add_client(
        "vault",
        SENTINEL_SECRET,
        scopes=["write"],
        default_scopes=["write"],
        token_endpoint_auth_method="client_secret_post",
    )
    good = {"grant_type": "password", "username": "alice", "password": SENTINEL_PASSWORD}
    form_client = {"client_id": "vault", "client_secret": SENTINEL_SECRET}
    caplog.set_level(logging.DEBUG)
    answers = [
        requests.post(am.token_url, data={**good, **form_client}),
        requests.post(am.token_url, data=good, headers=_basic("vault", SENTINEL_SECRET)),
        requests.post(am.token_url, data={**good, "password": SENTINEL_PASSWORD + "x", **form_client}),
        requests.post(
            am.token_url, data={**good, "client_id": "vault", "client_secret": SENTINEL_SECRET + "x"}
        ),
        requests.post(
            f"{am.token_url}?password={SENTINEL_PASSWORD}&client_secret={SENTINEL_SECRET}",
            data={**good, **form_client},
        ),
        requests.post(am.token_url, data={**good, "client_assertion": SENTINEL_SECRET, "client_id": "vault"}),
        requests.post(am.url_for("introspect"), data={"token": "x", **form_client}),
        requests.post(am.url_for("revoke"), data={"token": "x", **form_client}),
    ]

    # and a bug of ours, once the credentials have been read: the mock logs it, without them
    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the mock")

    monkeypatch.setattr(mock_as.grants, "validate_scopes", broken)
    answers.append(requests.post(am.token_url, data={**good, **form_client}))

    assert [r.status_code for r in answers] == [200, 200, 400, 400, 200, 400, 200, 200, 500]
    assert answers[-1].json() == {"error_description": "Internal Server Error", "error": "server_error"}
    assert any("internal error" in r.getMessage() for r in caplog.records)
    # (the client's own library logs the URLs it calls: its business, not the server's)
    server_side = [r for r in caplog.records if not r.name.startswith(("urllib3", "requests"))]
    for record in server_side:
        assert not _leaks(record.getMessage()), record.getMessage()
        if record.exc_info:
            assert not _leaks(logging.Formatter().formatException(record.exc_info))
    for call in am.calls:
        assert not _leaks(repr(call)), call
    assert {call.params.get("password") for call in am.calls} <= {"***", None}
    for r in answers:
        assert not _leaks(r.text)


def test_the_control_api_journal_shows_no_secret(mock_as):
    mock_as.add_user("alice", SENTINEL_PASSWORD)
    requests.post(mock_as.token_url, data={**DOCS_FORM, "username": "alice", "password": SENTINEL_PASSWORD})
    journal = requests.get(mock_as.control_url + "/journal")
    assert journal.status_code == 200
    assert "alice" in journal.text
    assert not _leaks(journal.text)


# -- tokens: unguessable without a seed ------------------------------------------------------------


def test_without_a_seed_each_mock_draws_its_own_tokens():
    from mock_as.state import State

    first, second = State(), State()
    assert first.seed != second.seed
    issued = []
    for state in (first, second):
        token = state.issue(
            kind="access_token",
            realm="/",
            client_id="c",
            username="u",
            scopes=(),
            grant_type="password",
            lifetime=60,
        )
        issued.append(token.id)
    assert issued[0] != issued[1]
    for token_id in issued:
        raw = base64.urlsafe_b64decode(token_id + "=")
        assert len(raw) * 8 == 160  # AM's 20 random bytes


def test_tokens_never_repeat_within_a_mock():
    from mock_as.state import State

    state = State()
    ids = {
        state.issue(
            kind="access_token",
            realm="/",
            client_id="c",
            username="u",
            scopes=(),
            grant_type="password",
            lifetime=60,
        ).id
        for _ in range(20_000)
    }
    assert len(ids) == 20_000
