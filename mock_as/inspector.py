"""The inspector: a page of the mock's own at ``/__mock_as__/ui`` that shows its state and drives it.

One server-rendered HTML page (realms, clients and users as they stand when it is served), then a
small script of the mock's own that keeps every section current through the documented control API:
live tokens, sessions and codes counting down on the mock's clock, the journal newest first, the
queued faults, the clock, reset and reseed. Nothing is fetched from elsewhere, and the page is served
with a Content-Security-Policy that lets it load only its own script and style sheet; every value
reaches the page as text (Jinja's autoescape on the server, ``textContent`` in the script).

The routes sit on the control API's blueprint, so whatever guards the control API guards the page.
Two control routes the page's clock controls need live here too: ``POST /clock/freeze`` and
``POST /clock/unfreeze``.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import jinja2
from flask import Response as FlaskResponse
from flask import current_app, request

from . import __version__
from .control.body import body, only
from .control.routes import PREFIX, control_api
from .control.views import client_json, reply, user_json
from .paths import context_prefix, external_base, realm_path

# Everything the page loads comes from this server; nothing may be framed, posted or inlined.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
ASSETS = {
    "inspector.js": "text/javascript; charset=utf-8",
    "inspector.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("mock_as", "ui"),
        autoescape=True,  # every value is escaped, whatever its file name
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


@lru_cache(maxsize=len(ASSETS))
def _asset(name: str) -> bytes:
    return resources.files("mock_as").joinpath("ui", name).read_bytes()


def _page_headers(response: FlaskResponse) -> FlaskResponse:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    return response


def page_context() -> dict[str, Any]:
    """What the page shows when it is served: the state's realms with their clients and users."""
    state = current_app.extensions["mock_as"]
    am_base = external_base(request.environ, context_prefix(state.config.context_path))
    with state.lock:  # one consistent view while a reset or reseed elsewhere rebuilds the realms
        realms = [
            {
                "name": realm.name,
                "token_url": f"{am_base}/oauth2{realm_path(realm.name)}/access_token",
                "clients": [client_json(c) for c in list(realm.clients.values())],
                "users": [user_json(state.lockout, realm, u) for u in list(realm.users.values())],
            }
            for realm in list(state.realms.values())
        ]
    return {
        "prefix": PREFIX,
        "version": __version__,
        "seed": state.seed,
        "am_base": am_base,
        "realms": realms,
    }


@control_api.get("/ui")
def inspector() -> FlaskResponse:
    """The inspector page."""
    html = _templates().get_template("inspector.html").render(page_context())
    return _page_headers(FlaskResponse(html, 200, content_type="text/html; charset=utf-8"))


@control_api.get("/ui/inspector.js")
def inspector_script() -> FlaskResponse:
    """The inspector's script."""
    return _page_headers(FlaskResponse(_asset("inspector.js"), 200, content_type=ASSETS["inspector.js"]))


@control_api.get("/ui/inspector.css")
def inspector_style() -> FlaskResponse:
    """The inspector's style sheet."""
    return _page_headers(FlaskResponse(_asset("inspector.css"), 200, content_type=ASSETS["inspector.css"]))


@control_api.get("/ui/favicon.svg")
def inspector_icon() -> FlaskResponse:
    """The inspector's icon (a tab among many should say what it is)."""
    return _page_headers(FlaskResponse(_asset("favicon.svg"), 200, content_type=ASSETS["favicon.svg"]))


# -- the clock controls the page needs ------------------------------------------------------------


def _clock_json() -> dict[str, Any]:
    clock = current_app.extensions["mock_as"].clock
    return {"now": clock.now(), "frozen": clock.frozen}


@control_api.post("/clock/freeze")
def freeze_clock() -> FlaskResponse:
    """Stop the mock's clock where it stands (it still moves with ``/clock/advance``)."""
    only(body(), (), "clock/freeze")
    current_app.extensions["mock_as"].clock.freeze()
    return reply(_clock_json())


@control_api.post("/clock/unfreeze")
def unfreeze_clock() -> FlaskResponse:
    """Let the mock's clock run again from where it stands."""
    only(body(), (), "clock/unfreeze")
    current_app.extensions["mock_as"].clock.unfreeze()
    return reply(_clock_json())


# -- the lists the page shows that no other route serves ------------------------------------------


@control_api.get("/codes")
def list_codes() -> FlaskResponse:
    """The live authorization codes (neither redeemed nor expired), oldest first."""
    state = current_app.extensions["mock_as"]
    now = state.clock.now()
    return reply(
        [
            {
                "code": c.code,
                "realm": c.realm,
                "client_id": c.client_id,
                "username": c.username,
                "redirect_uri": c.redirect_uri,
                "scopes": list(c.scopes),
                "issued_at": c.issued_at,
                "expires_at": c.expires_at,
            }
            for c in state.codes.live(now)
        ]
    )
