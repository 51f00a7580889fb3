"""Client-based ("stateless") tokens: signed JWTs a standard JOSE library verifies against the JWK
set the mock publishes, still revocable, still following the mock's clock; and the signing keys."""

from __future__ import annotations

import base64
import json

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc import jwt
from joserfc.errors import BadSignatureError, ExpiredTokenError
from joserfc.jwk import KeySet

from mock_as import ConfigError, MockASConfig, State, load_config
from tests.helpers import DOCS_FORM, INVALID_TOKEN

CLAIMS_ORDER = [
    "sub",
    "cts",
    "auditTrackingId",
    "subname",
    "iss",
    "tokenName",
    "token_type",
    "authGrantId",
    "aud",
    "nbf",
    "grant_type",
    "scope",
    "auth_time",
    "realm",
    "exp",
    "iat",
    "expires_in",
    "jti",
]
REFRESHING_CLIENT = {"client_id": "app", "client_secret": "s3cret"}


def _jwt_realm(am, realm="/"):
    am.configure_realm(realm, token_format="jwt")
    am.add_client(
        "app",
        "s3cret",
        scopes=("write", "openid"),
        default_scopes=("write",),
        grant_types=("password", "refresh_token"),
        token_endpoint_auth_method="client_secret_post",
        realm=realm,
    )


def _issue(am, realm="/", **changes):
    r = requests.post(am.url_for("access_token", realm), data={**DOCS_FORM, **REFRESHING_CLIENT, **changes})
    assert r.status_code == 200, r.text
    return r.json()


def _keys(am, realm="/"):
    return KeySet.import_key_set(requests.get(am.url_for("jwk_uri", realm)).json())


def _tokeninfo(am, token):
    return requests.get(am.url_for("tokeninfo"), headers={"Authorization": f"Bearer {token}"})


def _introspect(am, token, realm="/"):
    return requests.post(am.url_for("introspect", realm), data={"token": token, **REFRESHING_CLIENT})


def test_a_jwt_access_token_verifies_against_the_published_keys(am):
    _jwt_realm(am)
    issued = _issue(am)
    assert list(issued) == ["access_token", "refresh_token", "scope", "token_type", "expires_in"]
    assert issued["expires_in"] == 3599
    decoded = jwt.decode(issued["access_token"], _keys(am))
    assert decoded.header == {"typ": "JWT", "kid": am.jwks["keys"][0]["kid"], "alg": "RS256"}
    claims = decoded.claims
    assert list(claims) == CLAIMS_ORDER
    stored = am.token(issued["access_token"])
    assert claims == {
        "sub": "demo",
        "cts": "OAUTH2_STATELESS_GRANT",
        "auditTrackingId": stored.audit_id,
        "subname": "demo",
        "iss": f"{am.base_url}/oauth2",
        "tokenName": "access_token",
        "token_type": "Bearer",
        "authGrantId": stored.auth_grant_id,
        "aud": "app",
        "nbf": claims["iat"],
        "grant_type": "password",
        "scope": ["write"],
        "auth_time": claims["iat"],
        "realm": "/",
        "exp": claims["iat"] + 3600,
        "iat": int(stored.issued_at),
        "expires_in": 3600,
        "jti": stored.id,
    }
    jwt.JWTClaimsRegistry(
        now=int(am.clock.now()), iss={"essential": True, "value": am.issuer()}, aud={"value": "app"}
    ).validate(claims)
    refresh = jwt.decode(issued["refresh_token"], _keys(am)).claims
    assert (refresh["tokenName"], refresh["authGrantId"]) == ("refresh_token", stored.auth_grant_id)


def test_a_jwt_is_accepted_where_an_opaque_token_is(am):
    _jwt_realm(am)
    issued = _issue(am)
    info = _tokeninfo(am, issued["access_token"]).json()
    assert (info["access_token"], info["scope"], info["expires_in"]) == (
        issued["access_token"],
        ["write"],
        3599,
    )
    body = _introspect(am, issued["access_token"]).json()
    assert (body["active"], body["client_id"], body["token_type"]) == (True, "app", "Bearer")
    assert _introspect(am, issued["refresh_token"]).json()["token_type"] == "refresh_token"
    refreshed = requests.post(
        am.token_url,
        data={"grant_type": "refresh_token", "refresh_token": issued["refresh_token"], **REFRESHING_CLIENT},
    )
    assert refreshed.status_code == 200
    assert jwt.decode(refreshed.json()["access_token"], _keys(am)).claims["authGrantId"] == (
        am.token(issued["access_token"]).auth_grant_id
    )


def test_a_revoked_jwt_still_verifies_but_is_refused(am):
    _jwt_realm(am)
    issued = _issue(am)
    r = requests.post(am.url_for("revoke"), data={"token": issued["refresh_token"], **REFRESHING_CLIENT})
    assert r.json() == {}
    jwt.decode(issued["access_token"], _keys(am))  # the signature is still good …
    r = _tokeninfo(am, issued["access_token"])  # … but AM's deny list has it
    assert (r.status_code, r.json()) == (401, INVALID_TOKEN)
    assert _introspect(am, issued["access_token"]).json() == {"active": False}


def test_a_stale_jwt_is_refused_on_the_mocks_clock(am):
    _jwt_realm(am)
    token = _issue(am, scope="openid write")["access_token"]
    am.clock.advance(3600)
    assert _tokeninfo(am, token).status_code == 401
    assert _introspect(am, token).json() == {"active": False}
    r = requests.get(am.url_for("userinfo"), headers={"Authorization": f"Bearer {token}"})
    assert (r.status_code, r.json()) == (401, INVALID_TOKEN)
    claims = jwt.decode(token, _keys(am)).claims
    with pytest.raises(ExpiredTokenError):
        jwt.JWTClaimsRegistry(now=int(am.clock.now()), exp={"essential": True}).validate(claims)


def test_a_tampered_jwt_is_refused(am):
    _jwt_realm(am)
    token = _issue(am)["access_token"]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["scope"] = ["write", "admin"]
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    forged = f"{header}.{forged_payload}.{signature}"
    with pytest.raises(BadSignatureError):
        jwt.decode(forged, _keys(am))
    assert _tokeninfo(am, forged).status_code == 401
    assert _introspect(am, forged).json() == {"active": False}
    none_header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    unsigned = f"{none_header}.{payload}."
    assert _tokeninfo(am, unsigned).status_code == 401


def test_a_sub_realms_jwt_names_its_issuer(am):
    _jwt_realm(am, "/customers")
    token = _issue(am, realm="/customers")["access_token"]
    claims = jwt.decode(token, _keys(am, "/customers")).claims
    assert claims["iss"] == f"{am.base_url}/oauth2/realms/root/realms/customers" == am.issuer("/customers")
    assert claims["realm"] == "/customers"
    # opaque tokens stay the default elsewhere
    assert "." not in requests.post(am.token_url, data=DOCS_FORM).json()["access_token"]


def test_a_minted_token_in_a_jwt_realm_is_a_jwt(am):
    _jwt_realm(am)
    token = am.mint_token("demo", "app", "write", expires_in=60)
    claims = jwt.decode(token, _keys(am)).claims
    assert claims["exp"] - int(am.clock.now()) in (59, 60)
    assert _tokeninfo(am, token).json()["expires_in"] == 59
    expired = am.mint_token("demo", "app", expired=True)
    assert _tokeninfo(am, expired).status_code == 401


@pytest.mark.mock_as(signing_alg="ES256")
def test_es256_keys_on_request(am):
    _jwt_realm(am)
    (key,) = am.jwks["keys"]
    assert (key["kty"], key["crv"], key["alg"]) == ("EC", "P-256", "ES256")
    issued = _issue(am, scope="openid write")
    for token in (issued["access_token"], issued["id_token"]):
        assert jwt.decode(token, _keys(am)).header["alg"] == "ES256"
    assert _tokeninfo(am, issued["access_token"]).status_code == 200
    doc = requests.get(am.url_for("openid-configuration")).json()
    assert doc["id_token_signing_alg_values_supported"] == ["ES256"]


# -- keys: from the seed or from the configuration --------------------------------------------------


def _minted(state: State) -> str:
    from mock_as import MockAS

    state.update_realm("/", token_format="jwt")
    return MockAS(state, "https://openam.example.com:8443/openam").mint_token()


def test_the_same_seed_gives_the_same_keys_kid_and_tokens():
    config = MockASConfig(seed=7, users=0, clock_start=1_700_000_000)
    first, second = State(config), State(config)
    assert first.keys.current.jwks() == second.keys.current.jwks()
    assert _minted(first) == _minted(second)
    other = State(MockASConfig(seed=8, users=0))
    assert other.keys.current.kid != first.keys.current.kid
    ec_first = State(MockASConfig(seed=7, users=0, signing_alg="ES256"))
    ec_second = State(MockASConfig(seed=7, users=0, signing_alg="ES256", clock_start=1_700_000_000))
    assert ec_first.keys.current.jwks() == ec_second.keys.current.jwks()


def test_a_reseed_changes_the_key():
    state = State(MockASConfig(seed=7, users=0))
    before = state.keys.current.kid
    state.reseed(8)
    assert state.keys.current.kid != before
    state.reseed(7)
    assert state.keys.current.kid == before


def _pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_a_configured_rsa_key_signs_and_is_published(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "am-signing.pem"
    path.write_text(_pem(key))
    for source in (str(path), _pem(key)):
        state = State(MockASConfig(seed=1, users=0, signing_key_pem=source))
        (jwk,) = state.keys.current.jwks()["keys"]
        n = int.from_bytes(base64.urlsafe_b64decode(jwk["n"] + "=="), "big")
        assert n == key.public_key().public_numbers().n
        token = _minted(state)
        assert jwt.decode(token, KeySet.import_key_set(state.keys.current.jwks())).claims["sub"] == "demo"


def test_a_configured_ec_key_from_a_config_file(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "key.pem").write_text(_pem(key))
    config_file = tmp_path / "mock.toml"
    config_file.write_text(f'seed = 3\nusers = 0\nsigning_key_pem = "{tmp_path / "key.pem"}"\n')
    state = State(load_config(config_file))
    assert state.keys.current.alg == "ES256"
    assert (
        jwt.decode(_minted(state), KeySet.import_key_set(state.keys.current.jwks())).header["alg"] == "ES256"
    )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"signing_key_pem": "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n"}, "not an"),
        ({"signing_key_pem": "/no/such/key.pem"}, "cannot read"),
        ({"signing_alg": "HS256"}, "not one of"),
        ({"signing_key_pem": "EC", "signing_alg": "RS256"}, "does not fit"),
        ({"signing_key_pem": "RSA1024"}, "at least 2048"),
    ],
)
def test_a_bad_key_setting_fails_at_start_up(settings, message):
    if settings.get("signing_key_pem") == "EC":
        settings["signing_key_pem"] = _pem(ec.generate_private_key(ec.SECP256R1()))
    elif settings.get("signing_key_pem") == "RSA1024":
        settings["signing_key_pem"] = _pem(rsa.generate_private_key(public_exponent=65537, key_size=1024))
    with pytest.raises(ConfigError, match=message):
        State(MockASConfig(seed=1, users=0, **settings))
