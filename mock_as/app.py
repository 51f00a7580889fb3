"""The WSGI application: AM's surface under the context path, and the mock's control API.

AM's paths go straight from a thin WSGI layer to the framework-free :func:`~mock_as.router.handle`,
without Flask's per-request machinery; everything else (the control API, pages of the mock's own)
is a Flask view. A server serves :func:`wsgi_app`, which imports Flask and builds the Flask app on
the first request outside AM's paths, so a token costs no framework import.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .browser import NOSNIFF
from .config import MockASConfig
from .configfile import make_config
from .errors import ConfigError, compact_json, reason_phrase
from .paths import context_prefix, external_base
from .router import handle, surface_of
from .state import State, StoreUnavailable

EXTENSION = "mock_as"
DROP = "drop"
WAIT = "mock_as.wait"
"""The WSGI environ key of a server's ``wait(seconds)`` for fault delays."""

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: MockASConfig | None = None, *, state: State | None = None, **settings: Any) -> Flask:
    """The mock as a WSGI application.

    :param config: what to serve; keyword ``settings`` (any :class:`MockASConfig` field) override it.
    :param state: share an existing :class:`State` (the fixtures do, so both transports see one state).

    >>> app = create_app(seed=1)
    >>> r = app.test_client().post("/openam/oauth2/access_token", data={
    ...     "grant_type": "password", "username": "demo", "password": "Ch4ng31t",
    ...     "client_id": "myClient", "client_secret": "forgerock"})
    >>> r.status_code, r.json["expires_in"], r.json["scope"]
    (200, 3599, 'write')
    """
    from flask import Flask, Response
    from werkzeug.exceptions import HTTPException

    from . import inspector  # noqa: F401 - its routes (the page at /__mock_as__/ui) join the control API
    from .control import control_api

    if state is None:
        state = State(make_config(config, **settings))
    elif config is not None or settings:
        raise ConfigError("pass either a state or a config, not both")
    app = Flask("mock_as")
    app.extensions[EXTENSION] = state

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> Response:
        # Paths outside AM's surface still answer in JSON, never an HTML page echoing the request.
        code = e.code or 500
        body = {"code": code, "reason": e.name, "message": e.name}
        return Response(compact_json(body), code, content_type="application/json")

    @app.before_request
    def sync() -> Response | None:
        # With a shared store: what other processes changed, before the control API reads.
        try:
            state.sync()
        except StoreUnavailable as e:
            return store_down(e)
        return None

    @app.errorhandler(StoreUnavailable)
    def store_down(e: StoreUnavailable) -> Response:
        # The control API's answer while the shared store does not answer.
        body = {"error": "temporarily_unavailable", "error_description": "the state store did not answer"}
        return Response(
            compact_json(body),
            503,
            {"Retry-After": "1", "Cache-Control": "no-store"},
            content_type="application/json",
        )

    @app.after_request
    def nosniff(response: Response) -> Response:
        response.headers.setdefault(*NOSNIFF)
        return response

    app.register_blueprint(control_api)
    app.wsgi_app = am_front(state, app.wsgi_app)  # type: ignore[method-assign,assignment]
    return app


def wsgi_app(state: State) -> WSGIApp:
    """What a server serves: :func:`create_app`'s application, built (Flask imported) on the first
    request outside AM's paths; AM's paths are answered from the first request on."""
    built: list[WSGIApp] = []
    lock = threading.Lock()

    def flask_app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not built:
            with lock:
                if not built:
                    built.append(create_app(state=state))
        return built[0](environ, start_response)

    return am_front(state, flask_app)


def am_front(state: State, fallback: WSGIApp) -> WSGIApp:
    """A WSGI layer that answers AM's paths (every method, every path below a surface's prefix,
    doubled slashes and all) from :func:`handle` and hands the rest to ``fallback``."""
    ctx = context_prefix(state.config.context_path)

    def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        full = environ.get("PATH_INFO", "")
        path = full[len(ctx) :] if full.startswith(ctx) else None
        if not path or surface_of(path) is None:
            return fallback(environ, start_response)
        body = _body(environ)
        answer = handle(
            state,
            environ["REQUEST_METHOD"],
            path,
            environ.get("QUERY_STRING", ""),
            _headers(environ),
            body,
            external_base(environ, ctx),
        )
        if answer.delay > 0:
            # The server's own wait when it gives one (it keeps its workers free meanwhile), else
            # one that ends early when the faults are cleared.
            environ.get(WAIT, state.faults.wait)(answer.delay)
        if answer.action == DROP:  # an injected fault: no answer at all
            _abort(environ)
        headers = [*answer.headers, NOSNIFF, ("Content-Length", str(len(answer.body)))]
        start_response(f"{answer.status} {reason_phrase(answer.status)}", headers)
        return [b""] if environ["REQUEST_METHOD"] == "HEAD" else [answer.body]

    return wsgi


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    """Lower-cased request headers read straight from the WSGI environ."""
    out = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key[:5] == "HTTP_"}
    if "CONTENT_TYPE" in environ:
        out["content-type"] = environ["CONTENT_TYPE"]
    return out


def _body(environ: dict[str, Any]) -> bytes:
    length = environ.get("CONTENT_LENGTH")
    if length and length.isdigit():
        return bytes(environ["wsgi.input"].read(int(length)))
    if environ.get("wsgi.input_terminated"):
        return bytes(environ["wsgi.input"].read())
    return b""


def _abort(environ: dict[str, Any]) -> None:
    """Close the connection without an answer. Under waitress the request ends in its "client
    disconnected" path, which closes the connection before a byte is written; under a server that
    exposes the socket (werkzeug's) the socket is shut down; elsewhere the server sees an error."""
    if "waitress.client_disconnected" in environ:
        from waitress.channel import ClientDisconnected

        raise ClientDisconnected("mock-as: dropped the connection (injected fault)")
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        import socket

        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    raise ConnectionAbortedError("mock-as: dropped the connection (injected fault)")
