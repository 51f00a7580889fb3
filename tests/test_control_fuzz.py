"""The control API against the OpenAPI document it serves: generated calls, every answer checked.

Every operation of ``/__mock_as__/openapi.json`` is called with data generated from the document,
valid and (schemathesis's negative mode) invalid. Whatever is sent, the answer is never a 5xx, its
status is one the document lists, and its content type, headers and body are as documented.

The document is also held to what it promises about input, both ways: data it calls valid is
accepted (a 404 for a generated name that does not exist is fine), and data it calls invalid is a
400 in the API's error format. Where the two used to disagree, the document now says what the API
does, or the API does what the document says (``3.0`` is an integer, an empty PATCH changes nothing).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
import schemathesis
from schemathesis import checks

from mock_as.server import MockASServer
from tests.wire import SOCKET_TIMEOUT

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.positive_data_acceptance,
    checks.negative_data_rejection,
]


@pytest.fixture(scope="module")
def control_server() -> Iterator[MockASServer]:
    with MockASServer(seed=5) as server:
        yield server


@pytest.fixture
def control_schema(control_server: MockASServer) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(control_server.control_url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("control_schema")


@schema.parametrize()
def test_control_api_answers_as_documented(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS, timeout=SOCKET_TIMEOUT)


# -- what the generated calls found ----------------------------------------------------------------


def test_the_clock_cannot_be_moved_past_every_finite_instant(control_server: MockASServer) -> None:
    """Two moves of -1.8e308 seconds used to leave the clock at -inf: the clock then answered
    ``-Infinity`` (not JSON) and every token request a 500. One move is now at most 10**12 seconds,
    which the clock absorbs even at the largest float: every move the document allows succeeds."""
    import requests

    control_server.reset()  # whatever the generated calls left behind
    advance = control_server.control_url + "/clock/advance"
    for seconds in (-1.7e308, 10**12 + 1, -(10**12) - 0.5, 10**400):
        r = requests.post(advance, json={"seconds": seconds}, timeout=SOCKET_TIMEOUT)
        assert r.status_code == 400
        assert r.json()["error"] == "invalid_request"
    start = requests.get(control_server.control_url + "/clock", timeout=SOCKET_TIMEOUT).json()["now"]
    r = requests.post(advance, json={"seconds": -(10**12)}, timeout=SOCKET_TIMEOUT)
    assert r.status_code == 200
    assert r.json()["now"] == pytest.approx(start - 10**12, abs=60)
    form = {"grant_type": "password", "username": "demo", "password": "Ch4ng31t", "client_id": "myClient"}
    r = requests.post(
        control_server.token_url, data={**form, "client_secret": "forgerock"}, timeout=SOCKET_TIMEOUT
    )
    assert r.status_code == 200
    for instant in (sys.float_info.max, -sys.float_info.max):
        control_server.clock.freeze(instant)
        for seconds in (10**12, -(10**12)):
            r = requests.post(advance, json={"seconds": seconds}, timeout=SOCKET_TIMEOUT)
            assert (r.status_code, r.json()["now"]) == (200, instant)
    control_server.reset()


@pytest.mark.parametrize("instant", [float("inf"), float("-inf"), float("nan")])
def test_the_clock_reads_finite_instants_only(instant: float) -> None:
    from mock_as.clock import Clock

    with pytest.raises(ValueError, match="cannot read"):
        Clock(start=instant)
    clock = Clock(start=1e308)
    with pytest.raises(ValueError, match="cannot read"):
        clock.advance(1e308)
    with pytest.raises(ValueError, match="cannot read"):
        clock.freeze(instant)
    assert clock.now() == 1e308
    running = Clock()
    with pytest.raises(ValueError, match="cannot read"):
        running.advance(instant)
    assert abs(running.now() - Clock().now()) < 3600
