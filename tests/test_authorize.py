"""The browser's OAuth 2.0 flow as AM serves it, over both transports (am-journeys §3): authorize on
the SSO session, the error page versus the error redirect, consent, PKCE, the code exchange and
endSession."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import requests

from mock_as.codes import pkce_challenge
from mock_as.errors import ConfigError

APP = "http://127.0.0.1:8400/callback.html"  # the default public client's loopback URI, on some port
CLIENT = "sdkPublicClient"
# ForgeRock's JS SDK makes verifiers from base64, so "+", "/" and "=" occur (reference F3.25).
SDK_VERIFIER = "MTIzNDU2Nzg5MDEyMzQ1Njc4+OTAxMjM0NTY3ODkw/MTIzNDU2Nzg5MDEyMzQ1Njc4OTA="
NO_INTERACTION = "The request requires some interaction that is not allowed."
REDIRECT_MISMATCH = "The redirection URI provided does not match a pre-registered value."
INVALID_GRANT = {
    "error_description": "The provided access grant is invalid, expired, or revoked.",
    "error": "invalid_grant",
}


def cookie(am, token):
    return {"Cookie": f"{am.state.config.cookie_name}={token}"}


def get(url, **kwargs):
    return requests.get(url, allow_redirects=False, **kwargs)


def location(r):
    """The redirect's target and its query as an ordered list of pairs."""
    parts = urlsplit(r.headers["Location"])
    return f"{parts.scheme}://{parts.netloc}{parts.path}", parse_qsl(parts.query)


def authorize(am, token=None, *, verifier=SDK_VERIFIER, method="GET", data=None, headers=None, **params):
    params.setdefault("redirect_uri", APP)
    params.setdefault("scope", "openid profile")
    params.setdefault("state", "st-1")
    if verifier is not None:
        params.setdefault("code_challenge", pkce_challenge(verifier))
        params.setdefault("code_challenge_method", "S256")
    client_id = params.pop("client_id", CLIENT)
    url = am.authorize_url(client_id, **{k: v for k, v in params.items() if v is not None})
    sent = {**(cookie(am, token) if token else {}), **(headers or {})}
    if method == "POST":
        return requests.post(url, data=data, headers=sent, allow_redirects=False)
    return get(url, headers=sent)


def code_of(r):
    assert r.status_code == 302, r.text
    return dict(location(r)[1])["code"]


def exchange(am, code, *, verifier=SDK_VERIFIER, redirect_uri=APP, client_id=CLIENT, auth=None, **extra):
    data = {"grant_type": "authorization_code", "code": code, "client_id": client_id, **extra}
    if redirect_uri is not None:
        data["redirect_uri"] = redirect_uri
    if verifier is not None:
        data["code_verifier"] = verifier
    return requests.post(am.token_url, data=data, auth=auth)


def claims_of(jwt):
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# -- authorize on the SSO session ------------------------------------------------------------------


def test_prompt_none_with_a_session_redirects_with_a_code_in_ams_shape(am):
    token = am.login("demo").token_id
    r = authorize(am, token, prompt="none")
    assert r.status_code == 302
    assert r.headers["Cache-Control"] == "no-store"
    assert r.content == b""
    target, pairs = location(r)
    assert target == APP
    # F3.14/F3.15: code, iss, state, client_id, in that order (no scope, as Identity Cloud's capture)
    assert [k for k, _ in pairs] == ["code", "iss", "state", "client_id"]
    found = dict(pairs)
    assert re.fullmatch(r"[A-Za-z0-9_-]{27}", found["code"])
    assert found["iss"] == am.issuer()
    assert (found["state"], found["client_id"]) == ("st-1", CLIENT)


def test_the_session_may_come_as_a_header_named_after_the_cookie(am):
    token = am.login("demo").token_id
    r = authorize(am, prompt="none", headers={"iPlanetDirectoryPro": token})
    assert "code" in dict(location(r)[1])


def test_post_works_like_get(am):
    token = am.login("demo").token_id
    url = am.authorize_url(CLIENT)
    form = {
        "redirect_uri": APP,
        "response_type": "code",
        "scope": "openid",
        "csrf": token,
        "code_challenge": pkce_challenge(SDK_VERIFIER),
        "code_challenge_method": "S256",
    }
    r = requests.post(url, data=form, headers=cookie(am, token), allow_redirects=False)
    assert "code" in dict(location(r)[1])


def test_prompt_none_without_a_session_is_interaction_required(am):
    r = authorize(am, prompt="none")
    target, pairs = location(r)
    assert r.status_code == 302
    assert target == APP
    assert pairs == [
        ("error", "interaction_required"),
        ("error_description", NO_INTERACTION),
        ("state", "st-1"),
    ]


def test_an_ended_or_timed_out_or_unknown_session_counts_as_none(am):
    token = am.login("demo").token_id
    am.clock.advance(31 * 60)  # AM's default idle timeout is 30 minutes
    for sent in (token, "not-a-session"):
        assert dict(location(authorize(am, sent, prompt="none"))[1])["error"] == "interaction_required"


def test_a_session_of_another_realm_counts_as_none(am):
    token = am.login("demo", realm="/customers").token_id
    r = authorize(am, token, prompt="none")
    assert dict(location(r)[1])["error"] == "interaction_required"
    r = get(
        am.authorize_url(
            CLIENT, APP, realm="/customers", scope="openid", prompt="none", code_challenge="c" * 43
        ),
        headers=cookie(am, token),
    )
    assert "code" in dict(location(r)[1])


def test_without_a_session_the_browser_goes_to_the_login_page_and_back(am):
    r = authorize(am, nonce="n-1")
    assert r.status_code == 302
    target, pairs = location(r)
    assert target == f"{am.base_url}/UI/Login"
    found = dict(pairs)
    assert found["realm"] == "/"
    goto = urlsplit(found["goto"])
    assert f"{goto.scheme}://{goto.netloc}{goto.path}" == am.url_for("authorize")
    back = parse_qs(goto.query)
    assert back["client_id"] == [CLIENT]
    assert back["nonce"] == ["n-1"]
    assert back["state"] == ["st-1"]


def test_prompt_login_ends_the_session_and_leaves_itself_out_of_the_way_back(am):
    token = am.login("demo").token_id
    r = authorize(am, token, prompt="login")
    assert location(r)[0] == f"{am.base_url}/UI/Login"
    assert "prompt" not in parse_qs(urlsplit(dict(location(r)[1])["goto"]).query)
    assert am.state.sessions.get(token, am.clock.now()) is None


# -- errors: the page (untrusted target) versus the redirect ---------------------------------------


def assert_error_page(r, error, description):
    assert r.status_code == 400
    assert "Location" not in r.headers
    assert r.headers["Content-Type"] == "text/html;charset=UTF-8"
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    assert "<title>OAuth2 Error Page</title>" in r.text
    data = json.loads(re.search(r'<script type="application/json" id="pageData">(.*?)</script>', r.text)[1])
    assert data["error"] == {"description": description, "message": error}
    assert data["realm"] == "/"


@pytest.mark.parametrize(
    ("change", "error", "description"),
    [
        ({"client_id": "nobody"}, "invalid_client", "Client authentication failed"),
        ({"client_id": ""}, "invalid_request", "Missing parameter, 'client_id'"),
        ({"redirect_uri": "https://evil.example/cb"}, "redirect_uri_mismatch", REDIRECT_MISMATCH),
        ({"redirect_uri": APP + "#frag"}, "redirect_uri_mismatch", REDIRECT_MISMATCH),
        ({"redirect_uri": "http://127.0.0.1:8400/other.html"}, "redirect_uri_mismatch", REDIRECT_MISMATCH),
        (
            {"redirect_uri": "http://127.0.0.1:99999/callback.html"},
            "redirect_uri_mismatch",
            REDIRECT_MISMATCH,
        ),
    ],
)
def test_an_untrusted_client_or_redirect_uri_gets_the_error_page(am, change, error, description):
    token = am.login("demo").token_id
    assert_error_page(authorize(am, token, **change), error, description)


def test_a_repeated_parameter_gets_the_error_page(am):
    url = am.authorize_url(CLIENT, APP, scope="openid") + "&state=a&state=b"
    assert_error_page(get(url), "invalid_request", "The request has a duplicate request parameter.")


def test_a_missing_redirect_uri_uses_the_only_registered_one(am):
    am.add_client(
        "one-uri",
        scopes=["openid"],
        grant_types=["authorization_code"],
        redirect_uris=[APP],
        token_endpoint_auth_method="none",
    )
    token = am.login("demo").token_id
    r = get(am.authorize_url("one-uri", scope="openid"), headers=cookie(am, token))
    assert location(r)[0] == APP
    code = dict(location(r)[1])["code"]
    assert exchange(am, code, client_id="one-uri", redirect_uri=None, verifier=None).status_code == 200
    # with two registered URIs the request must name one
    assert_error_page(
        get(am.authorize_url(CLIENT, scope="openid")), "invalid_request", "Missing parameter, 'redirect_uri'"
    )


@pytest.mark.parametrize(
    ("change", "error", "description"),
    [
        ({"scope": "openid admin"}, "invalid_scope", "Unknown/invalid scope(s): [admin]"),
        ({"response_type": "token"}, "unsupported_response_type", "Unsupported response type"),
        ({"response_type": ""}, "invalid_request", "Missing parameter, 'response_type'"),
        ({"prompt": "sometimes"}, "bad_request", 'Invalid prompt parameter "sometimes"'),
        ({"prompt": "none login"}, "bad_request", 'Invalid prompt parameter "none login"'),
        ({"code_challenge_method": "S512"}, "invalid_request", "Invalid value for code_challenge_method"),
        ({"code_challenge": ""}, "invalid_request", "Missing parameter, 'code_challenge'"),
    ],
)
def test_other_errors_go_back_to_the_client_with_state(am, change, error, description):
    token = am.login("demo").token_id
    r = authorize(am, token, **change)
    assert r.status_code == 302
    target, pairs = location(r)
    assert target == APP
    assert pairs == [("error", error), ("error_description", description), ("state", "st-1")]


def test_a_client_without_the_code_grant_is_unauthorized(am):
    am.add_client("ropc-only", scopes=["openid"], grant_types=["password"], redirect_uris=[APP])
    r = authorize(am, am.login("demo").token_id, client_id="ropc-only")
    assert dict(location(r)[1])["error"] == "unauthorized_client"


def test_an_error_redirect_keeps_the_redirect_uris_own_query(am):
    am.add_client("q", scopes=["openid"], grant_types=["authorization_code"], redirect_uris=[APP + "?app=1"])
    r = authorize(am, client_id="q", redirect_uri=APP + "?app=1", prompt="none", state=None, scope="openid")
    assert r.headers["Location"] == APP + "?app=1&error=interaction_required&error_description=" + (
        "The+request+requires+some+interaction+that+is+not+allowed."
    )


# -- consent ---------------------------------------------------------------------------------------


@pytest.fixture
def asks_consent(am):
    am.add_client(
        "asks",
        scopes=["openid", "profile"],
        grant_types=["authorization_code"],
        token_endpoint_auth_method="none",
        redirect_uris=[APP],
        implied_consent=False,
    )
    return "asks"


def test_without_implied_consent_get_shows_the_consent_page(am, asks_consent):
    token = am.login("demo").token_id
    r = authorize(am, token, client_id=asks_consent)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html;charset=UTF-8"
    assert f'name="csrf" value="{token}"' in r.text  # F3.10: csrf is the SSO token
    assert 'name="decision" value="allow"' in r.text
    assert 'name="state" value="st-1"' in r.text
    # the decision's answer redirects to the app, which the form's policy must allow
    assert "form-action 'self' http://127.0.0.1:8400;" in r.headers["Content-Security-Policy"]


def test_prompt_none_needing_consent_is_consent_required(am, asks_consent):
    r = authorize(am, am.login("demo").token_id, client_id=asks_consent, prompt="none")
    assert dict(location(r)[1])["error"] == "consent_required"
    assert dict(location(r)[1])["error_description"] == "The request requires consent."


def test_posted_consent_allows_denies_and_is_saved(am, asks_consent):
    token = am.login("demo").token_id
    denied = authorize(
        am, token, client_id=asks_consent, method="POST", data={"decision": "deny", "csrf": token}
    )
    assert dict(location(denied)[1])["error"] == "access_denied"
    assert dict(location(denied)[1])["error_description"] == "Resource Owner did not authorize the request"
    allowed = authorize(
        am,
        token,
        client_id=asks_consent,
        method="POST",
        data={"decision": "ALLOW", "csrf": token, "save_consent": "on"},
    )
    assert "code" in dict(location(allowed)[1])
    assert am.calls[-1].params["csrf"] == "***"  # the SSO token never reaches the journal
    # saved: no page any more, even under prompt=none; prompt=consent asks again
    assert "code" in dict(location(authorize(am, token, client_id=asks_consent, prompt="none"))[1])
    assert authorize(am, token, client_id=asks_consent, prompt="consent").status_code == 200


@pytest.mark.parametrize("csrf", [None, "", "wrong"])
def test_a_post_without_the_right_csrf_gets_the_error_page(am, asks_consent, csrf):
    token = am.login("demo").token_id
    data = {"decision": "allow"} if csrf is None else {"decision": "allow", "csrf": csrf}
    r = authorize(am, token, client_id=asks_consent, method="POST", data=data)
    assert_error_page(r, "bad_request", "Invalid or missing CSRF token")


def test_frodos_direct_post_gets_a_code(am):
    # F3.13: form fields, cookie and cookie-named header, AM's API version, redirects not followed
    token = am.login("demo").token_id
    verifier = "v" * 43
    form = {
        "redirect_uri": APP,
        "scope": "openid",
        "response_type": "code",
        "client_id": CLIENT,
        "csrf": token,
        "decision": "allow",
        "code_challenge": pkce_challenge(verifier),
        "code_challenge_method": "S256",
    }
    r = requests.post(
        am.url_for("authorize"),
        data=form,
        headers={
            **cookie(am, token),
            "iPlanetDirectoryPro": token,
            "Accept-API-Version": "protocol=2.1,resource=1.0",
        },
        allow_redirects=False,
    )
    assert exchange(am, code_of(r), verifier=verifier).status_code == 200


# -- PKCE ------------------------------------------------------------------------------------------


def test_s256_with_the_sdks_verifier_characters(am):
    assert {"+", "/", "="} <= set(SDK_VERIFIER)
    code = code_of(authorize(am, am.login("demo").token_id))
    r = exchange(am, code)
    assert r.status_code == 200, r.text


def test_plain_and_the_default_method(am):
    token = am.login("demo").token_id
    verifier = "plain-verifier-" + "x" * 40
    for method in ("plain", None):
        r = authorize(am, token, code_challenge=verifier, code_challenge_method=method)
        assert exchange(am, code_of(r), verifier=verifier).status_code == 200


def test_s256_is_checked_against_the_raw_bytes(am):
    challenge = base64.urlsafe_b64encode(hashlib.sha256(SDK_VERIFIER.encode()).digest()).rstrip(b"=").decode()
    code = code_of(authorize(am, am.login("demo").token_id, code_challenge=challenge))
    assert exchange(am, code).status_code == 200


@pytest.mark.parametrize(
    ("verifier", "expected"),
    [
        (None, {"error_description": "code_verifier parameter required", "error": "invalid_request"}),
        ("", {"error_description": "code_verifier parameter required", "error": "invalid_request"}),
        (SDK_VERIFIER.replace("+", "-"), INVALID_GRANT),
        ("short", INVALID_GRANT),
        ("x" * 129, INVALID_GRANT),
    ],
)
def test_pkce_failures(am, verifier, expected):
    code = code_of(authorize(am, am.login("demo").token_id))
    r = exchange(am, code, verifier=verifier)
    assert (r.status_code, r.json()) == (400, expected)


def test_a_plain_challenge_of_the_wrong_length_fails_at_the_exchange(am):
    code = code_of(
        authorize(am, am.login("demo").token_id, code_challenge="short", code_challenge_method="plain")
    )
    assert exchange(am, code, verifier="short").json() == INVALID_GRANT


# -- the code exchange -----------------------------------------------------------------------------


def test_the_exchange_returns_ams_tokens_with_nonce_at_hash_and_auth_time(am):
    token = am.login("demo").token_id
    session = am.state.sessions.get(token, am.clock.now())
    am.clock.advance(5)
    code = code_of(authorize(am, token, nonce="nonce-123", scope="openid profile email"))
    r = exchange(am, code)
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    body = r.json()
    assert list(body) == ["access_token", "refresh_token", "scope", "id_token", "token_type", "expires_in"]
    assert (body["scope"], body["token_type"], body["expires_in"]) == ("openid profile email", "Bearer", 3599)
    claims = claims_of(body["id_token"])
    assert claims["nonce"] == "nonce-123"
    assert claims["auth_time"] == int(session.created)
    assert claims["iat"] == int(session.created + 5)
    assert (claims["aud"], claims["azp"], claims["sub"], claims["realm"]) == (CLIENT, CLIENT, "demo", "/")
    digest = hashlib.sha256(body["access_token"].encode()).digest()[:16]
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert claims["org.forgerock.openidconnect.ops"] == session.handle
    assert claims["iss"] == am.issuer()
    # the tokens work: userinfo, and a refresh keeps auth_time
    info = requests.get(am.url_for("userinfo"), headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200
    assert info.json()["sub"] == "demo"
    assert info.json()["email"] == "demo@example.com"
    refreshed = requests.post(
        am.token_url,
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "client_id": CLIENT},
    ).json()
    assert claims_of(refreshed["id_token"])["auth_time"] == int(session.created)


def test_a_confidential_client_authenticates_at_the_exchange(am):
    am.add_client(
        "web",
        "s3cret",
        scopes=["openid"],
        grant_types=["authorization_code"],
        redirect_uris=[APP],
        token_endpoint_auth_method="client_secret_basic",
    )
    code = code_of(authorize(am, am.login("demo").token_id, client_id="web", verifier=None, scope="openid"))
    assert exchange(am, code, client_id="web", verifier=None).json()["error"] == "invalid_client"
    r = exchange(am, code, client_id="web", verifier=None, auth=("web", "s3cret"))
    assert r.status_code == 200
    assert "refresh_token" not in r.json()  # only with the refresh_token grant


def test_an_unknown_or_missing_code(am):
    r = exchange(am, "forged-code")
    assert (r.status_code, r.json()) == (
        400,
        {"error_description": "Authorization code doesn't exist.", "error": "invalid_request"},
    )
    r = exchange(am, "")
    assert r.json() == {"error_description": "Missing parameter, 'code'", "error": "invalid_request"}


def test_a_reused_code_fails_and_revokes_what_it_issued(am):
    code = code_of(authorize(am, am.login("demo").token_id))
    first = exchange(am, code).json()
    again = exchange(am, code)
    assert (again.status_code, again.json()) == (400, INVALID_GRANT)
    for kind in ("access_token", "refresh_token"):
        assert am.token(first[kind]) is None
    info = requests.get(am.url_for("userinfo"), headers={"Authorization": f"Bearer {first['access_token']}"})
    assert info.status_code == 401


def test_another_clients_code(am):
    am.add_client(
        "other",
        scopes=["openid"],
        grant_types=["authorization_code"],
        redirect_uris=[APP],
        token_endpoint_auth_method="none",
    )
    code = code_of(authorize(am, am.login("demo").token_id))
    assert exchange(am, code, client_id="other").json() == INVALID_GRANT
    assert exchange(am, code).status_code == 200  # a failed attempt does not spend the code


@pytest.mark.parametrize("sent", [None, "http://127.0.0.1:8400/elsewhere.html"])
def test_a_redirect_uri_that_differs_from_the_codes(am, sent):
    code = code_of(authorize(am, am.login("demo").token_id))
    assert exchange(am, code, redirect_uri=sent).json() == INVALID_GRANT


def test_the_redirect_uri_is_compared_without_query_and_case(am):
    code = code_of(authorize(am, am.login("demo").token_id))
    assert exchange(am, code, redirect_uri=APP.upper().replace("HTTP:", "http:") + "?x=1").status_code == 200


def test_an_expired_code(am):
    code = code_of(authorize(am, am.login("demo").token_id))
    am.clock.advance(120)  # AM's default code lifetime
    assert exchange(am, code).json() == {
        "error_description": "Authorization code expired.",
        "error": "invalid_grant",
    }


def test_a_code_of_another_realm_does_not_exist_here(am):
    token = am.login("demo", realm="/customers").token_id
    url = am.authorize_url(
        CLIENT,
        APP,
        realm="/customers",
        scope="openid",
        code_challenge=pkce_challenge(SDK_VERIFIER),
        code_challenge_method="S256",
    )
    code = code_of(get(url, headers=cookie(am, token)))
    assert exchange(am, code).json()["error_description"] == "Authorization code doesn't exist."


def test_the_journal_shows_each_step(am):
    code = code_of(authorize(am, am.login("demo").token_id, prompt="none"))
    exchange(am, code)
    authorize(am, prompt="none")
    steps = [(c.endpoint, c.status, c.error) for c in am.calls]
    assert steps == [
        ("authorize", 302, None),
        ("access_token", 200, None),
        ("authorize", 302, "interaction_required"),
    ]
    assert am.token_calls("authorization_code")[0].client_id == CLIENT


# -- endSession ------------------------------------------------------------------------------------


HINT = object()  # stands for the id_token of the test's login


def sdk_login(am):
    token = am.login("demo").token_id
    body = exchange(am, code_of(authorize(am, token))).json()
    return token, body


def test_end_session_ends_the_session_even_with_bearer_undefined(am):
    token, body = sdk_login(am)
    r = get(
        am.url_for("endSession") + "?id_token_hint=" + body["id_token"],
        headers={"Authorization": "Bearer undefined", "Accept": "application/json"},
    )
    assert r.status_code == 204
    assert am.state.sessions.get(token, am.clock.now()) is None
    # the session is gone already (the SDK logs out first): still 2xx
    assert get(am.url_for("endSession") + "?id_token_hint=" + body["id_token"]).status_code == 204


def test_end_session_redirects_to_a_registered_uri_with_state(am):
    _, body = sdk_login(am)
    url = am.url_for("endSession")
    r = get(
        url,
        params={
            "id_token_hint": body["id_token"],
            "post_logout_redirect_uri": "http://127.0.0.1/",
            "state": "bye",
        },
    )
    assert (r.status_code, r.headers["Location"]) == (302, "http://127.0.0.1/?state=bye")


@pytest.mark.parametrize(
    ("params", "error", "description"),
    [
        ({}, "bad_request", "The endSession endpoint requires an id_token_hint parameter"),
        ({"id_token_hint": "not.a.jwt"}, "bad_request", "Invalid id_token_hint"),
        (
            {"id_token_hint": HINT, "post_logout_redirect_uri": "https://evil.example/"},
            "redirect_uri_mismatch",
            REDIRECT_MISMATCH,
        ),
        (
            {"id_token_hint": HINT, "post_logout_redirect_uri": "/relative"},
            "relative_redirect_uri",
            "The post_logout_redirect_uri must be an absolute URI",
        ),
    ],
)
def test_end_session_errors(am, params, error, description):
    token, body = sdk_login(am)
    params = {k: body["id_token"] if v is HINT else v for k, v in params.items()}
    r = get(am.url_for("endSession"), params=params)
    assert (r.status_code, r.json()) == (400, {"error_description": description, "error": error})
    assert "Location" not in r.headers
    assert am.state.sessions.get(token, am.clock.now()) is not None  # nothing ended


# -- CORS and discovery ----------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["userinfo", "revoke", "endSession", "access_token"])
def test_cors_for_the_sdks_calls(am, endpoint):
    origin = "http://127.0.0.1:8400"
    r = requests.options(
        am.url_for(endpoint),
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET" if endpoint in ("userinfo", "endSession") else "POST",
            "Access-Control-Request-Headers": "accept-api-version,authorization,content-type,x-requested-with",
        },
    )
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == origin
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    _, body = sdk_login(am)
    r = get(am.url_for("endSession") + "?id_token_hint=" + body["id_token"], headers={"Origin": origin})
    assert (r.headers["Access-Control-Allow-Origin"], r.headers["Access-Control-Allow-Credentials"]) == (
        origin,
        "true",
    )


@pytest.mark.mock_as(extra_clients=[{"client_id": "spa", "cors_origins": ["https://app.example.com"]}])
def test_a_clients_cors_origins_are_allowed(am):
    r = requests.get(am.url_for("openid-configuration"), headers={"Origin": "https://app.example.com"})
    assert r.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    r = requests.get(am.url_for("openid-configuration"), headers={"Origin": "https://other.example.com"})
    assert "Access-Control-Allow-Origin" not in r.headers


def test_discovery_lists_the_browser_endpoints(am):
    doc = requests.get(am.url_for("openid-configuration")).json()
    assert doc["authorization_endpoint"] == am.issuer() + "/authorize"
    assert doc["end_session_endpoint"] == am.issuer() + "/connect/endSession"
    assert "code" in doc["response_types_supported"]
    assert set(doc["code_challenge_methods_supported"]) == {"S256", "plain"}
    assert "authorization_code" in doc["grant_types_supported"]


# -- the login page --------------------------------------------------------------------------------


def test_the_login_page_is_self_contained_and_says_it_is_a_mock(am):
    goto = am.authorize_url(CLIENT, APP, scope="openid")
    r = get(am.login_page_url(goto))
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html;charset=UTF-8"
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'sha256-" in csp
    assert "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "test double" in r.text
    assert f'data-authenticate="{am.base_url}/json/realms/root/authenticate"' in r.text
    assert 'data-goto="' + goto.replace("&", "&amp;") + '"' in r.text
    assert not re.search(r'(src|href)="https?://', r.text)  # no external assets


@pytest.mark.parametrize("goto", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"])
def test_the_login_page_never_sends_the_browser_elsewhere(am, goto):
    r = get(am.login_page_url(goto))
    assert 'data-goto=""' in r.text


def test_the_login_page_picks_the_realm_and_tree(am):
    r = get(f"{am.base_url}/UI/Login?realm=/customers&service=Example")
    assert (
        f'data-authenticate="{am.base_url}/json/realms/root/realms/customers/authenticate?authIndexType=service&amp;authIndexValue=Example"'
        in r.text
    )
    assert get(f"{am.base_url}/UI/Login?realm=/nowhere").status_code == 404
    assert requests.post(f"{am.base_url}/UI/Login").status_code == 405


# -- bad input: never a 5xx, never a redirect to an unregistered URI -------------------------------

FUZZ_BASE = "https://openam.example.com:8443/openam"
FUZZ_NAMES = [
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "prompt",
    "code_challenge",
    "code_challenge_method",
    "decision",
    "csrf",
    "save_consent",
    "max_age",
]
FUZZ_VALUES = [
    CLIENT,
    "myClient",
    "asks",
    APP,
    APP + "#x",
    "http://127.0.0.1:1/callback.html",
    "https://evil.example/",
    "code",
    "token",
    "openid",
    "openid profile",
    "none",
    "login",
    "consent",
    "S256",
    "plain",
    "allow",
    "deny",
    "on",
    "TOKEN",
    "c" * 43,
    "<script>alert(1)</script>",
    "60",
    "\u00b2",
    "",
]


@pytest.fixture(scope="module")
def fuzz_state():
    from mock_as import MockASConfig, State
    from mock_as.config import ClientConfig

    state = State(MockASConfig(seed=5, users=0))
    state.add_client(
        ClientConfig(
            client_id="asks",
            scopes=("openid",),
            grant_types=("authorization_code",),
            redirect_uris=(APP,),
            implied_consent=False,
        )
    )
    return state


def fuzz_params():
    from hypothesis import strategies as st

    value = st.one_of(st.sampled_from(FUZZ_VALUES), st.text(max_size=12))
    name = st.one_of(st.sampled_from(FUZZ_NAMES), st.text(max_size=6))
    return st.lists(st.tuples(name, value), max_size=10)


def test_authorize_never_fails_or_redirects_anywhere_unregistered(fuzz_state):
    from urllib.parse import urlencode

    from hypothesis import given
    from hypothesis import strategies as st

    from mock_as.router import handle

    @given(pairs=fuzz_params(), method=st.sampled_from(["GET", "POST"]), with_session=st.booleans())
    def check(pairs, method, with_session):
        state = fuzz_state
        token = state.sessions.create(state.realm("/"), "demo", "ldapService", state.clock.now()).token_id
        pairs = [(k, token if v == "TOKEN" else v) for k, v in pairs]
        headers = {"cookie": f"iPlanetDirectoryPro={token}"} if with_session else {}
        query, body = urlencode(pairs), b""
        if method == "POST":
            headers["content-type"] = "application/x-www-form-urlencoded"
            query, body = "", urlencode(pairs).encode()
        r = handle(state, method, "/oauth2/authorize", query, headers, body, FUZZ_BASE)
        assert r.status in (200, 302, 400), (r.status, r.body[:200])
        if r.status == 302:
            where = dict(r.headers)["Location"]
            assert where.startswith(
                (APP + "?", f"{FUZZ_BASE}/UI/Login?", "http://127.0.0.1/callback.html?")
            ), where
        else:
            assert dict(r.headers)["Content-Type"] == "text/html;charset=UTF-8"
            assert b"<script>alert" not in r.body

    check()


def test_the_code_exchange_never_fails_on_bad_input(fuzz_state):
    from urllib.parse import urlencode

    from hypothesis import given
    from hypothesis import strategies as st

    from mock_as.router import handle

    names = ["grant_type", "code", "client_id", "redirect_uri", "code_verifier", "client_secret"]
    values = ["authorization_code", CLIENT, "asks", APP, SDK_VERIFIER, "CODE", "x" * 43, "", "%", "+/="]

    @given(
        pairs=st.lists(
            st.tuples(st.sampled_from(names), st.one_of(st.sampled_from(values), st.text(max_size=10))),
            max_size=8,
        )
    )
    def check(pairs):
        state = fuzz_state
        session = state.sessions.create(state.realm("/"), "demo", "ldapService", state.clock.now())
        code = state.codes.issue(
            realm="/",
            client_id=CLIENT,
            username="demo",
            redirect_uri=APP,
            scopes=("openid",),
            nonce=None,
            code_challenge=pkce_challenge(SDK_VERIFIER),
            code_challenge_method="S256",
            auth_time=session.created,
            session_handle=session.handle,
            lifetime=120,
            now=state.clock.now(),
        ).code
        body = urlencode([(k, code if v == "CODE" else v) for k, v in pairs]).encode()
        headers = {"content-type": "application/x-www-form-urlencoded"}
        r = handle(state, "POST", "/oauth2/access_token", "", headers, body, FUZZ_BASE)
        assert r.status in (200, 400, 401), (r.status, r.body[:200])
        payload = json.loads(r.body)
        assert ("access_token" in payload) == (r.status == 200)

    check()


# -- the registration, from every entry point ------------------------------------------------------

BROWSER_TOML = """
[[realms]]
name = "/"
[[realms.clients]]
client_id = "spa"
scopes = ["openid"]
grant_types = ["authorization_code", "refresh_token"]
token_endpoint_auth_method = "none"
redirect_uris = ["https://app.example.com/cb"]
pkce_required = true
implied_consent = false
post_logout_redirect_uris = ["https://app.example.com/"]
cors_origins = ["https://app.example.com"]
"""


def test_browser_client_fields_from_toml(tmp_path):
    from mock_as.configfile import load_config

    path = tmp_path / "mock.toml"
    path.write_text(BROWSER_TOML)
    [client] = load_config(path).realms[0].clients
    assert client.redirect_uris == ("https://app.example.com/cb",)
    assert (client.pkce_required, client.implied_consent) == (True, False)
    assert client.post_logout_redirect_uris == ("https://app.example.com/",)
    assert client.cors_origins == ("https://app.example.com",)
    path.write_text(BROWSER_TOML.replace("pkce_required = true", 'pkce_required = "yes"'))
    with pytest.raises(ConfigError, match=r"pkce_required: expected true or false"):
        load_config(path)


def test_browser_client_over_the_control_api(mock_as):
    spa = {
        "client_id": "spa",
        "scopes": ["openid"],
        "grant_types": ["authorization_code"],
        "token_endpoint_auth_method": "none",
        "redirect_uris": [APP],
        "implied_consent": False,
    }
    r = requests.post(f"{mock_as.control_url}/clients", json=spa)
    assert r.status_code == 201
    assert r.json()["redirect_uris"] == [APP]
    assert r.json()["implied_consent"] is False
    token = mock_as.login("demo").token_id
    r = authorize(mock_as, token, client_id="spa", scope="openid", prompt="none")
    assert dict(location(r)[1])["error"] == "consent_required"
    bad = requests.post(f"{mock_as.control_url}/clients", json={**spa, "redirect_uris": "not-a-list"})
    assert bad.status_code == 400


@pytest.mark.mock_as(
    extra_clients=[
        {
            "client_id": "marked",
            "scopes": ["openid"],
            "token_endpoint_auth_method": "none",  # a public OpenID client says so, or AM refuses it
            "grant_types": ["authorization_code"],
            "redirect_uris": [APP],
            "post_logout_redirect_uris": ["http://127.0.0.1/bye"],
        }
    ]
)
def test_browser_client_from_the_marker(am):
    client = am.state.realm("/").clients["marked"]
    assert client.redirect_uris == (APP,)
    assert client.post_logout_redirect_uris == ("http://127.0.0.1/bye",)
    code = code_of(
        authorize(am, am.login("demo").token_id, client_id="marked", scope="openid", verifier=None)
    )
    assert exchange(am, code, client_id="marked", verifier=None).status_code == 200


def test_the_seeded_public_client(am):
    client = am.state.realm("/").clients[CLIENT]
    assert client.secret is None
    assert client.token_endpoint_auth_method == "none"
    assert client.grant_types == ("authorization_code", "refresh_token")
    assert (client.pkce_required, client.implied_consent) == (True, True)
    assert "http://127.0.0.1/callback.html" in client.redirect_uris
    assert CLIENT in am.state.realm("/customers").clients


def test_discovery_validates_in_a_strict_client_library(am):
    from authlib.oidc.discovery import OpenIDProviderMetadata

    doc = requests.get(am.url_for("openid-configuration")).json()
    metadata = OpenIDProviderMetadata(doc)
    # the fields the browser flows add, each as OpenID Connect Discovery 1.0 and RFC 8414 want it
    metadata.validate_issuer()
    metadata.validate_authorization_endpoint()
    metadata.validate_token_endpoint()
    metadata.validate_response_types_supported()
    metadata.validate_grant_types_supported()
    metadata.validate_code_challenge_methods_supported()
    assert metadata["authorization_endpoint"].startswith(am.issuer())
    assert metadata["end_session_endpoint"].startswith(am.issuer())


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/oauth2/authorize", ""),
        ("/oauth2/realms/root/authorize", ""),
        ("/oauth2/realms/root/realms/customers/authorize", ""),
        ("/oauth2/customers/authorize", ""),
        ("/oauth2/authorize", "realm=/customers&"),
    ],
)
def test_authorize_in_every_realm_form(am, path, query):
    realm = "/customers" if "customers" in path + query else "/"
    token = am.login("demo", realm=realm).token_id
    url = f"{am.base_url}{path}?{query}client_id={CLIENT}&redirect_uri={APP}&response_type=code&scope=openid"
    url += "&code_challenge=" + pkce_challenge(SDK_VERIFIER)
    found = dict(location(get(url, headers=cookie(am, token)))[1])
    assert found["iss"] == am.issuer(realm)


def test_max_age_asks_for_a_fresh_login(am):
    token = am.login("demo").token_id
    assert "code" in dict(location(authorize(am, token, max_age="60", prompt="none"))[1])
    am.clock.advance(61)
    r = authorize(am, token, max_age="60", prompt="none")
    assert location(r)[1] == [
        ("error", "login_required"),
        ("error_description", "The request requires login."),
        ("state", "st-1"),
    ]
    r = authorize(am, token, max_age="60")
    assert location(r)[0] == f"{am.base_url}/UI/Login"
    for bad in ("-1", "\u00b2", "1" * 13):
        assert dict(location(authorize(am, token, max_age=bad))[1])["error"] == "invalid_request"


def test_the_flow_over_httpx_in_process(mock_as_httpx):
    import httpx

    mock = mock_as_httpx
    token = mock.login("demo").token_id
    url = mock.authorize_url(
        CLIENT,
        APP,
        scope="openid",
        state="h",
        code_challenge=pkce_challenge(SDK_VERIFIER),
        code_challenge_method="S256",
    )
    with httpx.Client(cookies={"iPlanetDirectoryPro": token}) as client:
        r = client.get(url)
        assert r.status_code == 302  # httpx follows no redirect by default
        code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
        tokens = client.post(
            mock.token_url,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": CLIENT,
                "redirect_uri": APP,
                "code_verifier": SDK_VERIFIER,
            },
        )
    assert tokens.status_code == 200
    assert claims_of(tokens.json()["id_token"])["sub"] == "demo"


def test_faults_reach_the_browser_endpoints(am):
    am.fail("authorize", status=503)
    r = authorize(am, am.login("demo").token_id)
    assert r.status_code == 503
    assert r.json()["error"] == "temporarily_unavailable"
    assert authorize(am, am.login("demo").token_id).status_code == 302  # once only


def test_pages_carry_nosniff_once(am):
    r = get(am.login_page_url(am.authorize_url(CLIENT, APP)))
    assert r.headers["X-Content-Type-Options"] == "nosniff"
