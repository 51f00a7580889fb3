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

    def make_server(state, host, port, threads=4, **kwargs):
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


# -- the control API answers only this machine's tools ---------------------------------------------


def _root(mock) -> str:
    return mock.base_url.rsplit("/", 1)[0]


def _state_snapshot(mock) -> tuple:
    state = mock.state
    return (
        sorted(state.realm("/").users),
        sorted(state.realm("/").clients),
        len(state.faults.all()),
        state.seed,
        len(state.tokens),
    )


CROSS_SITE_WRITES = {
    # what a page on any site can make a browser send without asking (no CORS preflight)
    "text/plain form": (
        "POST",
        "/__mock_as__/users",
        {"Content-Type": "text/plain", "Origin": "https://evil.example"},
        b'{"username": "mallory", "password": "x", "ignore": "="}',
    ),
    "url-encoded form": (
        "POST",
        "/__mock_as__/faults",
        {"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"},
        b'{"times": null}=',
    ),
    "multipart form": (
        "POST",
        "/__mock_as__/reseed",
        {"Content-Type": "multipart/form-data; boundary=x", "Origin": "null"},
        b'--x\r\nContent-Disposition: form-data; name="seed"\r\n\r\n7\r\n--x--\r\n',
    ),
    "JSON from another origin": (
        "POST",
        "/__mock_as__/reset",
        {"Content-Type": "application/json", "Origin": "http://localhost:3000"},
        b"{}",
    ),
    "form without an Origin (an old browser, a redirect)": (
        "POST",
        "/__mock_as__/users",
        {"Content-Type": "text/plain"},
        b'{"username": "mallory", "password": "x"}',
    ),
    "a navigation from another site": (
        "DELETE",
        "/__mock_as__/users/demo",
        {"Sec-Fetch-Site": "cross-site"},
        b"",
    ),
}


@pytest.mark.parametrize("case", list(CROSS_SITE_WRITES))
def test_a_cross_site_write_changes_nothing(mock_as, case):
    method, path, headers, body = CROSS_SITE_WRITES[case]
    before = _state_snapshot(mock_as)
    r = requests.request(method, _root(mock_as) + path, headers=headers, data=body)
    assert r.status_code in (403, 415), r.text
    assert set(r.json()) == {"error", "error_description"}
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert _state_snapshot(mock_as) == before


@pytest.mark.parametrize(
    "host", ["rebind.attacker.example", "rebind.attacker.example:8080", "192.0.2.1", "[2001:db8::1]:80"]
)
@pytest.mark.parametrize(
    "path", ["/__mock_as__/users", "/__mock_as__/clients", "/__mock_as__/nowhere", "/__mock_as__/ui"]
)
def test_a_rebound_host_reads_nothing(mock_as, host, path):
    """DNS rebinding: a page whose name now points at 127.0.0.1 reads the answers as its own."""
    r = requests.get(_root(mock_as) + path, headers={"Host": host})
    assert r.status_code == 403
    assert "Ch4ng31t" not in r.text
    assert "forgerock" not in r.text
    assert r.json()["error"] == "forbidden"


def test_a_rebound_host_cannot_write_either(mock_as):
    before = _state_snapshot(mock_as)
    r = requests.post(
        _root(mock_as) + "/__mock_as__/users",
        json={"username": "mallory", "password": "x"},
        headers={"Host": "rebind.attacker.example"},
    )
    assert r.status_code == 403
    assert _state_snapshot(mock_as) == before


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST:9", "app.localhost", "127.0.0.1", "127.1.2.3:80", "[::1]:8080"]
)
def test_loopback_hosts_and_the_machines_own_tools_are_served(mock_as, host):
    r = requests.post(
        _root(mock_as) + "/__mock_as__/users",
        json={"username": "bob", "password": "pw"},
        headers={"Host": host},
    )
    assert r.status_code == 201, r.text
    assert "bob" in mock_as.state.realm("/").users


def test_bodiless_writes_and_json_with_a_charset_are_served(mock_as):
    root = _root(mock_as)
    mock_as.fail()
    assert requests.delete(root + "/__mock_as__/faults").status_code == 204
    r = requests.post(
        root + "/__mock_as__/reseed",
        data=b'{"seed": 5}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert r.status_code == 200
    assert requests.post(root + "/__mock_as__/reset").status_code == 200


def test_a_foreign_preflight_gets_no_cors_headers(mock_as):
    r = requests.options(
        _root(mock_as) + "/__mock_as__/users",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert r.status_code == 403
    assert "Access-Control-Allow-Origin" not in r.headers


def test_a_tool_without_a_host_header_is_served(mock_as):
    from tests.wire import exchange_raw, parse_response

    status, _, _ = parse_response(exchange_raw(mock_as.port, b"GET /__mock_as__/clock HTTP/1.0\r\n\r\n"))
    assert status == 200


def test_the_mocks_own_pages_may_call_it(mock_as):
    own = _root(mock_as)
    r = requests.post(
        own + "/__mock_as__/reset", json={}, headers={"Origin": own, "Sec-Fetch-Site": "same-origin"}
    )
    assert r.status_code == 200


def test_am_endpoints_still_take_form_posts_from_anywhere(mock_as):
    r = requests.post(
        mock_as.token_url, data=DOCS_FORM, headers={"Origin": "https://app.example", "Host": "am.example.com"}
    )
    assert r.status_code == 200


def test_more_hosts_and_origins_are_allowed_only_when_configured():
    from mock_as import MockASServer

    with MockASServer(
        seed=1, control_hosts=("mock-as", "ci-host:8080"), control_origins=("http://localhost:3000",)
    ) as server:
        root = _root(server)
        assert requests.get(root + "/__mock_as__/users", headers={"Host": "mock-as:1234"}).status_code == 200
        assert requests.get(root + "/__mock_as__/users", headers={"Host": "ci-host:8080"}).status_code == 200
        assert requests.get(root + "/__mock_as__/users", headers={"Host": "ci-host:9"}).status_code == 403
        r = requests.post(root + "/__mock_as__/reset", json={}, headers={"Origin": "http://localhost:3000"})
        assert r.status_code == 200
        assert r.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
        preflight = requests.options(
            root + "/__mock_as__/users",
            headers={
                "Origin": "http://localhost:3000",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert preflight.status_code == 200
        assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
        assert preflight.headers["Access-Control-Allow-Headers"] == "Content-Type"
        r = requests.post(root + "/__mock_as__/reset", json={}, headers={"Origin": "http://localhost:3001"})
        assert r.status_code == 403
        assert "Access-Control-Allow-Origin" not in r.headers


def test_binding_every_address_does_not_open_the_control_api(monkeypatch):
    from mock_as.control_guard import Refusal, check

    with pytest.raises(Refusal):
        check("GET", {"host": "203.0.113.5:8080"}, {"wsgi.url_scheme": "http"}, 0)


def test_the_cli_and_the_environment_allow_more(monkeypatch):
    from click.testing import CliRunner

    from mock_as.cli import main
    from mock_as.plugin import build_config

    configs = []

    def make_server(state, host, port, threads=4, **kwargs):
        configs.append(state.config)
        return _Unstarted(host)

    monkeypatch.setattr("mock_as.cli.make_wsgi_server", make_server)
    monkeypatch.setattr(signal, "signal", lambda *args: None)
    args = [
        "serve",
        "--port",
        "0",
        "-q",
        "--control-host",
        "mock-as",
        "--control-origin",
        "http://localhost:3000",
    ]
    assert CliRunner().invoke(main, args).exit_code == 0
    assert (
        CliRunner()
        .invoke(main, ["serve", "--port", "0", "-q"], env={"MOCK_AS_CONTROL_HOSTS": "a b:1"})
        .exit_code
        == 0
    )
    assert configs[0].control_hosts == ("mock-as",)
    assert configs[0].control_origins == ("http://localhost:3000",)
    assert configs[1].control_hosts == ("a", "b:1")
    assert CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--port", "0", "-q"]).exit_code == 0
    assert configs[2].control_hosts == ()
    config = build_config({}, {"MOCK_AS_CONTROL_HOSTS": "x,y", "MOCK_AS_CONTROL_ORIGINS": "http://a:1"})
    assert (config.control_hosts, config.control_origins) == (("x", "y"), ("http://a:1",))


@pytest.mark.parametrize("depth", [65, 1000, 100_000])
def test_deeply_nested_json_is_a_400_in_the_control_apis_format(mock_as, caplog, depth):
    body = "[" * depth + "]" * depth
    r = requests.post(
        _root(mock_as) + "/__mock_as__/faults", data=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"
    assert "nests too deeply" in r.json()["error_description"]
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR]


def test_nesting_inside_strings_does_not_count(mock_as):
    r = requests.post(
        _root(mock_as) + "/__mock_as__/users", json={"username": "[" * 100, "password": "{" * 100}
    )
    assert r.status_code == 201


# -- no answer runs script in the mock's origin -----------------------------------------------------


def test_every_answer_says_nosniff(am):
    answers = [
        requests.post(am.token_url, data=DOCS_FORM),
        requests.post(am.token_url, data={}),
        requests.get(am.url_for("jwk_uri")),
        requests.get(f"{am.base_url}/oauth2/nowhere"),
    ]
    am.fail(body="plain", content_type="text/plain")
    answers.append(requests.post(am.token_url, data=DOCS_FORM))
    for r in answers:
        assert r.headers["X-Content-Type-Options"] == "nosniff", r.url


def test_the_flask_side_and_waitress_rejects_say_nosniff(mock_as):
    from tests.wire import exchange_raw, parse_response

    root = _root(mock_as)
    for r in (requests.get(root + "/__mock_as__/"), requests.get(root + "/elsewhere")):
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    _, headers, _ = parse_response(exchange_raw(mock_as.port, b"GET / HTTP/1.1\r\n<script>\r\n\r\n"))
    assert headers["X-Content-Type-Options"] == "nosniff"


DOCUMENT_TYPES = [
    "text/html",
    "TEXT/HTML; charset=utf-8",
    "application/xhtml+xml",
    "image/svg+xml",
    "text/xml",
    "application/xml",
    "application/atom+xml",
    "application/pdf",
    "multipart/x-mixed-replace; boundary=x",
]


@pytest.mark.parametrize("content_type", DOCUMENT_TYPES)
def test_a_fault_may_not_serve_a_document_by_default(mock_as, content_type):
    from mock_as.errors import ConfigError

    with pytest.raises(ConfigError, match="fault_documents"):
        mock_as.fail(body="<script>alert(1)</script>", content_type=content_type)
    r = requests.post(
        mock_as.control_url + "/faults",
        json={"body": "<script>alert(1)</script>", "content_type": content_type},
    )
    assert r.status_code == 400
    assert mock_as.state.faults.all() == []


@pytest.mark.mock_as(fault_documents=True)
def test_an_allowed_document_fault_blocks_scripts(am):
    am.fail(status=502, body="<script>alert(1)</script>", content_type="image/svg+xml")
    r = requests.post(am.token_url, data=DOCS_FORM)
    assert r.status_code == 502
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "sandbox" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_text_and_json_faults_need_no_setting(am):
    am.fail(body="<b>not a page</b>", content_type="text/plain")
    r = requests.post(am.token_url, data=DOCS_FORM)
    assert r.headers["Content-Type"] == "text/plain"
    assert "Content-Security-Policy" not in r.headers
