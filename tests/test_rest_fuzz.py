"""Hostile input to AM's REST surface (``/json/…``), generated: every answer is AM's JSON and never
a 5xx, and nothing but a failure count changes (no session appears without the right password)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from mock_as.config import MockASConfig
from mock_as.router import handle
from mock_as.state import State

BASE = "http://127.0.0.1:8080/openam"
STATE = State(MockASConfig(seed=3, users=1, clock_start=1_800_000_000.0))

PATHS = st.sampled_from(
    [
        "/json/realms/root/authenticate",
        "/json/authenticate",
        "/json/customers/authenticate",
        "/json/realms/root/realms/customers/authenticate",
        "/json/realms/root/sessions",
        "/json/realms/root/sessions/",
        "/json/sessions/AQIC5wx",
        "/json/realms/root/users",
        "/json/realms/root/users/demo",
        "/json/serverinfo/*",
        "/json/serverinfo/version",
        "/json/realms/nope/authenticate",
        "/json/realms/root/realms/authenticate",
        "/json/users/a/b",
    ]
)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
STEPS = st.fixed_dictionaries(
    {},
    optional={
        "authId": st.text(max_size=40) | st.integers(),
        "callbacks": JSONISH,
        "status": st.integers(),
        "ok": st.booleans(),
        "tokenId": st.text(max_size=30),
        "sessionHandles": JSONISH,
    },
)
HEADER_VALUES = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=40)
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "accept-api-version": st.sampled_from(
            ["resource=2.0, protocol=1.0", "resource=1.0", "resource=x", "resource=4.0", ""]
        )
        | HEADER_VALUES,
        "content-type": st.sampled_from(
            ["application/json", "text/plain", "application/json; charset=utf-8"]
        ),
        "x-openam-username": HEADER_VALUES,
        "x-openam-password": HEADER_VALUES,
        "x-requested-with": st.just("forgerock-sdk"),
        "cookie": HEADER_VALUES.map(lambda v: f"iPlanetDirectoryPro={v}"),
        "iplanetdirectorypro": HEADER_VALUES,
    },
)
QUERIES = st.sampled_from(
    [
        "",
        "_action=validate",
        "_action=getSessionInfo",
        "_action=logout",
        "_action=logoutByHandle",
        "_action=refresh",
        "_action=idFromSession",
        "authIndexType=service&authIndexValue=Login",
        "authIndexType=bogus",
        "authIndexType=service&authIndexValue=%00",
        "realm=/customers",
        "realm=nope",
        "tokenId=x",
        "noSession=true",
    ]
)


@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]),
    path=PATHS,
    query=QUERIES,
    headers=HEADERS,
    body=st.one_of(
        STEPS.map(lambda d: json.dumps(d).encode()),
        st.binary(max_size=60),
        JSONISH.map(lambda d: json.dumps(d).encode()),
    ),
)
def test_rest_answers_hostile_input_in_ams_format(method, path, query, headers, body):
    STATE.reset()
    r = handle(STATE, method, path, query, headers, body, BASE)
    assert r.status < 500, r.body
    payload = json.loads(r.body) if r.body else {}
    if r.status >= 400:
        assert set(payload) in (
            {"errorMessage"},
            {"code", "reason", "message"},
            {"code", "reason", "message", "detail"},
        ), payload
    # the seeded users' passwords are never guessed: no session opens
    assert STATE.sessions.live(STATE.clock.now()) == [] or headers.get("x-openam-password")
