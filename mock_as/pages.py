"""The HTML pages a browser sees from the mock: AM's OAuth2 error page, its consent page and a login
page, each self-contained (no external assets) under a strict Content-Security-Policy whose script
and style hashes are computed from the very text served.

Every value that comes from a request is HTML-escaped; data for the login page's script travels in
``data-`` attributes, never inside the script.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Mapping

from .errors import HTTPError, json_body

STYLE = """
body{font:16px/1.4 system-ui,sans-serif;margin:0;background:#f3f4f6;color:#111827}
main{max-width:26rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:.5rem;
box-shadow:0 1px 3px rgba(0,0,0,.2)}
h1{font-size:1.4rem;margin:0 0 1rem}
.mock{background:#fef3c7;border:1px solid #d97706;padding:.5rem .75rem;border-radius:.25rem;font-size:.9rem}
label{display:block;margin:1rem 0 .25rem;font-weight:600}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem;
border:1px solid #6b7280;border-radius:.25rem}
button{margin-top:1.25rem;padding:.6rem 1.2rem;font-size:1rem;border:0;border-radius:.25rem;
background:#1d4ed8;color:#fff;cursor:pointer}
button.secondary{background:#4b5563}
button:disabled{background:#9ca3af}
:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
#message{min-height:1.5rem;margin-top:1rem}
#message.error{color:#b91c1c;font-weight:600}
code{word-break:break-all}
""".strip()

# The login page's script: starts the journey over AM's REST API (the same callbacks an SDK
# answers), shows one field per Name/Password callback, sends the step back, and on success (the
# session cookie is set by that answer) returns to ``goto``.
LOGIN_SCRIPT = """
(function () {
  "use strict";
  var form = document.getElementById("login");
  var fields = document.getElementById("fields");
  var message = document.getElementById("message");
  var button = document.getElementById("submit");
  var url = form.getAttribute("data-authenticate");
  var gotoUrl = form.getAttribute("data-goto");
  var step = null;

  function show(text, isError) {
    message.textContent = text;
    message.className = isError ? "error" : "";
  }

  function post(body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Accept": "application/json",
        "Accept-API-Version": "protocol=1.0,resource=2.1",
        "Content-Type": "application/json"
      },
      body: body === null ? undefined : JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (json) { return { status: r.status, json: json }; });
    });
  }

  function prompt(cb) {
    var out = (cb.output || []).filter(function (o) { return o.name === "prompt"; })[0];
    return out ? String(out.value) : cb.type;
  }

  function render(callbacks) {
    fields.textContent = "";
    var first = null;
    callbacks.forEach(function (cb, i) {
      var kind = cb.type === "PasswordCallback" ? "password" : cb.type === "NameCallback" ? "text" : null;
      if (kind === null) {
        var p = document.createElement("p");
        p.textContent = "This page cannot answer a " + cb.type + ".";
        fields.appendChild(p);
        return;
      }
      var id = "callback_" + i;
      var label = document.createElement("label");
      label.htmlFor = id;
      label.textContent = prompt(cb);
      var input = document.createElement("input");
      input.type = kind;
      input.id = id;
      input.name = id;
      input.required = true;
      input.autocomplete = kind === "password" ? "current-password" : "username";
      input.setAttribute("data-callback", String(i));
      fields.appendChild(label);
      fields.appendChild(input);
      if (first === null) first = input;
    });
    button.disabled = false;
    if (first !== null) first.focus();
  }

  // A failed step (401) starts the journey again; any other failure stops, so a broken journey
  // (an unknown tree, a 400) is shown, never retried in a loop.
  function answer(result, again) {
    var json = result.json || {};
    if (result.status === 200 && (json.tokenId !== undefined || json.successUrl !== undefined)) {
      show("Logged in.", false);
      if (gotoUrl) window.location.assign(gotoUrl);
      return;
    }
    if (result.status === 200 && json.callbacks) {
      step = json;
      render(json.callbacks);
      return;
    }
    show(json.message || "Login failure", true);
    if (again) start();
  }

  function failed() {
    show("The login service did not answer.", true);
    button.disabled = false;
  }

  function start() {
    post(null).then(function (result) { answer(result, false); }, failed);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (step === null) return;
    var inputs = fields.querySelectorAll("input[data-callback]");
    Array.prototype.forEach.call(inputs, function (input) {
      var cb = step.callbacks[Number(input.getAttribute("data-callback"))];
      if (cb.input && cb.input.length) cb.input[0].value = input.value;
    });
    button.disabled = true;
    show("", false);
    post(step).then(function (result) { answer(result, result.status === 401); }, failed);
  });

  start();
})();
""".strip()


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


_ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*://[A-Za-z0-9.:\[\]-]+")


def content_security_policy(script: str | None = None, form_targets: tuple[str, ...] = ()) -> str:
    """A policy that lets in only this page's own style (and script), by hash: nothing external,
    no other inline code, no framing, forms posted only to the mock. ``form_targets`` are origins a
    form's answer may redirect to (browsers apply ``form-action`` to the redirect too)."""
    targets = " ".join(["'self'", *(t for t in form_targets if _ORIGIN.fullmatch(t))])
    parts = [
        "default-src 'none'",
        f"style-src {_sha256(STYLE)}",
        f"script-src {_sha256(script)}" if script else "script-src 'none'",
        "connect-src 'self'",
        "img-src 'self'",
        f"form-action {targets}",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(parts)


def page_headers(
    script: str | None = None, form_targets: tuple[str, ...] = ()
) -> tuple[tuple[str, str], ...]:
    """The headers of every page: HTML, never cached, the strict policy (``nosniff`` is added to
    every answer by the transports)."""
    return (
        ("Content-Type", "text/html;charset=UTF-8"),
        ("Cache-Control", "no-store"),
        ("Content-Security-Policy", content_security_policy(script, form_targets)),
        ("Referrer-Policy", "no-referrer"),
    )


def e(value: object) -> str:
    """HTML-escape a value for text or a quoted attribute."""
    return html.escape(str(value), quote=True)


MOCK_NOTICE = (
    '<p class="mock" role="note">mock-as: a test double of ForgeRock Access Management. '
    "Not a real login service; use test accounts only.</p>"
)


def document(title: str, body: str, script: str | None = None) -> bytes:
    """A whole page: the mock notice, ``body`` (already escaped) and the optional inline script."""
    tail = f"<script>{script}</script>" if script else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{e(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{MOCK_NOTICE}{body}</main>{tail}</body></html>"
    ).encode()


class ErrorPage(HTTPError):
    """AM's "OAuth2 Error Page" (reference F3.19, F3.20): what ``authorize`` renders instead of
    redirecting when the redirect target cannot be trusted. Like AM's, it carries a ``pageData``
    object (in a JSON data block here, which no policy needs to allow)."""

    base_headers = page_headers()

    def __init__(self, error: str, description: str, *, realm: str, base_url: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.realm = realm
        self.base_url = base_url
        self.status = status

    @property
    def code(self) -> str:
        return self.error

    def body(self) -> bytes:
        data = {
            "realm": self.realm,
            "baseUrl": f"{self.base_url}/XUI/",
            "error": {"description": self.description, "message": self.error},
        }
        content = (
            f"<h1>{e(self.error)}</h1><p>{e(self.description)}</p>"
            f'<script type="application/json" id="pageData">{json_body(data).decode()}</script>'
        )
        return document("OAuth2 Error Page", content)


class ErrorRedirect(HTTPError):
    """An authorization error sent back to the client's (registered) redirect URI (reference F3.21):
    ``302`` with ``error``, ``error_description`` and ``state`` in the query."""

    base_headers = (("Cache-Control", "no-store"),)

    def __init__(self, error: str, description: str, location: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = 302
        self.headers = (("Location", location),)

    @property
    def code(self) -> str:
        return self.error

    def body(self) -> bytes:
        return b""


def consent_page(client_id: str, scopes: tuple[str, ...], hidden: Mapping[str, str], csrf: str) -> bytes:
    """AM's consent step: the request's parameters posted back to the same authorize URL with
    ``decision=allow|deny``, ``csrf=<SSO token>`` and an optional ``save_consent=on`` (F3.8)."""
    fields = "".join(
        f'<input type="hidden" name="{e(k)}" value="{e(v)}">'
        for k, v in hidden.items()
        if k not in ("decision", "csrf", "save_consent")
    )
    items = "".join(f"<li><code>{e(s)}</code></li>" for s in scopes)
    body = (
        f"<h1>Allow access?</h1><p><strong>{e(client_id)}</strong> asks for:</p><ul>{items}</ul>"
        f'<form method="post">{fields}<input type="hidden" name="csrf" value="{e(csrf)}">'
        '<label><input type="checkbox" name="save_consent" value="on"> Remember my decision</label>'
        '<button type="submit" name="decision" value="allow">Allow</button> '
        '<button type="submit" name="decision" value="deny" class="secondary">Deny</button></form>'
    )
    return document("Consent", body)


def login_page(*, realm: str, authenticate_url: str, goto: str | None) -> bytes:
    """The login page: a form whose fields come from the journey's callbacks, run by
    :data:`LOGIN_SCRIPT` against ``authenticate_url``; after a login the browser goes to ``goto``."""
    body = (
        f"<h1>Sign in</h1><p>Realm <code>{e(realm)}</code></p>"
        f'<form id="login" data-authenticate="{e(authenticate_url)}" data-goto="{e(goto or "")}" novalidate>'
        '<div id="fields"><p>Loading…</p></div>'
        '<button type="submit" id="submit" disabled>Log in</button>'
        '<p id="message" role="status" aria-live="polite"></p></form>'
        "<noscript><p>This login page needs JavaScript.</p></noscript>"
    )
    return document("Sign in", body, LOGIN_SCRIPT)
