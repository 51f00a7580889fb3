"""The mock's control API under ``/__mock_as__/``: reset, users, clients, settings, clock, faults,
tokens, journal.

It lives at the live server's root, outside AM's context path (``http://127.0.0.1:<port>/__mock_as__/``
next to ``http://127.0.0.1:<port>/openam/oauth2/…``), so nothing under AM's surface changes. JSON in,
JSON out; errors are ``{"error": …, "error_description": …}`` with a 4xx status. The OpenAPI document
at ``/__mock_as__/openapi.json`` describes every route; users and realms are chosen with a ``realm``
query parameter (``/`` by default, ``customers`` and ``/customers`` alike).

Three rooms, one per layer: :mod:`.body` reads a request (strict JSON, the realm asked for),
:mod:`.views` writes answers (users, clients, tokens … as JSON), :mod:`.routes` maps the URLs to
the state (:mod:`.sessions` those of the SSO sessions). Values are checked by the configuration models themselves, as everywhere else.
"""

from __future__ import annotations

from . import sessions  # noqa: F401 - its routes join control_api
from .body import ControlError
from .routes import PREFIX, USER_PATCH_KEYS, control_api, openapi_document, settings_keys

__all__ = ["PREFIX", "USER_PATCH_KEYS", "ControlError", "control_api", "openapi_document", "settings_keys"]
