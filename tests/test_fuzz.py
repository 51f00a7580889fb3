"""Hostile input, generated: whatever arrives, the mock answers in AM's JSON format and never with a 5xx.

Three levels, fastest first:

* ``handle()`` itself, the core both transports call, with many examples;
* the two transports side by side (a live socket and ``requests`` patched in-process, each over
  its own state with the same seed and a frozen clock): any request ``requests`` can send gets the
  same answer from both;
* raw bytes on the live server's socket, for what no client library would send (broken request
  lines and headers, bad chunking, absurd lengths).

The budget comes from the hypothesis profile (``HYPOTHESIS_PROFILE=ci|long``, see conftest.py).
"""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
import responses
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mock_as.config import (
    DEMO_USER,
    DOCS_CLIENT,
    ClientConfig,
    LockoutConfig,
    MockASConfig,
    RealmConfig,
)
from mock_as.patching import attach_requests
from mock_as.paths import OAUTH2_ENDPOINTS as ENDPOINT_PATHS
from mock_as.paths import realm_path
from mock_as.protocol import SECRET_PARAMS, Response
from mock_as.router import handle
from mock_as.server import MockASServer
from mock_as.state import State
from tests.helpers import basic_value
from tests.wire import SOCKET_TIMEOUT, exchange_raw, parse_response

BUDGET = settings().max_examples
"""Examples per test under the loaded profile; the slower levels take a share of it."""

IN_PROCESS_BASE = "https://openam.example.com:8443/openam"
CLOCK = 1_700_000_000.0

RICH = ClientConfig(
    client_id="rich",
    secret="s3cr3t-rich",
    scopes=("openid", "profile", "email", "write", "am-introspect-all-tokens"),
    default_scopes=("write",),
    grant_types=("password", "refresh_token", "client_credentials"),
    token_endpoint_auth_method="client_secret_post",
)
PUBLIC = ClientConfig(
    client_id="pub", scopes=("write",), default_scopes=("write",), grant_types=("password", "refresh_token")
)
REALM_NAMES = ("/", "/customers", "/jwt")


def fuzz_config() -> MockASConfig:
    """Three realms that between them reach every branch: opaque and JWT tokens, a confidential
    client with every grant, a public client, and lockout on."""
    clients = (DOCS_CLIENT, RICH, PUBLIC)
    return MockASConfig(
        seed=7,
        users=1,
        clock_start=CLOCK,
        issuer="https://am.example.com/am",  # JWTs then read the same whichever URL minted them
        realms=(
            RealmConfig(name="/", clients=clients, users=(DEMO_USER,)),
            RealmConfig(
                name="/customers",
                clients=clients,
                users=(DEMO_USER,),
                lockout=LockoutConfig(enabled=True, failure_count=3),
                module_messages=True,
            ),
            RealmConfig(name="/jwt", clients=clients, users=(DEMO_USER,), token_format="jwt"),
        ),
    )


def seed_tokens(state: State, base_url: str) -> list[str]:
    """Tokens of every kind in every realm, so generated requests can present real ones."""
    out: list[str] = []
    for realm in REALM_NAMES:
        form = urlencode(
            {
                "grant_type": "password",
                "username": "demo",
                "password": "Ch4ng31t",
                "scope": "openid profile write",
                "client_id": "rich",
                "client_secret": "s3cr3t-rich",
            }
        ).encode()
        r = handle(
            state,
            "POST",
            f"/oauth2{realm_path(realm)}/access_token",
            "",
            {"content-type": "application/x-www-form-urlencoded"},
            form,
            base_url,
        )
        assert r.status == 200, r.body
        body = json.loads(r.body)
        out += [body["access_token"], body["refresh_token"], body["id_token"]]
    return out


# -- strategies ------------------------------------------------------------------------------------

SEED_TOKENS = seed_tokens(State(fuzz_config()), IN_PROCESS_BASE)
"""What the fuzz states hold after :func:`seed_tokens`: the same seed mints the same strings."""

METHODS = st.one_of(
    st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT"]),
    st.text(max_size=10),
)
HTTP_METHODS = st.one_of(
    st.sampled_from(["GET", "POST", "POST", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"]),
    st.from_regex(r"\A[A-Z]{1,10}\Z"),
)

REALM_PARTS = [
    "",
    "/realms/root",
    "/realms/root/realms/customers",
    "/realms/root/realms/jwt",
    "/customers",
    "/jwt",
    "/realms/root/realms/nowhere",
    "/realms/customers",
    "/realms",
    "/realms/root/realms",
    "/realms/root/customers",
    "//",
    "/%2F",
    "/%3Cscript%3E",
]
ENDPOINT_PARTS = ["/" + "/".join(segments) for segments in ENDPOINT_PATHS.values()] + [
    "/authorize",
    "/token",
    "/access_token/",
    "/access_token/x",
    "/connect/register",
    "/access%5Ftoken",
    "",
]
SEGMENTS = [
    "oauth2",
    "realms",
    "root",
    "customers",
    "access_token",
    "token",
    "revoke",
    ".well-known",
    "openid-configuration",
    "",
    ".",
    "..",
    "%2F",
    "%00",
    "%zz",
    "%",
    "<script>",
    "\x00",
    "\ufffd",
    "é",
    "a;b=c",
]
PATHS = st.one_of(
    st.builds(lambda r, e: "/oauth2" + r + e, st.sampled_from(REALM_PARTS), st.sampled_from(ENDPOINT_PARTS)),
    st.lists(st.one_of(st.sampled_from(SEGMENTS), st.text(max_size=8)), max_size=8).map(
        lambda s: "/oauth2/" + "/".join(s)
    ),
    st.text(max_size=30),
)

PARAM_NAMES = [
    "grant_type",
    "username",
    "password",
    "scope",
    "client_id",
    "client_secret",
    "refresh_token",
    "token",
    "token_type_hint",
    "access_token",
    "auth_chain",
    "realm",
    "client_assertion",
    "client_assertion_type",
    "id_token",
    "claims",
]
GOOD_VALUES = [
    "password",
    "refresh_token",
    "client_credentials",
    "authorization_code",
    "demo",
    "Ch4ng31t",
    "myClient",
    "forgerock",
    "rich",
    "s3cr3t-rich",
    "pub",
    "write",
    "openid profile",
    "openid profile email write",
    "/customers",
    "/jwt",
    "/",
    "root",
    "ldapService",
    "Example",
    "nope",
    "access_token",
    "a.b.c",
    "eyJhbGciOiJub25lIn0.e30.",
    "<script>alert(1)</script>",
    "",
]
VALUES = st.one_of(st.sampled_from(GOOD_VALUES + SEED_TOKENS), st.text(max_size=20))
PAIRS = st.lists(st.tuples(st.one_of(st.sampled_from(PARAM_NAMES), st.text(max_size=8)), VALUES), max_size=10)
CORRUPTIONS = [b"%", b"%zz", b"%ff", b"\xff\xfe", b"\xc3(", b"&&", b"==", b"+", b"%00", b"\x00", b";"]


@st.composite
def corrupt(draw: st.DrawFn, raw: bytes) -> bytes:
    """``raw`` with bytes that break percent-encoding or UTF-8 spliced in."""
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.sampled_from(CORRUPTIONS)) + raw[at:]
    return raw


FORMS = PAIRS.map(lambda pairs: urlencode(pairs).encode())
BODIES = st.one_of(
    FORMS,
    FORMS.flatmap(corrupt),
    st.binary(max_size=200),
    st.dictionaries(st.sampled_from(PARAM_NAMES), VALUES, max_size=5).map(lambda d: json.dumps(d).encode()),
    st.integers(1, 64 * 1024).map(lambda n: b"grant_type=password&scope=" + b"w" * n),
    st.just(b""),
)
QUERIES = st.one_of(
    st.just(""),
    PAIRS.map(urlencode),
    PAIRS.map(lambda pairs: urlencode(pairs).encode()).flatmap(corrupt).map(lambda b: b.decode("latin-1")),
    st.sampled_from(
        ["%", "%zz", "realm=%ff", "realm=%00", "&&&", "=", "realm=", "realm=nowhere", "realm=/jwt"]
    ),
    st.text(max_size=30),
)
CONTENT_TYPES = st.one_of(
    st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=UTF-8",
            "APPLICATION/X-WWW-FORM-URLENCODED",
            " application/x-www-form-urlencoded ;;",
            "application/json",
            "multipart/form-data; boundary=x",
            "text/plain",
            "",
            ";",
        ]
    ),
    st.text(max_size=30),
)


def basic(client_id: str, secret: str) -> str:
    return basic_value(client_id, secret, form_encoded=True)


AUTHORIZATIONS = st.one_of(
    st.builds(basic, st.sampled_from(["myClient", "rich", "pub", "nobody", ""]), VALUES),
    st.binary(max_size=40).map(lambda b: "Basic " + base64.b64encode(b).decode()),
    st.text(max_size=40).map(lambda t: "Basic " + t),
    st.sampled_from(
        ["Basic", "Basic ", "Basic ====", "Basic Og==", "Basic YTpi:", "basic bXlDbGllbnQ6Zm9yZ2Vyb2Nr"]
    ),
    st.builds(lambda s, t: s + " " + t, st.sampled_from(["Bearer", "bearer", "BEARER"]), VALUES),
    st.integers(1, 32 * 1024).map(lambda n: "Basic " + "QUFB" * n),
    st.text(max_size=40),
)
HEADER_NAMES = st.sampled_from(
    ["x-forwarded-host", "x-forwarded-proto", "x-forwarded-prefix", "host", "accept"]
)
HEADERS = st.fixed_dictionaries(
    {},
    optional={"content-type": CONTENT_TYPES, "authorization": AUTHORIZATIONS},
).flatmap(
    lambda base: st.dictionaries(
        st.one_of(HEADER_NAMES, st.text(max_size=10)), st.text(max_size=30), max_size=4
    ).map(lambda extra: {**{k.lower(): v for k, v in extra.items()}, **base})
)


# -- what every answer must be ---------------------------------------------------------------------


def assert_am_answer(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    also: tuple[int, ...] = (),
    path: str = "",
) -> Any:
    """Not a 5xx (unless one of ``also``), JSON, and an error in one of AM's two formats, with
    nothing a browser could take for markup. Returns the parsed body. ``path``, when known, tells
    an endpoint that answers ``invalid_client`` without a challenge (introspection, reference
    §9.2) from the others."""
    assert 200 <= status < 500 or status in also, (status, body[:300])
    content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    if content_type.startswith("text/html") or status in (204, 302):
        return browser_answer(status, headers, body)
    assert content_type.split(";")[0].strip() == "application/json", (status, headers)
    payload = json.loads(body)
    if status >= 400:
        assert isinstance(payload, dict), payload
        if "error" in payload:  # RFC 6749 §5.2 as AM writes it: the description first
            assert list(payload) == ["error_description", "error"], payload
            assert all(isinstance(v, str) and v for v in payload.values()), payload
        else:  # AM's router (CREST) for unknown realms and paths
            assert list(payload) == ["code", "reason", "message"], payload
            assert payload["code"] == status, payload
        if status == 401 and payload.get("error") == "invalid_client" and "/introspect" not in path:
            assert "www-authenticate" in {k.lower() for k in headers}, headers
    assert b"<" not in body, body[:300]
    return payload


def browser_answer(status: int, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """What the browser endpoints (authorize, endSession, the login page) may answer besides JSON:
    a redirect or a 204 with no body, or one of the mock's pages under its strict policy, with
    whatever the request carried escaped."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if status in (204, 302):
        assert body == b"", body[:300]
        assert status == 204 or lowered.get("location"), headers
        return {}
    assert status in (200, 400), status
    assert "default-src 'none'" in lowered["content-security-policy"], headers
    assert b"<script>alert" not in body, body[:300]
    return {}


# -- level 1: handle() ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_state() -> State:
    state = State(fuzz_config())
    assert seed_tokens(state, IN_PROCESS_BASE) == SEED_TOKENS
    return state


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(method=METHODS, path=PATHS, query=QUERIES, headers=HEADERS, body=BODIES)
@example(
    method="POST", path="/oauth2/access_token", query="", headers={"authorization": "Basic \udcff"}, body=b""
)
@example(
    method="GET",
    path="/oauth2/authorize",
    query="client_id=myClient&state=<script>alert(1)</script>",
    headers={},
    body=b"",
)
@example(method="GET", path="/UI/Login", query="goto=<script>alert(1)</script>", headers={}, body=b"")
def test_handle_answers_everything_in_ams_format(
    fuzz_state: State, method: str, path: str, query: str, headers: dict[str, str], body: bytes
) -> None:
    before = len(fuzz_state.journal)
    r = handle(fuzz_state, method, path, query, headers, body, IN_PROCESS_BASE)
    assert isinstance(r, Response)
    assert r.action is None
    assert_am_answer(r.status, dict(r.headers), r.body, path=path)
    # Every request is journalled once, with its secrets masked.
    assert len(fuzz_state.journal) == before + 1
    call = fuzz_state.journal[-1]
    for key in SECRET_PARAMS & call.params.keys():
        assert call.params[key] == "***"


# -- level 2: both transports, side by side --------------------------------------------------------


class Twins:
    """A live server and an in-process patch, each over its own state with the same seed and a
    frozen clock: the same request sequence must give the same answers."""

    def __init__(self) -> None:
        self.live_state = State(fuzz_config())
        self.inproc_state = State(fuzz_config())
        assert seed_tokens(self.live_state, IN_PROCESS_BASE) == SEED_TOKENS
        assert seed_tokens(self.inproc_state, IN_PROCESS_BASE) == SEED_TOKENS
        self.server = MockASServer(state=self.live_state).start()
        self.live_base = self.server.base_url
        self.mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        attach_requests(self.mock, self.inproc_state, IN_PROCESS_BASE)
        self.mock.add_passthru(self.live_base)
        self.mock.start()

    def close(self) -> None:
        self.mock.stop(allow_assert=False)
        self.mock.reset()
        self.server.stop()


@pytest.fixture(scope="module")
def twins() -> Iterator[Twins]:
    t = Twins()
    try:
        yield t
    finally:
        t.close()


def normalise(payload: Any, base: str) -> Any:
    """The answer with the one thing that legitimately differs between the transports blanked out:
    the base URL the client used (discovery's endpoint URLs)."""
    if isinstance(payload, dict):
        return {k: normalise(v, base) for k, v in payload.items()}
    if isinstance(payload, list):
        return [normalise(v, base) for v in payload]
    if isinstance(payload, str):
        return payload.replace(base, "<base>")
    return payload


COMPARED_HEADERS = ("content-type", "cache-control", "pragma", "www-authenticate", "allow")

REQUEST_PATHS = st.one_of(
    st.builds(lambda r, e: "/oauth2" + r + e, st.sampled_from(REALM_PARTS), st.sampled_from(ENDPOINT_PARTS)),
    # (no dot segments: a client resolves those before it sends anything)
    st.lists(st.sampled_from([s for s in SEGMENTS if s.strip(".")]), min_size=1, max_size=6).map(
        lambda s: "/oauth2/" + "/".join(s)
    ),
)


@settings(max_examples=max(10, BUDGET // 2), suppress_health_check=[HealthCheck.too_slow])
@given(
    method=HTTP_METHODS,
    path=REQUEST_PATHS,
    query=st.one_of(st.just(""), PAIRS.map(urlencode)),
    content_type=st.one_of(
        st.none(), st.sampled_from(["application/x-www-form-urlencoded", "application/json", "text/plain"])
    ),
    authorization=st.one_of(st.none(), AUTHORIZATIONS.filter(lambda a: a.isascii() and a == a.lstrip())),
    body=st.one_of(FORMS, FORMS.flatmap(corrupt), st.binary(max_size=100)),
)
def test_both_transports_answer_alike(
    twins: Twins,
    method: str,
    path: str,
    query: str,
    content_type: str | None,
    authorization: str | None,
    body: bytes,
) -> None:
    headers = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if authorization is not None:
        headers["Authorization"] = authorization
    ask_both(twins, method, path + ("?" + query if query else ""), headers, body)


def ask_both(
    twins: Twins, method: str, target: str, headers: Mapping[str, str | bytes], body: bytes
) -> tuple[int, Any]:
    """Send one request to each transport; both answers must be AM's and the same."""
    answers = []
    for base in (twins.live_base, IN_PROCESS_BASE):
        r = requests.request(
            method, base + target, headers=headers, data=body, timeout=SOCKET_TIMEOUT, allow_redirects=False
        )
        payload = assert_am_answer(r.status_code, r.headers, r.content, path=target)
        shown = {k: r.headers[k] for k in COMPARED_HEADERS if k in r.headers}
        answers.append((r.status_code, shown, normalise(payload, base)))
    assert answers[0] == answers[1]
    return answers[0][0], answers[0][2]


@pytest.mark.parametrize(
    ("method", "target", "headers", "expected"),
    [
        # werkzeug used to answer a method missing from the route's list itself, in its own format
        ("FOO", "/oauth2/access_token", {}, (405, "method_not_allowed")),
        ("TRACE", "/oauth2/realms/root/tokeninfo", {}, (405, "method_not_allowed")),
        # ... and a doubled slash with an HTML redirect page
        ("POST", "/oauth2//access_token", {}, (404, "Realm not found")),
        ("GET", "/oauth2/realms/root//.well-known/openid-configuration", {}, (404, "Realm not found")),
        # in-process read the path without percent-decoding it, as no WSGI server does
        ("POST", "/oauth2/realms%2Froot/access_token", {}, (400, "invalid_client")),
        ("POST", "/oauth2/%72ealms/root/access_token", {}, (400, "invalid_client")),
        # in-process failed with a 500 on a header given as bytes
        ("POST", "/oauth2/access_token", {"Authorization": b"Basic \xff\xfe"}, (401, "invalid_client")),
        ("POST", "/oauth2/access_token", {"Content-Type": b"text/\xe9"}, (400, "invalid_request")),
    ],
)
def test_unusual_requests_answer_alike(
    twins: Twins, method: str, target: str, headers: dict[str, str | bytes], expected: tuple[int, str]
) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, payload = ask_both(twins, method, target, {**form, **headers}, b"grant_type=password")
    assert (status, payload.get("error") or payload.get("message")) == expected


# -- level 3: raw bytes on the live socket ---------------------------------------------------------


TOKEN_CHARS = st.from_regex(rb"\A[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}\Z")
RAW_METHODS = st.one_of(st.sampled_from([b"GET", b"POST", b"PUT", b"post", b"P<S>T", b""]), TOKEN_CHARS)
RAW_TARGETS = st.one_of(
    PATHS.map(lambda p: b"/openam" + p.encode("utf-8", "surrogatepass")),
    st.sampled_from(
        [b"*", b"/", b"//", b"http://evil.example/openam/oauth2/access_token", b"/openam/oauth2/\xff"]
    ),
    st.binary(max_size=30),
).flatmap(
    lambda t: st.one_of(st.just(t), QUERIES.map(lambda q: t + b"?" + q.encode("utf-8", "surrogatepass")))
)
RAW_VERSIONS = st.sampled_from([b" HTTP/1.1", b" HTTP/1.0", b"", b" HTTP/2.0", b" HTTP/9.9", b" http/1.1"])
RAW_HEADER_LINES = st.one_of(
    st.sampled_from(
        [
            b"Host: localhost",
            b"Content-Type: application/x-www-form-urlencoded",
            b"Content-Type: \xff\xfe",
            b"Transfer-Encoding: chunked",
            b"Transfer-Encoding: gzip, chunked",
            b"Transfer-Encoding: identity",
            b"Content-Length: 0",
            b"Content-Length: 10",
            b"Content-Length: -1",
            b"Content-Length: 99999999999999999999999",
            b"Content-Length: 1e3",
            b"Expect: 100-continue",
            b"Connection: keep-alive",
            b" folded",
            b"\tfolded",
            b"NoColon",
            b": empty-name",
            b"X: a\rb",
            b"X-Forwarded-Host: <script>",
            b"Authorization: Basic \xff\xfe",
            b"Authorization: Basic",
        ]
    ),
    st.builds(
        lambda k, v: k + b": " + v, TOKEN_CHARS, st.binary(max_size=30).filter(lambda b: b"\r\n" not in b)
    ),
    AUTHORIZATIONS.map(lambda a: b"Authorization: " + a.encode("utf-8", "surrogatepass")),
)
RAW_BODIES = st.one_of(
    BODIES,
    st.sampled_from(
        [b"0\r\n\r\n", b"5\r\ngrant\r\n0\r\n\r\n", b"zz\r\nabc\r\n0\r\n\r\n", b"5\r\nab", b"-1\r\n\r\n"]
    ),
)


@st.composite
def raw_requests(draw: st.DrawFn) -> bytes:
    line = draw(RAW_METHODS) + b" " + draw(RAW_TARGETS) + draw(RAW_VERSIONS)
    headers = draw(st.lists(RAW_HEADER_LINES, max_size=6))
    body = draw(RAW_BODIES)
    if draw(st.booleans()):
        headers.append(b"Content-Length: %d" % len(body))
    return line + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body


@pytest.fixture(scope="module")
def raw_server() -> Iterator[MockASServer]:
    with MockASServer(fuzz_config()) as server:
        seed_tokens(server.state, server.base_url)
        yield server


@settings(max_examples=max(10, BUDGET // 2), suppress_health_check=[HealthCheck.too_slow])
@given(data=raw_requests())
@example(data=b"GET /openam/oauth2/access_token HTTP/1.1\r\n <script>\r\nHost: x\r\n\r\n")
@example(data=b"GET /openam/oauth2/access_token HTTP/1.1\r\nHost: x\r\nX: <script>\rfoo\r\n\r\n")
@example(data=b"POST /openam/oauth2/access_token HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n")
@example(
    data=b"POST /openam/oauth2/access_token HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"
)
@example(data=b"GET /openam/oauth2//access_token HTTP/1.1\r\nHost: x\r\n\r\n")
@example(data=b"GET /openam/oauth2/access_token?realm=\xff HTTP/1.1\r\nHost: x\r\n\r\n")
def test_live_socket_survives_raw_bytes(raw_server: MockASServer, data: bytes) -> None:
    raw = exchange_raw(raw_server.port, data)
    if not raw:
        return  # an incomplete request the server gave up on when we half-closed: no answer is fine
    status, headers, body = parse_response(raw)
    # RFC 9112 §6.1: a transfer coding the server does not know is "Not Implemented".
    assert_am_answer(status, headers, body, also=(501,) if b"transfer-encoding" in data.lower() else ())
    # and the server is still there for everyone else
    conn = http.client.HTTPConnection("127.0.0.1", raw_server.port, timeout=SOCKET_TIMEOUT)
    try:
        conn.request("GET", "/openam/oauth2/connect/jwk_uri")
        assert conn.getresponse().status == 200
    finally:
        conn.close()
