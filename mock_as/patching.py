"""The in-process transport: ``requests`` (through responses) and ``httpx`` (at its own transport,
:mod:`mock_as.httpx_transport`) calls to the mock's base URL reach the same endpoint code as the
live server, with no socket.

The patches fail closed. While one is active, a process-wide net below responses (urllib3's
connection pools, a responses mock that has no route for the URL) answers requests to a patched
base URL too, and httpx is answered at its own transport, above respx; so a test that switches its
mocking library off (a nested ``@responses.activate``, ``responses.reset()``, its own
``RequestsMock``, ``respx.mock``) never sends them, and the credentials in them, to the network.
The net covers every thread of the process and goes away with the last patch.
"""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from .browser import NOSNIFF
from .config import MockASConfig
from .configfile import make_config
from .errors import OAuthError, reason_phrase
from .faults import DROP
from .handle import MockAS
from .httpx_transport import intercept
from .paths import FORWARDED_HEADERS, proxied_base
from .protocol import Response
from .router import handle
from .state import State

if TYPE_CHECKING:
    import responses
    from requests import PreparedRequest


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        return _body_bytes(body.read())
    return b"".join(_body_bytes(chunk) for chunk in body)  # a generator body


def _latin1(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


# RFC 9110 §5.1, §5.5: what an HTTP server accepts as a header name and value. A live server
# refuses anything else before the app sees it, so the in-process transport does the same.
_FIELD_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
BAD_REQUEST = Response.error(OAuthError("invalid_request", "Bad Request"))


def client_wait(delay: float, timeout: float | None) -> bool:
    """Wait out an injected delay as a client with read ``timeout`` would on a socket: the whole
    delay, or only ``timeout`` when the delay outlasts it (then ``True``: the client timed out)."""
    if delay <= 0:
        return False
    if timeout is not None and delay >= timeout:
        time.sleep(max(0.0, timeout))
        return True
    time.sleep(delay)
    return False


def requests_timeout(request: Any) -> float | None:
    """The read timeout a ``requests`` call was made with (responses keeps its keyword arguments)."""
    kwargs = getattr(request, "req_kwargs", None) or {}
    timeout = kwargs.get("timeout")
    if isinstance(timeout, tuple):
        timeout = timeout[1]
    return None if timeout is None else float(timeout)


class _Router:
    """Maps a URL under ``base_url`` to AM's surface and answers it from ``state``."""

    def __init__(self, state: State, base_url: str) -> None:
        self.state = state
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        self.base_path = parts.path
        self.pattern = re.compile(re.escape(self.base_url) + r"(?:[/?#].*)?\Z", re.DOTALL)
        self.origin = _origin(parts.scheme, parts.hostname or "", parts.port)
        self._requests_route: Any = None

    def covers(self, url: str) -> bool:
        """Whether ``url`` is under the base URL (default ports and host case aside)."""
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            return False
        if _origin(parts.scheme, parts.hostname or "", port) != self.origin:
            return False
        rest = parts.path[len(self.base_path) :]
        return parts.path.startswith(self.base_path) and (rest == "" or rest[0] == "/")

    def respond(self, method: str, url: str, headers: Any, body: bytes) -> Response:
        """AM's answer, with any transport action on it (a dropped connection)."""
        parts = urlsplit(url)
        # What a WSGI server hands the app: the path percent-decoded and read as UTF-8, the query as
        # sent, header bytes read as Latin-1 without the whitespace around them. The live transport
        # then sees the very same request.
        path = unquote(parts.path[len(self.base_path) :], errors="replace") or "/"
        lowered = {_latin1(k).lower(): _latin1(v).strip(" \t") for k, v in headers.items()}
        if not all(_FIELD_NAME.fullmatch(k) and _FIELD_VALUE.fullmatch(v) for k, v in lowered.items()):
            return BAD_REQUEST
        base = self.base_url
        if any(name in lowered for name in FORWARDED_HEADERS):  # as behind a proxy: the live server's rule
            own = urlsplit(base)
            base = proxied_base(
                own.scheme, own.netloc, own.path, *(lowered.get(n, "") for n in FORWARDED_HEADERS)
            )
        answer = handle(self.state, method, path, parts.query, lowered, body, base)
        answer.headers = (*answer.headers, NOSNIFF)
        return answer

    def answer(
        self, method: str, url: str, headers: Any, body: bytes
    ) -> tuple[int, tuple[tuple[str, str], ...], bytes]:
        r = self.respond(method, url, headers, body)
        return r.status, r.headers, r.body


HANDLE_PARAMETER = "am"
"""The parameter of a decorated function that receives the handle."""


class _Patch:
    """A context manager that is also a decorator, yielding a :class:`MockAS` handle."""

    def __init__(self, factory: Callable[[], Iterator[MockAS]]) -> None:
        self._factory = factory
        self._cm: Any = None

    def __enter__(self) -> MockAS:
        self._cm = contextmanager(self._factory)()
        return self._cm.__enter__()  # type: ignore[no-any-return]

    def __exit__(self, *exc: object) -> Any:
        cm, self._cm = self._cm, None
        return cm.__exit__(*exc)

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Decorate ``fn``: it runs inside the patch, and a parameter named ``am`` receives the
        handle (as respx passes ``respx_mock``); that parameter is hidden from the wrapper's
        signature, so pytest does not look for an ``am`` fixture."""
        import functools
        import inspect

        signature = inspect.signature(fn)
        wants = HANDLE_PARAMETER in signature.parameters

        def call(handle: MockAS, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            return fn(*args, **({**kwargs, HANDLE_PARAMETER: handle} if wants else kwargs))

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with self as handle:
                    return await call(handle, args, kwargs)

            wrapped: Callable[..., Any] = async_wrapper
        else:

            @functools.wraps(fn)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                with self as handle:
                    return call(handle, args, kwargs)

            wrapped = wrapper
        if wants:
            kept = [p for p in signature.parameters.values() if p.name != HANDLE_PARAMETER]
            wrapped.__signature__ = signature.replace(parameters=kept)  # type: ignore[attr-defined]
        return wrapped


def _state_for(config: MockASConfig | None, state: State | None, settings: dict[str, Any]) -> State:
    if state is not None:
        return state
    return State(make_config(config, **settings))


class PatchedMockAS(MockAS):
    """The handle of an in-process patch: a :class:`MockAS` that can also serve its state from a
    test's own ``responses.RequestsMock``."""

    def attach(self, requests_mock: responses.RequestsMock) -> None:
        """Serve this mock's state from your own ``responses.RequestsMock`` too, at this handle's
        ``base_url`` (a mock started later shadows earlier ones, so it must know the routes)."""
        attach_requests(requests_mock, self.state, self.base_url)


def _route_class() -> type[Any]:
    import responses

    class AMRoute(responses.CallbackResponse):
        """One route for every method under the base URL. It never counts as an expected call
        left unmade, so a test's own ``assert_all_requests_are_fired`` mock is not upset by it."""

        def matches(self, request: PreparedRequest) -> tuple[bool, str]:
            if not self._url_matches(self.url, str(request.url)):
                return False, "URL does not match"
            return True, ""

        @property
        def call_count(self) -> int:
            return max(1, len(self._calls))

    return AMRoute


def _origin(scheme: str, host: str, port: int | None) -> tuple[str, str, int | None]:
    scheme = scheme.lower()
    return scheme, host.lower(), port if port is not None else {"http": 80, "https": 443}.get(scheme)


def attach_requests(mock: responses.RequestsMock, state: State, base_url: str) -> None:
    """Register the mock's route on an existing ``responses.RequestsMock``."""
    mock.add(_requests_route(_Router(state, base_url)))


def _requests_route(router: _Router) -> Any:
    """The responses route that answers ``router``'s base URL (one per router)."""
    if router._requests_route is not None:
        return router._requests_route

    def callback(request: PreparedRequest) -> tuple[int, Any, bytes] | Exception:
        import requests

        # A fault's delay beyond the client's timeout, or a dropped connection, ends as the error
        # requests raises on a real socket (responses raises an exception a callback returns).
        r = router.respond(
            request.method or "GET", request.url or "", request.headers, _body_bytes(request.body)
        )
        timeout = requests_timeout(request)
        if client_wait(r.delay, timeout):
            return requests.ReadTimeout(f"mock-as: no answer within {timeout} s", request=request)
        if r.action == DROP:
            return requests.ConnectionError(
                "Connection aborted: remote end closed connection without response", request=request
            )
        return r.status, list(r.headers), r.body

    router._requests_route = _route_class()(
        url=router.pattern, method="*", callback=callback, content_type=None
    )
    return router._requests_route


def patch_requests(
    config: MockASConfig | None = None,
    *,
    state: State | None = None,
    base_url: str | None = None,
    requests_mock: responses.RequestsMock | None = None,
    **settings: Any,
) -> _Patch:
    """Answer ``requests`` calls to ``base_url`` in-process, as a context manager or decorator.

    :param base_url: what to intercept (default :attr:`MockASConfig.base_url`, AM's docs host).
    :param requests_mock: register on your own ``responses.RequestsMock`` instead of a new one;
        calls to other URLs keep going to that mock's own routes.

    >>> import requests
    >>> with patch_requests(seed=1) as mock:
    ...     requests.post(mock.token_url, data={"grant_type": "password", "username": "demo",
    ...         "password": "Ch4ng31t", "client_id": "myClient", "client_secret": "forgerock"}).status_code
    200
    """

    def factory() -> Iterator[MockAS]:
        import responses

        st = _state_for(config, state, settings)
        base = base_url or st.config.base_url
        owned = requests_mock is None
        mock = responses.RequestsMock(assert_all_requests_are_fired=False) if owned else requests_mock
        assert mock is not None
        router = _Router(st, base)
        mock.add(_requests_route(router))
        NET.add(router, REQUESTS)
        if owned:
            mock.start()
        try:
            yield PatchedMockAS(st, base)
        finally:
            NET.remove(router, REQUESTS)
            if owned:
                mock.stop(allow_assert=False)
                mock.reset()

    return _Patch(factory)


def patch_httpx(
    config: MockASConfig | None = None,
    *,
    state: State | None = None,
    base_url: str | None = None,
    respx_mock: Any = None,
    **settings: Any,
) -> _Patch:
    """Answer ``httpx`` calls (sync and async clients) to ``base_url`` in-process, at httpx's
    transport; other URLs go on to respx (``respx_mock``'s routes, if given).

    Needs the ``httpx`` extra: ``pip install 'mock-as[httpx]'``.
    """

    def factory() -> Iterator[MockAS]:
        import respx

        st = _state_for(config, state, settings)
        base = base_url or st.config.base_url
        router = _Router(st, base)
        # The mock answers at httpx's transport; respx (a route-less router of our own, or the
        # test's) still answers other URLs, and fails loudly for those nobody mocks.
        owned = respx_mock is None
        mock = respx.mock(assert_all_called=False) if owned else respx_mock
        if owned:
            mock.start()
        try:
            with intercept(router.base_url, router.respond):
                yield PatchedMockAS(st, base)
        finally:
            if owned:
                mock.stop(quiet=True)

    return _Patch(factory)


# -- failing closed: the net below responses ------------------------------------------------------

REQUESTS = "requests"


class _Net:
    """The routers of every active patch, and the hooks that answer for them below the mocking
    libraries: installed with the first patch of a kind, removed with the last."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.routers: tuple[_Router, ...] = ()  # newest first; replaced, never changed
        self._kinds: dict[str, int] = {}
        self._undo: dict[str, list[tuple[Any, str, Any, Any]]] = {}

    def add(self, router: _Router, kind: str) -> None:
        with self._lock:
            self.routers = (router, *self.routers)
            self._kinds[kind] = self._kinds.get(kind, 0) + 1
            if self._kinds[kind] == 1:
                self._undo[kind] = _INSTALL[kind]()

    def remove(self, router: _Router, kind: str) -> None:
        with self._lock:
            kept = list(self.routers)
            if router in kept:
                kept.remove(router)
            self.routers = tuple(kept)
            self._kinds[kind] -= 1
            if self._kinds[kind] == 0:
                for owner, name, original, ours in reversed(self._undo.pop(kind, [])):
                    if owner.__dict__.get(name) is ours:  # else someone patched over us: leave theirs
                        setattr(owner, name, original)

    def find(self, url: str) -> _Router | None:
        """The newest active patch whose base URL covers ``url``."""
        for router in self.routers:
            if router.covers(url):
                return router
        return None


NET = _Net()


def _replace(owner: Any, name: str, make: Callable[[Any], Any]) -> tuple[Any, str, Any, Any]:
    original = owner.__dict__[name]
    ours = make(original)
    setattr(owner, name, ours)
    return owner, name, original, ours


def _install_requests_net() -> list[tuple[Any, str, Any, Any]]:
    """A responses mock without a route for a patched URL answers it anyway (after
    ``responses.reset()``, in a test's own ``RequestsMock``), and a request that gets past every
    responses mock (one switched off by a nested ``@responses.activate``) is answered at urllib3's
    connection pool, before any connection is opened."""
    import responses
    from urllib3.connectionpool import HTTPConnectionPool

    def find_match(original: Any) -> Any:
        def _find_match(self: Any, request: Any) -> Any:
            match, reasons = original(self, request)
            if match is None:
                router = NET.find(str(request.url))
                if router is not None:
                    return _requests_route(router), reasons
            return match, reasons

        return _find_match

    def urlopen(original: Any) -> Any:
        def _urlopen(pool: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            full = url if "://" in url[:10] else _pool_url(pool, url)
            router = NET.find(full)
            if router is None:
                return original(pool, method, url, *args, **kwargs)
            return _urllib3_answer(router, pool, method, full, *args, **kwargs)

        return _urlopen

    return [
        _replace(responses.RequestsMock, "_find_match", find_match),
        _replace(HTTPConnectionPool, "urlopen", urlopen),
    ]


def _pool_url(pool: Any, path: str) -> str:
    host = pool.host if ":" not in pool.host else f"[{pool.host}]"
    return f"{pool.scheme}://{host}:{pool.port}{path}"


def _urllib3_answer(
    router: _Router,
    pool: Any,
    method: str,
    url: str,
    body: Any = None,
    headers: Any = None,
    *args: Any,
    **kwargs: Any,
) -> Any:
    """What urllib3 would return for the mock's answer: the same answer responses gives."""
    from http.client import RemoteDisconnected

    from urllib3 import HTTPHeaderDict
    from urllib3.exceptions import ProtocolError, ReadTimeoutError
    from urllib3.response import HTTPResponse

    r = router.respond(method, url, headers or {}, _body_bytes(body))
    timeout = kwargs.get("timeout")
    read = getattr(timeout, "read_timeout", timeout)
    read = float(read) if isinstance(read, int | float) else None
    if client_wait(r.delay, read):
        raise ReadTimeoutError(pool, url, f"Read timed out. (mock-as: no answer within {read} s)")
    if r.action == DROP:
        raise ProtocolError(
            "Connection aborted.", RemoteDisconnected("Remote end closed connection without response")
        )
    answer_headers = HTTPHeaderDict()
    for name, value in r.headers:
        answer_headers.add(name, value)
    return HTTPResponse(
        body=io.BytesIO(r.body),
        headers=answer_headers,
        status=r.status,
        reason=reason_phrase(r.status),
        preload_content=kwargs.get("preload_content", True),
        decode_content=kwargs.get("decode_content", True),
        request_method=method,
        request_url=url,
    )


_INSTALL: dict[str, Callable[[], list[tuple[Any, str, Any, Any]]]] = {
    REQUESTS: _install_requests_net,
}
