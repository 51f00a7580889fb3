"""Settings from every entry point, checked once by the configuration models.

Python, TOML, the environment, the CLI, the pytest marker, the handle and the control API all reach
the same models, which merge a configuration into the seeded defaults and refuse what cannot work,
naming the key. The CLI runs as a subprocess and the plugin in pytester projects, as users run them.
"""

from __future__ import annotations

import dataclasses
import os
import re
import ssl
import subprocess
import sys
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import requests

from mock_as import ConfigError, MockASConfig, RealmConfig, State, UserConfig, load_config, run_server
from mock_as.config import ClientConfig, GrantType, LockoutConfig
from mock_as.configfile import ENVIRONMENT, make_config
from mock_as.control import openapi_document
from mock_as.grants import GRANT_HANDLERS
from mock_as.plugin import apply_marker
from tests.helpers import DOCS_FORM, INVALID_GRANT, login

# -- the models check their values, whichever way they come in --------------------------------------


def test_bug_1_a_bad_status_is_refused_where_it_is_given(mock_as_requests):
    """A status AM has no name for used to be stored, and answered 500 at the next failed login."""
    with pytest.raises(ConfigError, match=r"^status: 'bogus' is not one of 'active', 'inactive', 'locked'$"):
        mock_as_requests.add_user("bob", "pw", status="bogus")
    with pytest.raises(ConfigError, match="status: 'bogus'"):
        mock_as_requests.set_user("demo", status="bogus")
    mock_as_requests.configure_realm(module_messages=True)
    assert (
        login(mock_as_requests, password="wrong").status_code,
        "bob" in mock_as_requests.state.realm("/").users,
    ) == (
        400,
        False,
    )


@pytest.mark.parametrize(
    ("lockout", "message"),
    [
        ("failure_count = 0", "realms[0].lockout.failure_count: must be at least 1, got 0"),
        ("interval_minutes = -5", "realms[0].lockout.interval_minutes: must be at least 0, got -5.0"),
        ("duration_minutes = 1e11", "realms[0].lockout.duration_minutes: must be between 0 and"),
    ],
)
def test_bug_2_a_lockout_the_control_api_refuses_does_not_start_from_a_file(tmp_path, lockout, message):
    path = tmp_path / "mock.toml"
    path.write_text(f"[[realms]]\nname = '/'\n[realms.lockout]\nenabled = true\n{lockout}\n")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert str(e.value).startswith(f"{path}: {message}")


def test_bug_3_a_marker_realm_is_found_however_it_is_spelled_and_a_missing_one_is_named():
    base = MockASConfig(seed=0)
    bob = {"username": "bob", "password": "pw"}
    for spelling in ("root/customers", "/customers/", "customers"):
        config = apply_marker(base, {"realm": spelling, "extra_users": [bob]})
        customers = next(r for r in config.realms if r.name == "/customers")
        assert [u.username for u in customers.users] == ["demo", "bob"], spelling
    with pytest.raises(
        ConfigError, match=r"^mock_as marker: realm: '/nowhere' does not exist; known: /, /customers$"
    ):
        apply_marker(base, {"realm": "/nowhere", "extra_users": [bob]})
    with pytest.raises(ConfigError, match="realm: '/nowhere' does not exist"):
        apply_marker(base, {"realm": "/nowhere"})


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: UserConfig(username="", password="pw"), "username: must not be empty"),
        (
            lambda: ClientConfig(client_id="c", grant_types=("implicit",)),
            "grant_types[0]: 'implicit' is not one of",
        ),
        (
            lambda: ClientConfig(client_id="c", access_token_lifetime=2**63),
            "access_token_lifetime: must be a 64-bit",
        ),
        (lambda: LockoutConfig(failure_count=0), "failure_count: must be at least 1"),
        (lambda: MockASConfig(users="three"), "users: expected an integer, got a string"),
        (lambda: MockASConfig(port=99999), "port: must be between 0 and 65,535"),
        (
            lambda: MockASConfig(realms=(RealmConfig(name="/a"), RealmConfig(name="a"))),
            "realms[1].name: '/a' is listed twice",
        ),
        (
            lambda: MockASConfig(realms=(RealmConfig(password_grant_auth_service="Nope"),)),
            "realms[0].password_grant_auth_service: 'Nope' names no authentication service of realm '/'",
        ),
        (
            lambda: RealmConfig(clients=({"client_id": "a", "scopes": "write"},)),
            "clients[0].scopes: expected an array",
        ),
    ],
)
def test_python_values_get_the_file_s_messages(build, message):
    with pytest.raises(ConfigError) as e:
        build()
    assert str(e.value).startswith(message)


def test_the_served_grant_types_are_the_ones_a_client_may_name():
    assert set(typing.get_args(GrantType)) == set(GRANT_HANDLERS)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"status": "bogus"}, "status: 'bogus' is not one of"),
        ({"password": ""}, "password: must not be empty"),
    ],
)
def test_the_control_api_says_what_the_models_say(mock_as, data, message):
    r = requests.patch(f"{mock_as.control_url}/users/demo", json=data)
    assert r.status_code == 400
    assert r.json()["error_description"].startswith(message)


def test_settings_naming_a_missing_service_are_refused_at_runtime_too(mock_as):
    with pytest.raises(ConfigError, match="org_auth_service: 'Nope' names no authentication service"):
        mock_as.configure_realm(org_auth_service="Nope")
    r = requests.patch(f"{mock_as.control_url}/settings", json={"password_grant_auth_service": "Nope"})
    assert r.status_code == 400
    assert "names no authentication service" in r.json()["error_description"]


# -- the OpenAPI document holds the models' bounds ----------------------------------------------------

SCHEMAS = [
    ("UserInput", UserConfig),
    ("ClientInput", ClientConfig),
    ("ClientReplace", ClientConfig),
    ("ClientPatch", ClientConfig),
    ("LockoutPatch", LockoutConfig),
    ("SettingsPatch", RealmConfig),
    ("Reseed", MockASConfig),
]


@pytest.mark.parametrize(("schema", "model"), SCHEMAS, ids=[s for s, _ in SCHEMAS])
def test_openapi_bounds_and_enums_are_the_models(schema, model):
    properties = openapi_document()["components"]["schemas"][schema]["properties"]
    hints = typing.get_type_hints(model)
    checked = 0
    for field in dataclasses.fields(model):
        prop = properties.get(field.name)
        if prop is None:
            continue
        for key in ("minimum", "maximum", "minLength"):
            assert prop.get(key) == field.metadata.get(key), (schema, field.name, key)
        hint = hints[field.name]
        if typing.get_origin(hint) is typing.Literal:
            assert prop["enum"] == list(typing.get_args(hint)), (schema, field.name)
        if typing.get_origin(hint) is tuple and typing.get_origin(typing.get_args(hint)[0]) is typing.Literal:
            assert prop["items"]["enum"] == list(typing.get_args(typing.get_args(hint)[0])), (
                schema,
                field.name,
            )
        checked += 1
    assert checked >= 1


# -- configuration adds to the defaults ----------------------------------------------------------------


def _served(config: MockASConfig) -> dict[str, tuple[list[str], list[str]]]:
    state = State(dataclasses.replace(config, users=0))
    return {name: (list(r.clients), list(r.users)) for name, r in state.realms.items()}


def test_a_file_adds_a_client_to_the_defaults_and_defaults_false_starts_empty(tmp_path):
    path = tmp_path / "mock.toml"
    app = "[[realms]]\nname = '/'\n[[realms.clients]]\nclient_id = 'app'\ngrant_types = ['password', 'refresh_token']\n"
    path.write_text(app)
    assert _served(load_config(path)) == {
        "/": (["myClient", "sdkPublicClient", "app"], ["demo"]),
        "/customers": (["myClient", "sdkPublicClient"], ["demo"]),
    }
    path.write_text("defaults = false\n" + app)
    assert _served(load_config(path)) == {"/": (["app"], [])}


def test_python_config_merges_by_name_and_replaces_what_it_names():
    mine = ClientConfig(client_id="myClient", secret="other", grant_types=("password", "refresh_token"))
    config = MockASConfig(
        realms=(RealmConfig(name="/", clients=(mine,), access_token_lifetime=60), RealmConfig(name="/new"))
    )
    root = next(r for r in config.realms if r.name == "/")
    assert (root.clients[:1], root.access_token_lifetime, [u.username for u in root.users]) == (
        (mine,),
        60,
        ["demo"],
    )
    assert [r.name for r in config.realms] == ["/", "/customers", "/new"]
    assert [r.name for r in MockASConfig(defaults=False, realms=(RealmConfig(name="/new"),)).realms] == [
        "/new"
    ]
    assert dataclasses.replace(config, seed=3).realms == config.realms  # merging twice changes nothing


def test_marker_realms_merge_into_the_session_s():
    config = apply_marker(
        MockASConfig(seed=0), {"realms": [{"name": "/", "clients": [{"client_id": "svc"}]}]}
    )
    assert [c.client_id for c in config.realms[0].clients] == ["myClient", "sdkPublicClient", "svc"]
    assert [r.name for r in config.realms] == ["/", "/customers"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[[realms]]\nname = 'a'\n[[realms]]\nname = '/root/a'\n", "realms[1].name: '/a' is listed twice"),
        (
            "[[realms]]\n[[realms.clients]]\nclient_id = 'c'\ngrant_types = ['implicit']\n",
            "realms[0].clients[0].grant_types[0]: 'implicit' is not one of",
        ),
        (
            "[[realms]]\norg_auth_service = 'ldap'\n",
            "realms[0].org_auth_service: 'ldap' names no authentication service",
        ),
        (
            "[[realms]]\n[[realms.users]]\nusername = 'u'\npassword = ''\n",
            "realms[0].users[0].password: must not be empty",
        ),
    ],
)
def test_a_file_that_cannot_work_is_refused_naming_file_and_key(tmp_path, content, message):
    path = tmp_path / "mock.toml"
    path.write_text(content)
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert str(e.value).startswith(f"{path}: {message}")


def test_a_missing_service_names_file_key_and_value(tmp_path):
    path = tmp_path / "mock.toml"
    path.write_text("[[realms]]\nname = '/'\npassword_grant_auth_service = 'Nope'\n")
    result = _cli("serve", "--port", "0", "--config", str(path))
    assert result.returncode == 2
    assert result.stderr == (
        f"Error: {path}: realms[0].password_grant_auth_service: 'Nope' names no authentication service of "
        "realm '/' (known: DataStore, Example, Login, PasswordGrant, ldapService)\n"
    )
    assert result.stdout == ""


# -- one precedence for every entry point ----------------------------------------------------------------


def test_precedence_options_then_environment_then_file_then_defaults(tmp_path):
    path = tmp_path / "mock.toml"
    path.write_text("seed = 1\nusers = 2\ncontext_path = '/file'\n")
    env = {"MOCK_AS_CONFIG": str(path), "MOCK_AS_USERS": "5"}
    config = make_config(environ=env, context_path="/option")
    assert (config.seed, config.users, config.context_path) == (1, 5, "/option")
    assert make_config(environ={}).seed is None
    with pytest.raises(ConfigError, match=r"^MOCK_AS_PORT='x': expected an integer$"):
        make_config(environ={"MOCK_AS_PORT": "x"})


def test_every_variable_of_the_readme_is_read_and_named_by_help():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    documented = set(re.findall(r"MOCK_AS_[A-Z][A-Z_]*[A-Z]", readme))
    # the test suite's own switches (README's Development section) are not settings of the mock
    harness = {
        "MOCK_AS_REQUIRE_BROWSER",
        "MOCK_AS_REQUIRE_REDIS",
        "MOCK_AS_CHROMIUM",
        "MOCK_AS_UPDATE_DOCS",
        "MOCK_AS_UPDATE_SCREENSHOTS",
        "MOCK_AS_WORKERS",  # mock-as serve's own: how many processes, not a setting of the mock
    }
    assert documented - harness == set(ENVIRONMENT), (documented - harness) ^ set(ENVIRONMENT)
    help_text = _cli("serve", "--help").stdout
    for variable in ENVIRONMENT:
        assert variable in help_text, variable


def test_context_managers_read_the_environment(monkeypatch):
    monkeypatch.setenv("MOCK_AS_SEED", "42")
    monkeypatch.setenv("MOCK_AS_CONTEXT_PATH", "/am")
    with run_server() as am:
        assert (am.seed, am.base_url.endswith("/am")) == (42, True)
    with run_server(seed=7) as am:  # an argument wins over the variable
        assert am.seed == 7


# -- the CLI, as a subprocess ---------------------------------------------------------------------------


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mock_as", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**_clean_env(), **(env or {})},
    )


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MOCK_AS_")}


@contextmanager
def _serving(*args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """``mock-as serve -q`` on a free port; yields its base URL."""
    with subprocess.Popen(
        [sys.executable, "-m", "mock_as", "serve", "-q", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**_clean_env(), "MOCK_AS_PORT": "0", **(env or {})},
    ) as proc:
        try:
            assert proc.stdout is not None
            yield proc.stdout.readline().strip()
        finally:
            proc.terminate()
            proc.wait(10)


def _first_token(base: str, **kwargs: object) -> str:
    r = requests.post(f"{base}/oauth2/realms/root/access_token", data=DOCS_FORM, timeout=10, **kwargs)  # type: ignore[arg-type]
    return str(r.json()["access_token"])


def test_the_seed_variable_is_the_seed_option():
    with _serving("--seed", "1") as base:
        by_option = _first_token(base)
    with _serving(env={"MOCK_AS_SEED": "1"}) as base:
        by_variable = _first_token(base)
    assert by_option == by_variable == "RkhpjNgyUpGl6YvsmHmzsh5qkOY"


def test_context_path_and_config_file_from_the_environment(tmp_path):
    path = tmp_path / "mock.toml"
    path.write_text(
        "[[realms]]\nname = '/'\n[[realms.clients]]\nclient_id = 'ci'\nsecret = 's'\nscopes = ['write']\n"
    )
    with _serving(env={"MOCK_AS_CONTEXT_PATH": "/am", "MOCK_AS_CONFIG": str(path)}) as base:
        assert base.endswith("/am")
        r = requests.post(
            f"{base}/oauth2/realms/root/access_token",
            data={**DOCS_FORM, "client_id": "ci", "client_secret": "s"},
            timeout=10,
        )
        assert r.json()["scope"] == "write"
        assert _first_token(base)  # myClient and demo are still there


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-p", "99999"), "Error: port: must be between 0 and 65,535, got 99999\n"),
        (("-p", "-1"), "Error: port: must be between 0 and 65,535, got -1\n"),
        (("-p", "eighty"), "Error: --port: expected an integer, got 'eighty'\n"),
        (("-H", "no-such-host.invalid", "-p", "0"), "Error: cannot listen on no-such-host.invalid port 0: "),
        (("--users", "-2"), "Error: users: must be between 0 and 10,000, got -2\n"),
    ],
)
def test_bad_listen_options_exit_2_with_one_line(args, message):
    result = _cli("serve", *args)
    assert result.returncode == 2
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stdout == ""


# -- TLS ---------------------------------------------------------------------------------------------


def test_tls_from_the_cli_verifies_with_the_ca_it_writes(tmp_path):
    ca = tmp_path / "ca.pem"
    with _serving("--tls", "--tls-ca", str(ca)) as base:
        assert base.startswith("https://127.0.0.1:")
        assert ca.read_text().startswith("-----BEGIN CERTIFICATE-----")
        assert len(_first_token(base, verify=str(ca))) == 27
        with pytest.raises(requests.exceptions.SSLError):
            _first_token(base)  # the system's CAs do not know it


def test_tls_server_for_requests_httpx_and_requests_oauthlib():
    from oauthlib.oauth2 import LegacyApplicationClient
    from requests_oauthlib import OAuth2Session

    with run_server(seed=1, tls=True) as am:
        assert am.base_url.startswith("https://")
        assert am.ca_bundle is not None
        assert _first_token(am.base_url, verify=am.ca_bundle) == "RkhpjNgyUpGl6YvsmHmzsh5qkOY"
        context = ssl.create_default_context(cafile=am.ca_bundle)
        r = httpx.post(am.token_url, data=DOCS_FORM, verify=context)
        assert r.json()["scope"] == "write"
        session = OAuth2Session(client=LegacyApplicationClient(client_id="myClient"))
        token = session.fetch_token(
            am.token_url, username="demo", password="Ch4ng31t", client_secret="forgerock", verify=am.ca_bundle
        )
        assert token["token_type"] == "Bearer"
        issuer = requests.get(am.url_for("openid-configuration"), verify=am.ca_bundle).json()["issuer"]
        assert issuer == am.base_url + "/oauth2"
        ca = am.ca_bundle
    assert not Path(ca).exists()  # a temporary CA file goes with the server


# -- the control API: conflicts, replacing, live tokens -------------------------------------------------------


def test_adding_an_existing_user_is_a_conflict_and_put_replaces(mock_as):
    r = requests.post(f"{mock_as.control_url}/users", json={"username": "demo", "password": "other"})
    assert r.status_code == 409
    assert r.json()["error"] == "conflict"
    assert "PUT /__mock_as__/users/demo replaces it" in r.json()["error_description"]
    assert login(mock_as).status_code == 200  # demo is untouched
    r = requests.put(f"{mock_as.control_url}/users/demo", json={"password": "other"})
    assert (r.status_code, r.json()["attributes"]) == (200, {"uid": "demo"})
    assert login(mock_as).json() == INVALID_GRANT
    assert login(mock_as, password="other").status_code == 200
    assert requests.put(f"{mock_as.control_url}/users/new", json={"password": "pw"}).status_code == 201


def test_adding_an_existing_client_is_a_conflict_and_put_or_patch_change_it(mock_as):
    url = f"{mock_as.control_url}/clients"
    assert requests.post(url, json={"client_id": "myClient"}).status_code == 409
    r = requests.patch(f"{url}/myClient", json={"grant_types": ["password", "refresh_token"]})
    assert (r.status_code, r.json()["secret"], r.json()["grant_types"]) == (
        200,
        "forgerock",
        ["password", "refresh_token"],
    )
    assert "refresh_token" in login(mock_as).json()
    r = requests.put(f"{url}/myClient", json={"client_id": "other"})
    assert (r.status_code, r.json()["error_description"]) == (
        400,
        "client_id: unknown key (the path names it)",
    )
    assert requests.put(f"{url}/fresh", json={"secret": "s"}).status_code == 201


def test_live_tokens_are_listed_without_passwords(mock_as):
    token = login(mock_as).json()["access_token"]
    mock_as.mint_token("demo", realm="/customers", scopes="write", expires_in=10)
    mock_as.mint_token("demo", expired=True)
    r = requests.get(f"{mock_as.control_url}/tokens")
    listed = r.json()
    assert [t["realm"] for t in listed] == ["/customers", "/"]  # oldest first: the minted one began earlier
    assert listed[1] == {
        **listed[1],
        "id": token,
        "client_id": "myClient",
        "username": "demo",
        "scopes": ["write"],
        "grant_type": "password",
        "expires_in": 3599,
    }
    assert "Ch4ng31t" not in r.text
    assert "forgerock" not in r.text
    assert [t["realm"] for t in requests.get(f"{mock_as.control_url}/tokens?realm=customers").json()] == [
        "/customers"
    ]
    mock_as.clock.advance(3600)
    assert requests.get(f"{mock_as.control_url}/tokens").json() == []


# -- the pytest plugin, in projects of its own ---------------------------------------------------------


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly", *args)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_plugin_markers_handles_faults_and_the_decorator(pytester, monkeypatch):
    for variable in ENVIRONMENT:
        monkeypatch.delenv(variable, raising=False)
    pytester.makepyfile(
        """
import pytest, requests
from mock_as import patch_requests

FORM = dict(grant_type="password", username="demo", password="Ch4ng31t", client_id="myClient",
            client_secret="forgerock")

@pytest.mark.mock_as(extra_users=[{"username": "ann", "password": "pw", "mail": "ann@example.com"}])
def test_marker_users_take_attributes_like_add_user(mock_as_requests):
    ann = mock_as_requests.user("ann")
    assert dict(ann.attributes) == {"uid": "ann", "mail": "ann@example.com"}

@pytest.mark.mock_as(users="three")
def test_bad_marker_value(mock_as_requests):
    pass

def test_handle_values_are_checked(mock_as_requests):
    with pytest.raises(Exception, match="status: 'gone' is not one of"):
        mock_as_requests.add_user("x", "pw", status="gone")

def test_expected_fault_that_never_fires(mock_as):
    mock_as.fail("access_token", expected=True)

def test_expected_fault_that_fires(mock_as_requests):
    mock_as_requests.fail("access_token", expected=True)
    assert requests.post(mock_as_requests.token_url, data=FORM).status_code == 400

@patch_requests(seed=1)
def test_the_decorator_passes_the_handle(am):
    assert am.seed == 1
    assert requests.post(am.token_url, data=FORM).json()["access_token"] == "RkhpjNgyUpGl6YvsmHmzsh5qkOY"
"""
    )
    result = _run(pytester)
    result.assert_outcomes(passed=5, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*mock_as marker: users: expected an integer, got a string*",
            "*mock-as: expected fault(s) never fired: #1 (endpoint='access_token')*",
        ]
    )


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_plugin_reads_every_variable_and_tls(pytester, monkeypatch, tmp_path):
    path = tmp_path / "mock.toml"
    path.write_text(
        "[[realms]]\nname = '/'\n[[realms.clients]]\nclient_id = 'ci'\nsecret = 's'\nscopes = ['a']\n"
    )
    monkeypatch.setenv("MOCK_AS_CONFIG", str(path))
    monkeypatch.setenv("MOCK_AS_CONTEXT_PATH", "/am")
    monkeypatch.setenv("MOCK_AS_USERS", "0")
    monkeypatch.setenv("MOCK_AS_TLS", "1")
    pytester.makepyfile(
        """
import requests

def test_all(mock_as):
    assert mock_as.base_url.startswith("https://127.0.0.1:") and mock_as.base_url.endswith("/am")
    assert [c.client_id for c in mock_as.clients] == ["myClient", "sdkPublicClient", "ci"]
    assert [u.username for u in mock_as.users] == ["demo"]
    r = requests.post(mock_as.token_url, verify=mock_as.ca_bundle, data=dict(grant_type="password",
        username="demo", password="Ch4ng31t", client_id="ci", client_secret="s", scope="a"))
    assert r.json()["scope"] == "a"
"""
    )
    _run(pytester).assert_outcomes(passed=1)


def test_one_test_reaches_the_live_server_and_the_httpx_patch(pytester):
    """Issue #13, item 4: ``mock_as`` and ``mock_as_httpx`` together, for httpx as for requests."""
    pytester.makepyfile(
        """
import httpx
import pytest

FORM = dict(grant_type="password", username="demo", password="Ch4ng31t", client_id="myClient",
            client_secret="forgerock", scope="write")

def test_both(mock_as, mock_as_httpx):
    live = httpx.post(mock_as.token_url, data=FORM)
    patched = httpx.post(mock_as_httpx.token_url, data=FORM)
    assert (live.status_code, patched.status_code) == (200, 200)
    # one state: the token issued live is active in-process, and the reverse
    info = httpx.get(mock_as_httpx.url_for("tokeninfo"), params={"access_token": live.json()["access_token"]})
    assert info.status_code == 200
    with pytest.raises(Exception, match="not mocked"):
        httpx.get("https://elsewhere.example/")
"""
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
