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
    am.add_client("one-uri", scopes=["openid"], grant_types=["authorization_code"], redirect_uris=[APP])
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
    am.add_client("other", scopes=["openid"], grant_types=["authorization_code"], redirect_uris=[APP])
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
        am.url_for("end_session") + "?id_token_hint=" + body["id_token"],
        headers={"Authorization": "Bearer undefined", "Accept": "application/json"},
    )
    assert r.status_code == 204
    assert am.state.sessions.get(token, am.clock.now()) is None
    # the session is gone already (the SDK logs out first): still 2xx
    assert get(am.url_for("end_session") + "?id_token_hint=" + body["id_token"]).status_code == 204


def test_end_session_redirects_to_a_registered_uri_with_state(am):
    _, body = sdk_login(am)
    url = am.url_for("end_session")
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
    r = get(am.url_for("end_session"), params=params)
    assert (r.status_code, r.json()) == (400, {"error_description": description, "error": error})
    assert "Location" not in r.headers
    assert am.state.sessions.get(token, am.clock.now()) is not None  # nothing ended


# -- CORS and discovery ----------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["userinfo", "revoke", "end_session", "access_token"])
def test_cors_for_the_sdks_calls(am, endpoint):
    origin = "http://127.0.0.1:8400"
    r = requests.options(
        am.url_for(endpoint),
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET" if endpoint in ("userinfo", "end_session") else "POST",
            "Access-Control-Request-Headers": "accept-api-version,authorization,content-type,x-requested-with",
        },
    )
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == origin
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    _, body = sdk_login(am)
    r = get(am.url_for("end_session") + "?id_token_hint=" + body["id_token"], headers={"Origin": origin})
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
