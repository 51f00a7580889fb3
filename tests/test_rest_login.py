"""AM's REST login and SSO sessions under ``/json`` (reference am-journeys §1, §2, §4, §5), over HTTP
on both transports (``am``: live and in-process), as the JavaScript SDK, frodo and curl call them."""

from __future__ import annotations

import base64
import json

import pytest
import requests

from mock_as.errors import ConfigError
from tests.conftest import DOCS_FORM

V20 = {"Accept-API-Version": "resource=2.0, protocol=1.0"}  # frodo, the PingAM docs (F1.9)
SDK = {  # the JavaScript SDK's authenticate headers (F1.14, §4.1)
    "Accept": "application/json",
    "Accept-API-Version": "protocol=1.0,resource=2.1",
    "Content-Type": "application/json",
    "X-Requested-With": "forgerock-sdk",
}
SESSIONS_40 = {"Accept-API-Version": "resource=4.0", "Content-Type": "application/json"}
LOGIN_FAILURE = {"code": 401, "reason": "Unauthorized", "message": "Login failure"}
CHAIN_FAILURE = {"code": 401, "reason": "Unauthorized", "message": "Authentication Failed"}
PASSWORD = DOCS_FORM["password"]


def rest(am, resource="authenticate", realm="/"):
    return am.rest_url(resource, realm)


def zero_page(am, username="demo", password=PASSWORD, *, realm="/", headers=V20, url=None, **params):
    """frodo's header login (F1.25, §4.2 step 2)."""
    return requests.post(
        url or rest(am, realm=realm),
        params=params,
        headers={**headers, "X-OpenAM-Username": username, "X-OpenAM-Password": password},
        json={},
    )


def tree(**params):
    return {"authIndexType": "service", "authIndexValue": "Login", **params}


def fill(step, username="demo", password=PASSWORD):
    step["callbacks"][0]["input"][0]["value"] = username
    step["callbacks"][1]["input"][0]["value"] = password
    return step


def context(am):
    return am.state.config.context_path.rstrip("/")


def https(am):
    return am.base_url.startswith("https://")


def session_action(am, action, *, realm="/", headers=SESSIONS_40, slash=True, **kwargs):
    url = rest(am, "sessions", realm) + ("/" if slash else "")
    return requests.post(url, params={"_action": action}, headers=headers, **kwargs)


# -- zero-page login -------------------------------------------------------------------------------


def test_zero_page_login_answers_token_success_url_and_realm_and_sets_the_cookie(am):
    r = zero_page(am)
    assert r.status_code == 200, r.text
    body = r.json()
    assert list(body) == ["tokenId", "successUrl", "realm"]
    assert body["successUrl"] == context(am) + "/console"
    assert body["realm"] == "/"
    assert r.headers["Content-API-Version"] == "resource=2.1"  # 2.0 asked, 2.1 answered (F1.8)
    cookie = r.headers["Set-Cookie"]
    expected = f"iPlanetDirectoryPro={body['tokenId']}; Path=/; HttpOnly"
    assert cookie == (expected + "; Secure; SameSite=None" if https(am) else expected)
    assert am.session(body["tokenId"]).username == "demo"


def test_the_sso_token_has_am_7s_shape(am):
    token = zero_page(am).json()["tokenId"]
    base, star, rest_ = token.partition("*")
    assert base.startswith("AQIC5w")
    assert base.endswith(".")
    assert star
    assert rest_.startswith("AAJTSQACMDEAAlNLAB")
    assert rest_.endswith("*")


@pytest.mark.parametrize("spelling", ["realms/root/realms/customers", "customers"])
def test_zero_page_login_in_a_sub_realm(am, spelling):
    r = zero_page(am, url=f"{am.base_url}/json/{spelling}/authenticate")
    assert r.status_code == 200, r.text
    assert r.json()["realm"] == "/customers"
    assert am.session(r.json()["tokenId"]).realm == "/customers"


def test_the_realm_query_parameter_overrides_the_path(am):
    r = zero_page(am, url=f"{am.base_url}/json/authenticate?realm=/customers")
    assert r.json()["realm"] == "/customers"


def test_rfc_2047_encoded_credentials(am):
    am.add_user("jürgen", "pässwörd")
    r = zero_page(
        am,
        "=?UTF-8?B?" + base64.b64encode("jürgen".encode()).decode() + "?=",
        "=?UTF-8?B?" + base64.b64encode("pässwörd".encode()).decode() + "?=",
    )
    assert r.status_code == 200, r.text
    assert am.session(r.json()["tokenId"]).username == "jürgen"
    r = zero_page(am, "=?UTF-8?Q?j=C3=BCrgen?=", "=?utf-8?q?p=C3=A4ssw=C3=B6rd?=")  # the Q encoding
    assert r.status_code == 200, r.text
    r = zero_page(am, "=?no-such-charset?B?eA==?=", "x")
    assert (r.status_code, r.json()["code"]) == (400, 400)


def test_wrong_password_fails_as_a_tree_and_as_a_chain(am):
    r = zero_page(am, password="wrong", **tree())
    assert (r.status_code, r.json()) == (401, LOGIN_FAILURE)
    r = zero_page(am, password="wrong")  # the realm's default, the ldapService chain
    assert (r.status_code, r.json()) == (401, CHAIN_FAILURE)
    assert "Set-Cookie" not in r.headers
    assert am.sessions == []


def test_unknown_user_fails(am):
    r = zero_page(am, "nobody", **tree())
    assert (r.status_code, r.json()) == (401, LOGIN_FAILURE)


@pytest.mark.parametrize(
    ("status", "tree_message", "chain_message"),
    [
        ("locked", "User Locked Out.", "Your account has been locked."),
        ("inactive", "User Locked Out.", "User not Active"),
    ],
)
def test_locked_and_inactive_users(am, status, tree_message, chain_message):
    am.set_user("demo", status=status)
    assert zero_page(am, **tree()).json() == {**LOGIN_FAILURE, "message": tree_message}
    assert zero_page(am).json() == {**CHAIN_FAILURE, "message": chain_message}


def test_version_1_errors_have_the_legacy_shape(am):
    r = zero_page(am, password="wrong", headers={"Accept-API-Version": "resource=1.0"}, **tree())
    assert (r.status_code, r.json()) == (401, {"errorMessage": "Login failure"})  # F1.6, F1.7
    assert r.headers["Content-API-Version"] == "resource=1.2"


def test_no_version_header_gets_the_latest(am):
    r = requests.post(rest(am), params=tree(), json={}, headers={"X-Requested-With": "x"})
    assert r.status_code == 200
    assert r.headers["Content-API-Version"] == "resource=2.1"


def test_a_version_that_does_not_exist_is_404(am):
    r = zero_page(am, headers={"Accept-API-Version": "resource=999.0"})
    assert (r.status_code, r.json()) == (
        404,
        {
            "code": 404,
            "reason": "Not Found",
            "message": 'Accept-API-Version: Requested version "999.0" does not match any routes.',
        },
    )


# -- the callbacks protocol ------------------------------------------------------------------------


def test_the_sdk_callback_round_trip(am):
    browser = requests.Session()
    r = browser.post(rest(am), params=tree(), headers=SDK)  # no body at all (§4.1 step 2)
    assert r.status_code == 200, r.text
    step = r.json()
    assert list(step) == ["authId", "callbacks"]
    assert step["callbacks"] == [
        {
            "type": "NameCallback",
            "output": [{"name": "prompt", "value": "User Name"}],
            "input": [{"name": "IDToken1", "value": ""}],
            "_id": 0,
        },
        {
            "type": "PasswordCallback",
            "output": [{"name": "prompt", "value": "Password"}],
            "input": [{"name": "IDToken2", "value": ""}],
            "_id": 1,
        },
    ]
    assert "Set-Cookie" not in r.headers  # no session cookie on a step (F1.60)
    # The SDK posts the step back changed in place, with its own status and ok (F1.35).
    fill(step).update(status=200, ok=True, stage="x", header="y", description="z")
    r = browser.post(rest(am), params=tree(), headers=SDK, json=step)
    assert r.status_code == 200, r.text
    token = r.json()["tokenId"]
    assert browser.cookies.get("iPlanetDirectoryPro") == token
    # The browser's cookie now names the session: logout as FRUser.logout does it (F2.21, §4.1 step 8).
    r = browser.post(
        rest(am, "sessions") + "/",
        params={"_action": "logout"},
        headers={"Accept-API-Version": "protocol=1.0,resource=2.0", "X-Requested-With": "forgerock-sdk"},
    )
    assert (r.status_code, r.json()) == (200, {"result": "Successfully logged out"})
    assert r.headers["Set-Cookie"].startswith('iPlanetDirectoryPro=""; Expires=Thu, 01 Jan 1970')
    assert am.session(token) is None


def test_the_auth_id_is_an_hs256_jwt_with_ams_claims(am):
    step = requests.post(rest(am), params=tree(), headers=SDK).json()
    header, payload, _ = step["authId"].split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)
    assert json.loads(base64.urlsafe_b64decode(pad(header)))["alg"] == "HS256"
    claims = json.loads(base64.urlsafe_b64decode(pad(payload)))
    assert list(claims) == ["authIndexValue", "otk", "authIndexType", "realm", "sessionId", "iat", "exp"]
    assert (claims["authIndexValue"], claims["authIndexType"], claims["realm"]) == ("Login", "service", "/")
    assert claims["exp"] - claims["iat"] == 900


def test_a_chain_step_carries_template_stage_and_header(am):
    step = requests.post(rest(am), headers=SDK).json()
    assert list(step) == ["authId", "template", "stage", "header", "callbacks"]
    assert "_id" not in step["callbacks"][0]


def test_the_continuation_takes_realm_and_service_from_the_auth_id(am):
    step = requests.post(rest(am, realm="customers"), params=tree(), headers=SDK).json()
    r = requests.post(rest(am), headers=SDK, json=fill(step))  # top realm URL, no query
    assert r.json()["realm"] == "/customers"  # F1.22
    assert am.session(r.json()["tokenId"]).service == "Login"


def test_a_wrong_password_in_callbacks_fails(am):
    step = requests.post(rest(am), params=tree(), headers=SDK).json()
    r = requests.post(rest(am), params=tree(), headers=SDK, json=fill(step, password="nope"))
    assert (r.status_code, r.json()) == (401, LOGIN_FAILURE)


def test_an_expired_auth_id_is_a_session_timeout(am):
    step = requests.post(rest(am), params=tree(), headers=SDK).json()
    am.clock.advance(901)
    r = requests.post(rest(am), headers=SDK, json=fill(step))
    assert (r.status_code, r.json()) == (
        401,
        {
            "code": 401,
            "reason": "Unauthorized",
            "message": "Session has timed out",
            "detail": {"errorCode": "110"},
        },
    )


def test_a_forged_auth_id_is_refused(am):
    step = requests.post(rest(am), params=tree(), headers=SDK).json()
    header, payload, signature = step["authId"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["exp"] += 10**6
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    step["authId"] = f"{header}.{forged}.{signature}"
    r = requests.post(rest(am), headers=SDK, json=fill(step))
    assert (r.status_code, r.json()["message"]) == (400, "AuthId JWT Signature not valid")
    for garbage in ("x", "a.b.c", 42, "....", "é.é.é"):
        step["authId"] = garbage
        r = requests.post(rest(am), headers=SDK, json=step)
        assert (r.status_code, r.json()["message"]) == (400, "Failed to parse JWT"), garbage
    assert am.sessions == []


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda s: s["callbacks"].pop(), "Incorrect number of callbacks found in JSON response"),
        (lambda s: s.update(callbacks="nope"), "Incorrect number of callbacks found in JSON response"),
        (lambda s: s["callbacks"].reverse(), "Required callback not found in JSON response"),
        (
            lambda s: s["callbacks"][0].update(type="TextInputCallback"),
            "Required callback not found in JSON response",
        ),
        (lambda s: s["callbacks"][0]["input"][0].update(value=42), "Invalid input for NameCallback"),
        (lambda s: s["callbacks"][1].update(input={}), "Invalid input for PasswordCallback"),
        (lambda s: s["callbacks"].__setitem__(0, None), "Required callback not found in JSON response"),
    ],
)
def test_wrong_callbacks_are_400(am, mangle, message):
    step = fill(requests.post(rest(am), params=tree(), headers=SDK).json())
    mangle(step)
    r = requests.post(rest(am), headers=SDK, json=step)
    assert (r.status_code, r.json()) == (400, {"code": 400, "reason": "Bad Request", "message": message})


def test_one_header_alone_answers_the_callbacks(am):
    r = requests.post(rest(am), params=tree(), headers={**SDK, "X-OpenAM-Username": "demo"})
    assert r.status_code == 200
    assert "authId" in r.json()


# -- bad input -------------------------------------------------------------------------------------


def test_an_unknown_service_or_index_type_is_400(am):
    r = zero_page(am, authIndexType="service", authIndexValue="NoSuchTree")
    assert (r.status_code, r.json()) == (
        400,
        {"code": 400, "reason": "Bad Request", "message": "No Configuration found"},
    )
    r = zero_page(am, authIndexType="bogus", authIndexValue="Login")
    assert (r.status_code, r.json()["message"]) == (400, "Unknown Authentication Index Type")


def test_media_type_and_broken_json(am):
    r = requests.post(rest(am), headers={**V20, "Content-Type": "text/plain"}, data="hello")
    assert (r.status_code, r.json()["message"]) == (415, "Unsupported Media Type")
    for broken in ("{", "[1]", '"x"', "{" * 5000 + "}" * 5000, "\xff"):
        r = requests.post(
            rest(am), headers={**V20, "Content-Type": "application/json"}, data=broken.encode("latin-1")
        )
        assert r.status_code == 400, broken[:10]
        assert r.json()["code"] == 400


def test_get_on_authenticate_is_405(am):
    r = requests.get(rest(am), headers=V20)
    assert (r.status_code, r.json()["code"]) == (405, 405)


def test_oversized_headers_are_refused_not_crashed(am):
    r = zero_page(am, "x" * 70_000)
    assert 400 <= r.status_code < 500
    assert am.sessions == []


def test_csrf_filter_refuses_a_cookie_post_without_either_header(am):
    login = am.login("demo")
    r = requests.post(rest(am, "sessions"), params={"_action": "validate"}, cookies=login.cookies)
    assert (r.status_code, r.json()) == (403, {"code": 403, "reason": "Forbidden", "message": "Forbidden"})
    ok = requests.post(
        rest(am, "sessions"),
        params={"_action": "validate"},
        cookies=login.cookies,
        headers={"X-Requested-With": "x"},
    )
    assert ok.json()["valid"] is True
    # the header named after the cookie is not a cookie: no CSRF check
    assert (
        requests.post(rest(am, "sessions"), params={"_action": "validate"}, headers=login.headers).status_code
        == 200
    )


# -- sessions --------------------------------------------------------------------------------------


@pytest.mark.parametrize("slash", [True, False])
def test_validate_with_the_token_in_each_place(am, slash):
    login = am.login("demo")
    token = login.token_id
    expected = {"valid": True, "sessionUid": login.session.properties["AMCtxId"], "uid": "demo", "realm": "/"}
    url = rest(am, "sessions") + ("/" if slash else "")
    v = {"_action": "validate"}
    for kwargs in (
        {"json": {"tokenId": token}, "headers": SESSIONS_40},  # F2.11
        {"params": {"tokenId": token}},
        {"cookies": login.cookies, "headers": V20},
        {"headers": login.headers},  # F1.62
    ):
        r = requests.post(url, params={**v, **kwargs.pop("params", {})}, **kwargs)
        assert (r.status_code, r.json()) == (200, expected), kwargs
    # the OpenAM 1.x path form (F2.10)
    r = requests.post(
        f"{rest(am, 'sessions')}/{token}", params=v, headers={"Accept-API-Version": "resource=1.2"}
    )
    assert r.json() == expected


def test_validate_an_unknown_token_is_valid_false_and_no_token_is_400(am):
    r = session_action(am, "validate", json={"tokenId": "AQIC5wnope"})
    assert (r.status_code, r.json()) == (200, {"valid": False})  # F2.13
    r = session_action(am, "validate")
    assert (r.status_code, r.json()["message"]) == (400, "iPlanetDirectoryCookie not set on request")


def test_get_session_info_with_the_token_in_the_body(am):
    token = zero_page(am).json()["tokenId"]
    r = session_action(am, "getSessionInfo", json={"tokenId": token})  # F2.7: no cookie, no header
    assert r.status_code == 200, r.text
    info = r.json()
    assert list(info) == [
        "username",
        "universalId",
        "realm",
        "latestAccessTime",
        "maxIdleExpirationTime",
        "maxSessionExpirationTime",
        "properties",
    ]
    assert info["username"] == "demo"
    assert info["realm"] == "/"
    assert info["universalId"] == "id=demo,ou=user,dc=openam,dc=forgerock,dc=org"
    assert info["maxIdleExpirationTime"].endswith("Z")
    assert "AMCtxId" in info["properties"]
    assert r.headers["Content-API-Version"] == "resource=4.0"


def test_get_session_info_does_not_reset_idle_time_but_validate_does(am):
    first, second = am.login("demo"), am.login("demo")
    am.clock.advance(20 * 60)
    assert session_action(am, "getSessionInfo", json={"tokenId": first.token_id}).json()["username"] == "demo"
    assert session_action(am, "validate", json={"tokenId": second.token_id}).json()["valid"] is True
    am.clock.advance(15 * 60)  # 35 minutes after login: past the 30-minute idle timeout
    assert session_action(am, "validate", json={"tokenId": first.token_id}).json() == {"valid": False}
    assert session_action(am, "validate", json={"tokenId": second.token_id}).json()["valid"] is True


def test_the_maximum_session_time_ends_a_session_in_use(am):
    am.configure_realm(session_max_minutes=10)
    login = am.login("demo")
    for _ in range(3):
        am.clock.advance(4 * 60)
        session_action(am, "refresh", headers={**SESSIONS_40, **login.headers})
    assert session_action(am, "validate", json={"tokenId": login.token_id}).json() == {"valid": False}


@pytest.mark.mock_as(clock_start=1_800_000_000)
def test_refresh_and_session_properties(am):
    login = am.login("demo")
    am.clock.advance(61)
    r = session_action(am, "refresh", headers={**SESSIONS_40, **login.headers})
    assert r.json() == {
        "uid": "demo",
        "realm": "/",
        "idletime": 0,
        "maxidletime": 30,
        "maxsessiontime": 120,
        "maxtime": 7139,
    }
    r = session_action(am, "getSessionProperties", headers={**SESSIONS_40, **login.headers})
    assert (r.status_code, r.json()) == (200, {})


def test_logout_with_the_header_and_then_again(am):
    login = am.login("demo")
    headers = {"Accept-API-Version": "resource=3.1, protocol=1.0", **login.headers}  # Android (§4.3)
    r = session_action(am, "logout", headers=headers, slash=False)
    assert (r.status_code, r.json()) == (200, {"result": "Successfully logged out"})
    assert am.sessions == []
    r = session_action(am, "logout", headers=headers)
    assert (r.status_code, r.json()) == (
        401,
        {"code": 401, "reason": "Unauthorized", "message": "Access Denied"},
    )


def test_logout_another_session_that_has_expired(am):
    caller, target = am.login("demo"), am.login("demo")
    am.end_session(target.token_id)
    r = session_action(
        am, "logout", headers={**SESSIONS_40, **caller.headers}, json={"tokenId": target.token_id}
    )
    # the body's token is the target; the caller's session stays
    assert (r.status_code, r.json()) == (200, {"result": "Token has expired"})
    assert am.session(caller.token_id) is not None


def test_logout_by_handle(am):
    caller, target = am.login("demo"), am.login("demo")
    handle = target.session.handle
    r = session_action(
        am,
        "logoutByHandle",
        headers={**SESSIONS_40, **caller.headers},
        json={"sessionHandles": [handle, "nope"]},
    )
    assert r.json() == {"result": {handle: True, "nope": False}}
    assert am.session(target.token_id) is None
    assert am.session(caller.token_id) is not None


def test_session_actions_need_a_session_except_validate(am):
    for action in ("getSessionInfo", "refresh", "getSessionProperties", "logout"):
        r = session_action(am, action, headers={**SESSIONS_40, "iPlanetDirectoryPro": "AQIC5wnope"})
        assert (r.status_code, r.json()["message"]) == (401, "Access Denied"), action


def test_unknown_actions_and_versions(am):
    login = am.login("demo")
    r = session_action(am, "explode", headers={**SESSIONS_40, **login.headers})
    assert (r.status_code, r.json()["message"]) == (400, "Action explode not implemented for this resource")
    r = session_action(am, "getSessionInfo", headers={"Accept-API-Version": "resource=1.0", **login.headers})
    assert r.status_code == 400  # a 1.x session resource has no getSessionInfo (F2.1)
    r = session_action(am, "validate", headers={"Accept-API-Version": "resource=9.0"})
    assert r.status_code == 404
    r = requests.get(rest(am, "sessions"), headers=login.headers)
    assert r.status_code == 405


def test_session_bodies_that_are_not_json_are_400(am):
    login = am.login("demo")
    r = session_action(am, "getSessionInfo", headers={**SESSIONS_40, **login.headers}, data=b"{nope")
    assert (r.status_code, r.json()["code"]) == (400, 400)


# -- users and serverinfo --------------------------------------------------------------------------


def test_id_from_session_and_reading_ones_own_profile(am):
    login = am.login("demo")
    headers = {**V20, **login.headers}
    r = requests.post(rest(am, "users"), params={"_action": "idFromSession"}, headers=headers)
    assert r.json() == {
        "id": "demo",
        "realm": "/",
        "dn": "id=demo,ou=user,dc=openam,dc=forgerock,dc=org",
        "successURL": context(am) + "/console",
        "fullLoginURL": None,
    }
    r = requests.get(rest(am, "users") + "/demo", headers=headers)
    profile = r.json()
    assert (profile["username"], profile["realm"], profile["uid"], profile["mail"]) == (
        "demo",
        "/",
        ["demo"],
        ["demo@example.com"],
    )
    assert profile["inetuserstatus"] == ["Active"]
    r = requests.get(rest(am, "users") + "/demo", params={"_fields": "mail"}, headers=headers)
    assert r.json() == {"_id": "demo", "mail": ["demo@example.com"]}


def test_users_refuse_without_a_session_or_for_someone_else(am):
    other = am.users[1].username
    login = am.login("demo")
    r = requests.get(rest(am, "users") + f"/{other}", headers=login.headers)
    assert (r.status_code, r.json()["message"]) == (403, "User not permitted.")
    r = requests.get(rest(am, "users") + "/demo")
    assert (r.status_code, r.json()["message"]) == (401, "Access Denied")
    r = requests.post(
        rest(am, "users"), params={"_action": "idFromSession"}, headers={**V20, "iPlanetDirectoryPro": "x"}
    )
    assert (r.status_code, r.json()["message"]) == (403, "SSO Token cannot be retrieved.")


def test_serverinfo_needs_no_session(am):
    r = requests.get(f"{am.base_url}/json/serverinfo/*", headers={"Accept-API-Version": "resource=1.1"})
    assert r.status_code == 200
    info = r.json()
    assert info["_id"] == "*"
    assert info["cookieName"] == "iPlanetDirectoryPro"
    assert info["realm"] == "/"
    assert info["secureCookie"] is https(am)
    assert r.headers["Content-API-Version"] == "resource=1.1"
    r = requests.get(f"{am.base_url}/json/serverinfo/version", headers={"Accept-API-Version": "resource=1.0"})
    assert r.json()["_id"] == "version"
    assert r.json()["version"]
    assert requests.get(f"{am.base_url}/json/serverinfo/nope").status_code == 404


@pytest.mark.mock_as(cookie_name="am-sso")
def test_a_renamed_cookie_is_used_everywhere(am):
    assert requests.get(f"{am.base_url}/json/serverinfo/*").json()["cookieName"] == "am-sso"
    r = zero_page(am)
    assert r.headers["Set-Cookie"].startswith("am-sso=")
    token = r.json()["tokenId"]
    r = session_action(am, "getSessionInfo", headers={**SESSIONS_40, "am-sso": token})
    assert r.json()["username"] == "demo"


# -- frodo-lib's classic login (reference §4.2), replayed ----------------------------------------


def test_frodo_classic_login_sequence(am):
    # 1. serverinfo first, for the cookie name
    r = requests.get(f"{am.base_url}/json/serverinfo/*", headers={"Accept-API-Version": "resource=1.1"})
    cookie_name = r.json()["cookieName"]
    # 2. header login with body {}
    r = requests.post(
        f"{am.base_url}/json/realms/root/authenticate",
        headers={
            "Accept-API-Version": "resource=2.0, protocol=1.0",
            "Content-Type": "application/json",
            "X-OpenAM-Username": "demo",
            "X-OpenAM-Password": PASSWORD,
        },
        data="{}",
    )
    body = r.json()
    assert "tokenId" in body  # frodo: tokenId present means success (F1.39)
    token = body["tokenId"]
    # 3. getSessionInfo with the token in the body, no cookie
    r = requests.post(
        f"{am.base_url}/json/realms/root/sessions/?_action=getSessionInfo",
        headers={"Accept-API-Version": "resource=4.0", "Content-Type": "application/json"},
        json={"tokenId": token},
    )
    assert r.status_code == 200
    assert r.json()["maxIdleExpirationTime"]
    # 5. serverinfo/version with the cookie
    r = requests.get(
        f"{am.base_url}/json/serverinfo/version",
        headers={"Accept-API-Version": "resource=1.0", "Cookie": f"{cookie_name}={token}"},
    )
    assert r.status_code == 200
    assert r.json()["version"]


# -- lockout shared with the password grant --------------------------------------------------------


def grant(am, password=PASSWORD):
    return requests.post(am.token_url, data={**DOCS_FORM, "password": password})


def test_rest_failures_lock_the_password_grant_out(am):
    am.set_lockout(failure_count=3)
    for _ in range(2):
        assert zero_page(am, password="wrong", **tree()).status_code == 401
    assert grant(am, "wrong").status_code == 400  # the third failure, through the other door
    assert am.lock_state("demo").locked
    assert zero_page(am, **tree()).json()["message"] == "User Locked Out."
    assert grant(am).json()["error"] == "invalid_grant"


def test_password_grant_failures_lock_rest_out_and_success_clears_the_count(am):
    am.set_lockout(failure_count=3)
    grant(am, "wrong")
    grant(am, "wrong")
    assert zero_page(am, **tree()).status_code == 200  # clears the count
    assert am.lock_state("demo").failures == 0
    for _ in range(3):
        grant(am, "wrong")
    assert zero_page(am, **tree()).json()["message"] == "User Locked Out."


def test_a_tree_warns_before_the_lock(am):
    am.set_lockout(failure_count=3, warn_after=2)
    assert zero_page(am, password="wrong", **tree()).json() == LOGIN_FAILURE
    warned = zero_page(am, password="wrong", **tree())
    assert (warned.status_code, warned.json()) == (
        401,
        {
            "code": 401,
            "reason": "Unauthorized",
            "message": "Warning: You will be locked out after 1 more failure(s).",
            "detail": {"failureUrl": ""},
        },
    )
    zero_page(am, password="wrong", **tree())
    assert zero_page(am, **tree()).json()["message"] == "User Locked Out."


# -- journal, faults, CORS, handle ------------------------------------------------------------------


def test_the_journal_records_rest_calls_with_secrets_masked(am):
    token = zero_page(am).json()["tokenId"]
    session_action(am, "getSessionInfo", json={"tokenId": token})
    requests.post(rest(am, "sessions"), params={"_action": "validate", "tokenId": token})
    requests.post(f"{rest(am, 'sessions')}/{token}", params={"_action": "validate"}, headers=V20)
    auth, info, validate, by_path = am.calls
    assert by_path.path == "/json/realms/root/sessions/***"
    assert (auth.endpoint, auth.username, auth.params["password"]) == ("authenticate", "demo", "***")
    assert info.endpoint == "sessions"
    assert info.params == {"_action": "getSessionInfo", "tokenId": "***"}
    assert validate.params["tokenId"] == "***"
    assert PASSWORD not in repr(am.calls)
    assert token not in repr(am.calls)


def test_faults_target_rest_endpoints_in_ams_format(am):
    am.fail("authenticate", status=503)
    r = zero_page(am)
    assert (r.status_code, r.json()) == (
        503,
        {"code": 503, "reason": "Service Unavailable", "message": "Service Unavailable"},
    )
    assert zero_page(am).status_code == 200


def test_cors_preflight_and_credentialed_request_from_a_loopback_origin(am):
    origin = "http://localhost:8443"
    r = requests.options(
        rest(am),
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "accept-api-version,x-requested-with,content-type,accept",
        },
    )
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == origin
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    allowed = r.headers["Access-Control-Allow-Headers"].split(",")
    assert {"accept-api-version", "x-requested-with", "content-type", "accept", "authorization"} <= set(
        allowed
    )
    r = requests.post(rest(am), params=tree(), headers={**SDK, "Origin": origin})
    assert r.headers["Access-Control-Allow-Origin"] == origin
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    assert r.headers["Vary"] == "Origin"


def test_cors_refuses_another_origin(am):
    r = requests.options(
        rest(am), headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert (r.status_code, r.json()["message"]) == (400, "CORS error occurred")
    assert "Access-Control-Allow-Origin" not in r.headers
    r = requests.post(rest(am), params=tree(), headers={**SDK, "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in r.headers


@pytest.mark.mock_as(cors_origins=("https://app.example.com",))
def test_cors_allows_a_configured_origin(am):
    r = requests.options(
        rest(am, "sessions"),
        headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"},
    )
    assert r.headers["Access-Control-Allow-Origin"] == "https://app.example.com"


def test_handle_login_gives_a_session_a_client_can_use(am):
    login = am.login("demo", realm="customers", password=PASSWORD)
    assert [s.token_id for s in am.sessions] == [login.token_id]
    r = requests.post(
        rest(am, "sessions", "customers"),
        params={"_action": "getSessionInfo"},
        cookies=login.cookies,
        headers=V20,
    )
    assert r.json()["realm"] == "/customers"
    cookie = login.cookie
    assert (cookie["name"], cookie["value"], cookie["path"], cookie["httpOnly"]) == (
        "iPlanetDirectoryPro",
        login.token_id,
        "/",
        True,
    )
    assert am.end_session(login.token_id) is True
    assert session_action(am, "validate", json={"tokenId": login.token_id}).json() == {"valid": False}
    assert am.end_session(login.token_id) is False


def test_handle_login_checks_a_given_password(am):
    with pytest.raises(ConfigError, match="failed"):
        am.login("demo", password="wrong")
    with pytest.raises(ConfigError, match="no user"):
        am.login("nobody")
    assert am.sessions == []


def test_sessions_end_with_the_reset(am):
    am.login("demo")
    am.reset()
    assert am.sessions == []


def test_no_session_logs_in_without_a_session(am):
    r = zero_page(am, noSession="true")
    assert (r.status_code, r.json()) == (200, {"successUrl": context(am) + "/console", "realm": "/"})
    assert "Set-Cookie" not in r.headers
    assert am.sessions == []


def test_a_negative_warning_threshold_is_refused(am):
    with pytest.raises(ConfigError, match="warn_after"):
        am.set_lockout(warn_after=-1)


@pytest.mark.mock_as(clock_start=1_800_000_000)
def test_openam_1x_timing_actions(am):
    login = am.login("demo")
    am.clock.advance(90)
    v1 = {"Accept-API-Version": "resource=1.2", **login.headers}
    url = f"{rest(am, 'sessions')}/{login.token_id}"
    answers = {
        action: requests.post(url, params={"_action": action}, headers=v1).json()
        for action in ("getIdle", "getMaxIdle", "getMaxSessionTime", "getMaxTime", "getTimeLeft", "isActive")
    }
    assert answers == {
        "getIdle": {"idletime": 90},
        "getMaxIdle": {"maxidletime": 30},
        "getMaxSessionTime": {"maxsessiontime": 120},
        "getMaxTime": {"maxtime": 7110},
        "getTimeLeft": {"maxtime": 7110},
        "isActive": {"active": True},
    }
    requests.post(url, params={"_action": "isActive", "refresh": "true"}, headers=v1)
    assert requests.post(url, params={"_action": "getIdle"}, headers=v1).json() == {"idletime": 0}
    # they are 1.x actions: the newer resource versions do not have them
    r = requests.post(url, params={"_action": "getIdle"}, headers={**SESSIONS_40, **login.headers})
    assert r.status_code == 400
