"""The browser's side of AM's OAuth 2.0 surface: ``/oauth2/…/authorize`` (reference am-journeys
§3.1 to §3.5) and ``/oauth2/…/connect/endSession`` (§3.7).

``authorize`` checks what it must trust before it may redirect (no duplicate parameters, a known
client, a registered redirect URI) and renders AM's error page when that fails; every later error
goes back to the redirect URI with ``error``, ``error_description`` and ``state``. The resource
owner is the SSO session named by the session cookie (or a header named after it) in this realm;
without one the browser goes to the login page, or gets ``interaction_required`` under
``prompt=none``.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit

from .codes import CODE_LIFETIME, PKCE_METHODS
from .errors import OAuthError
from .grants import validate_scopes
from .pages import ErrorPage, ErrorRedirect, consent_page, page_headers
from .paths import is_loopback, login_page_url, oauth2_url
from .protocol import FORM, Response
from .rest import caller_token

if TYPE_CHECKING:
    from .config import ClientConfig
    from .protocol import Exchange
    from .sessions import Session

REDIRECT_MISMATCH = "The redirection URI provided does not match a pre-registered value."
PROMPTS = ("none", "login", "consent", "select_account")


# -- the SSO session --------------------------------------------------------------------------------


def realm_session(x: Exchange) -> Session | None:
    """The valid SSO session of the request (the session cookie, else a header named after it,
    F3.2), if it belongs to this realm (F3.3: a session of another realm counts as none)."""
    realm = x.realm
    assert realm is not None
    session = x.state.sessions.get(caller_token(x), x.now, touch=True)
    if session is None or session.realm != realm.name:
        return None
    return session


# -- parameters -------------------------------------------------------------------------------------


def _params(x: Exchange) -> dict[str, str]:
    """The request's parameters (query first, then a POSTed form), or AM's error page for a
    repeated one (F3.19)."""
    sources = [x.query]
    if x.method == "POST" and x.media_type == FORM:
        sources.append(x.body.decode("utf-8", "replace"))
    merged: dict[str, str] = {}
    for raw in sources:
        seen: set[str] = set()
        for key, value in parse_qsl(raw, keep_blank_values=True, errors="replace"):
            if key in seen:
                raise _page(x, "invalid_request", "The request has a duplicate request parameter.")
            seen.add(key)
            merged.setdefault(key, value)
    return merged


def _page(x: Exchange, error: str, description: str) -> ErrorPage:
    realm = x.realm
    assert realm is not None
    return ErrorPage(error, description, realm=realm.name, base_url=x.base_url)


def redirect_uri_registered(client: ClientConfig, uri: str) -> bool:
    """Exact comparison with the client's registered URIs; a loopback URI registered without a
    port matches the same URI on any port (RFC 8252 §7.3)."""
    if uri in client.redirect_uris:
        return True
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return False
    if port is None or parts.hostname is None or not is_loopback(parts.hostname):
        return False
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    portless = parts._replace(netloc=host).geturl()
    return portless in client.redirect_uris


def _with_query(uri: str, pairs: list[tuple[str, str]]) -> str:
    return uri + ("&" if urlsplit(uri).query else "?") + urlencode(pairs)


class _Request:
    """What a trusted authorize request carries once its client and redirect URI are known."""

    def __init__(
        self, x: Exchange, params: Mapping[str, str], client: ClientConfig, redirect_uri: str
    ) -> None:
        self.x = x
        self.params = params
        self.client = client
        self.redirect_uri = redirect_uri
        self.state = params.get("state")

    def error(self, error: str, description: str) -> ErrorRedirect:
        pairs = [("error", error), ("error_description", description)]
        if self.state is not None:
            pairs.append(("state", self.state))
        return ErrorRedirect(error, description, _with_query(self.redirect_uri, pairs))


# -- /oauth2/authorize ------------------------------------------------------------------------------


def authorize(x: Exchange) -> Response:
    """``GET``/``POST /oauth2/…/authorize`` with ``response_type=code``: a code for the SSO
    session's user, sent to the redirect URI (F3.14), after login and consent where needed."""
    x.require_method("GET", "POST")
    realm = x.realm
    assert realm is not None
    params = _params(x)
    client_id = params.get("client_id")
    if not client_id:
        raise _page(x, "invalid_request", "Missing parameter, 'client_id'")
    client = realm.clients.get(client_id)
    if client is None or not client.active:
        raise _page(x, "invalid_client", "Client authentication failed")
    sent_uri = params.get("redirect_uri")
    if sent_uri is None:
        if len(client.redirect_uris) != 1:
            raise _page(x, "invalid_request", "Missing parameter, 'redirect_uri'")
        redirect_uri = client.redirect_uris[0]
    elif "#" in sent_uri or not redirect_uri_registered(client, sent_uri):
        raise _page(x, "redirect_uri_mismatch", REDIRECT_MISMATCH)
    else:
        redirect_uri = sent_uri
    request = _Request(x, params, client, redirect_uri)
    try:
        return _authorize(request, sent_uri)
    except ErrorRedirect:
        raise
    except OAuthError as e:  # from a shared check (scopes): back to the client, as every later error
        raise request.error(e.error, e.description) from None


def _authorize(r: _Request, sent_uri: str | None) -> Response:
    x, params, client = r.x, r.params, r.client
    realm = x.realm
    assert realm is not None
    response_type = params.get("response_type")
    if not response_type:
        raise r.error("invalid_request", "Missing parameter, 'response_type'")
    if set(response_type.split()) != {"code"}:
        raise r.error("unsupported_response_type", "Unsupported response type")
    if "authorization_code" not in client.grant_types:
        raise r.error("unauthorized_client", "The client is not authorized to request an authorization code.")
    prompt = tuple(params.get("prompt", "").split())
    if any(p not in PROMPTS for p in prompt) or ("none" in prompt and len(prompt) > 1):
        raise r.error("bad_request", f'Invalid prompt parameter "{params.get("prompt", "")}"')
    scopes = validate_scopes(client, params.get("scope"))
    challenge = params.get("code_challenge") or None
    method = params.get("code_challenge_method") or None
    if method is not None and method not in PKCE_METHODS:
        raise r.error("invalid_request", "Invalid value for code_challenge_method")
    if challenge is None and client.pkce_required:
        raise r.error("invalid_request", "Missing parameter, 'code_challenge'")

    max_age = _max_age(r)
    session = realm_session(x)
    if session is not None and "login" in prompt:
        x.state.sessions.end(session.token_id)  # F3.3: prompt=login forces a new login
        session = None
    if session is not None and max_age is not None and x.now - session.created > max_age:
        if "none" in prompt:  # F3.3: too old a login must be repeated, which prompt=none forbids
            raise r.error("login_required", "The request requires login.")
        return _to_login(x, params)
    if session is None:
        if "none" in prompt:
            raise r.error(
                "interaction_required", "The request requires some interaction that is not allowed."
            )
        return _to_login(x, params)

    decision = params.get("decision") if x.method == "POST" else None
    if x.method == "POST":
        csrf = params.get("csrf") or ""
        if not hmac.compare_digest(csrf.encode(), session.token_id.encode()):
            raise _page(x, "bad_request", "Invalid or missing CSRF token")  # F3.12: never redirected
    if decision is not None:
        if decision.lower() != "allow":
            raise r.error("access_denied", "Resource Owner did not authorize the request")
        if params.get("save_consent") == "on":
            x.state.codes.remember_consent(realm.name, session.username, client.client_id, scopes)
    elif not client.implied_consent and (
        "consent" in prompt
        or not x.state.codes.has_consent(realm.name, session.username, client.client_id, scopes)
    ):
        if "none" in prompt:
            raise r.error("consent_required", "The request requires consent.")
        back = urlsplit(r.redirect_uri)  # the decision's answer redirects there
        headers = page_headers(form_targets=(f"{back.scheme}://{back.netloc}",))
        return Response(200, headers, consent_page(client.client_id, scopes, params, session.token_id))

    code = x.state.codes.issue(
        realm=realm.name,
        client_id=client.client_id,
        username=session.username,
        redirect_uri=sent_uri,
        scopes=scopes,
        nonce=params.get("nonce"),
        code_challenge=challenge,
        code_challenge_method=(method or "plain") if challenge is not None else None,
        auth_time=session.created,
        session_handle=session.handle,
        lifetime=CODE_LIFETIME,
        now=x.now,
    )
    pairs = [("code", code.code), ("iss", x.state.issuer(x.base_url, realm.name))]
    if r.state is not None:
        pairs.append(("state", r.state))
    pairs.append(("client_id", client.client_id))
    location = _with_query(r.redirect_uri, pairs)
    return Response(302, (("Location", location), ("Cache-Control", "no-store")), b"")


def _max_age(r: _Request) -> int | None:
    """The request's ``max_age`` in seconds: a non-negative integer, or ``None`` when absent."""
    raw = r.params.get("max_age")
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        raise r.error("invalid_request", "Invalid value for max_age")
    return int(raw)


def _to_login(x: Exchange, params: Mapping[str, str]) -> Response:
    """To the login page, which returns to this authorize request once the user has a session
    (F3.5); a ``prompt=login`` is left out of the way back, or it would end that session again."""
    realm = x.realm
    assert realm is not None
    back = dict(params)
    prompt = [p for p in back.pop("prompt", "").split() if p != "login"]
    if prompt:
        back["prompt"] = " ".join(prompt)
    for key in ("decision", "csrf", "save_consent"):
        back.pop(key, None)
    goto = f"{oauth2_url(x.base_url, 'authorize', realm.name)}?{urlencode(back)}"
    location = login_page_url(x.base_url, realm.name, goto)
    return Response(302, (("Location", location), ("Cache-Control", "no-store")), b"")


# -- /oauth2/connect/endSession ---------------------------------------------------------------------


def end_session(x: Exchange) -> Response:
    """``GET /oauth2/…/connect/endSession?id_token_hint=…`` (F3.32 to F3.34): ends the SSO session
    the id_token names (its ``ops`` claim), then redirects to a registered
    ``post_logout_redirect_uri`` with ``state``, or answers ``204``. An ``Authorization`` header
    (the JS SDK sends ``Bearer undefined``) is ignored."""
    x.require_method("GET")
    realm = x.realm
    assert realm is not None
    hint = x.query_params.get("id_token_hint")
    if not hint:
        raise OAuthError("bad_request", "The endSession endpoint requires an id_token_hint parameter")
    claims = x.state.keys.current.decode(hint)
    if claims is None or claims.get("tokenName") != "id_token" or claims.get("realm") != realm.name:
        raise OAuthError("bad_request", "Invalid id_token_hint")
    target = x.query_params.get("post_logout_redirect_uri")
    client = None
    if target is not None:
        parts = urlsplit(target)
        if not parts.scheme or not parts.netloc:
            raise OAuthError("relative_redirect_uri", "The post_logout_redirect_uri must be an absolute URI")
        azp = claims.get("azp") or claims.get("aud")
        client = realm.clients.get(azp) if isinstance(azp, str) else None
        if client is None or target not in client.post_logout_redirect_uris:
            raise OAuthError("redirect_uri_mismatch", REDIRECT_MISMATCH)
    ops = claims.get("org.forgerock.openidconnect.ops")
    if isinstance(ops, str):
        session = x.state.sessions.by_handle(ops)
        if session is not None:
            x.state.sessions.end(session.token_id)
    if target is None:
        return Response(204, (("Cache-Control", "no-store"),), b"")
    state = x.query_params.get("state")
    location = _with_query(target, [("state", state)]) if state is not None else target
    return Response(302, (("Location", location), ("Cache-Control", "no-store")), b"")
