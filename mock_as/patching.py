"""The in-process transport: ``requests`` (through responses) and ``httpx`` (through respx) calls to
the mock's base URL reach the same endpoint code as the live server, with no socket."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from .config import MockASConfig
from .configfile import make_config
from .errors import OAuthError
from .faults import DROP
from .handle import MockAS
from .protocol import Response
from .router import handle
from .state import State

if TYPE_CHECKING:
    import httpx
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


def httpx_timeout(request: Any) -> float | None:
    """The read timeout of an ``httpx`` request."""
    timeout = request.extensions.get("timeout") or {}
    read = timeout.get("read")
    return None if read is None else float(read)


class _Router:
    """Maps a URL under ``base_url`` to AM's surface and answers it from ``state``."""

    def __init__(self, state: State, base_url: str) -> None:
        self.state = state
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        self.base_path = parts.path
        self.pattern = re.compile(re.escape(self.base_url) + r"(?:[/?#].*)?\Z", re.DOTALL)

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
        return handle(self.state, method, path, parts.query, lowered, body, self.base_url)

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


def attach_requests(mock: responses.RequestsMock, state: State, base_url: str) -> None:
    """Register the mock's route on an existing ``responses.RequestsMock``."""
    router = _Router(state, base_url)

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

    route = _route_class()(url=router.pattern, method="*", callback=callback, content_type=None)
    mock.add(route)


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
        attach_requests(mock, st, base)
        if owned:
            mock.start()
        try:
            yield PatchedMockAS(st, base)
        finally:
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
    """Answer ``httpx`` calls (sync and async clients) to ``base_url`` in-process, through respx.

    Needs the ``httpx`` extra: ``pip install 'mock-as[httpx]'``.
    """

    def factory() -> Iterator[MockAS]:
        import httpx
        import respx

        st = _state_for(config, state, settings)
        base = base_url or st.config.base_url
        router = _Router(st, base)

        def side_effect(request: httpx.Request) -> httpx.Response:
            r = router.respond(request.method, str(request.url), request.headers, request.read())
            timeout = httpx_timeout(request)
            if client_wait(r.delay, timeout):
                raise httpx.ReadTimeout(f"mock-as: no answer within {timeout} s", request=request)
            if r.action == DROP:
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response.", request=request
                )
            return httpx.Response(r.status, headers=list(r.headers), content=r.body)

        owned = respx_mock is None
        mock = respx.mock(assert_all_called=False) if owned else respx_mock
        mock.route(url__regex=router.pattern.pattern).mock(side_effect=side_effect)
        if owned:
            mock.start()
        try:
            yield PatchedMockAS(st, base)
        finally:
            if owned:
                mock.stop(quiet=True)

    return _Patch(factory)
