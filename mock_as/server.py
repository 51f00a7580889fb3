"""The live transport: the mock on a real localhost socket, served by waitress on a thread."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Self

from .app import create_app
from .config import MockASConfig
from .configfile import make_config
from .errors import MockASError, OAuthError
from .handle import MockAS
from .limits import MAX_BODY_BYTES, MAX_HEADER_BYTES
from .paths import is_loopback, server_url
from .state import State
from .tls import TLSFront

log = logging.getLogger("mock_as")

# Bounds that keep one bad client from hurting the others (waitress answers beyond them itself;
# it refuses a head or body of its limit or more, the mock's caps are the largest accepted).
SERVER_LIMITS: dict[str, Any] = {
    "max_request_header_size": MAX_HEADER_BYTES + 1,
    "max_request_body_size": MAX_BODY_BYTES + 1,
    "channel_timeout": 30,
    "connection_limit": 200,
    "asyncore_use_poll": True,
    "ident": "mock-as",
}


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


def make_wsgi_server(state: State, host: str, port: int, threads: int = 4, url_scheme: str = "http") -> Any:
    """A waitress server for the app over ``state``, bound but not yet running (``url_scheme``
    ``https`` behind a :class:`~mock_as.tls.TLSFront`)."""
    from waitress.server import create_server

    # waitress warns "Task queue depth is N" on every request that waits for a worker: under load
    # that is one log line per request, which costs throughput and buries real messages. Silence
    # them, unless the application set that logger's level itself.
    queue_log = logging.getLogger("waitress.queue")
    if queue_log.level == logging.NOTSET:
        queue_log.setLevel(logging.ERROR)
    app = create_app(state=state)
    server = create_server(app, host=host, port=port, threads=threads, url_scheme=url_scheme, **SERVER_LIMITS)
    _answer_rejects_in_json(server)
    return server


def listening_url(server: Any, context_path: str) -> str:
    """The base URL of a bound waitress server: ``http://127.0.0.1:<port><context path>``."""
    return server_url(server.effective_host, server.effective_port, context_path)


def _answer_rejects_in_json(server: Any) -> None:
    """Have waitress answer what it rejects before the app sees it (a broken request line or
    header, an over-size head or body, an unknown transfer coding) in AM's error JSON, with its
    status, instead of its plain-text page, which quotes the offending request line."""
    from waitress.channel import HTTPChannel
    from waitress.task import ErrorTask

    class JSONErrorTask(ErrorTask):
        def execute(self) -> None:
            e: Any = getattr(self.request, "error")  # noqa: B009 (waitress's stubs omit it)
            error = "server_error" if e.code == 500 else "invalid_request"
            answer = OAuthError(error, e.reason, e.code)  # the fixed reason phrase, not e.body
            body = answer.body()
            self.status = f"{e.code} {e.reason}"
            self.response_headers = [*self.response_headers, *answer.response_headers()]
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    class JSONErrorChannel(HTTPChannel):
        error_task_class = JSONErrorTask

    # One listening server, or several (a host name with IPv4 and IPv6 addresses) in one map.
    sockets = getattr(server, "map", None) or {0: server}
    for listener in sockets.values():
        if hasattr(listener, "channel_class"):
            listener.channel_class = JSONErrorChannel


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
