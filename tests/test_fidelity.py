"""AM's answers as the OpenAM source settles them, row by row (reference am-oauth2.md, cited per test),
over both transports. Bodies are compared as raw text or as ordered key/value pairs: key order is
part of what a client sees."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
from typing import Any

import pytest
import requests
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.discovery import OpenIDProviderMetadata
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mock_as import MockASConfig, ServiceConfig
from mock_as.javaset import granted_scope_order, hash_set_order, stored_scope_order
from mock_as.keys import self_signed_certificate
from mock_as.state import State
from tests.conftest import DOCS_FORM

CACHE_HEADERS = ("Cache-Control", "Pragma")
RICH = {"client_id": "rich", "client_secret": "s"}
# The token endpoint's OAuth2Filter headers (reference §4).
NO_STORE = {"Content-Type": "application/json", "Cache-Control": "no-store", "Pragma": "no-cache"}


def pairs(r: requests.Response) -> list[tuple[str, Any]]:
    """The JSON object's members in wire order."""
    result: list[tuple[str, Any]] = json.loads(r.text, object_pairs_hook=list)
    return result


def error(description: str, err: str, state: str | None = None) -> str:
    """AM's error body, byte for byte: error_description, [state], error (reference §5)."""
    if state is None:
        return json.dumps({"error_description": description, "error": err}, separators=(",", ":"))
    return json.dumps({"error_description": description, "state": state, "error": err}, separators=(",", ":"))


def token_post(am, data, realm="/", **kwargs):
    return requests.post(am.url_for("access_token", realm), data=data, **kwargs)


def basic(client_id, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def assert_no_store(r):
    for name, value in NO_STORE.items():
        assert r.headers[name] == value


def assert_unfiltered(r):
    """No OAuth2Filter on this endpoint: plain JSON, no cache headers (reference §4)."""
    assert r.headers["Content-Type"] == "application/json"
    for name in CACHE_HEADERS:
        assert name not in r.headers


@pytest.fixture
def rich(am):
    """A client allowed several scopes and the refresh grant."""
    am.add_client(
        "rich",
        "s",
        scopes=("write", "read", "cn", "mail", "realm"),
        default_scopes=("write", "read"),
        grant_types=("password", "refresh_token"),
    )
    am.add_client(
        "rich",
        "s",
        scopes=("write", "read"),
        default_scopes=("write",),
        grant_types=("password", "refresh_token"),
        realm="/customers",
    )
    return RICH


def issue(am, creds=RICH, realm="/", **changes):
    data = {**DOCS_FORM, **creds, "scope": "write read", **changes}
    r = token_post(am, {k: v for k, v in data.items() if v is not None}, realm)
    assert r.status_code == 200, r.text
    return r.json()


# -- refresh token errors (reference §8, table "Unknown RT id, an RT already rotated away …") --------


def test_every_unusable_refresh_token_is_grant_is_invalid(am, rich):
    first = issue(am)
    rotated = token_post(am, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], **RICH})
    assert rotated.status_code == 200
    other_realm = issue(am, realm="/customers")
    for presented in (
        "no-such-token",  # unknown
        first["refresh_token"],  # rotated away
        first["access_token"],  # an access token given as a refresh token
        other_realm["refresh_token"],  # a refresh token of another realm
    ):
        r = token_post(am, {"grant_type": "refresh_token", "refresh_token": presented, **RICH})
        assert r.status_code == 400, presented
        assert r.text == error("grant is invalid", "invalid_grant")
        assert_no_store(r)
    # with state, it is echoed between the two (reference §5)
    r = token_post(am, {"grant_type": "refresh_token", "refresh_token": "nope", "state": "s1", **RICH})
    assert r.text == error("grant is invalid", "invalid_grant", "s1")


# -- the login fails inside AM (reference §5 "auth_chain names a chain that doesn't exist", §6) -----


def test_an_unknown_auth_chain_is_restlets_server_error_without_state(am):
    r = token_post(am, {**DOCS_FORM, "auth_chain": "noSuchChain", "state": "xyz"})
    assert r.status_code == 400
    assert r.text == error(
        "Internal Server Error (500) - The server encountered an unexpected condition which prevented it"
        " from fulfilling the request",
        "server_error",
    )
    assert_no_store(r)


def test_a_service_that_needs_more_than_name_and_password_is_missing_requirements(am):
    am.state.add_service(ServiceConfig(name="otp", fail=True))
    for data in ({**DOCS_FORM, "auth_chain": "otp"}, {**DOCS_FORM, "auth_chain": "otp", "password": "wrong"}):
        r = token_post(am, {**data, "state": "xyz"})
        assert r.status_code == 400
        assert r.text == error("Internal Server Error (500) - Missing requirements", "server_error")


# -- module messages (reference §5, "Same, with provider option …") ----------------------------------


def test_password_expired_with_module_messages_is_the_stock_ldap_text(am):
    am.set_user("demo", password_expired=True)
    am.configure_realm(module_messages=True)
    r = token_post(am, DOCS_FORM)
    assert r.status_code == 400
    assert r.text == error("Password must be reset.", "invalid_grant")


# -- grant_type of refreshed tokens (reference §8 "The new access token … record grant_type") -------


def test_tokens_minted_by_a_refresh_record_the_refresh_grant(am, rich):
    first = issue(am)
    refreshed = token_post(
        am, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], **RICH}
    ).json()
    info = requests.get(am.url_for("tokeninfo"), params={"access_token": refreshed["access_token"]}).json()
    assert info["grant_type"] == "refresh_token"
    again = token_post(
        am, {"grant_type": "refresh_token", "refresh_token": refreshed["refresh_token"], **RICH}
    ).json()
    info = requests.get(am.url_for("tokeninfo"), params={"access_token": again["access_token"]}).json()
    assert info["grant_type"] == "refresh_token"
    original = requests.get(am.url_for("tokeninfo"), params={"access_token": first["access_token"]}).json()
    assert original["grant_type"] == "password"


# -- the openid auth-method check (reference §3, "Method differs from client's configured …") -------


@pytest.fixture
def oidc_basic(am):
    am.add_client(
        "oidc",
        "s",
        scopes=("openid", "write"),
        default_scopes=("write",),
        grant_types=("password",),
        token_endpoint_auth_method="client_secret_basic",
    )
    return {"client_id": "oidc", "client_secret": "s"}


def test_the_auth_method_is_checked_before_the_secret(am, oidc_basic):
    wrong_method = "Invalid authentication method for accessing this endpoint."
    for secret in ("s", "wrong"):
        r = token_post(am, {**DOCS_FORM, "client_id": "oidc", "client_secret": secret, "state": "z"})
        assert r.status_code == 400
        assert r.text == error(wrong_method, "invalid_client", "z")
    # the right method with the wrong secret is the ordinary failure
    r = token_post(am, {k: v for k, v in DOCS_FORM.items() if k not in RICH}, headers=basic("oidc", "bad"))
    assert r.status_code == 401
    assert r.text == error("Client authentication failed", "invalid_client")
    assert r.headers["WWW-Authenticate"] == 'Basic realm="/"'
    # an unknown client fails before any method check
    r = token_post(am, {**DOCS_FORM, "client_id": "ghost", "client_secret": "s"})
    assert r.text == error("Client authentication failed", "invalid_client")


def test_the_auth_method_is_not_checked_at_introspect_or_revoke(am, oidc_basic):
    token = token_post(
        am, {k: v for k, v in DOCS_FORM.items() if k not in RICH}, headers=basic("oidc", "s")
    ).json()["access_token"]
    r = requests.post(am.url_for("introspect"), data={"token": token, **oidc_basic})
    assert r.status_code == 200
    assert r.json()["active"] is True
    r = requests.post(am.url_for("revoke"), data={"token": token, **oidc_basic})
    assert (r.status_code, r.text) == (200, "{}")


# -- scope order (reference §7.1) --------------------------------------------------------------------


def test_granted_scopes_come_in_java_hash_set_order(am, rich):
    # §7.1 check (b): scope=cn mail gives ["mail","cn"] (O13 dev guide's tokeninfo example)
    body = issue(am, scope="cn mail")
    assert body["scope"] == "mail cn"
    info = requests.get(am.url_for("tokeninfo"), params={"access_token": body["access_token"]})
    assert info.json()["scope"] == ["mail", "cn"]
    body = issue(am, scope="read write mail")
    expected = granted_scope_order(("write", "read", "cn", "mail", "realm"), ("read", "write", "mail"))
    assert body["scope"] == " ".join(expected)
    introspected = requests.post(
        am.url_for("introspect"), data={"token": body["access_token"], **RICH}
    ).json()
    assert introspected["scope"] == " ".join(stored_scope_order(expected))


def test_granted_scope_order_depends_on_the_set_not_on_the_request(am):
    # reference §7.1: the granted set is a copy of the client's allowed scopes, then retainAll; the
    # request's order never shows
    allowed = ("profile", "openid", "email", "phone", "address", "write")
    am.add_client(
        "many",
        "s",
        scopes=allowed,
        default_scopes=("write",),
        token_endpoint_auth_method="client_secret_post",
    )
    for size in (2, 5):
        for subset in itertools.combinations(allowed, size):
            expected = " ".join(granted_scope_order(allowed, subset))
            for order in (subset, subset[::-1]):
                r = token_post(
                    am, {**DOCS_FORM, "client_id": "many", "client_secret": "s", "scope": " ".join(order)}
                )
                assert r.json()["scope"] == expected, order
    r = token_post(
        am, {**DOCS_FORM, "client_id": "many", "client_secret": "s", "scope": "openid profile email"}
    )
    assert r.json()["scope"] == "openid profile email"  # the reference's published example


def test_the_invalid_scope_list_is_a_java_hash_set(am, rich):
    r = token_post(am, {**DOCS_FORM, **RICH, "scope": "admin root"})
    assert r.status_code == 400
    assert r.text == error("Unknown/invalid scope(s): [root, admin]", "invalid_scope")
    r = token_post(am, {**DOCS_FORM, **RICH, "scope": "write bar foo"})
    assert r.text == error("Unknown/invalid scope(s): [bar, foo]", "invalid_scope")


def test_default_scopes_and_a_refresh_without_scope_are_sorted(am, rich):
    body = issue(am, scope=None)  # defaults (write, read): a TreeSet
    assert body["scope"] == "read write"
    body = issue(am, scope="write read")
    r = token_post(am, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"], **RICH})
    assert r.json()["scope"] == "read write"
    r = token_post(
        am,
        {"grant_type": "refresh_token", "refresh_token": r.json()["refresh_token"], "scope": "foo", **RICH},
    )
    assert r.text == error("Unknown/invalid scope(s): [foo]", "invalid_scope")


def test_the_token_response_keys_follow_javas_hash_map(am, rich):
    # §7.1 check (a): the model puts AM's token fields in the order real AM 7.1 prints them
    keys = ["access_token", "token_type", "expires_in", "refresh_token", "scope", "id_token"]
    assert hash_set_order(keys) == [
        "access_token",
        "refresh_token",
        "scope",
        "id_token",
        "token_type",
        "expires_in",
    ]
    body = issue(am)
    assert list(body) == ["access_token", "refresh_token", "scope", "token_type", "expires_in"]


# -- state in token-endpoint errors (reference §5 "state echo") -------------------------------------


def test_state_is_echoed_by_every_grant_error(am):
    r = token_post(am, {**DOCS_FORM, "password": "wrong", "state": "xyz"})
    assert r.status_code == 400
    assert r.text == error(
        "The provided access grant is invalid, expired, or revoked.", "invalid_grant", "xyz"
    )
    assert pairs(r) == [
        ("error_description", "The provided access grant is invalid, expired, or revoked."),
        ("state", "xyz"),
        ("error", "invalid_grant"),
    ]
    assert_no_store(r)
    form = {k: v for k, v in DOCS_FORM.items() if k not in RICH}
    r = token_post(am, {**form, "state": "xyz"}, headers=basic("myClient", "wrong"))
    assert r.status_code == 401
    assert r.text == error("Client authentication failed", "invalid_client", "xyz")
    assert r.headers["WWW-Authenticate"] == 'Basic realm="/"'
    r = token_post(am, {**DOCS_FORM, "username": "", "state": "xyz"})
    assert r.text == error("Missing parameter, 'username'", "invalid_request", "xyz")
    r = token_post(am, {"grant_type": "client_credentials", "state": "s", **RICH})
    assert r.text == error("Client authentication failed", "invalid_client", "s")


def test_state_is_not_echoed_before_a_grant_runs(am):
    r = token_post(am, {**DOCS_FORM, "grant_type": None, "state": "xyz"})
    assert r.text == error("Grant type is not set", "invalid_request")
    r = token_post(am, {**DOCS_FORM, "grant_type": "magic", "state": "xyz"})
    assert r.text == error("Grant type is not supported", "unsupported_grant_type")
    r = requests.post(am.token_url + "?state=xyz", data="{}", headers={"Content-Type": "application/json"})
    assert r.text == error("Invalid Content Type", "invalid_request")
    r = token_post(am, {**DOCS_FORM, "password": "wrong", "state": ""})
    assert r.text == error("The provided access grant is invalid, expired, or revoked.", "invalid_grant")


# -- introspect (reference §9.2) ---------------------------------------------------------------------


def test_token_type_hint_limits_the_lookup(am, rich):
    body = issue(am)
    at, rt = body["access_token"], body["refresh_token"]

    def active(token, hint):
        data = {"token": token, **RICH}
        if hint is not None:
            data["token_type_hint"] = hint
        r = requests.post(am.url_for("introspect"), data=data)
        assert r.status_code == 200
        return r.json()["active"]

    assert [active(at, h) for h in (None, "access_token", "refresh_token")] == [True, True, False]
    assert [active(rt, h) for h in (None, "access_token", "refresh_token")] == [True, False, True]
    for hint in ("requesting_party_token", "magic", "ACCESS_TOKEN"):
        r = requests.post(am.url_for("introspect"), data={"token": at, "token_type_hint": hint, **RICH})
        assert (r.status_code, r.text) == (200, '{"active":false}')


def test_introspect_client_failure_has_no_challenge_and_no_cache_headers(am):
    token = token_post(am, DOCS_FORM).json()["access_token"]
    r = requests.post(am.url_for("introspect"), data={"token": token}, headers=basic("myClient", "nope"))
    assert r.status_code == 401
    assert r.text == error("Client authentication failed", "invalid_client")
    assert "WWW-Authenticate" not in r.headers
    assert_unfiltered(r)
    r = requests.post(am.url_for("introspect"), data={"token": token, "client_id": "myClient", "state": "s"})
    assert r.status_code == 400
    assert r.text == error("Client authentication failed", "invalid_client")  # no state either


# -- idtokeninfo (reference §9.6) --------------------------------------------------------------------


@pytest.fixture
def id_token(am):
    am.add_client(
        "webapp",
        "s3cret",
        scopes=("openid", "email"),
        default_scopes=("openid",),
        token_endpoint_auth_method="client_secret_post",
    )
    body = token_post(
        am, {**DOCS_FORM, "client_id": "webapp", "client_secret": "s3cret", "scope": "openid email"}
    )
    return body.json()["id_token"]


def test_idtokeninfo_needs_no_client_authentication_for_rs256_tokens(am, id_token):
    r = requests.post(am.url_for("idtokeninfo"), data={"id_token": id_token})
    assert r.status_code == 200
    assert r.json()["aud"] == "webapp"
    assert_unfiltered(r)
    # the realm comes from the token, not the URL
    r = requests.post(
        am.url_for("idtokeninfo", "/customers"), data={"id_token": id_token, "claims": "sub,email"}
    )
    assert r.text == '{"sub":"demo","email":"demo@example.com"}'


def test_idtokeninfo_errors_are_bad_request_with_ams_texts(am, id_token):
    url = am.url_for("idtokeninfo")
    cases = [
        ({}, "no id_token in request", "bad_request"),
        ({"id_token": "   "}, "no id_token in request", "bad_request"),
        ({"id_token": "abc"}, "invalid id_token: not right number of dots, 1", "bad_request"),
        ({"id_token": "a.b.c.d"}, "invalid id_token: not right number of dots, 4", "bad_request"),
        ({"id_token": id_token[:-4] + "AAAA"}, "invalid id_token", "bad_request"),
    ]
    for data, description, err in cases:
        r = requests.post(url, data=data, headers=basic("webapp", "wrong"))
        assert r.status_code == 400, data
        assert r.text == error(description, err)
        assert_unfiltered(r)
        assert "WWW-Authenticate" not in r.headers
    am.state.remove_client("webapp")
    r = requests.post(url, data={"id_token": id_token}, headers=basic("webapp", "s3cret"))
    assert r.status_code == 400  # 400 even with Basic
    assert r.text == error("no registered client matches audience of id_token", "invalid_client")
    am.clock.advance(3600)
    am.add_client("webapp", "s3cret", scopes=("openid",))
    r = requests.post(url, data={"id_token": id_token})
    assert r.text == error("id_token has expired", "bad_request")


def test_idtokeninfo_names_an_unknown_realm(am):
    am.add_realm("/gone")
    am.add_client(
        "webapp",
        "s3cret",
        scopes=("openid",),
        default_scopes=("openid",),
        realm="/gone",
        token_endpoint_auth_method="client_secret_post",
    )
    body = token_post(
        am, {**DOCS_FORM, "client_id": "webapp", "client_secret": "s3cret", "scope": "openid"}, realm="/gone"
    ).json()
    del am.state.realms["/gone"]
    r = requests.post(am.url_for("idtokeninfo"), data={"id_token": body["id_token"]})
    assert r.status_code == 400
    assert r.text == error("Invalid realm: /gone", "Invalid realm")


# -- userinfo (reference §9.4) -----------------------------------------------------------------------


@pytest.fixture
def oidc_token(am):
    am.add_client(
        "webapp",
        "s3cret",
        scopes=("openid", "profile"),
        default_scopes=("openid",),
        token_endpoint_auth_method="client_secret_post",
    )

    def make():
        data = {**DOCS_FORM, "client_id": "webapp", "client_secret": "s3cret", "scope": "openid profile"}
        return token_post(am, data).json()["access_token"]

    return make


def test_userinfo_with_valid_tokens_in_form_and_header_is_server_error(am, oidc_token):
    token, other = oidc_token(), oidc_token()
    r = requests.post(
        am.url_for("userinfo"), headers={"Authorization": f"Bearer {token}"}, data={"access_token": other}
    )
    assert r.status_code == 400
    assert r.text == error("Access Token cannot be provided in both form and header", "server_error")
    assert_unfiltered(r)
    # only one place holds a valid token: that one is used
    r = requests.post(
        am.url_for("userinfo"), headers={"Authorization": f"Bearer {token}"}, data={"access_token": "x"}
    )
    assert r.status_code == 200
    r = requests.post(
        am.url_for("userinfo"), headers={"Authorization": "Bearer x"}, data={"access_token": token}
    )
    assert r.status_code == 200


def test_userinfo_carries_updated_at(am, oidc_token):
    token = oidc_token()
    r = requests.get(am.url_for("userinfo"), headers={"Authorization": f"Bearer {token}"})
    assert pairs(r)[-1] == ("updated_at", "0")
    am.set_user("demo", attributes={**am.user("demo").attributes, "modifyTimestamp": "20240131120000Z"})
    r = requests.get(am.url_for("userinfo"), headers={"Authorization": f"Bearer {token}"})
    assert r.json()["updated_at"] == "1706702400"
    assert r.json()["name"] == "demo"


def test_userinfo_401_has_no_challenge(am):
    # reference §9.4: "No valid token → 401 invalid_token … with no WWW-Authenticate header"
    for headers in ({}, {"Authorization": "Bearer nope"}):
        r = requests.get(am.url_for("userinfo"), headers=headers)
        assert r.status_code == 401
        assert r.text == error(
            "The access token provided is expired, revoked, malformed, or invalid for other reasons.",
            "invalid_token",
        )
        assert "WWW-Authenticate" not in r.headers
        assert_unfiltered(r)


# -- which check fails first (reference §8 "Check order", §9.3) --------------------------------------


def test_refresh_reads_its_token_before_authenticating_the_client(am, rich):
    r = token_post(
        am, {"grant_type": "refresh_token", "client_id": "rich", "client_secret": "bad", "state": "q"}
    )
    assert r.status_code == 400
    assert r.text == error("Missing parameter, 'refresh_token'", "invalid_request", "q")
    r = token_post(am, {"grant_type": "refresh_token", "refresh_token": "x"}, headers=basic("rich", "bad"))
    assert r.status_code == 401
    assert r.text == error("Client authentication failed", "invalid_client")


def test_revoke_reads_its_token_before_authenticating_the_client(am):
    r = requests.post(
        am.url_for("revoke"), data={"client_id": "myClient", "client_secret": "bad", "state": "q"}
    )
    assert r.status_code == 400
    assert r.text == error("Missing parameter: token", "invalid_request", "q")
    assert_unfiltered(r)
    r = requests.post(
        am.url_for("revoke"), data={"token": "x", "state": "q"}, headers=basic("myClient", "bad")
    )
    assert r.status_code == 401
    assert r.text == error("Client authentication failed", "invalid_client", "q")
    assert r.headers["WWW-Authenticate"] == 'Basic realm="/"'
    assert_unfiltered(r)


# -- tokeninfo (reference §9.1) ----------------------------------------------------------------------


def test_tokeninfo_with_tokens_in_both_places_fails_only_when_both_are_valid(am):
    token, other = (token_post(am, DOCS_FORM).json()["access_token"] for _ in range(2))
    url = am.url_for("tokeninfo")
    r = requests.get(url, params={"access_token": other}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 400
    assert r.text == error("Access Token cannot be provided in both query and header", "invalid_request")
    assert_unfiltered(r)
    r = requests.get(url, params={"access_token": "nope"}, headers={"Authorization": f"Bearer {token}"})
    assert (r.status_code, r.json()["access_token"]) == (200, token)
    r = requests.get(url, params={"access_token": other}, headers={"Authorization": "Bearer nope"})
    assert (r.status_code, r.json()["access_token"]) == (200, other)
    r = requests.get(url, params={"access_token": "a"}, headers={"Authorization": "Bearer b"})
    assert r.status_code == 401
    assert_unfiltered(r)


def test_tokeninfo_scope_attributes_overwrite_standard_fields(am, rich):
    body = issue(am, scope="write realm")
    r = requests.get(am.url_for("tokeninfo"), params={"access_token": body["access_token"]})
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-cache, no-store"
    info = dict(pairs(r))
    assert info["realm"] == ""  # the user has no attribute "realm"
    assert [k for k, _ in pairs(r)] == hash_set_order(
        ["access_token", "token_type", "expires_in", "scope", "client_id", "grant_type", "realm", "write"]
    )


# -- headers on the endpoints without AM's OAuth2Filter (reference §4 table) -------------------------


@pytest.mark.parametrize(
    ("method", "endpoint", "kwargs"),
    [
        ("GET", "tokeninfo", {}),
        ("POST", "tokeninfo", {}),
        ("POST", "introspect", {"data": {"token": "x"}}),
        ("GET", "introspect", {}),
        ("POST", "revoke", {"data": {"client_id": "myClient", "client_secret": "forgerock"}}),
        ("GET", "userinfo", {}),
        ("POST", "idtokeninfo", {}),
        ("POST", "jwk_uri", {}),
        ("POST", "openid-configuration", {}),
    ],
)
def test_errors_off_the_token_endpoint_carry_no_cache_headers(am, method, endpoint, kwargs):
    r = requests.request(method, am.url_for(endpoint), **kwargs)
    assert 400 <= r.status_code < 500
    assert_unfiltered(r)


def test_the_token_endpoints_405_has_no_allow_header(am):
    # reference §2: the filter's 405 lists no allowed methods; its cache headers stay
    for method in ("GET", "PUT", "DELETE"):
        r = requests.request(method, am.token_url + "?state=x")
        assert r.status_code == 405
        assert r.text == error(f"Required Method: POST found: {method}", "method_not_allowed")
        assert "Allow" not in r.headers
        assert_no_store(r)


# -- discovery and keys (reference §9.5) -------------------------------------------------------------


def discovery_documents(am):
    am.add_realm("/customers/europe")
    for realm in ("/", "/customers", "/customers/europe"):
        r = requests.get(am.url_for("openid-configuration", realm))
        assert r.status_code == 200
        assert_unfiltered(r)
        yield realm, r


def test_discovery_validates_in_a_strict_client_library(am):
    for realm, r in discovery_documents(am):
        doc = r.json()
        AuthorizationServerMetadata(doc).validate()  # RFC 8414 §2
        OpenIDProviderMetadata(doc).validate()  # OpenID Connect Discovery 1.0 §3
        assert doc["issuer"] == am.issuer(realm)
        assert doc["version"] == "3.0"
        # keys in the order of AM's Java HashMap
        assert [k for k, _ in pairs(r)] == hash_set_order(list(doc))


def test_discovery_names_only_what_is_served(am):
    for _realm, r in discovery_documents(am):
        doc = r.json()
        for absent in (
            "registration_endpoint",
            "check_session_iframe",
            "device_authorization_endpoint",
            "pushed_authorization_request_endpoint",
            "request_parameter_supported",
        ):
            assert absent not in doc
        assert set(doc["grant_types_supported"]) == {
            "password",
            "refresh_token",
            "client_credentials",
            "authorization_code",
        }
        assert set(doc["token_endpoint_auth_methods_supported"]) == {
            "client_secret_post",
            "client_secret_basic",
            "none",
        }
        assert doc["response_types_supported"] == ["code"]  # authorize serves the code flow only
        assert doc["code_challenge_methods_supported"] == ["S256", "plain"]
        assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
        urls = [v for k, v in doc.items() if k.endswith(("_endpoint", "_uri")) and k != "issuer"]
        assert len(urls) == 7  # token, userinfo, jwks, revoke, introspect, authorize, endSession
        for url in urls:
            assert requests.get(url).status_code != 404, url


def test_the_jwk_carries_a_self_signed_certificate_of_the_key(am):
    keys = requests.get(am.url_for("jwk_uri")).json()
    (jwk,) = keys["keys"]
    assert list(jwk) == ["kty", "kid", "use", "alg", "e", "n", "x5t", "x5c"]
    der = base64.b64decode(jwk["x5c"][0])
    assert jwk["x5t"] == base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode()
    cert = x509.load_der_x509_certificate(der)
    public = cert.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    n = int.from_bytes(base64.urlsafe_b64decode(jwk["n"] + "=="), "big")
    assert public.public_numbers().n == n
    cert.verify_directly_issued_by(cert)  # self-signed
    am.reset()
    assert requests.get(am.url_for("jwk_uri", "/customers")).json() == keys


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_the_certificate_is_deterministic_per_seed(alg):
    key = State(MockASConfig(seed=5, signing_alg=alg)).keys.current
    der = base64.b64decode(key.jwk["x5c"][0])
    # built afresh from the same key: the same bytes (fixed validity, serial from the kid, RFC 6979)
    again = self_signed_certificate(key.private_key, key.kid).public_bytes(serialization.Encoding.DER)
    assert again == der
    other = State(MockASConfig(seed=6, signing_alg=alg)).keys.current
    assert other.jwk["x5t"] != key.jwk["x5t"]
