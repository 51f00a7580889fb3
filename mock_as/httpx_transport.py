"""httpx calls to the mock's base URL answered at httpx's own transport, with no router in between.

:func:`intercept` wraps ``httpx.HTTPTransport.handle_request`` and
``httpx.AsyncHTTPTransport.handle_async_request`` (the transports every ``httpx.Client`` and
``AsyncClient`` sends through unless given another): a request whose URL is under an intercepted
base URL is answered in process; any other request goes on to whatever was there before, so a
test's own respx routes (which patch the layer below, httpcore) still answer theirs and respx still
fails loudly for a URL nobody mocks. Intercepts nest: the one started last answers first.

The answer is what a live server would write: the endpoint's status, headers and body, with a
``Content-Length``, read by the client as it reads a socket. A fault's delay is waited with
``time.sleep`` by a sync client and ``asyncio.sleep`` by an async one (the event loop keeps
running), cut short by the client's read timeout as on a socket.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .faults import DROP

if TYPE_CHECKING:
    import httpx

    from .protocol import Response

#: ``(method, url, headers, body) -> the mock's answer``.
Respond = Callable[[str, str, Any, bytes], "Response"]


class _Target:
    """One intercepted base URL and how to answer under it."""

    __slots__ = ("base", "respond")

    def __init__(self, base: str, respond: Respond) -> None:
        self.base = base.rstrip("/")
        self.respond = respond

    def owns(self, url: str) -> bool:
        base = self.base
        if not url.startswith(base):
            return False
        return len(url) == len(base) or url[len(base)] in "/?#"


_lock = threading.Lock()
_targets: list[_Target] = []  # the latest first
_originals: dict[str, Any] = {}


def _find(url: str) -> _Target | None:
    for target in _targets:
        if target.owns(url):
            return target
    return None


def _read_timeout(request: httpx.Request) -> float | None:
    read = (request.extensions.get("timeout") or {}).get("read")
    return None if read is None else float(read)


def _answer(request: httpx.Request, answer: Response, timed_out: bool) -> httpx.Response:
    import httpx

    if timed_out:
        timeout = _read_timeout(request)
        raise httpx.ReadTimeout(f"mock-as: no answer within {timeout} s", request=request)
    if answer.action == DROP:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
    body = answer.body
    headers = list(answer.headers)
    if not any(name.lower() == "content-length" for name, _ in headers):
        headers.append(("Content-Length", str(len(body))))
    return httpx.Response(answer.status, headers=headers, stream=httpx.ByteStream(body))


def _sync_handle(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
    target = _find(str(request.url))
    if target is None:
        return _originals["sync"](self, request)  # type: ignore[no-any-return]
    answer = target.respond(request.method, str(request.url), request.headers, request.read())
    timed_out = False
    delay = answer.delay
    if delay > 0:
        timeout = _read_timeout(request)
        timed_out = timeout is not None and delay >= timeout
        time.sleep(max(0.0, timeout) if timed_out and timeout is not None else delay)
    return _answer(request, answer, timed_out)


async def _async_handle(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
    target = _find(str(request.url))
    if target is None:
        return await _originals["async"](self, request)  # type: ignore[no-any-return]
    body = await request.aread()
    answer = target.respond(request.method, str(request.url), request.headers, body)
    timed_out = False
    delay = answer.delay
    if delay > 0:
        timeout = _read_timeout(request)
        timed_out = timeout is not None and delay >= timeout
        await asyncio.sleep(max(0.0, timeout) if timed_out and timeout is not None else delay)
    return _answer(request, answer, timed_out)


@contextmanager
def intercept(base_url: str, respond: Respond) -> Iterator[None]:
    """Answer every httpx request under ``base_url`` with ``respond`` while the block runs."""
    import httpx

    target = _Target(base_url, respond)
    with _lock:
        if not _targets:
            _originals["sync"] = httpx.HTTPTransport.handle_request
            _originals["async"] = httpx.AsyncHTTPTransport.handle_async_request
            httpx.HTTPTransport.handle_request = _sync_handle  # type: ignore[method-assign]
            httpx.AsyncHTTPTransport.handle_async_request = _async_handle  # type: ignore[method-assign]
        _targets.insert(0, target)
    try:
        yield
    finally:
        with _lock:
            _targets.remove(target)
            if not _targets:
                httpx.HTTPTransport.handle_request = _originals.pop("sync")  # type: ignore[method-assign]
                httpx.AsyncHTTPTransport.handle_async_request = _originals.pop("async")  # type: ignore[method-assign]
