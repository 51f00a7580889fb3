"""httpx in process: answered at httpx's transport, composing with a test's own respx routes."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import respx

from mock_as import patch_httpx

from .conftest import DOCS_FORM


def test_an_async_delay_lets_the_event_loop_run():
    events: list[str] = []

    async def other() -> None:
        await asyncio.sleep(0)
        events.append("other task ran")

    async def main(url: str) -> httpx.Response:
        async with httpx.AsyncClient() as client:
            task = asyncio.create_task(other())
            r = await client.post(url, data=DOCS_FORM)
            events.append("answered")
            await task
            return r

    with patch_httpx(seed=1) as mock:
        mock.fail(delay=0.05)
        r = asyncio.run(main(mock.token_url))
    assert r.status_code == 200
    assert events == ["other task ran", "answered"]  # the delay awaited, it did not block the loop


def test_an_async_client_times_out_on_a_long_delay():
    async def main(url: str) -> None:
        async with httpx.AsyncClient(timeout=0.02) as client:
            await client.post(url, data=DOCS_FORM)

    with patch_httpx(seed=1) as mock:
        mock.fail(delay=5)
        with pytest.raises(httpx.ReadTimeout):
            asyncio.run(main(mock.token_url))
        assert [c.status for c in mock.calls] == [200]


def test_a_tests_own_respx_routes_still_answer():
    with respx.mock(assert_all_called=False) as router:
        router.get("https://api.example.com/things").respond(204)
        with patch_httpx(seed=1, respx_mock=router) as mock, httpx.Client() as client:
            assert client.post(mock.token_url, data=DOCS_FORM).status_code == 200
            assert client.get("https://api.example.com/things").status_code == 204
            with pytest.raises(respx.models.AllMockedAssertionError):
                client.get("https://api.example.com/unrouted")


def test_a_url_nobody_mocks_fails_loudly_and_the_patch_is_undone():
    original = httpx.HTTPTransport.handle_request
    with patch_httpx(seed=1) as mock:
        assert httpx.HTTPTransport.handle_request is not original
        with pytest.raises(respx.models.AllMockedAssertionError):
            httpx.get("https://api.example.com/elsewhere")
        with pytest.raises(respx.models.AllMockedAssertionError):
            httpx.get(mock.base_url + "extra/oauth2/access_token")  # a longer host path is not ours
    assert httpx.HTTPTransport.handle_request is original


def test_nested_patches_answer_each_base_url_and_the_latest_first():
    with (
        patch_httpx(seed=1) as outer,
        patch_httpx(seed=2, base_url="https://am.other.example/am") as inner,
        httpx.Client() as client,
    ):
        assert client.post(outer.token_url, data=DOCS_FORM).status_code == 200
        assert client.post(inner.token_url, data=DOCS_FORM).status_code == 200
    assert [len(outer.calls), len(inner.calls)] == [1, 1]
