"""The Flask application: AM's surface under the context path, and the mock's control API."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import PathConverter, Rule

from .config import MockASConfig
from .endpoints import handle
from .errors import ConfigError
from .faults import dropping_middleware, mark_drop
from .state import State

EXTENSION = "mock_as"


def make_config(config: MockASConfig | None = None, **settings: Any) -> MockASConfig:
    """A :class:`MockASConfig` from a base config and keyword overrides, with a clear error for a bad key."""
    base = config or MockASConfig()
    if not settings:
        return base
    known = {f.name for f in dataclasses.fields(MockASConfig)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ConfigError(f"unknown setting(s) {unknown}; known: {sorted(known)}")
    return dataclasses.replace(base, **settings)


def external_base(environ: dict[str, Any], context_path: str) -> str:
    """Scheme, host and context path as the client addressed them, honouring X-Forwarded-* headers
    (a mock behind a proxy or in a container must put the client's view in its issuer)."""
    scheme = environ.get("HTTP_X_FORWARDED_PROTO", "").split(",")[0].strip() or environ["wsgi.url_scheme"]
    host = environ.get("HTTP_X_FORWARDED_HOST", "").split(",")[0].strip() or environ.get("HTTP_HOST", "")
    if not host:
        host = f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
    prefix = environ.get("HTTP_X_FORWARDED_PREFIX", "").rstrip("/")
    return f"{scheme}://{host}{prefix}{context_path}"


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
    if state is None:
        state = State(make_config(config, **settings))
    elif config is not None or settings:
        raise ConfigError("pass either a state or a config, not both")
    ctx = state.config.context_path.rstrip("/")
    app = Flask("mock_as")
    app.extensions[EXTENSION] = state

    def oauth2(rest: str) -> Response:
        environ = request.environ
        answer = handle(
            state,
            request.method,
            "/oauth2/" + rest,
            environ.get("QUERY_STRING", ""),
            _Headers(environ),
            request.get_data(cache=False),
            external_base(environ, ctx),
        )
        if answer.action == "drop":  # an injected fault: no answer at all (see faults.dropping_middleware)
            mark_drop(environ)
            return Response(b"", 500)
        return Response(answer.body, answer.status, list(answer.headers))

    # Every method and every path below /oauth2 goes to AM's router, as in-process: werkzeug would
    # otherwise answer a method it was not told of itself, and a doubled slash with an HTML redirect.
    app.url_map.converters["am_rest"] = _AnyRest
    app.url_map.add(Rule(f"{ctx}/oauth2/<am_rest:rest>", endpoint="oauth2", merge_slashes=False))
    app.view_functions["oauth2"] = oauth2

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> Response:
        # Paths outside AM's surface still answer in JSON, never an HTML page echoing the request.
        code = e.code or 500
        body = {"code": code, "reason": e.name, "message": e.name}
        return Response(
            __import__("json").dumps(body, separators=(",", ":")), code, content_type="application/json"
        )

    from .control import control_api

    app.register_blueprint(control_api)
    app.wsgi_app = dropping_middleware(app.wsgi_app)  # type: ignore[method-assign]
    return app


class _AnyRest(PathConverter):
    """The rest of the path, empty or starting with a slash included."""

    regex = ".*"
    part_isolating = False


class _Headers(dict[str, str]):
    """Lower-cased request headers read straight from the WSGI environ."""

    def __init__(self, environ: dict[str, Any]) -> None:
        super().__init__()
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                self[key[5:].replace("_", "-").lower()] = value
        if "CONTENT_TYPE" in environ:
            self["content-type"] = environ["CONTENT_TYPE"]
