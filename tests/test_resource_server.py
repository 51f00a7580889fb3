"""The resource server's side of AM (reference §9): tokeninfo, introspect, revoke, userinfo, id_token,
discovery, the JWK set and idtokeninfo, each over both transports, all following the mock's clock."""

from __future__ import annotations

import base64
import hashlib

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from mock_as import ConfigError
from tests.helpers import CLIENT_FAILED, DOCS_FORM, INVALID_TOKEN
from tests.helpers import basic as _basic

BOTH_PLACES = {
    "error_description": "Access Token cannot be provided in both query and header",
    "error": "invalid_request",
}
MISSING_TOKEN = {"error_description": "Missing parameter: token", "error": "invalid_request"}
OIDC_SCOPES = ("openid", "profile", "email", "cn", "mail", "write")


def _token(am, realm="/", **changes):
    data = {**DOCS_FORM, **changes}
    r = requests.post(
        am.url_for("access_token", realm), data={k: v for k, v in data.items() if v is not None}
    )
    assert r.status_code == 200, r.text
    return r.json()


def _oidc_client(am, client_id="webapp", realm="/", scopes=OIDC_SCOPES, **settings):
    settings.setdefault("token_endpoint_auth_method", "client_secret_post")
    am.add_client(
        client_id,
        "s3cret",
        scopes=scopes,
        default_scopes=("openid",),
        grant_types=("password", "refresh_token", "client_credentials"),
        realm=realm,
        **settings,
    )
    return {"client_id": client_id, "client_secret": "s3cret"}


def _oidc_token(am, scope="openid profile email", realm="/", **changes):
    creds = _oidc_client(am, realm=realm)
    return _token(am, realm, scope=scope, **creds, **changes), creds


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def _tokeninfo(am, token=None, *, realm="/", url=None, **kwargs):
    if token is not None:
        kwargs.setdefault("headers", _bearer(token))
    return requests.get(url or am.url_for("tokeninfo", realm), **kwargs)


def _introspect(am, token, creds=None, realm="/", **kwargs):
    data = {"token": token, **(creds or {"client_id": "myClient", "client_secret": "forgerock"})}
    return requests.post(am.url_for("introspect", realm), data=data, **kwargs)


def _revoke(am, token, creds=None, realm="/"):
    data = {"token": token, **(creds or {"client_id": "myClient", "client_secret": "forgerock"})}
    return requests.post(am.url_for("revoke", realm), data=data)


# -- /oauth2/tokeninfo ----------------------------------------------------------------------------


def test_tokeninfo_answers_the_documented_example(am):
    # O13 dev guide: scope=cn mail, then tokeninfo shows mail and cn next to AM's fields.
    am.add_client("myClientID", "password", scopes=("cn", "mail"), default_scopes=("cn",))
    issued = _token(am, scope="mail cn", client_id="myClientID", client_secret="password")
    r = _tokeninfo(am, params={"access_token": issued["access_token"]})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["Cache-Control"] == "no-cache, no-store"
    assert r.json() == {
        "access_token": issued["access_token"],
        "token_type": "Bearer",
        "expires_in": 3599,
        "scope": ["mail", "cn"],
        "client_id": "myClientID",
        "grant_type": "password",
        "realm": "/",
        "mail": "demo@example.com",
        "cn": "demo",
    }
    # reference §9.1: the body is a Java HashMap, so its keys come in HashMap order (§7.1)
    assert list(r.json()) == [
        "access_token",
        "mail",
        "grant_type",
        "scope",
        "realm",
        "cn",
        "token_type",
        "expires_in",
        "client_id",
    ]


def test_tokeninfo_reads_the_bearer_header_with_any_case(am):
    token = _token(am)["access_token"]
    for scheme in ("Bearer", "bearer", "BEARER"):
        r = _tokeninfo(am, headers={"Authorization": f"{scheme} {token}"})
        assert r.status_code == 200, scheme
        assert r.json()["access_token"] == token
        assert r.json()["write"] == ""  # a scope with no attribute of that name


def test_tokeninfo_joins_multi_valued_attributes_and_blanks_missing_ones(am):
    am.add_user("alice", "pw", mail=("alice@example.com", "a@example.org"))
    am.add_client("rs", "x", scopes=("mail", "telephoneNumber"), default_scopes=("mail",))
    issued = _token(am, username="alice", password="pw", client_id="rs", client_secret="x", scope=None)
    assert _tokeninfo(am, issued["access_token"]).json()["mail"] == "alice@example.com,a@example.org"
    issued = _token(
        am, username="alice", password="pw", client_id="rs", client_secret="x", scope="telephoneNumber"
    )
    assert _tokeninfo(am, issued["access_token"]).json()["telephoneNumber"] == ""


def test_tokeninfo_counts_down_on_the_mocks_clock(am):
    token = _token(am)["access_token"]
    am.clock.advance(600)
    assert _tokeninfo(am, token).json()["expires_in"] == 2999
    am.clock.advance(2999)
    assert _tokeninfo(am, token).json()["expires_in"] == 0
    am.clock.advance(1)
    r = _tokeninfo(am, token)
    assert (r.status_code, r.json()) == (401, INVALID_TOKEN)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic bXlDbGllbnQ6Zm9yZ2Vyb2Nr"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Bearer a.b.c"},
        {"Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.e30.AAAA"},
    ],
)
def test_tokeninfo_refuses_missing_or_unknown_tokens(am, headers):
    r = _tokeninfo(am, headers=headers)
    assert (r.status_code, r.json()) == (401, INVALID_TOKEN)


def test_tokeninfo_refuses_revoked_tokens_and_refresh_tokens(am):
    creds = _oidc_client(am)
    issued = _token(am, scope="write", **creds)
    assert _tokeninfo(am, issued["refresh_token"]).status_code == 401
    assert _revoke(am, issued["access_token"], creds).json() == {}
    r = _tokeninfo(am, issued["access_token"])
    assert (r.status_code, r.json()) == (401, INVALID_TOKEN)


def test_tokeninfo_refuses_a_token_whose_client_was_deleted(am):
    token = _token(am)["access_token"]
    am.state.remove_client("myClient")
    assert _tokeninfo(am, token).status_code == 401


def test_tokeninfo_refuses_a_token_in_both_query_and_header(am):
    token = _token(am)["access_token"]
    r = _tokeninfo(am, token, params={"access_token": token})
    assert (r.status_code, r.json()) == (400, BOTH_PLACES)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_tokeninfo_is_get_only(am, method):
    token = _token(am)["access_token"]
    r = requests.request(method, am.url_for("tokeninfo"), headers=_bearer(token))
    assert r.status_code == 405
    assert r.json()["error"] == "method_not_allowed"


@pytest.mark.parametrize(
    "path",
    [
        "/oauth2/tokeninfo",
        "/oauth2/realms/root/tokeninfo",
        "/oauth2/customers/tokeninfo",
        "/oauth2/realms/root/realms/customers/tokeninfo",
        "/oauth2/tokeninfo?realm=/customers",
    ],
)
def test_tokeninfo_answers_at_every_realm_url_form(am, path):
    # Realm-agnostic: the token names its realm, whichever realm's URL is asked.
    token = _token(am, realm="/customers")["access_token"]
    r = _tokeninfo(am, token, url=am.base_url + path)
    assert r.status_code == 200, r.text
    assert r.json()["realm"] == "/customers"


def test_tokeninfo_at_an_unknown_realm_is_404(am):
    token = _token(am)["access_token"]
    assert _tokeninfo(am, token, url=am.base_url + "/oauth2/nowhere/tokeninfo").status_code == 404


def test_tokeninfo_of_a_client_credentials_token(am):
    am.add_client(
        "svc", "x", scopes=("write",), default_scopes=("write",), grant_types=("client_credentials",)
    )
    r = requests.post(am.token_url, data={"grant_type": "client_credentials"}, auth=("svc", "x"))
    info = _tokeninfo(am, r.json()["access_token"]).json()
    assert (info["grant_type"], info["client_id"], info["write"]) == ("client_credentials", "svc", "")


# -- /oauth2/introspect ---------------------------------------------------------------------------


def test_introspect_an_active_access_token(am):
    issued = _token(am)
    token = am.token(issued["access_token"])
    r = _introspect(am, issued["access_token"], headers={})
    assert r.status_code == 200
    body = r.json()
    assert list(body) == [
        "active",
        "scope",
        "realm",
        "client_id",
        "user_id",
        "username",
        "token_type",
        "exp",
        "sub",
        "subname",
        "iss",
        "auth_level",
        "authGrantId",
        "auditTrackingId",
        "expires_in",
    ]
    assert body == {
        "active": True,
        "scope": "write",
        "realm": "/",
        "client_id": "myClient",
        "user_id": "demo",
        "username": "demo",
        "token_type": "Bearer",
        "exp": int(token.expires_at),
        "sub": "demo",
        "subname": "demo",
        "iss": f"{am.base_url}/oauth2",
        "auth_level": 0,
        "authGrantId": token.auth_grant_id,
        "auditTrackingId": token.audit_id,
        "expires_in": 3599,
    }
    am.clock.advance(25)
    assert _introspect(am, issued["access_token"]).json()["expires_in"] == 3574


def test_introspect_with_basic_authentication_in_a_sub_realm(am):
    issued = _token(am, realm="/customers")
    r = requests.post(
        am.url_for("introspect", "/customers"),
        data={"token": issued["access_token"]},
        headers=_basic("myClient", "forgerock"),
    )
    assert r.json()["active"] is True
    assert r.json()["realm"] == "/customers"
    assert r.json()["iss"] == f"{am.base_url}/oauth2/realms/root/realms/customers"


def test_introspect_an_active_refresh_token(am):
    creds = _oidc_client(am)
    issued = _token(am, scope="write", **creds)
    body = _introspect(am, issued["refresh_token"], creds).json()
    assert body["active"] is True
    assert body["token_type"] == "refresh_token"
    assert body["expires_in"] == 604799


def test_introspect_says_inactive_for_unknown_expired_and_revoked_tokens(am):
    assert _introspect(am, "no-such-token").json() == {"active": False}
    first, second = _token(am)["access_token"], _token(am)["access_token"]
    _revoke(am, first)
    assert _introspect(am, first).json() == {"active": False}
    am.clock.advance(3600)
    r = _introspect(am, second)
    assert (r.status_code, r.json()) == (200, {"active": False})


def test_introspect_only_for_the_tokens_own_client_or_privileged_ones(am):
    token = _token(am)["access_token"]
    other = {"client_id": "other", "client_secret": "x"}
    all_tokens = {"client_id": "auditor", "client_secret": "x"}
    any_realm = {"client_id": "global", "client_secret": "x"}
    am.add_client("other", "x", scopes=("write",))
    am.add_client("auditor", "x", scopes=("am-introspect-all-tokens",))
    am.add_client("auditor", "x", scopes=("am-introspect-all-tokens",), realm="/customers")
    am.add_client("global", "x", scopes=("am-introspect-all-tokens-any-realm",), realm="/customers")
    assert _introspect(am, token, other).json() == {"active": False}
    assert _introspect(am, token, all_tokens).json()["active"] is True
    # am-introspect-all-tokens stays within its realm; the -any-realm scope does not
    assert _introspect(am, token, all_tokens, realm="/customers").json() == {"active": False}
    assert _introspect(am, token, any_realm, realm="/customers").json()["client_id"] == "myClient"
    # a token's own client asking at another realm's endpoint does not see it
    assert _introspect(am, token, realm="/customers").json() == {"active": False}


def test_introspect_requires_client_authentication(am):
    token = _token(am)["access_token"]
    r = requests.post(am.url_for("introspect"), data={"token": token})
    assert (r.status_code, r.json()) == (400, CLIENT_FAILED)
    r = _introspect(am, token, {"client_id": "myClient", "client_secret": "wrong"})
    assert (r.status_code, r.json()) == (400, CLIENT_FAILED)
    r = requests.post(am.url_for("introspect"), data={"token": token}, headers=_basic("myClient", "nope"))
    assert (r.status_code, r.json()) == (401, CLIENT_FAILED)
    assert "WWW-Authenticate" not in r.headers  # reference §9.2: this resource sets no challenge


def test_introspect_needs_a_token_in_the_form(am):
    r = requests.post(am.url_for("introspect"), data={"client_id": "myClient", "client_secret": "forgerock"})
    assert (r.status_code, r.json()) == (400, MISSING_TOKEN)
    token = _token(am)["access_token"]
    r = requests.post(
        am.url_for("introspect"),
        params={"token": token},
        data={"client_id": "myClient", "client_secret": "forgerock"},
    )
    assert (r.status_code, r.json()) == (400, MISSING_TOKEN)  # AM 7 refuses the query parameter


def test_introspect_is_post_only(am):
    r = requests.get(am.url_for("introspect"), params={"token": "x"}, auth=("myClient", "forgerock"))
    assert r.status_code == 405


# -- /oauth2/token/revoke -------------------------------------------------------------------------


def test_revoke_an_access_token(am):
    creds = _oidc_client(am)
    issued = _token(am, scope="write", **creds)
    r = _revoke(am, issued["access_token"], creds)
    assert (r.status_code, r.text) == (200, "{}")
    assert _tokeninfo(am, issued["access_token"]).status_code == 401
    # the refresh token of the grant still works
    assert _introspect(am, issued["refresh_token"], creds).json()["active"] is True


def test_revoking_a_refresh_token_revokes_its_grant(am):
    creds = _oidc_client(am)
    issued = _token(am, scope="write", **creds)
    refreshed = requests.post(
        am.token_url, data={"grant_type": "refresh_token", "refresh_token": issued["refresh_token"], **creds}
    ).json()
    unrelated = _token(am, scope="write", **creds)
    assert _revoke(am, refreshed["refresh_token"], creds).json() == {}
    for token in (issued["access_token"], refreshed["access_token"]):
        assert _tokeninfo(am, token).status_code == 401
    assert _introspect(am, refreshed["refresh_token"], creds).json() == {"active": False}
    again = requests.post(
        am.token_url,
        data={"grant_type": "refresh_token", "refresh_token": refreshed["refresh_token"], **creds},
    )
    assert again.status_code == 400
    assert _tokeninfo(am, unrelated["access_token"]).status_code == 200


def test_revoke_an_unknown_token_is_still_ok(am):
    r = _revoke(am, "no-such-token")
    assert (r.status_code, r.json()) == (200, {})


def test_revoke_errors(am):
    token = _token(am)["access_token"]
    r = requests.post(am.url_for("revoke"), data={"client_id": "myClient", "client_secret": "forgerock"})
    assert (r.status_code, r.json()) == (400, MISSING_TOKEN)
    r = _revoke(am, token, {"client_id": "myClient", "client_secret": "bad"})
    assert (r.status_code, r.json()) == (400, CLIENT_FAILED)
    am.add_client("other", "x", scopes=("write",))
    r = _revoke(am, token, {"client_id": "other", "client_secret": "x"})
    assert r.status_code == 400
    assert r.json() == {
        "error_description": f"The provided token id : {token} belongs to different access grant.",
        "error": "invalid_grant",
    }
    assert _tokeninfo(am, token).status_code == 200  # untouched
    assert requests.get(am.url_for("revoke")).status_code == 405


# -- /oauth2/userinfo and the id_token ------------------------------------------------------------


def test_userinfo_returns_the_claims_of_the_granted_scopes(am):
    issued, _ = _oidc_token(am, "openid profile email")
    r = requests.get(am.url_for("userinfo"), headers=_bearer(issued["access_token"]))
    assert r.status_code == 200
    assert list(r.json().items()) == [
        ("name", "demo"),
        ("family_name", "demo"),
        ("given_name", "demo"),
        ("email", "demo@example.com"),
        ("sub", "demo"),
        ("subname", "demo"),
        ("updated_at", "0"),  # reference §9.4: a string, "0" without a modify or create timestamp
    ]
    issued, _ = _oidc_token(am, "openid email")
    r = requests.post(am.url_for("userinfo"), data={"access_token": issued["access_token"]})
    assert r.json() == {"email": "demo@example.com", "sub": "demo", "subname": "demo", "updated_at": "0"}


def test_userinfo_without_openid_has_only_the_subject(am):
    issued, _ = _oidc_token(am, "profile write")
    r = requests.get(am.url_for("userinfo"), headers=_bearer(issued["access_token"]))
    assert r.json() == {"sub": "demo", "subname": "demo", "updated_at": "0"}


def test_userinfo_errors(am):
    issued, _ = _oidc_token(am, "openid profile")
    token = issued["access_token"]
    r = requests.get(am.url_for("userinfo"))
    assert (r.status_code, r.json()) == (401, INVALID_TOKEN)
    r = requests.get(am.url_for("userinfo"), headers=_bearer("nope"))
    assert (r.status_code, r.json()) == (401, INVALID_TOKEN)
    r = requests.post(am.url_for("userinfo"), headers=_bearer(token), data={"access_token": token})
    # reference §9.4: AM's ServerException, so server_error, and "form", not "query"
    assert (r.status_code, r.json()) == (
        400,
        {
            "error_description": "Access Token cannot be provided in both form and header",
            "error": "server_error",
        },
    )
    r = requests.get(am.url_for("userinfo", "/customers"), headers=_bearer(token))
    assert (r.status_code, r.json()) == (401, INVALID_TOKEN)  # the realm that logged the user in
    assert requests.delete(am.url_for("userinfo"), headers=_bearer(token)).status_code == 405


def test_a_stale_token_is_rejected_by_tokeninfo_introspect_and_userinfo_alike(am):
    issued, creds = _oidc_token(am, "openid profile")
    token = issued["access_token"]
    assert _tokeninfo(am, token).status_code == 200
    assert _introspect(am, token, creds).json()["active"] is True
    assert requests.get(am.url_for("userinfo"), headers=_bearer(token)).status_code == 200
    am.clock.advance(3600)
    assert (_tokeninfo(am, token).status_code, _tokeninfo(am, token).json()) == (401, INVALID_TOKEN)
    assert _introspect(am, token, creds).json() == {"active": False}
    r = requests.get(am.url_for("userinfo"), headers=_bearer(token))
    assert (r.status_code, r.json()) == (401, INVALID_TOKEN)


def _jwks(am, realm="/"):
    r = requests.get(am.url_for("jwk_uri", realm))
    assert r.status_code == 200
    return KeySet.import_key_set(r.json())


def test_an_id_token_comes_with_openid(am):
    issued, _ = _oidc_token(am, "openid profile email")
    assert list(issued) == ["access_token", "refresh_token", "scope", "id_token", "token_type", "expires_in"]
    decoded = jwt.decode(issued["id_token"], _jwks(am))
    assert decoded.header["alg"] == "RS256"
    claims = decoded.claims
    now = int(am.clock.now())
    digest = hashlib.sha256(issued["access_token"].encode()).digest()[:16]
    assert claims == {
        "at_hash": base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
        "sub": "demo",
        "auditTrackingId": am.token(issued["access_token"]).audit_id,
        "subname": "demo",
        "iss": f"{am.base_url}/oauth2",
        "tokenName": "id_token",
        "aud": "webapp",
        "azp": "webapp",
        "auth_time": pytest.approx(now, abs=2),
        "realm": "/",
        "exp": claims["iat"] + 3600,
        "tokenType": "JWTToken",
        "iat": pytest.approx(now, abs=2),
        "name": "demo",
        "family_name": "demo",
        "given_name": "demo",
        "email": "demo@example.com",
    }
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": am.issuer()}, aud={"essential": True, "value": "webapp"}
    ).validate(claims)


def test_no_id_token_without_openid_or_without_a_user(am):
    issued, creds = _oidc_token(am, "profile")
    assert "id_token" not in issued
    r = requests.post(am.token_url, data={"grant_type": "client_credentials", "scope": "openid", **creds})
    assert r.status_code == 200
    assert "id_token" not in r.json()


def test_a_refreshed_token_gets_a_new_id_token(am):
    issued, creds = _oidc_token(am, "openid profile", realm="/customers")
    r = requests.post(
        am.url_for("access_token", "/customers"),
        data={"grant_type": "refresh_token", "refresh_token": issued["refresh_token"], **creds},
    )
    claims = jwt.decode(r.json()["id_token"], _jwks(am, "/customers")).claims
    assert claims["iss"] == f"{am.base_url}/oauth2/realms/root/realms/customers"
    assert claims["realm"] == "/customers"


def test_the_id_token_lifetime_is_a_realm_setting(am):
    am.configure_realm("/", id_token_lifetime=60)
    issued, _ = _oidc_token(am, "openid")
    claims = jwt.decode(issued["id_token"], _jwks(am)).claims
    assert claims["exp"] - claims["iat"] == 60


# -- /oauth2/idtokeninfo --------------------------------------------------------------------------


def test_idtokeninfo_validates_and_returns_the_claims(am):
    issued, creds = _oidc_token(am, "openid email")
    r = requests.post(am.url_for("idtokeninfo"), data={"id_token": issued["id_token"], **creds})
    assert r.status_code == 200
    assert r.json() == jwt.decode(issued["id_token"], _jwks(am)).claims
    r = requests.post(
        am.url_for("idtokeninfo"), data={"id_token": issued["id_token"], "claims": "sub,email", **creds}
    )
    assert r.json() == {"sub": "demo", "email": "demo@example.com"}


def test_idtokeninfo_errors(am):
    # reference §9.6: AM's BadRequestException texts, error "bad_request"
    issued, creds = _oidc_token(am, "openid")
    url = am.url_for("idtokeninfo")
    r = requests.post(url, data=creds)
    assert (r.status_code, r.json()) == (
        400,
        {"error_description": "no id_token in request", "error": "bad_request"},
    )
    r = requests.post(url, data={"id_token": issued["access_token"], **creds})
    assert (r.status_code, r.json()) == (
        400,
        {"error_description": "invalid id_token: not right number of dots, 1", "error": "bad_request"},
    )
    am.clock.advance(3600)
    r = requests.post(url, data={"id_token": issued["id_token"], **creds})
    assert r.json() == {"error_description": "id_token has expired", "error": "bad_request"}


# -- discovery and keys ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("realm", "path"),
    [
        ("/", "/oauth2/.well-known/openid-configuration"),
        ("/", "/oauth2/realms/root/.well-known/openid-configuration"),
        ("/customers", "/oauth2/realms/root/realms/customers/.well-known/openid-configuration"),
        ("/customers", "/oauth2/customers/.well-known/openid-configuration"),
    ],
)
def test_discovery_for_every_realm(am, realm, path):
    r = requests.get(am.base_url + path)
    assert r.status_code == 200
    doc = r.json()
    issuer = f"{am.base_url}/oauth2" + ("" if realm == "/" else "/realms/root/realms/customers")
    assert doc["issuer"] == issuer == am.issuer(realm)
    assert doc["token_endpoint"] == f"{issuer}/access_token"
    assert doc["introspection_endpoint"] == f"{issuer}/introspect"
    assert doc["revocation_endpoint"] == f"{issuer}/token/revoke"
    assert doc["userinfo_endpoint"] == f"{issuer}/userinfo"
    assert doc["jwks_uri"] == f"{issuer}/connect/jwk_uri"
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert "openid" in doc["scopes_supported"]
    # the advertised endpoints answer
    assert requests.get(doc["jwks_uri"]).json()["keys"]
    assert requests.post(doc["token_endpoint"], data=DOCS_FORM).status_code == 200


def test_discovery_errors(am):
    assert requests.get(am.base_url + "/oauth2/nowhere/.well-known/openid-configuration").status_code == 404
    assert requests.post(am.url_for("openid-configuration")).status_code == 405
    assert requests.post(am.url_for("jwk_uri")).status_code == 405


@pytest.mark.mock_as(issuer="https://am.example.com:8443/am")
def test_a_configured_issuer_is_used_everywhere(am):
    doc = requests.get(am.url_for("openid-configuration", "/customers")).json()
    assert doc["issuer"] == "https://am.example.com:8443/am/oauth2/realms/root/realms/customers"
    issued, creds = _oidc_token(am, "openid")
    assert jwt.decode(issued["id_token"], _jwks(am)).claims["iss"] == "https://am.example.com:8443/am/oauth2"
    assert (
        _introspect(am, issued["access_token"], creds).json()["iss"]
        == "https://am.example.com:8443/am/oauth2"
    )


def test_the_jwk_set(am):
    keys = requests.get(am.url_for("jwk_uri")).json()
    assert keys == am.jwks
    (key,) = keys["keys"]
    assert (key["kty"], key["use"], key["alg"], key["e"]) == ("RSA", "sig", "RS256", "AQAB")
    assert len(base64.urlsafe_b64decode(key["n"] + "==")) == 256
    # the same seed, the same key and kid, after a reset too
    am.reset()
    assert requests.get(am.url_for("jwk_uri", "/customers")).json() == keys


# -- minting tokens for a resource server's test --------------------------------------------------


def test_minted_tokens_need_no_token_request(am):
    token = am.mint_token("demo", "myClient", "write mail")
    info = _tokeninfo(am, token).json()
    assert (info["scope"], info["mail"], info["expires_in"], info["grant_type"]) == (
        ["mail", "write"],  # reference §7.1: tokeninfo reads the stored scopes back as a HashSet
        "demo@example.com",
        3599,
        "password",
    )
    assert am.calls[-1].endpoint == "tokeninfo"
    assert not am.token_calls()


def test_minted_tokens_about_to_expire_or_expired(am):
    soon = am.mint_token(expires_in=10)
    gone = am.mint_token(expired=True)
    assert _tokeninfo(am, soon).json()["expires_in"] == 9
    assert _tokeninfo(am, gone).status_code == 401
    assert _introspect(am, gone).json() == {"active": False}
    am.clock.advance(10)
    assert _tokeninfo(am, soon).status_code == 401


def test_minted_tokens_of_every_kind(am):
    long_lived = am.mint_token(lifetime=7200, scopes=["write"])
    assert _tokeninfo(am, long_lived).json()["expires_in"] == 7199
    service = am.mint_token(None, "myClient", realm="/customers")
    info = _tokeninfo(am, service).json()
    assert (info["grant_type"], info["realm"]) == ("client_credentials", "/customers")
    refresh = am.mint_token(kind="refresh_token", lifetime=-1)
    body = _introspect(am, refresh).json()
    assert (body["token_type"], body["expires_in"], "exp" in body) == ("refresh_token", -1, False)


def test_minting_refuses_what_am_could_not_have_issued(am):
    with pytest.raises(ConfigError, match="no client"):
        am.mint_token(client_id="ghost")
    with pytest.raises(ConfigError, match="no user"):
        am.mint_token("ghost")
    with pytest.raises(ConfigError, match="longer than"):
        am.mint_token(expires_in=4000)
    with pytest.raises(ConfigError, match="not both"):
        am.mint_token(expires_in=5, expired=True)
    with pytest.raises(ConfigError):
        am.mint_token(realm="/nowhere")


# -- bad input is a 4xx in AM's format, never a 500 -----------------------------------------------


@pytest.mark.parametrize("endpoint", ["tokeninfo", "introspect", "revoke", "userinfo", "idtokeninfo"])
@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"Authorization": "Bearer \u00e9t\u00e9"}, b"token=%FF%FE&id_token=%FF"),
        ({"Authorization": "Bearer ..."}, b"token=...&id_token=..."),
        ({"Authorization": "Bearer e30.e30.e30"}, b"token=e30.e30.e30&id_token=e30.e30.e30"),
        ({"Authorization": "Bearer W10.W10.!!"}, b"token=W10.W10.!!&id_token=W10.W10.!!"),
        ({"Content-Type": "application/json"}, b'{"token": 1}'),
        ({"Authorization": "Basic !!!"}, b"token="),
    ],
)
def test_bad_input_never_breaks_an_endpoint(am, endpoint, headers, body):
    headers = {"Content-Type": "application/x-www-form-urlencoded", **headers}
    auth = None if "Authorization" in headers else ("myClient", "forgerock")
    for method in ("GET", "POST"):
        r = requests.request(method, am.url_for(endpoint), headers=headers, data=body, auth=auth)
        assert 400 <= r.status_code < 500, (method, r.status_code, r.text)
        assert set(r.json()) == {"error", "error_description"}


def test_the_issuer_follows_a_proxys_forwarded_headers(am):
    """Behind a proxy (or a container's port mapping) the issuer is the client's view of the mock:
    X-Forwarded-Proto, -Host and -Prefix, on the live server as in process."""
    forwarded = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "am.example.com:8443",
        "X-Forwarded-Prefix": "/edge",
    }
    r = requests.get(am.url_for("openid-configuration"), headers=forwarded)
    assert r.status_code == 200
    doc = r.json()
    assert doc["issuer"] == "https://am.example.com:8443/edge/openam/oauth2"
    assert doc["token_endpoint"] == "https://am.example.com:8443/edge/openam/oauth2/access_token"
    plain = requests.get(am.url_for("openid-configuration")).json()
    assert plain["issuer"] == am.base_url + "/oauth2"
