"""The control API against the OpenAPI document it serves: generated calls, every answer checked.

Every operation of ``/__mock_as__/openapi.json`` is called with data generated from the document,
valid and (schemathesis's negative mode) invalid. Whatever is sent, the answer is never a 5xx, its
status is one the document lists, and its content type, headers and body are as documented.

How strictly the API rejects data that breaks the document is left out: it is lenient where that is
convenient for a test (``0.0`` passes for an integer elsewhere, an empty body means "no change").
"""

from __future__ import annotations

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
    ``-Infinity`` (not JSON) and every token request a 500."""
    import requests

    control_server.reset()  # whatever the generated calls left behind
    advance = control_server.control_url + "/clock/advance"
    assert requests.post(advance, json={"seconds": -1.7e308}, timeout=SOCKET_TIMEOUT).status_code == 200
    for seconds in (-1.7e308, 10**400):
        r = requests.post(advance, json={"seconds": seconds}, timeout=SOCKET_TIMEOUT)
        assert r.status_code == 400
        assert r.json()["error"] == "invalid_request"
    assert (
        requests.get(control_server.control_url + "/clock", timeout=SOCKET_TIMEOUT).json()["now"] == -1.7e308
    )
    form = {"grant_type": "password", "username": "demo", "password": "Ch4ng31t", "client_id": "myClient"}
    r = requests.post(
        control_server.token_url, data={**form, "client_secret": "forgerock"}, timeout=SOCKET_TIMEOUT
    )
    assert r.status_code == 200


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
