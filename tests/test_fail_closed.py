"""The in-process patches fail closed: whatever a test does to its mocking library, a request to the
mock's base URL is answered by the mock (or fails clearly), and never reaches the network.

The base URL points at a loopback port with a real listener behind it, which counts every byte it
receives: it must receive none.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest
import requests
import responses
import respx

from mock_as import patch_httpx, patch_requests
from tests.conftest import DOCS_FORM


class Listener:
    """A TCP listener on 127.0.0.1 that accepts connections and counts what they send."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.received = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.settimeout(0.5)
            try:
                while data := conn.recv(65536):
                    self.received += len(data)
            except OSError:
                pass
            finally:
                conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture(autouse=True)
def leaves_no_patch_behind() -> Iterator[None]:
    """Every test here ends with requests and httpx as they were: no mock, no net."""
    from urllib3.connectionpool import HTTPConnectionPool

    from mock_as.patching import NET

    send, urlopen, handle = (
        requests.adapters.HTTPAdapter.send,
        HTTPConnectionPool.urlopen,
        httpx.HTTPTransport.handle_request,
    )
    yield
    assert NET.routers == ()
    assert requests.adapters.HTTPAdapter.send is send
    assert HTTPConnectionPool.urlopen is urlopen
    assert httpx.HTTPTransport.handle_request is handle


@pytest.fixture
def listener() -> Iterator[Listener]:
    """The 'network' behind the base URL."""
    ear = Listener()
    yield ear
    ear.close()
    assert (ear.connections, ear.received) == (0, 0), "a request reached the network"


@pytest.fixture
def base_url(listener: Listener) -> str:
    return f"http://127.0.0.1:{listener.port}/openam"


def _token(mock) -> requests.Response:
    return requests.post(mock.token_url, data=DOCS_FORM, timeout=5)


def test_the_listener_would_see_a_leak(listener):
    """The check itself works: without a patch the bytes arrive."""
    with pytest.raises(requests.RequestException):
        requests.post(f"http://127.0.0.1:{listener.port}/openam/x", data=DOCS_FORM, timeout=1)
    listener.close()
    assert listener.received > 0
    listener.connections = listener.received = 0  # the fixture's own check is for the tests below


def test_a_nested_responses_activate_does_not_switch_the_mock_off(base_url):
    @responses.activate
    def helper_with_its_own_stubs() -> int:
        responses.add(responses.GET, "https://api.example.com/me", json={"name": "demo"})
        return requests.get("https://api.example.com/me", timeout=5).status_code

    with patch_requests(seed=1, base_url=base_url, requests_mock=responses.mock) as mock:
        responses.mock.start()
        try:
            assert _token(mock).status_code == 200
            assert helper_with_its_own_stubs() == 200
            # responses' default mock was stopped and reset by the helper on its way out
            r = _token(mock)
            assert r.status_code == 200
            assert r.json()["scope"] == "write"
        finally:
            responses.mock.stop(allow_assert=False)
            responses.mock.reset()
        assert [c.status for c in mock.calls] == [200, 200]


def test_responses_reset_does_not_switch_the_mock_off(base_url):
    with patch_requests(seed=1, base_url=base_url, requests_mock=responses.mock) as mock:
        responses.mock.start()
        try:
            responses.reset()
            assert _token(mock).status_code == 200
        finally:
            responses.mock.stop(allow_assert=False)
            responses.mock.reset()


def test_a_tests_own_requests_mock_still_sees_the_mock(base_url):
    with patch_requests(seed=1, base_url=base_url) as mock, responses.RequestsMock() as rsps:
        rsps.add(responses.GET, "https://api.example.com/me", json={})
        assert _token(mock).status_code == 200
        assert requests.get("https://api.example.com/me", timeout=5).status_code == 200


def test_a_test_that_puts_the_real_send_back_still_cannot_leak(base_url):
    adapter = requests.adapters.HTTPAdapter
    with patch_requests(seed=1, base_url=base_url) as mock:
        patched = adapter.send
        adapter.send = responses._real_send  # type: ignore[method-assign]
        try:
            assert _token(mock).status_code == 200
            assert mock.calls[-1].status == 200
        finally:
            adapter.send = patched  # type: ignore[method-assign]
    assert adapter.send is responses._real_send


def test_a_drop_and_a_delay_keep_their_shape_below_responses(base_url):
    @responses.activate
    def switch_off() -> None:
        pass

    with patch_requests(seed=1, base_url=base_url, requests_mock=responses.mock) as mock:
        responses.mock.start()
        switch_off()
        mock.fail(drop=True)
        with pytest.raises(requests.ConnectionError):
            _token(mock)
        mock.fail(delay=0.5)
        with pytest.raises(requests.ReadTimeout):
            requests.post(mock.token_url, data=DOCS_FORM, timeout=0.05)
        mock.fail(status=503)
        r = _token(mock)
        assert r.status_code == 503
        assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_other_threads_are_covered_too(base_url):
    answers: list[int] = []
    with patch_requests(seed=1, base_url=base_url) as mock:
        worker = threading.Thread(target=lambda: answers.append(_token(mock).status_code))
        worker.start()
        worker.join(10)
    assert answers == [200]


# -- httpx --------------------------------------------------------------------------------------------


def test_a_nested_respx_mock_does_not_switch_the_mock_off(base_url):
    with patch_httpx(seed=1, base_url=base_url) as mock:

        @respx.mock
        def helper() -> int:
            respx.get("https://api.example.com/me").respond(json={})
            return httpx.get("https://api.example.com/me").status_code

        assert helper() == 200
        assert httpx.post(mock.token_url, data=DOCS_FORM).status_code == 200
        with respx.mock(assert_all_called=False) as own:
            own.get("https://api.example.com/me").respond(json={})
            assert httpx.post(mock.token_url, data=DOCS_FORM).status_code == 200
        assert httpx.post(mock.token_url, data=DOCS_FORM).status_code == 200


def test_a_respx_router_that_passes_everything_through_cannot_leak(base_url):
    with (
        patch_httpx(seed=1, base_url=base_url) as mock,
        respx.mock(assert_all_mocked=False, assert_all_called=False) as own,
    ):
        own.route().pass_through()
        assert httpx.post(mock.token_url, data=DOCS_FORM).status_code == 200


def test_async_delays_do_not_block_the_event_loop(base_url):
    async def main(mock) -> tuple[int, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        async with httpx.AsyncClient() as client:
            r = await client.post(mock.token_url, data=DOCS_FORM)
        task.cancel()
        return r.status_code, ticks

    with patch_httpx(seed=1, base_url=base_url) as mock:
        mock.fail(delay=0.3)
        status, ticks = asyncio.run(main(mock))
    assert status == 200
    assert ticks >= 5  # the loop ran while the answer was late (a blocking sleep allows none)


def test_an_async_delay_past_the_timeout_is_a_read_timeout(base_url):
    async def main(mock) -> None:
        async with httpx.AsyncClient(timeout=0.05) as client:
            await client.post(mock.token_url, data=DOCS_FORM)

    with patch_httpx(seed=1, base_url=base_url) as mock:
        mock.fail(delay=1)
        with pytest.raises(httpx.ReadTimeout):
            asyncio.run(main(mock))


def test_a_downstream_suite_using_the_fixture_sends_nothing(pytester, listener, monkeypatch):
    """The finding as a user meets it: a test with ``mock_as_requests`` calls a helper decorated with
    ``@responses.activate``, then asks for a token again."""
    pytester.makepyfile(
        f"""
import requests, responses

FORM = {DOCS_FORM!r}

@responses.activate
def fetch_profile():
    responses.add(responses.GET, "https://api.example.com/me", json={{"name": "demo"}})
    return requests.get("https://api.example.com/me").json()

def test_token_profile_token(mock_as_requests):
    assert requests.post(mock_as_requests.token_url, data=FORM).status_code == 200
    assert fetch_profile() == {{"name": "demo"}}
    r = requests.post(mock_as_requests.token_url, data=FORM, timeout=5)
    assert r.status_code == 200
    assert len(mock_as_requests.calls) == 2
"""
    )
    monkeypatch.setenv("MOCK_AS_BASE_URL", f"http://127.0.0.1:{listener.port}/openam")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=1)
