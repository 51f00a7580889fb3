"""Caps on request size, and clients that misbehave on the wire, against both transports.

A body larger than :data:`~mock_as.limits.MAX_BODY_BYTES` or a head larger than
:data:`~mock_as.limits.MAX_HEADER_BYTES` gets AM's error JSON (413, 431) whichever transport carries
it. Requests the live server refuses before the app sees them also answer in that JSON, never with
a page that quotes them. Idle, half-sent and half-closed connections hold no worker: another client
still gets its token.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_as.limits import MAX_BODY_BYTES, MAX_HEADER_BYTES
from mock_as.server import SERVER_LIMITS, MockASServer
from tests.helpers import DOCS_FORM
from tests.wire import SOCKET_TIMEOUT, exchange_raw, parse_response

TOO_LARGE = {"error_description": "Request Entity Too Large", "error": "invalid_request"}
HEADERS_TOO_LARGE = {"error_description": "Request Header Fields Too Large", "error": "invalid_request"}
BAD_REQUEST = {"error_description": "Bad Request", "error": "invalid_request"}
FORM_TYPE = {"Content-Type": "application/x-www-form-urlencoded"}


def padded_form(size: int) -> bytes:
    """The documented token request, padded with an unknown parameter to exactly ``size`` bytes."""
    base = urlencode(DOCS_FORM).encode() + b"&pad="
    return base + b"x" * (size - len(base))


# -- caps, alike on both transports ---------------------------------------------------------------


def test_a_body_at_the_cap_is_served(am):
    r = requests.post(am.token_url, data=padded_form(MAX_BODY_BYTES), headers=FORM_TYPE)
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "write"


def test_a_body_over_the_cap_is_refused_in_ams_format(am):
    r = requests.post(am.token_url, data=padded_form(MAX_BODY_BYTES + 1), headers=FORM_TYPE)
    assert r.status_code == 413
    assert r.json() == TOO_LARGE
    assert r.headers["Content-Type"] == "application/json"
    # the live server refuses it before the app sees it; in-process it is journalled, unread
    assert [(c.status, c.params) for c in am.calls] in ([], [(413, {})])


def test_an_oversize_head_is_refused_in_ams_format(am):
    r = requests.post(am.token_url, data=DOCS_FORM, headers={"X-Padding": "x" * MAX_HEADER_BYTES})
    assert r.status_code == 431
    assert r.json() == HEADERS_TOO_LARGE


def test_a_large_head_under_the_cap_is_served(am):
    r = requests.post(am.token_url, data=DOCS_FORM, headers={"X-Padding": "x" * (MAX_HEADER_BYTES - 4096)})
    assert r.status_code == 200


def test_an_oversize_query_is_refused_in_ams_format(am):
    r = requests.post(am.token_url + "?pad=" + "x" * MAX_HEADER_BYTES, data=DOCS_FORM)
    assert r.status_code == 431
    assert r.json() == HEADERS_TOO_LARGE


def test_a_huge_basic_header_is_refused_not_decoded(am):
    r = requests.post(
        am.token_url, data={"grant_type": "password"}, headers={"Authorization": "Basic " + "QUFB" * 20_000}
    )
    assert r.status_code == 431


def test_a_form_of_many_repeated_keys_is_answered(am):
    """Repeated keys: the first value counts, as in AM; a quarter-million of them is no trouble."""
    body = urlencode(DOCS_FORM).encode() + b"&scope=nope" + b"&a=1" * 200_000
    r = requests.post(am.token_url, data=body, headers=FORM_TYPE)
    assert r.status_code == 200
    assert r.json()["scope"] == "write"


def test_the_live_server_and_the_core_share_the_caps():
    # waitress refuses a head or body of its limit or more
    assert SERVER_LIMITS["max_request_body_size"] == MAX_BODY_BYTES + 1
    assert SERVER_LIMITS["max_request_header_size"] == MAX_HEADER_BYTES + 1


# -- the live socket: what waitress refuses itself ------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[MockASServer]:
    """A server of its own: these tests hold connections open on it."""
    with MockASServer(seed=3) as s:
        yield s


def ask(server: MockASServer, data: bytes) -> tuple[int, dict[str, str], bytes]:
    raw = exchange_raw(server.port, data)
    assert raw, f"no answer to {data[:100]!r}"
    return parse_response(raw)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            b"GET /openam/oauth2/access_token HTTP/1.1\r\n <script>\r\nHost: x\r\n\r\n",
            id="folded-first-line",
        ),
        pytest.param(b"GET /openam/oauth2/access_token HTTP/1.1\r\nX: <script>\rx\r\n\r\n", id="bare-cr"),
        pytest.param(b"GET /openam/oauth2/access_token HTTP/1.1\r\n<script>\r\n\r\n", id="no-colon"),
        pytest.param(b"get /openam/oauth2/access_token HTTP/1.1\r\n\r\n", id="lower-case-method"),
        pytest.param(b"<script> / HTTP/1.1\r\n\r\n", id="not-a-method"),
        pytest.param(b"GET /openam/oauth2/\xff<script> HTTP/1.1\r\n\r\n", id="raw-non-utf8-target"),
        pytest.param(
            b"POST /openam/oauth2/access_token HTTP/1.1\r\nContent-Length: -1\r\n\r\n", id="negative-length"
        ),
        pytest.param(
            b"POST /openam/oauth2/access_token HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            id="two-lengths",
        ),
        pytest.param(
            b"POST /openam/oauth2/access_token HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n<script>\r\n0\r\n\r\n",
            id="bad-chunk",
        ),
    ],
)
def test_what_waitress_refuses_is_answered_in_ams_format_without_echo(server, data):
    status, headers, body = ask(server, data)
    assert status == 400
    assert headers["Content-Type"] == "application/json"
    assert body == b'{"error_description":"Bad Request","error":"invalid_request"}'


def test_an_absurd_content_length_is_refused_before_any_body(server):
    """No body follows and the socket stays open for writing: the answer cannot wait for one."""
    head = b"POST /openam/oauth2/access_token HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=SOCKET_TIMEOUT) as s:
        s.sendall(head)
        raw = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := s.recv(65536):
                raw += chunk
    status, _, body = parse_response(raw)
    assert (status, body) == (
        413,
        b'{"error_description":"Request Entity Too Large","error":"invalid_request"}',
    )


def test_a_chunked_body_over_the_cap_is_refused(server):
    chunk = b"x" * 65536
    data = b"POST /openam/oauth2/access_token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    data += (b"10000\r\n" + chunk + b"\r\n") * (MAX_BODY_BYTES // len(chunk) + 1) + b"0\r\n\r\n"
    status, _, body = ask(server, data)
    assert status == 413
    assert body == b'{"error_description":"Request Entity Too Large","error":"invalid_request"}'


def test_an_unknown_transfer_coding_is_not_implemented_in_ams_format(server):
    status, _, body = ask(
        server,
        b"POST /openam/oauth2/access_token HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    )
    assert status == 501  # RFC 9112 §6.1
    assert body == b'{"error_description":"Not Implemented","error":"invalid_request"}'


def test_a_chunked_form_is_read_whole(server):
    form = urlencode(DOCS_FORM).encode()
    halves = (form[:20], form[20:])
    body = b"".join(b"%x\r\n%s\r\n" % (len(h), h) for h in halves) + b"0\r\n\r\n"
    head = b"POST /openam/oauth2/access_token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
    status, _, _ = ask(server, head + b"Content-Type: application/x-www-form-urlencoded\r\n\r\n" + body)
    assert status == 200


# -- clients that stall ----------------------------------------------------------------------------

STALLS = {
    "idle": b"",
    "half a request line": b"POST /openam/oauth2/acc",
    "headers never ended": b"POST /openam/oauth2/access_token HTTP/1.1\r\nHost: x\r\nX-Slow: a",
    "body never sent": b"POST /openam/oauth2/access_token HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\ngrant",
    "waits for 100-continue": (
        b"POST /openam/oauth2/access_token HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 50\r\n\r\n"
    ),
    "chunks never ended": b"POST /openam/oauth2/access_token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\ngr",
}


@contextlib.contextmanager
def stalled_clients(port: int, copies: int) -> Iterator[list[socket.socket]]:
    """``copies`` connections of every kind in :data:`STALLS`, left hanging until the block ends."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(copies):
            for data in STALLS.values():
                s = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT)
                sockets.append(s)
                if data:
                    s.sendall(data)
        yield sockets
    finally:
        for s in sockets:
            s.close()


def test_stalled_clients_do_not_starve_a_healthy_one(server):
    workers = 4  # make_wsgi_server's default
    with stalled_clients(server.port, copies=workers) as stalled:
        assert len(stalled) > workers * 4
        for _ in range(3):
            r = requests.post(server.token_url, data=DOCS_FORM, timeout=SOCKET_TIMEOUT)
            assert r.status_code == 200
    r = requests.post(server.token_url, data=DOCS_FORM, timeout=SOCKET_TIMEOUT)
    assert r.status_code == 200


def test_a_client_that_half_closes_still_gets_its_answer(server):
    form = urlencode(DOCS_FORM).encode()
    data = b"POST /openam/oauth2/access_token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    status, _, _ = ask(server, data + b"Content-Length: %d\r\n\r\n%s" % (len(form), form))
    assert status == 200


def test_a_client_that_never_reads_does_not_block_others(server):
    """Pipelined requests whose answers are never read pile up in the server's buffer, not in a
    worker."""
    one = b"GET /openam/oauth2/connect/jwk_uri HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=SOCKET_TIMEOUT) as s:
        s.sendall(one * 200)
        r = requests.post(server.token_url, data=DOCS_FORM, timeout=SOCKET_TIMEOUT)
        assert r.status_code == 200


# -- memory: bounded by bytes ----------------------------------------------------------------------


def _rss() -> int:
    """This process's resident set size in bytes (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_large_requests_cost_the_journal_bytes_not_megabytes(server):
    import gc
    import os
    import time

    from mock_as.state import JOURNAL_BYTES, JOURNAL_ENTRY_BYTES, JOURNAL_VALUE_BYTES

    if not os.path.exists("/proc/self/status"):
        pytest.skip("reads /proc")
    server.state.reset()
    gc.collect()
    before = _rss()
    session = requests.Session()
    big = padded_form(MAX_BODY_BYTES)
    for _ in range(150):
        assert session.post(server.token_url, data=big, headers=FORM_TYPE, timeout=SOCKET_TIMEOUT).ok
    many = urlencode(DOCS_FORM).encode() + b"".join(b"&%d=" % i for i in range(100_000))
    for _ in range(50):
        assert session.post(server.token_url, data=many, headers=FORM_TYPE, timeout=SOCKET_TIMEOUT).ok
    gc.collect()
    assert _rss() - before < 200 * 1024 * 1024
    assert server.state._journal_bytes <= JOURNAL_BYTES
    calls = [c for c in server.calls if c.endpoint == "access_token"]  # (earlier tests pipelined others)
    assert len(calls) == 200
    assert len(calls[0].params["pad"].encode()) <= JOURNAL_VALUE_BYTES
    assert calls[0].params["pad"].endswith("…")
    last = calls[-1].params
    assert sum(len(k) + len(v) for k, v in last.items()) <= JOURNAL_ENTRY_BYTES
    assert last["…"].endswith(" more")
    assert last["password"] == "***"
    started = time.monotonic()
    r = session.get(server.control_url + "/journal", timeout=SOCKET_TIMEOUT)
    assert time.monotonic() - started < 5
    assert r.status_code == 200
    assert len(r.content) < 20 * 1024 * 1024
    assert len([c for c in r.json() if c["endpoint"] == "access_token"]) == 200
    server.state.reset()
    assert (len(server.calls), server.state._journal_bytes) == (0, 0)


def test_the_journal_keeps_its_total_and_drops_the_oldest():
    from mock_as.state import JOURNAL_BYTES, Call, State

    state = State()
    params = {f"k{i}": "v" * 1000 for i in range(20)}
    for i in range(1000):
        state.record(Call("POST", f"/x/{i}", None, None, params, 200, None, 0.0))
    first, calls = state.journal_since()
    assert state._journal_bytes <= JOURNAL_BYTES
    assert 0 < len(calls) < 1000
    assert first == 1000 - len(calls)
    assert calls[-1].path == "/x/999"


@settings(max_examples=300, deadline=None)
@given(
    path=st.text(max_size=300),
    params=st.dictionaries(st.text(max_size=120), st.text(max_size=400), max_size=12),
)
def test_a_journal_entry_costs_its_bytes_however_it_is_measured(path, params):
    """A short entry is measured in one go and kept whole; it costs what cutting it field by field
    would have found (UTF-8 bytes of path, keys and values, lone surrogates counted as "?")."""
    from mock_as.state import JOURNAL_ENTRY_OVERHEAD, Call, clip, clipped

    call = Call("POST", path, None, None, params, 200, None, 0.0)
    kept, cost = clipped(call)
    fields = [path, *(part for item in params.items() for part in item)]
    if all(clip(f) == f for f in fields) and sum(len(f.encode("utf-8", "replace")) for f in fields) <= 8192:
        assert kept == call
        assert cost == sum(len(f.encode("utf-8", "replace")) for f in fields) + JOURNAL_ENTRY_OVERHEAD
    else:
        assert kept != call


def test_the_journal_pages():
    with MockASServer(seed=3) as server:
        _pages(server)


def _pages(server):
    for _ in range(25):
        requests.get(server.url_for("jwk_uri"), timeout=SOCKET_TIMEOUT)
    url = server.control_url + "/journal?limit=10"
    seen = []
    pages = 0
    while url and pages < 10:
        r = requests.get(url, timeout=SOCKET_TIMEOUT)
        assert r.status_code == 200
        seen += [c["seq"] for c in r.json()]
        url = r.links.get("next", {}).get("url")
        pages += 1
    assert seen == list(range(25))
    assert pages == 3
    r = requests.get(server.control_url + "/journal", params={"after": 22}, timeout=SOCKET_TIMEOUT)
    assert [c["seq"] for c in r.json()] == [23, 24]
    for bad in ("0", "x", "-1", "10001", ""):
        r = requests.get(server.control_url + "/journal", params={"limit": bad}, timeout=SOCKET_TIMEOUT)
        assert r.status_code == 400
        assert "limit" in r.json()["error_description"]


# -- tokens: a cap on the live ones -----------------------------------------------------------------


@pytest.mark.mock_as(max_tokens=3)
def test_the_oldest_tokens_go_first_and_then_are_unknown(am):
    form = {**DOCS_FORM}
    tokens = [requests.post(am.token_url, data=form).json()["access_token"] for _ in range(5)]
    assert len(am.state.tokens) == 3
    answers = [requests.get(am.url_for("tokeninfo"), params={"access_token": t}).status_code for t in tokens]
    assert answers == [401, 401, 200, 200, 200]


def test_the_token_cap_costs_nothing_per_issue_for_revoked_tokens():
    from mock_as.config import MockASConfig
    from mock_as.state import COMPACT_EVERY, State

    state = State(MockASConfig(max_tokens=10))
    bound = 2 * 10 + 1024 + COMPACT_EVERY  # compaction's threshold, looked at every COMPACT_EVERY issues
    for _ in range(5000):
        token = state.issue(
            kind="access_token",
            realm="/",
            client_id="c",
            username="u",
            scopes=(),
            grant_type="x",
            lifetime=60,
        )
        state.revoke(token.id)
    assert len(state._order) <= bound
    for _ in range(5000):  # evicted, not expired: their expiry entries go too
        state.issue(
            kind="access_token",
            realm="/",
            client_id="c",
            username="u",
            scopes=(),
            grant_type="x",
            lifetime=60,
        )
    assert len(state.tokens) == 10
    assert state.tokens.queued() <= bound


# -- the fault queue: capped, and matched without a scan ---------------------------------------------


def test_the_fault_queue_is_capped(am):
    from mock_as.errors import ConfigError
    from mock_as.faults import MAX_FAULTS

    for _ in range(MAX_FAULTS):
        am.fail("tokeninfo", times=None)
    with pytest.raises(ConfigError, match="at most"):
        am.fail()
    am.clear_faults()
    queued = [am.fail("tokeninfo") for _ in range(MAX_FAULTS)]
    first = queued[0]
    requests.get(am.url_for("tokeninfo"), params={"access_token": "x"})  # spends the first
    newest = am.fail()  # the spent one made room
    listed = am.state.faults.all()
    assert len(listed) == MAX_FAULTS
    assert listed[-1] is newest
    assert first not in listed


def test_a_request_looks_only_at_faults_that_can_hit_it(am, monkeypatch):
    from mock_as.faults import MAX_FAULTS, Fault

    for _ in range(MAX_FAULTS - 2):
        am.fail("tokeninfo", times=None)
    am.fail("access_token", status=503)
    looked = []
    original = Fault.matches
    monkeypatch.setattr(Fault, "matches", lambda self, x: looked.append(self.id) or original(self, x))
    assert requests.post(am.token_url, data=DOCS_FORM).status_code == 503
    assert requests.post(am.token_url, data=DOCS_FORM).status_code == 200  # spent: out of the index
    assert looked == [MAX_FAULTS - 1]


# -- the connection: framing in doubt closes it ----------------------------------------------------


def test_content_length_with_transfer_encoding_closes_the_connection(server):
    """RFC 9112 §6.1: the server answers (reading the body as chunked), then closes."""
    form = urlencode(DOCS_FORM).encode()
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(form), form)
    head = (
        b"POST /openam/oauth2/access_token HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=SOCKET_TIMEOUT) as s:
        s.sendall(head + body)
        raw = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := s.recv(65536):  # ends only when the server closes
                raw += chunk
    status, headers, _ = parse_response(raw)
    assert status == 200
    assert headers["Connection"] == "close"


def test_a_plain_request_keeps_the_connection(server):
    session = requests.Session()
    first = session.post(server.token_url, data=DOCS_FORM, timeout=SOCKET_TIMEOUT)
    assert "close" not in first.headers.get("Connection", "")


@pytest.mark.parametrize("cap", [0, -1, True, 2.5])
def test_a_token_cap_below_one_is_refused(cap):
    from mock_as.config import MockASConfig
    from mock_as.errors import ConfigError
    from mock_as.state import State

    with pytest.raises(ConfigError, match="max_tokens"):
        State(MockASConfig(max_tokens=cap))
