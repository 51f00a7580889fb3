"""The live transport: the mock on a real localhost socket, served by waitress on a thread."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Self

from waitress.task import ThreadedTaskDispatcher

from .app import WAIT, wsgi_app
from .browser import NOSNIFF
from .config import MockASConfig
from .configfile import make_config
from .errors import MockASError, OAuthError
from .handle import MockAS
from .limits import MAX_BODY_BYTES, MAX_HEADER_BYTES
from .paths import CONTROL_PREFIX, is_loopback, server_url
from .state import State

if TYPE_CHECKING:
    from .tls import TLSFront

log = logging.getLogger("mock_as")

IDLE_TIMEOUT = 20
"""Seconds an idle connection (keep-alive, or a request never finished) stays open."""
CLEANUP_INTERVAL = 2
"""How often idle connections are looked for: one closes within IDLE_TIMEOUT + CLEANUP_INTERVAL."""
MAX_CONNECTIONS = 4096
"""The most connections served at once (fewer if the process may not open that many files)."""
AM_THREADS = 4
"""Workers for AM's surface (fault delays lend threads of their own, the control API has its own pool)."""
CONTROL_THREADS = 2
"""Workers of the control API's own: AM's traffic and its delays never hold them."""
MAX_DELAYED = 64
"""Delayed answers (fault delays) waited out at once beside the workers, each on a thread lent for it."""

# Bounds that keep one bad client from hurting the others (waitress answers beyond them itself;
# it refuses a head or body of its limit or more, the mock's caps are the largest accepted).
# Idle and half-sent connections cost a socket and a buffer, never a worker, so the connection
# limit is high: 1,000 idle keep-alive or 300 slowloris connections leave room for everyone else.
SERVER_LIMITS: dict[str, Any] = {
    "max_request_header_size": MAX_HEADER_BYTES + 1,
    "max_request_body_size": MAX_BODY_BYTES + 1,
    "channel_timeout": IDLE_TIMEOUT,
    "cleanup_interval": CLEANUP_INTERVAL,
    "connection_limit": MAX_CONNECTIONS,
    "backlog": 1024,
    "asyncore_use_poll": True,
    "ident": "mock-as",
    # waitress drops X-Forwarded-* from untrusted peers; the app reads them itself, as in process
    # (a mock behind a proxy or a container's port mapping puts the client's view in its issuer).
    "clear_untrusted_proxy_headers": False,
}


def _file_limit(wanted: int) -> int:
    """Raise this process's open-file limit towards ``wanted`` (within the hard limit) and return
    how many connections it leaves room for: a server and its clients share the limit."""
    try:
        import resource
    except ImportError:  # pragma: no cover (Windows: no such limit)
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted * 2 + 256
    if soft != resource.RLIM_INFINITY and soft < target:
        new = target if hard == resource.RLIM_INFINITY else min(hard, target)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
            soft = new
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(64, min(wanted, (soft - 256) // 2))


class Dispatcher(ThreadedTaskDispatcher):
    """waitress's worker pool, plus a pool of the control API's own and threads lent to delays.

    Requests under ``/__mock_as__`` go to ``control`` (:data:`CONTROL_THREADS` workers), so a
    sticky delay on AM's surface never keeps a test from clearing it. A worker that waits out a
    fault's delay lends the pool a thread meanwhile (up to :data:`MAX_DELAYED`), so other requests
    do not queue behind delays; a stopping server ends every such wait at once.
    """

    def __init__(self, threads: int) -> None:
        super().__init__()
        self.base_threads = threads
        self.control = ThreadedTaskDispatcher()
        self.stopping = threading.Event()
        self._delayed = 0
        self._delayed_lock = threading.Lock()
        self.set_thread_count(threads)
        self.control.set_thread_count(CONTROL_THREADS)

    def route(self, channel: Any) -> None:
        """Queue a channel's requests on the pool that serves them."""
        requests = getattr(channel, "requests", None)
        path = getattr(requests[0], "path", "") if requests else ""
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            self.control.add_task(channel)
        else:
            self.add_task(channel)

    def _lend(self, change: int) -> None:
        with self._delayed_lock:
            self._delayed += change
            if not self.stopping.is_set():
                self.set_thread_count(self.base_threads + min(self._delayed, MAX_DELAYED))

    def wait(self, seconds: float, woken: Callable[[float], bool]) -> None:
        """Wait ``seconds`` for a fault's delay, with a thread lent to the pool meanwhile; ends
        early when ``woken`` (the faults' own wait) returns ``True`` or the server stops."""
        self._lend(+1)
        try:
            deadline = time.monotonic() + seconds
            while not self.stopping.is_set():
                left = deadline - time.monotonic()
                if left <= 0 or woken(min(left, 0.1)):
                    return
        finally:
            self._lend(-1)

    def shutdown(self, cancel_pending: bool = True, timeout: int = 5) -> bool:
        """Stop both pools; delays in progress end at once."""
        self.stopping.set()
        self.control.shutdown(cancel_pending, timeout)
        return bool(super().shutdown(cancel_pending, timeout))


def exposure_warning(host: str) -> str | None:
    """What to tell a user whose server listens beyond this machine's loopback (``None`` if it doesn't)."""
    if is_loopback(host):
        return None
    return (
        f"listening on {host}, reachable from other machines: mock-as is a test double that hands "
        "out tokens to anyone who asks, and its control API shows every password"
    )


def _serve(server: Any, stopping: threading.Event) -> None:
    """Run waitress's event loop until ``stopping`` is set (checked at least every 0.2 s)."""
    from waitress import wasyncore

    channels = server._map
    while channels and not stopping.is_set():
        wasyncore.loop(timeout=0.2, map=channels, use_poll=True, count=1)


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` with ``SO_REUSEPORT``: several processes bind the same
    port this way and the kernel spreads the connections between them (``--workers``)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock


def make_wsgi_server(
    state: State,
    host: str,
    port: int,
    threads: int = AM_THREADS,
    url_scheme: str = "http",
    *,
    reuse_port: bool = False,
) -> Any:
    """A waitress server for the app over ``state``, bound but not yet running (``url_scheme``
    ``https`` behind a :class:`~mock_as.tls.TLSFront`); with ``reuse_port`` it shares the port with
    other processes (:func:`reuse_port_socket`); ``threads`` serve AM's surface."""
    from waitress.server import create_server

    # waitress warns "Task queue depth is N" on every request that waits for a worker: under load
    # that is one log line per request, which costs throughput and buries real messages. Silence
    # them, unless the application set that logger's level itself.
    queue_log = logging.getLogger("waitress.queue")
    if queue_log.level == logging.NOTSET:
        queue_log.setLevel(logging.ERROR)
    app = wsgi_app(state)
    dispatcher = Dispatcher(threads)
    faults_wait = state.faults.wait

    def wait(seconds: float) -> None:
        dispatcher.wait(seconds, faults_wait)

    def with_wait(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ[WAIT] = wait
        return app(environ, start_response)

    limits = {**SERVER_LIMITS, "connection_limit": _file_limit(SERVER_LIMITS["connection_limit"])}
    where: dict[str, Any] = (
        {"sockets": [reuse_port_socket(host, port)]} if reuse_port else {"host": host, "port": port}
    )
    server = create_server(
        with_wait, threads=threads, url_scheme=url_scheme, _dispatcher=dispatcher, **where, **limits
    )
    _harden_channels(server, dispatcher)
    return server


def listening_url(server: Any, context_path: str) -> str:
    """The base URL of a bound waitress server: ``http://127.0.0.1:<port><context path>``."""
    return server_url(server.effective_host, server.effective_port, context_path)


def _harden_channels(server: Any, dispatcher: Dispatcher) -> None:
    """Have waitress answer what it rejects before the app sees it (a broken request line or
    header, an over-size head or body, an unknown transfer coding) in AM's error JSON, with its
    status, instead of its plain-text page, which quotes the offending request line; close the
    connection after a request that sent both ``Content-Length`` and ``Transfer-Encoding`` (RFC 9112
    §6.1: its framing is in doubt); and queue control API requests on their own workers."""
    from waitress.channel import HTTPChannel
    from waitress.parser import HTTPRequestParser
    from waitress.task import ErrorTask

    class Parser(HTTPRequestParser):
        def parse_header(self, header_plus: bytes) -> None:
            both = False
            head = header_plus.lower()
            if b"\ntransfer-encoding:" in head and b"\ncontent-length:" in head:
                both = True
            super().parse_header(header_plus)
            if both:
                self.connection_close = True
                self.headers = {**self.headers, "CONNECTION": "close"}

    class JSONErrorTask(ErrorTask):
        def execute(self) -> None:
            e: Any = getattr(self.request, "error")  # noqa: B009 (waitress's stubs omit it)
            error = "server_error" if e.code == 500 else "invalid_request"
            answer = OAuthError(error, e.reason, e.code)  # the fixed reason phrase, not e.body
            body = answer.body()
            self.status = f"{e.code} {e.reason}"
            self.response_headers = [*self.response_headers, *answer.response_headers(), NOSNIFF]
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    class JSONErrorChannel(HTTPChannel):
        error_task_class = JSONErrorTask
        parser_class = Parser

    # One listening server, or several (a host name with IPv4 and IPv6 addresses) in one map.
    sockets = getattr(server, "map", None) or {0: server}
    for listener in sockets.values():
        if hasattr(listener, "channel_class"):
            listener.channel_class = JSONErrorChannel
            listener.add_task = dispatcher.route


class MockASServer(MockAS):
    """The mock on ``http://127.0.0.1:<free port>``, running in a background thread.

    :param config: what to serve; keyword ``settings`` (any :class:`MockASConfig` field) override it.
    :param state: serve an existing state instead.

    >>> import requests
    >>> with MockASServer(seed=1) as server:
    ...     requests.post(server.token_url, data={"grant_type": "password", "username": "demo",
    ...         "password": "Ch4ng31t", "client_id": "myClient", "client_secret": "forgerock"}).json()["scope"]
    'write'
    """

    def __init__(
        self, config: MockASConfig | None = None, *, state: State | None = None, **settings: Any
    ) -> None:
        if state is None:
            state = State(make_config(config, **settings))
        super().__init__(state, "http://unstarted")
        self._server: Any = None
        self._tls: TLSFront | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> MockASServer:
        """Bind and serve; raises :class:`MockASError` if already running."""
        if self._server is not None:
            raise MockASError("Server is already running")
        cfg = self.state.config
        if cfg.tls:  # waitress on a private loopback port, TLS in front of it on the public one
            from .tls import TLSFront

            self._server = make_wsgi_server(self.state, "127.0.0.1", 0, url_scheme="https")
            upstream = (self._server.effective_host, self._server.effective_port)
            try:
                self._tls = TLSFront(cfg.host, cfg.port, upstream, cfg.tls_ca).start()
            except BaseException:
                self._server.close()
                self._server = None
                raise
            self.base_url, self.ca_bundle = self._tls.url(cfg.context_path), self._tls.ca_path
        else:
            self._server = make_wsgi_server(self.state, cfg.host, cfg.port)
            self.base_url = listening_url(self._server, cfg.context_path)
        warning = exposure_warning(cfg.host)
        if warning is not None:
            log.warning("mock-as %s", warning)
        self._stopping.clear()
        self._thread = threading.Thread(
            target=_serve, args=(self._server, self._stopping), name="mock-as-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and free the port (a no-op if not running)."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        if self._tls is not None:
            self._tls.close()
            self._tls = None

        # End the loop first, then let the workers finish what they hold, then close every socket from
        # this thread: nothing is closed under the loop's feet, and no worker wakes a closed trigger.
        self._stopping.set()
        with contextlib.suppress(OSError):
            server.trigger.pull_trigger()  # wake the loop now rather than at its next poll timeout
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                raise TimeoutError("mock-as server did not stop in time")
        server.task_dispatcher.shutdown(timeout=timeout)
        for channel in list(server._map.values()):
            channel.close()
        server.close()  # the listening socket and the trigger, if not closed above

    @property
    def port(self) -> int:
        """The port actually bound."""
        if self._server is None:
            raise MockASError("Server is not running")
        if self._tls is not None:
            return self._tls.port
        return int(self._server.effective_port)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def run_server(config: MockASConfig | None = None, **settings: Any) -> Iterator[MockASServer]:
    """A live mock for the duration of a ``with`` block (or a decorated function).

    >>> with run_server(seed=1) as mock:
    ...     mock.token_url.endswith("/openam/oauth2/realms/root/access_token")
    True
    """
    with MockASServer(config, **settings) as server:
        yield server
