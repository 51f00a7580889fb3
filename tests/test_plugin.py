"""The plugin as a downstream project uses it: pytester projects with no conftest of their own."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

FLOW = '''
import requests

FORM = dict(grant_type="password", username="demo", password="Ch4ng31t", scope="write",
            client_id="myClient", client_secret="forgerock")


def get_token(token_url):
    """What an application's own code would do."""
    r = requests.post(token_url, data=FORM)
    r.raise_for_status()
    return r.json()
'''


def run(pytester, *args):
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def test_each_fixture_runs_the_flow(pytester):
    pytester.makepyfile(
        FLOW
        + """
def test_live(mock_as):
    assert mock_as.base_url.startswith("http://127.0.0.1:")
    assert get_token(mock_as.token_url)["expires_in"] == 3599

def test_session_server(mock_as_server):
    assert get_token(mock_as_server.token_url)["scope"] == "write"

def test_in_process(mock_as_requests):
    assert mock_as_requests.token_url == "https://openam.example.com:8443/openam/oauth2/realms/root/access_token"
    body = get_token(mock_as_requests.token_url)
    assert mock_as_requests.token(body["access_token"]).username == "demo"

def test_httpx_sync(mock_as_httpx):
    import httpx
    r = httpx.post(mock_as_httpx.token_url, data=FORM)
    assert r.status_code == 200 and r.json()["token_type"] == "Bearer"

def test_httpx_async(mock_as_httpx):
    import asyncio, httpx
    async def main():
        async with httpx.AsyncClient() as client:
            return await client.post(mock_as_httpx.token_url, data=FORM)
    r = asyncio.run(main())
    assert r.status_code == 200 and len(r.json()["access_token"]) == 27

def test_other_urls_are_not_swallowed(mock_as_requests):
    import pytest, requests
    with pytest.raises(requests.ConnectionError, match="Connection refused by Responses"):
        requests.get("https://api.example.com/elsewhere")

def test_other_urls_are_not_swallowed_httpx(mock_as_httpx):
    import httpx, pytest, respx
    with pytest.raises(respx.models.AllMockedAssertionError):
        httpx.get("https://api.example.com/elsewhere")
"""
    )
    run(pytester).assert_outcomes(passed=7)


def test_one_state_two_transports(pytester):
    pytester.makepyfile(
        FLOW
        + """
def test_token_from_one_transport_is_known_to_the_other(mock_as, mock_as_requests):
    token = get_token(mock_as_requests.token_url)["access_token"]
    assert mock_as.token(token) is not None
    mock_as.add_user("alice", "s3cret-pw")
    form = dict(FORM, username="alice", password="s3cret-pw")
    assert requests.post(mock_as_requests.token_url, data=form).status_code == 200
"""
    )
    run(pytester).assert_outcomes(passed=1)


def test_real_oauth_clients(pytester):
    pytester.makepyfile(
        """
import os
os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"  # the live server speaks plain HTTP on loopback

def test_requests_oauthlib_legacy_application_client(mock_as_requests, mock_as):
    from oauthlib.oauth2 import LegacyApplicationClient
    from requests_oauthlib import OAuth2Session
    for handle in (mock_as_requests, mock_as):
        session = OAuth2Session(client=LegacyApplicationClient(client_id="myClient"))
        token = session.fetch_token(token_url=handle.token_url, username="demo", password="Ch4ng31t",
                                    client_id="myClient", client_secret="forgerock", scope=["write"])
        assert token["token_type"] == "Bearer" and token["scope"] == ["write"]

def test_authlib_session(mock_as_requests):
    from authlib.integrations.requests_client import OAuth2Session
    session = OAuth2Session("myClient", "forgerock", scope="write")
    token = session.fetch_token(mock_as_requests.token_url, username="demo", password="Ch4ng31t")
    assert token["expires_in"] == 3599

def test_authlib_httpx(mock_as_httpx):
    from authlib.integrations.httpx_client import OAuth2Client
    with OAuth2Client("myClient", "forgerock", scope="write") as client:
        token = client.fetch_token(mock_as_httpx.token_url, username="demo", password="Ch4ng31t")
    assert token["scope"] == "write"

def test_wrong_password_surfaces_as_oauth_error(mock_as_requests):
    import pytest
    from authlib.integrations.base_client.errors import OAuthError
    from authlib.integrations.requests_client import OAuth2Session
    session = OAuth2Session("myClient", "forgerock", scope="write")
    with pytest.raises(OAuthError, match="invalid_grant"):
        session.fetch_token(mock_as_requests.token_url, username="demo", password="nope")
"""
    )
    run(pytester, "-W", "ignore::DeprecationWarning").assert_outcomes(passed=4)


def test_state_never_leaks_between_tests(pytester):
    pytester.makepyfile(
        FLOW
        + """
import time
import pytest

@pytest.fixture(params=["mock_as", "mock_as_requests"])
def am(request):
    return request.getfixturevalue(request.param)

@pytest.mark.parametrize("n", range(3))
def test_changes_are_gone_next_time(am, n):
    assert [u.username for u in am.users][0] == "demo"
    assert "intruder" not in [u.username for u in am.users]
    assert len(am.calls) == 0
    assert abs(am.clock.now() - time.time()) < 60  # back on the wall clock, whenever this runs
    first = get_token(am.token_url)["access_token"]
    assert first == "eDIKrK_uei_9FfwSabrF8FxwsA8"  # seed 0, the token sequence restarted
    am.add_user("intruder", "pw")
    am.set_user("demo", status="locked")
    am.clock.advance(10**9)
"""
    )
    run(pytester).assert_outcomes(passed=6)


def test_same_tokens_every_run(pytester):
    pytester.makepyfile(
        FLOW
        + """
def test_print(mock_as_requests):
    print("TOKEN", get_token(mock_as_requests.token_url)["access_token"])
"""
    )
    tokens = set()
    for _ in range(2):
        result = run(pytester, "-s")
        result.assert_outcomes(passed=1)
        tokens |= {line.split("TOKEN ")[1].split()[0] for line in result.outlines if "TOKEN " in line}
    assert len(tokens) == 1


def test_config_override_ini_env_and_marker(pytester):
    pytester.makeconftest(
        """
import pytest
from mock_as import MockASConfig, RealmConfig, ClientConfig, UserConfig

@pytest.fixture(scope="session")
def mock_as_config():
    return MockASConfig(seed=5, users=1, defaults=False, realms=(RealmConfig(
        name="/",
        clients=(ClientConfig(client_id="app", secret="s", scopes=("read",), default_scopes=("read",)),),
        users=(UserConfig(username="bjensen", password="Ch4ng31t"),)),))
"""
    )
    pytester.makepyfile(
        """
import pytest, requests

def test_override(mock_as_requests):
    assert [u.username for u in mock_as_requests.users][0] == "bjensen"
    assert len(mock_as_requests.users) == 2
    r = requests.post(mock_as_requests.token_url, data=dict(grant_type="password", username="bjensen",
        password="Ch4ng31t", client_id="app", client_secret="s"))
    assert r.json()["scope"] == "read"

@pytest.mark.mock_as(users=4, extra_clients=[dict(client_id="extra", secret="x", scopes=["a"])])
def test_marker(mock_as):
    assert len(mock_as.users) == 5
    assert {c.client_id for c in mock_as.clients} == {"app", "extra"}

@pytest.mark.mock_as(port=1)
def test_marker_cannot_move_the_server(mock_as):
    pass
"""
    )
    result = run(pytester)
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*cannot change*port*"])


def test_ini_options(pytester):
    pytester.makeini("[pytest]\nmock_as_seed = 11\nmock_as_users = 0\nmock_as_context_path = /am\n")
    pytester.makepyfile(
        """
def test_ini(mock_as, mock_as_requests):
    assert mock_as.seed == 11
    assert [u.username for u in mock_as.users] == ["demo"]
    assert mock_as.base_url.endswith("/am")
    assert mock_as_requests.token_url.startswith("https://openam.example.com:8443/openam/")
"""
    )
    run(pytester).assert_outcomes(passed=1)


def test_env_settings(pytester, monkeypatch):
    monkeypatch.setenv("MOCK_AS_SEED", "99")
    monkeypatch.setenv("MOCK_AS_BASE_URL", "https://am.example.com/am")
    pytester.makepyfile(
        """
import requests
def test_env(mock_as_requests):
    assert mock_as_requests.seed == 99
    r = requests.post("https://am.example.com/am/oauth2/realms/root/access_token", data=dict(
        grant_type="password", username="demo", password="Ch4ng31t", client_id="myClient", client_secret="forgerock"))
    assert r.status_code == 200
"""
    )
    run(pytester).assert_outcomes(passed=1)


def test_cooperates_with_the_tests_own_responses(pytester):
    pytester.makepyfile(
        FLOW
        + """
import responses

@responses.activate
def test_decorated(mock_as_requests):
    responses.add(responses.GET, "https://api.example.com/me", json={"name": "demo"})
    assert get_token(mock_as_requests.token_url)["scope"] == "write"
    assert requests.get("https://api.example.com/me").json() == {"name": "demo"}

def test_own_mock(mock_as_requests):
    with responses.RequestsMock() as rsps:
        mock_as_requests.attach(rsps)
        rsps.add(responses.GET, "https://api.example.com/me", json={})
        assert get_token(mock_as_requests.token_url)["scope"] == "write"
        requests.get("https://api.example.com/me")
"""
    )
    run(pytester).assert_outcomes(passed=2)


def test_fixtures_are_documented(pytester):
    pytester.makepyfile("def test_x(): pass")
    result = run(pytester, "--fixtures")
    for name in ("mock_as_config", "mock_as_state", "mock_as_server"):
        result.stdout.re_match_lines([rf"{name} \[session scope\] -- ", r"\s+Session-scoped"])
    for name, doc in (
        ("mock_as", "live"),
        ("mock_as_requests", "in-process"),
        ("mock_as_httpx", "in-process"),
    ):
        result.stdout.re_match_lines([rf"{name} -- ", rf"\s+Function-scoped {doc}"])


def test_plugin_load_imports_nothing_heavy(pytester):
    pytester.makepyfile(
        """
import sys
def test_untouched():
    assert "mock_as.plugin" in sys.modules
    heavy = {"flask", "werkzeug", "responses", "waitress", "mock_as.state"} & set(sys.modules)
    assert not heavy, heavy
"""
    )
    run(pytester, "-p", "no:randomly").assert_outcomes(passed=1)


def test_under_xdist(pytester):
    pytester.makepyfile(
        FLOW
        + """
import os, pytest

@pytest.mark.parametrize("n", range(6))
def test_parallel(mock_as, mock_as_requests, n):
    assert get_token(mock_as.token_url)["expires_in"] == 3599
    assert get_token(mock_as_requests.token_url)["expires_in"] == 3599
    assert len(mock_as.calls) == 2
"""
    )
    run(pytester, "-n", "2").assert_outcomes(passed=6)
