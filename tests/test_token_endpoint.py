"""AM's /oauth2/access_token as a client sees it, over both transports (reference §1 to §8)."""

from __future__ import annotations

import base64
import re

import pytest
import requests

from tests.conftest import DOCS_FORM

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{27}$")
INVALID_GRANT = {
    "error_description": "The provided access grant is invalid, expired, or revoked.",
    "error": "invalid_grant",
}
CLIENT_FAILED = {"error_description": "Client authentication failed", "error": "invalid_client"}


def post(am, data=None, *, realm="/", url=None, **kwargs):
    return requests.post(url or am.url_for("access_token", realm), data=data, **kwargs)


def form(**changes):
    data = {**DOCS_FORM, **changes}
    return {k: v for k, v in data.items() if v is not None}


def basic(client_id, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


# -- the documented example ------------------------------------------------------------------------


def test_documented_example_answers_as_am_does(am):
    r = post(am, DOCS_FORM)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Pragma"] == "no-cache"
    body = r.json()
    assert list(body) == ["access_token", "scope", "token_type", "expires_in"]
    assert TOKEN_RE.match(body["access_token"])
    assert body["scope"] == "write"
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599
    # byte-for-byte AM's compact JSON
    assert r.text == (
        f'{{"access_token":"{body["access_token"]}","scope":"write","token_type":"Bearer","expires_in":3599}}'
    )


def test_every_token_is_fresh(am):
    tokens = {post(am, DOCS_FORM).json()["access_token"] for _ in range(20)}
    assert len(tokens) == 20


@pytest.mark.parametrize(
    "path",
    [
        "/oauth2/access_token",
        "/oauth2/realms/root/access_token",
    ],
)
def test_top_level_realm_url_forms(am, path):
    r = post(am, DOCS_FORM, url=am.base_url + path)
    assert r.status_code == 200, r.text
    assert am.calls[-1].realm == "/"


@pytest.mark.parametrize(
    "path",
    [
        "/oauth2/realms/root/realms/customers/access_token",
        "/oauth2/customers/access_token",
        "/oauth2/access_token?realm=/customers",
        "/oauth2/access_token?realm=customers",
        "/oauth2/realms/root/access_token?realm=/customers",
    ],
)
def test_sub_realm_url_forms(am, path):
    r = post(am, DOCS_FORM, url=am.base_url + path)
    assert r.status_code == 200, r.text
    assert am.calls[-1].realm == "/customers"


def test_nested_sub_realms(am):
    am.add_realm("/customers/europe")
    for path in (
        "/oauth2/realms/root/realms/customers/realms/europe/access_token",
        "/oauth2/customers/europe/access_token",
        "/oauth2/access_token?realm=/customers/europe",
    ):
        r = post(am, DOCS_FORM, url=am.base_url + path)
        assert r.status_code == 200, (path, r.text)
        assert am.calls[-1].realm == "/customers/europe"


@pytest.mark.parametrize(
    "path",
    [
        "/oauth2/realms/root/realms/nowhere/access_token",
        "/oauth2/nowhere/access_token",
        "/oauth2/access_token?realm=/nowhere",
        "/oauth2/realms/customers/access_token",  # must start at root
        "/oauth2/realms/root/realms/customers/realms/europe/access_token",
    ],
)
def test_unknown_realm_is_404_as_am(am, path):
    r = post(am, DOCS_FORM, url=am.base_url + path)
    assert r.status_code == 404
    assert r.json() == {"code": 404, "reason": "Not Found", "message": "Realm not found"}


def test_realms_do_not_share_tokens_or_users(am):
    am.add_user("only-root", "pw-1234")
    assert post(am, form(username="only-root", password="pw-1234")).status_code == 200
    r = post(am, form(username="only-root", password="pw-1234"), realm="/customers")
    assert r.status_code == 400
    assert r.json() == INVALID_GRANT


# -- method and content type (TokenEndpointFilter) --------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_non_post_is_405(am, method):
    r = requests.request(method, am.token_url)
    assert r.status_code == 405
    assert r.json() == {
        "error_description": f"Required Method: POST found: {method}",
        "error": "method_not_allowed",
    }


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain", "multipart/form-data; boundary=x"]
)
def test_wrong_content_type(am, content_type):
    r = post(am, b"grant_type=password", headers={"Content-Type": content_type})
    assert r.status_code == 400
    assert r.json() == {"error_description": "Invalid Content Type", "error": "invalid_request"}


def test_json_body_is_rejected(am):
    r = requests.post(am.token_url, json=DOCS_FORM)
    assert r.status_code == 400
    assert r.json()["error_description"] == "Invalid Content Type"


def test_parameters_in_query_string_work_and_win_over_body(am):
    from urllib.parse import urlencode

    r = requests.post(am.token_url + "?" + urlencode(DOCS_FORM))
    assert r.status_code == 200, r.text
    r = post(am, form(password="wrong"), url=am.token_url + "?password=Ch4ng31t")
    assert r.status_code == 200, r.text
    r = post(am, DOCS_FORM, url=am.token_url + "?password=wrong")
    assert r.json() == INVALID_GRANT


def test_charset_in_content_type_is_accepted(am):
    from urllib.parse import urlencode

    r = post(
        am,
        urlencode(DOCS_FORM),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
    )
    assert r.status_code == 200


# -- grant type -------------------------------------------------------------------------------------


def test_missing_grant_type(am):
    r = post(am, form(grant_type=None))
    assert r.status_code == 400
    assert r.json() == {"error_description": "Grant type is not set", "error": "invalid_request"}


@pytest.mark.parametrize("grant", ["magic", "authorization_code2", "PASSWORD"])
def test_unsupported_grant_type(am, grant):
    r = post(am, form(grant_type=grant))
    assert r.status_code == 400
    assert r.json() == {"error_description": "Grant type is not supported", "error": "unsupported_grant_type"}


def test_client_not_allowed_the_grant_is_unauthorized_client(am):
    am.add_client(
        "ccOnly", "s3cret", scopes=["write"], default_scopes=["write"], grant_types=["client_credentials"]
    )
    r = post(am, form(client_id="ccOnly", client_secret="s3cret"))
    assert r.status_code == 400
    assert r.json() == {
        "error_description": "The authenticated client is not authorized to use this authorization grant type.",
        "error": "unauthorized_client",
    }


# -- client authentication (§3) ---------------------------------------------------------------------


def test_basic_authentication(am):
    r = post(
        am,
        form(client_id=None, client_secret=None),
        headers={"Authorization": "Basic bXlDbGllbnQ6Zm9yZ2Vyb2Nr"},
    )
    assert r.status_code == 200, r.text


def test_basic_credentials_are_url_decoded(am):
    am.add_client("my client", "p@ss:w%rd", scopes=["write"], default_scopes=["write"])
    r = post(am, form(client_id=None, client_secret=None), headers=basic("my+client", "p%40ss%3Aw%25rd"))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "changes",
    [
        {"client_secret": "wrong"},
        {"client_id": "nobody"},
        {"client_id": "MYCLIENT"},  # client ids are case-sensitive
        {"client_secret": None},
        {"client_id": None, "client_secret": None},
        {"client_id": ""},
    ],
)
def test_form_client_failure_is_400(am, changes):
    r = post(am, form(**changes))
    assert r.status_code == 400
    assert r.json() == CLIENT_FAILED
    assert "WWW-Authenticate" not in r.headers


@pytest.mark.parametrize(
    "header",
    [
        "Basic " + base64.b64encode(b"myClient:wrong").decode(),
        "Basic " + base64.b64encode(b"nobody:forgerock").decode(),
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon-here").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xfd").decode(),
        "Basic ",
    ],
)
def test_basic_client_failure_is_401_with_challenge(am, header):
    r = post(am, form(client_id=None, client_secret=None), headers={"Authorization": header})
    assert r.status_code == 401
    assert r.json() == CLIENT_FAILED
    assert r.headers["WWW-Authenticate"] == 'Basic realm="/"'


def test_basic_challenge_names_the_sub_realm(am):
    r = post(
        am, form(client_id=None, client_secret=None), realm="/customers", headers=basic("myClient", "bad")
    )
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Basic realm="/customers"'


def test_basic_and_a_different_form_client_id_is_rejected(am):
    r = post(am, form(client_id="other", client_secret=None), headers=basic("myClient", "forgerock"))
    assert r.status_code == 400
    assert r.json() == {"error_description": "Client authentication failed", "error": "invalid_request"}


def test_basic_and_the_same_form_client_id_is_accepted(am):
    r = post(am, form(client_secret=None), headers=basic("myClient", "forgerock"))
    assert r.status_code == 200


def test_public_client_needs_no_secret(am):
    am.add_client("spa", None, scopes=["write"], default_scopes=["write"])
    r = post(am, form(client_id="spa", client_secret=None))
    assert r.status_code == 200, r.text


def test_inactive_client_fails(am):
    am.add_client("gone", "s", scopes=["write"], default_scopes=["write"], active=False)
    r = post(am, form(client_id="gone", client_secret="s"))
    assert r.json() == CLIENT_FAILED


def test_auth_method_enforced_for_openid_clients(am):
    am.add_client(
        "oidc",
        "s",
        scopes=["openid", "write"],
        default_scopes=["write"],
        token_endpoint_auth_method="client_secret_basic",
    )
    r = post(am, form(client_id="oidc", client_secret="s"))
    assert r.status_code == 400
    assert r.json() == {
        "error_description": "Invalid authentication method for accessing this endpoint.",
        "error": "invalid_client",
    }
    r = post(am, form(client_id=None, client_secret=None), headers=basic("oidc", "s"))
    assert r.status_code == 200, r.text


def test_client_is_authenticated_before_the_user(am):
    r = post(am, form(client_secret="wrong", password="wrong"))
    assert r.json() == CLIENT_FAILED


# -- the resource owner (§5, §6) ---------------------------------------------------------------------


@pytest.mark.parametrize("changes", [{"password": "wrong"}, {"username": "nobody"}, {"username": "DEMO2"}])
def test_wrong_credentials_are_invalid_grant(am, changes):
    r = post(am, form(**changes))
    assert r.status_code == 400
    assert r.json() == INVALID_GRANT


@pytest.mark.parametrize("name", ["username", "password"])
@pytest.mark.parametrize("value", [None, ""])
def test_missing_username_or_password(am, name, value):
    r = post(am, form(**{name: value}))
    assert r.status_code == 400
    assert r.json() == {"error_description": f"Missing parameter, '{name}'", "error": "invalid_request"}


def test_seeded_users_log_in(am):
    for user in am.users:
        r = post(am, form(username=user.username, password=user.password))
        assert r.status_code == 200, (user.username, r.text)
    assert len(am.users) == 4  # demo + 3 seeded


@pytest.mark.parametrize(
    ("status", "message"), [("inactive", "User is not Active"), ("locked", "User Locked Out.")]
)
def test_account_states(am, status, message):
    am.set_user("demo", status=status)
    assert post(am, DOCS_FORM).json() == INVALID_GRANT
    am.configure_realm(module_messages=True)
    assert post(am, DOCS_FORM).json() == {"error_description": message, "error": "invalid_grant"}


def test_password_expired(am):
    am.set_user("demo", password_expired=True)
    assert post(am, DOCS_FORM).json() == INVALID_GRANT
    am.configure_realm(module_messages=True)
    # reference §5: the stock LDAP module's text, not a custom module's longer wording
    assert post(am, DOCS_FORM).json() == {
        "error_description": "Password must be reset.",
        "error": "invalid_grant",
    }


# -- authentication services (§6) ------------------------------------------------------------------


def test_auth_chain_parameter_selects_the_service(am):
    from mock_as import ServiceConfig

    am.state.add_service(ServiceConfig(name="admins", users=("lclarke",)))
    r = post(am, form(auth_chain="admins"))
    assert r.json() == INVALID_GRANT  # demo is not in that service
    r = post(am, form(auth_chain="Example"))
    assert r.status_code == 200


MISSING_REQUIREMENTS = {
    "error_description": "Internal Server Error (500) - Missing requirements",
    "error": "server_error",
}


def test_auth_chain_in_query_string(am):
    from mock_as import ServiceConfig

    am.state.add_service(ServiceConfig(name="broken", fail=True))
    r = post(am, DOCS_FORM, url=am.token_url + "?auth_chain=broken")
    # reference §6: a service that needs more than name and password is AM's server_error
    assert (r.status_code, r.json()) == (400, MISSING_REQUIREMENTS)


def test_service_precedence(am):
    from mock_as import ServiceConfig

    am.state.add_service(ServiceConfig(name="broken", fail=True))
    am.configure_realm(org_auth_service="broken")
    assert post(am, DOCS_FORM).json() == MISSING_REQUIREMENTS  # the realm's default service runs
    am.configure_realm(password_grant_auth_service="ldapService")
    assert post(am, DOCS_FORM).status_code == 200  # the password grant service wins over it
    assert post(am, form(auth_chain="broken")).json() == MISSING_REQUIREMENTS  # auth_chain wins over both


def test_unknown_service(am):
    r = post(am, form(auth_chain="noSuchTree", state="xyz"))
    assert r.status_code == 400
    # reference §5: Restlet's 500 status text as a 400 server_error, without state
    assert r.text == (
        '{"error_description":"Internal Server Error (500) - The server encountered an unexpected'
        ' condition which prevented it from fulfilling the request","error":"server_error"}'
    )


# -- scopes (§7) ------------------------------------------------------------------------------------


def test_no_scope_gets_default_scopes(am):
    r = post(am, form(scope=None))
    assert r.json()["scope"] == "write"


def test_no_scope_and_no_default(am):
    am.add_client("nodefault", "s", scopes=["write", "read"])
    r = post(am, form(client_id="nodefault", client_secret="s", scope=None))
    assert r.status_code == 400
    assert r.json() == {
        "error_description": "No scope requested and no default scope configured",
        "error": "invalid_scope",
    }


def test_any_unknown_scope_rejects_the_request(am):
    r = post(am, form(scope="write admin root"))
    assert r.status_code == 400
    # reference §5, §7.1: the invalid list is a Java HashSet: [root, admin]
    assert r.json() == {
        "error_description": "Unknown/invalid scope(s): [root, admin]",
        "error": "invalid_scope",
    }


def test_several_scopes(am):
    am.add_client("multi", "s", scopes=["cn", "mail", "write"], default_scopes=["cn"])
    r = post(am, form(client_id="multi", client_secret="s", scope="mail  cn mail"))
    assert r.json()["scope"] == "mail cn"


def test_user_is_checked_before_scope(am):
    r = post(am, form(scope="admin", password="wrong"))
    assert r.json() == INVALID_GRANT


# -- lifetimes --------------------------------------------------------------------------------------


def test_realm_and_client_lifetimes(am):
    am.configure_realm(access_token_lifetime=60)
    assert post(am, DOCS_FORM).json()["expires_in"] == 59
    am.add_client("short", "s", scopes=["write"], default_scopes=["write"], access_token_lifetime=600)
    assert post(am, form(client_id="short", client_secret="s")).json()["expires_in"] == 599


def test_marker_sets_lifetime(pytester):
    pytester.makepyfile(
        """
        import pytest, requests
        FORM = dict(grant_type="password", username="demo", password="Ch4ng31t",
                    client_id="myClient", client_secret="forgerock")

        @pytest.mark.mock_as(access_token_lifetime=120)
        def test_short(mock_as_requests):
            assert requests.post(mock_as_requests.token_url, data=FORM).json()["expires_in"] == 119

        def test_default_again(mock_as_requests):
            assert requests.post(mock_as_requests.token_url, data=FORM).json()["expires_in"] == 3599
        """
    )
    pytester.runpytest_subprocess("-p", "no:randomly").assert_outcomes(passed=2)


# -- refresh tokens (§8) ----------------------------------------------------------------------------


@pytest.fixture
def rt_client(am):
    am.add_client(
        "rich",
        "s",
        scopes=["write", "read"],
        default_scopes=["write"],
        grant_types=["password", "refresh_token"],
    )
    return form(client_id="rich", client_secret="s", scope="write read")


def test_refresh_token_issued_to_clients_with_the_grant(am, rt_client):
    body = post(am, rt_client).json()
    assert list(body) == ["access_token", "refresh_token", "scope", "token_type", "expires_in"]
    assert TOKEN_RE.match(body["refresh_token"])
    assert "refresh_token" not in post(am, DOCS_FORM).json()  # myClient lacks the grant


def test_refresh_rotates(am, rt_client):
    rt = post(am, rt_client).json()["refresh_token"]
    data = {"grant_type": "refresh_token", "refresh_token": rt, "client_id": "rich", "client_secret": "s"}
    r = post(am, data)
    assert r.status_code == 200, r.text
    body = r.json()
    assert list(body) == ["access_token", "refresh_token", "scope", "token_type", "expires_in"]
    assert body["scope"] == "read write"  # reference §8: a refresh without scope prints a TreeSet
    assert body["refresh_token"] != rt
    r = post(am, data)  # the old one is gone: reference §8, "grant is invalid"
    assert r.json() == {"error_description": "grant is invalid", "error": "invalid_grant"}
    r = post(am, {**data, "refresh_token": body["refresh_token"], "scope": "read"})
    assert r.status_code == 200
    assert r.json()["scope"] == "read"


def test_refresh_without_rotation(am, rt_client):
    am.configure_realm(issue_refresh_token_on_refresh=False)
    rt = post(am, rt_client).json()["refresh_token"]
    data = {"grant_type": "refresh_token", "refresh_token": rt, "client_id": "rich", "client_secret": "s"}
    assert "refresh_token" not in post(am, data).json()
    assert post(am, data).status_code == 200


def test_refresh_errors(am, rt_client):
    rt = post(am, rt_client).json()["refresh_token"]
    base = {"grant_type": "refresh_token", "client_id": "rich", "client_secret": "s"}
    r = post(am, base)
    assert r.json() == {"error_description": "Missing parameter, 'refresh_token'", "error": "invalid_request"}
    r = post(am, {**base, "refresh_token": "bogus"})
    assert r.json() == {"error_description": "grant is invalid", "error": "invalid_grant"}  # reference §8
    r = post(am, {**base, "refresh_token": rt, "scope": "write admin"})
    assert r.json() == {"error_description": "Unknown/invalid scope(s): [admin]", "error": "invalid_scope"}
    am.add_client("other", "o", scopes=["write"], grant_types=["refresh_token"])
    r = post(am, {**base, "client_id": "other", "client_secret": "o", "refresh_token": rt})
    assert r.json() == {
        "error_description": "Token was issued to a different client",
        "error": "invalid_request",
    }
    r = post(am, {**base, "refresh_token": rt}, realm="/customers")
    assert r.status_code == 400  # tokens live in their realm
    am.clock.advance(604800)
    r = post(am, {**base, "refresh_token": rt})
    assert r.json() == {"error_description": "grant is invalid", "error": "invalid_grant"}


def test_refresh_needs_the_grant_on_the_client(am, rt_client):
    rt = post(am, rt_client).json()["refresh_token"]
    r = post(
        am,
        {
            "grant_type": "refresh_token",
            "refresh_token": rt,
            "client_id": "myClient",
            "client_secret": "forgerock",
        },
    )
    assert r.json()["error"] == "unauthorized_client"


def test_realm_can_stop_issuing_refresh_tokens(am, rt_client):
    am.configure_realm(issue_refresh_token=False)
    assert "refresh_token" not in post(am, rt_client).json()


# -- client credentials -----------------------------------------------------------------------------


def test_client_credentials(am):
    am.add_client(
        "svc",
        "s",
        scopes=["read"],
        default_scopes=["read"],
        grant_types=["client_credentials", "refresh_token"],
    )
    r = post(am, {"grant_type": "client_credentials", "client_id": "svc", "client_secret": "s"})
    assert r.status_code == 200
    assert list(r.json()) == ["access_token", "scope", "token_type", "expires_in"]
    r = post(am, {"grant_type": "client_credentials"}, headers=basic("svc", "s"))
    assert r.status_code == 200


def test_client_credentials_refused_to_public_clients(am):
    am.add_client("pub", None, scopes=["read"], default_scopes=["read"], grant_types=["client_credentials"])
    r = post(am, {"grant_type": "client_credentials", "client_id": "pub"})
    assert r.json() == {
        "error_description": "Public clients can't use client credentials grant.",
        "error": "unauthorized_client",
    }


# -- determinism and the clock -----------------------------------------------------------------------


def test_same_seed_same_tokens_after_reset(am):
    first = [post(am, DOCS_FORM).json()["access_token"] for _ in range(3)]
    am.reset()
    assert [post(am, DOCS_FORM).json()["access_token"] for _ in range(3)] == first


def test_expires_in_follows_the_clock(am):
    am.clock.freeze()
    token = post(am, DOCS_FORM).json()["access_token"]
    assert am.token(token) is not None
    am.clock.advance(3599.5)
    assert am.token(token).expires_in(am.clock.now()) == 0
    am.clock.advance(0.5)
    assert am.token(token) is None


def test_journal_redacts_secrets(am):
    post(am, DOCS_FORM)
    post(am, form(client_id=None, client_secret=None), headers=basic("myClient", "forgerock"))
    calls = am.token_calls("password")
    assert len(calls) == 2
    assert calls[0].params["password"] == "***"
    assert calls[0].params["client_secret"] == "***"
    assert (calls[0].username, calls[0].client_id, calls[0].status) == ("demo", "myClient", 200)
    assert "Ch4ng31t" not in repr(am.calls)
    assert "forgerock" not in repr(am.calls)
