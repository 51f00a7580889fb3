"""The control API under /__mock_as__/ on the live server, as curl or a suite in another language
uses it. Every answer is checked against the OpenAPI document the server serves."""

from __future__ import annotations

import dataclasses
import json
import re
import socket
from importlib import resources
from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from mock_as import ClientConfig, LockoutConfig, MockASConfig, State, UserConfig, create_app
from mock_as.control import PREFIX, USER_PATCH_KEYS, settings_keys
from mock_as.faults import INPUT_FIELDS
from tests.helpers import DOCS_FORM, INVALID_GRANT, login

SPEC = json.loads(resources.files("mock_as").joinpath("openapi.json").read_text(encoding="utf-8"))
REGISTRY = Registry().with_resource(
    "urn:spec", Resource.from_contents(SPEC, default_specification=DRAFT202012)
)
METHODS = ("get", "post", "put", "patch", "delete")


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _template(path: str) -> str:
    """The documented path a concrete path belongs to (``/users/demo`` -> ``/users/{username}``)."""
    if path in SPEC["paths"]:
        return path
    for template in SPEC["paths"]:
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path):
            return template
    raise AssertionError(f"{path} is not documented")


def check_against_spec(method: str, path: str, r: requests.Response) -> None:
    """The status is documented for that operation, and the body matches the documented schema."""
    template = _template(path)
    operation = SPEC["paths"][template].get(method.lower())
    assert operation is not None, f"{method} {template} is not documented"
    responses = operation["responses"]
    assert str(r.status_code) in responses, f"{method} {path}: {r.status_code} not documented ({r.text})"
    response = responses[str(r.status_code)]
    pointer = _pointer("paths", template, method.lower(), "responses", str(r.status_code))
    if "$ref" in response:
        pointer = response["$ref"].lstrip("#/")
        response = SPEC["components"]["responses"][pointer.rsplit("/", 1)[-1]]
    if "content" not in response:
        assert r.content == b"", f"{method} {path}: {r.status_code} documents no body"
        return
    if "application/json" not in response["content"]:  # the inspector's page and its files
        [media] = response["content"]
        assert r.headers["Content-Type"].split(";")[0] == media
        return
    assert r.headers["Content-Type"] == "application/json"
    schema = {"$ref": f"urn:spec#/{pointer}/content/application~1json/schema"}
    errors = list(Draft202012Validator(schema, registry=REGISTRY).iter_errors(r.json()))
    assert not errors, f"{method} {path}: {[e.message for e in errors]}"


class Control:
    """A tiny client of the control API: every call is checked against the document."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __call__(self, method: str, path: str, body=None, *, raw=None, params=None, expect=None):
        data = raw if raw is not None else (None if body is None else json.dumps(body))
        headers = {} if data is None else {"Content-Type": "application/json"}
        r = requests.request(method, self.url + path, data=data, params=params, headers=headers)
        check_against_spec(method, path, r)
        if expect is not None:
            assert r.status_code == expect, r.text
        return r


@pytest.fixture
def control(mock_as) -> Control:
    return Control(mock_as.control_url)


# -- the document -------------------------------------------------------------------------------------


def test_the_document_validates():
    validate_spec(SPEC)


def test_the_served_document_validates_and_points_at_this_server(mock_as, control):
    served = control("GET", "/openapi.json", expect=200).json()
    validate_spec(served)
    assert served["servers"] == [{"url": mock_as.control_url}]
    assert {k: v for k, v in served.items() if k != "servers"} == {
        k: v for k, v in SPEC.items() if k != "servers"
    }


def test_the_documented_routes_are_the_routes_served():
    app = create_app(state=State(MockASConfig(seed=0, users=0)))
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PREFIX + "/"):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule[len(PREFIX) :])
            served |= {(path, m.lower()) for m in rule.methods if m not in ("HEAD", "OPTIONS")}
    documented = {(p, m) for p, item in SPEC["paths"].items() for m in item if m in METHODS}
    assert served == documented


def test_the_documented_inputs_are_what_the_server_accepts():
    schemas = SPEC["components"]["schemas"]
    assert set(schemas["FaultInput"]["properties"]) == set(INPUT_FIELDS)
    assert set(schemas["Fault"]["properties"]) == {*INPUT_FIELDS, "id", "kind", "fired", "remaining"}
    assert set(schemas["UserPatch"]["properties"]) == set(USER_PATCH_KEYS)
    assert set(schemas["UserInput"]["properties"]) == {f.name for f in dataclasses.fields(UserConfig)}
    assert set(schemas["ClientInput"]["properties"]) <= {f.name for f in dataclasses.fields(ClientConfig)}
    assert set(schemas["Client"]["required"]) <= {f.name for f in dataclasses.fields(ClientConfig)}
    assert tuple(schemas["SettingsPatch"]["properties"]) == settings_keys()
    assert tuple(schemas["Settings"]["required"]) == settings_keys()
    lockout_keys = {f.name for f in dataclasses.fields(LockoutConfig)}
    assert set(schemas["LockoutPatch"]["properties"]) == set(schemas["Lockout"]["required"]) == lockout_keys


# -- the whole state ------------------------------------------------------------------------------------


def test_index_says_where_things_are(mock_as, control):
    body = control("GET", "/", expect=200).json()
    assert body["am_base_url"] == mock_as.base_url
    assert body["openapi"] == "/__mock_as__/openapi.json"
    assert body["seed"] == mock_as.seed
    assert body["realms"] == ["/", "/customers"]


def test_reset_puts_everything_back(mock_as, control):
    token = login(mock_as).json()["access_token"]
    control("POST", "/users", {"username": "bob", "password": "pw"}, expect=201)
    control("POST", "/clients", {"client_id": "c2", "secret": "s"}, expect=201)
    control("PATCH", "/users/demo", {"status": "locked"}, expect=200)
    control("PATCH", "/settings", {"module_messages": True, "lockout": {"enabled": True}}, expect=200)
    control("POST", "/faults", {"status": 503, "times": None}, expect=201)
    control("POST", "/clock/advance", {"seconds": 10}, expect=200)
    before = control("GET", "/clock").json()["now"]

    status = control("POST", "/reset", expect=200).json()
    assert status["seed"] == mock_as.seed
    assert status["now"] < before
    control("GET", "/users/bob", expect=404)
    control("GET", "/clients/c2", expect=404)
    assert control("GET", "/users/demo").json()["status"] == "active"
    settings_now = control("GET", "/settings").json()
    assert settings_now["module_messages"] is False
    assert settings_now["lockout"]["enabled"] is False
    assert control("GET", "/faults").json() == []
    assert control("GET", "/journal").json() == []
    assert mock_as.token(token) is None
    assert login(mock_as).status_code == 200


def test_reseed_changes_the_fake_users_and_they_log_in(mock_as, control):
    before = [u["username"] for u in control("GET", "/users").json()]
    assert control("POST", "/reseed", {"seed": 1234}, expect=200).json()["seed"] == 1234
    users = control("GET", "/users").json()
    assert [u["username"] for u in users] != before
    assert users[0]["username"] == "demo"
    fake = users[1]
    assert login(mock_as, username=fake["username"], password=fake["password"]).status_code == 200
    assert mock_as.seed == 1234


@pytest.mark.parametrize("body", [{}, {"seed": "1"}, {"seed": True}, {"seed": -1}, {"seed": 2**63}, {"x": 1}])
def test_reseed_refuses_a_bad_seed(control, body):
    r = control("POST", "/reseed", body, expect=400)
    assert r.json()["error"] == "invalid_request"


# -- users and account states -----------------------------------------------------------------------------


def test_users_can_be_added_changed_and_removed(mock_as, control):
    user = control(
        "POST",
        "/users",
        {"username": "bob", "password": "pw1", "attributes": {"mail": "bob@example.com"}},
        expect=201,
    ).json()
    assert user["attributes"] == {"uid": "bob", "mail": "bob@example.com"}
    assert mock_as.user("bob").password == "pw1"  # the same state as the Python handle
    assert login(mock_as, username="bob", password="pw1").status_code == 200

    control("PATCH", "/users/bob", {"password": "pw2"}, expect=200)
    assert login(mock_as, username="bob", password="pw1").json() == INVALID_GRANT
    assert login(mock_as, username="bob", password="pw2").status_code == 200

    r = control("PATCH", "/users/bob", {"attributes": {"mail": None, "cn": ["Bob", "Robert"]}}, expect=200)
    assert r.json()["attributes"] == {"uid": "bob", "cn": ["Bob", "Robert"]}

    control("DELETE", "/users/bob", expect=204)
    control("GET", "/users/bob", expect=404)
    control("DELETE", "/users/bob", expect=404)
    assert login(mock_as, username="bob", password="pw2").json() == INVALID_GRANT


def test_users_live_in_realms(mock_as, control):
    control(
        "POST", "/users", {"username": "eve", "password": "pw"}, params={"realm": "customers"}, expect=201
    )
    assert "eve" in [u["username"] for u in control("GET", "/users", params={"realm": "/customers"}).json()]
    control("GET", "/users/eve", expect=404)
    assert login(mock_as, "/customers", username="eve", password="pw").status_code == 200
    r = control("GET", "/users", params={"realm": "/nowhere"}, expect=404)
    assert "no realm '/nowhere'" in r.json()["error_description"]


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"status": "locked"}, "User Locked Out."),
        ({"status": "inactive"}, "User is not Active"),
        ({"password_expired": True}, "Password must be reset."),  # stock LDAP text, reference §5
    ],
)
def test_account_states_over_http(mock_as, control, patch, message):
    user = control("PATCH", "/users/demo", patch, expect=200).json()
    assert {k: user[k] for k in patch} == patch
    assert login(mock_as).json() == INVALID_GRANT
    control("PATCH", "/settings", {"module_messages": True}, expect=200)
    assert login(mock_as).json() == {"error_description": message, "error": "invalid_grant"}
    control("PATCH", "/users/demo", {"status": "active", "password_expired": False}, expect=200)
    assert login(mock_as).status_code == 200


def test_lockout_over_http(mock_as, control):
    settings_now = control(
        "PATCH",
        "/settings",
        {"module_messages": True, "lockout": {"enabled": True, "failure_count": 2}},
        expect=200,
    ).json()
    assert settings_now["lockout"] == {
        "enabled": True,
        "failure_count": 2,
        "interval_minutes": 300,
        "duration_minutes": 0,
        "warn_after": 0,
    }
    assert login(mock_as, password="wrong").json() == INVALID_GRANT
    assert control("GET", "/users/demo").json()["lockout"]["failures"] == 1
    login(mock_as, password="wrong")
    user = control("GET", "/users/demo").json()
    assert user["status"] == "locked"
    assert user["lockout"]["locked"] is True
    assert user["lockout"]["locked_until"] is None
    assert login(mock_as).json() == {"error_description": "User Locked Out.", "error": "invalid_grant"}
    user = control("PATCH", "/users/demo", {"unlock": True}, expect=200).json()
    assert user["status"] == "active"
    assert user["lockout"]["locked"] is False
    assert login(mock_as).status_code == 200


def test_a_timed_lock_runs_out_when_the_clock_is_advanced(mock_as, control):
    control("PATCH", "/settings", {"lockout": {"enabled": True, "failure_count": 1, "duration_minutes": 5}})
    login(mock_as, password="wrong")
    lock = control("GET", "/users/demo").json()["lockout"]
    assert lock["locked"] is True
    assert lock["locked_until"] == pytest.approx(lock["locked_at"] + 300)
    control("POST", "/clock/advance", {"seconds": 301}, expect=200)
    assert control("GET", "/users/demo").json()["lockout"]["locked"] is False
    assert login(mock_as).status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"status": "frozen"}, "status: 'frozen' is not one of"),
        ({"password_expired": "yes"}, "password_expired: expected true or false"),
        ({"password": ""}, "password: must not be empty"),
        ({"unlock": 1}, "unlock: expected true or false"),
        ({"attributes": ["mail"]}, "attributes: expected an object"),
        ({"attributes": {"mail": 3}}, "attributes.mail"),
        ({"username": "other"}, "username: unknown key"),
    ],
)
def test_a_bad_user_change_is_a_400_naming_the_key(control, body, message):
    r = control("PATCH", "/users/demo", body, expect=400)
    assert message in r.json()["error_description"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"username": "bob"}, "missing required key 'password'"),
        ({"username": "bob", "password": "pw", "status": "gone"}, "status: 'gone' is not one of"),
        ({"username": "bob", "password": "pw", "age": 3}, "age: unknown key"),
    ],
)
def test_a_bad_new_user_is_a_400(control, body, message):
    assert message in control("POST", "/users", body, expect=400).json()["error_description"]


# -- clients ----------------------------------------------------------------------------------------------------


def test_clients_can_be_added_and_removed(mock_as, control):
    client = {"client_id": "c2", "secret": "s2", "scopes": ["read"], "default_scopes": ["read"]}
    created = control("POST", "/clients", client, expect=201).json()
    assert created["grant_types"] == ["password"]
    assert created["active"] is True
    assert control("GET", "/clients/c2", expect=200).json() == created
    assert "c2" in [c["client_id"] for c in control("GET", "/clients").json()]
    r = login(mock_as, client_id="c2", client_secret="s2", scope="read")
    assert r.status_code == 200
    assert r.json()["scope"] == "read"
    control("DELETE", "/clients/c2", expect=204)
    control("GET", "/clients/c2", expect=404)
    r = login(mock_as, client_id="c2", client_secret="s2", scope="read")
    assert r.json() == {"error_description": "Client authentication failed", "error": "invalid_client"}


def test_a_bad_client_is_a_400(control):
    r = control("POST", "/clients", {"client_id": "c3", "scopes": "read"}, expect=400)
    assert r.json()["error_description"] == "scopes: expected an array, got a string"
    control("POST", "/clients", {"secret": "x"}, expect=400)
    control("POST", "/clients", {"client_id": ""}, expect=400)


# -- clock ---------------------------------------------------------------------------------------------------------


def test_the_clock_moves_and_tokens_expire(mock_as, control):
    token = login(mock_as).json()["access_token"]
    start = control("GET", "/clock", expect=200).json()["now"]
    now = control("POST", "/clock/advance", {"seconds": 3600}, expect=200).json()["now"]
    assert now - start >= 3600
    assert mock_as.token(token) is None
    back = control("POST", "/clock/advance", {"seconds": -3600}, expect=200).json()["now"]
    assert back < now


@pytest.mark.parametrize(
    "body", [{}, {"seconds": "60"}, {"seconds": None}, {"seconds": True}, {"minutes": 1}]
)
def test_a_bad_clock_move_is_a_400(control, body):
    control("POST", "/clock/advance", body, expect=400)


# -- faults -----------------------------------------------------------------------------------------------------------


def test_faults_over_http(mock_as, control):
    fault = control(
        "POST", "/faults", {"endpoint": "access_token", "status": 503, "retry_after": 5}, expect=201
    ).json()
    assert (fault["id"], fault["kind"], fault["fired"], fault["remaining"]) == (1, "error", 0, 1)
    r = login(mock_as)
    assert (r.status_code, r.headers["Retry-After"]) == (503, "5")
    assert r.json() == {"error_description": "Service Unavailable", "error": "temporarily_unavailable"}
    assert control("GET", "/faults/1", expect=200).json()["fired"] == 1
    assert login(mock_as).status_code == 200

    sticky = control("POST", "/faults", {"username": "demo", "times": None}, expect=201).json()
    assert [login(mock_as).status_code for _ in range(2)] == [400, 400]
    control("DELETE", f"/faults/{sticky['id']}", expect=204)
    control("DELETE", f"/faults/{sticky['id']}", expect=404)
    control("GET", "/faults/99", expect=404)
    assert login(mock_as).status_code == 200

    control("POST", "/faults", {"times": None}, expect=201)
    control("DELETE", "/faults", expect=204)
    assert control("GET", "/faults").json() == []
    assert login(mock_as).status_code == 200


def test_every_kind_of_fault_over_http(mock_as, control):
    control("POST", "/faults", {"body": {"access_token": "x"}}, expect=201)
    control("POST", "/faults", {"malformed": True}, expect=201)
    control("POST", "/faults", {"empty": True, "status": 502}, expect=201)
    control("POST", "/faults", {"delay": 0.02}, expect=201)
    control("POST", "/faults", {"error": "server_error", "description": "boom", "status": 500}, expect=201)
    assert login(mock_as).json() == {"access_token": "x"}
    with pytest.raises(requests.JSONDecodeError):
        login(mock_as).json()
    r = login(mock_as)
    assert (r.status_code, r.content) == (502, b"")
    assert login(mock_as).status_code == 200
    assert login(mock_as).json() == {"error_description": "boom", "error": "server_error"}
    kinds = [(f["kind"], f["fired"]) for f in control("GET", "/faults").json()]
    assert kinds == [("body", 1), ("malformed", 1), ("empty", 1), ("delay", 1), ("error", 1)]


def test_a_dropped_connection_sends_not_one_byte(mock_as, control):
    control("POST", "/faults", {"endpoint": "access_token", "drop": True}, expect=201)
    parts = urlsplit(mock_as.token_url)
    body = "&".join(f"{k}={v}" for k, v in DOCS_FORM.items()).encode()
    request = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(4096):
            received += chunk
    assert received == b""  # closed without an answer
    assert control("GET", "/journal").json()[-1]["status"] == 0
    assert login(mock_as).status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"endpoint": "token"}, "endpoint: 'token' is not one of"),
        ({"stauts": 500}, "stauts: unknown key"),
        ({"drop": True, "status": 500}, "a dropped connection sends nothing"),
        ({"delay": "1"}, "delay: expected a number"),
        ({"times": 0}, "times: must be at least 1"),
        ({"status": 700}, "status: expected an HTTP status"),
        ({"body": 3}, "body: expected text"),
    ],
)
def test_a_bad_fault_is_a_400(control, body, message):
    r = control("POST", "/faults", body, expect=400)
    assert message in r.json()["error_description"]
    assert control("GET", "/faults").json() == []


# -- journal ----------------------------------------------------------------------------------------------------------


def test_the_journal_over_http(mock_as, control):
    login(mock_as)
    login(mock_as, password="wrong")
    requests.get(mock_as.url_for("tokeninfo"), params={"access_token": "x"})
    calls = control("GET", "/journal", expect=200).json()
    assert [c["endpoint"] for c in calls] == ["access_token", "access_token", "tokeninfo"]
    assert calls[0]["params"]["password"] == "***"
    assert calls[0]["params"]["client_secret"] == "***"
    assert calls[0]["params"]["username"] == "demo"
    assert (calls[1]["status"], calls[1]["error"]) == (400, "invalid_grant")
    assert len(control("GET", "/journal", params={"endpoint": "access_token"}).json()) == 2
    assert len(control("GET", "/journal", params={"grant_type": "password"}).json()) == 2
    assert "secret" not in json.dumps(calls).replace("client_secret", "")  # control calls are not journaled


# -- the document and the server agree on input ------------------------------------------------------------------------


def document_accepts(method: str, path: str, body: dict) -> bool:
    """Whether the OpenAPI document calls ``body`` a valid request body of that operation."""
    template = _template(path)
    pointer = _pointer(
        "paths", template, method.lower(), "requestBody", "content", "application/json", "schema"
    )
    return Draft202012Validator({"$ref": f"urn:spec#/{pointer}"}, registry=REGISTRY).is_valid(body)


# (method, path, body, whether it is valid): the document and the server must both say so.
AGREEMENT = [
    # JSON Schema counts 3.0 as an integer, and so does the API
    ("POST", "/reseed", {"seed": 8.0}, True),
    ("POST", "/reseed", {"seed": 8.5}, False),
    ("POST", "/reseed", {"seed": 2.0**63}, False),
    ("PATCH", "/settings", {"access_token_lifetime": 60.0, "lockout": {"failure_count": 3.0}}, True),
    ("POST", "/clients", {"client_id": "c9", "access_token_lifetime": 30.0}, True),
    ("POST", "/faults", {"status": 503.0, "times": 2.0, "retry_after": 5.0}, True),
    ("POST", "/faults", {"retry_after": 5.5}, False),
    # an empty change changes nothing
    ("PATCH", "/settings", {}, True),
    ("PATCH", "/users/demo", {}, True),
    # the settings PATCH takes are the settings GET shows, no others
    ("PATCH", "/settings", {"id_token_lifetime": 600}, True),
    ("PATCH", "/settings", {"name": "/elsewhere"}, False),
    # lifetimes are 64-bit, so the clock can add them
    ("PATCH", "/settings", {"access_token_lifetime": 2**63 - 1}, True),
    ("PATCH", "/settings", {"access_token_lifetime": 2**63}, False),
    ("PATCH", "/settings", {"refresh_token_lifetime": -(2**63) - 1}, False),
    ("POST", "/clients", {"client_id": "c9", "refresh_token_lifetime": 2**63}, False),
    # a timed lock and a clock move have bounds that keep every instant finite
    ("PATCH", "/settings", {"lockout": {"duration_minutes": 1e10}}, True),
    ("PATCH", "/settings", {"lockout": {"duration_minutes": 1e10 + 1}}, False),
    ("PATCH", "/settings", {"lockout": {"interval_minutes": 1e300}}, True),
    ("POST", "/clock/advance", {"seconds": 1e12}, True),
    ("POST", "/clock/advance", {"seconds": -1e12 - 1}, False),
    # a user has a name and a password
    ("POST", "/users", {"username": "", "password": "pw"}, False),
    ("POST", "/users", {"username": "bob", "password": ""}, False),
    ("POST", "/users", {"username": " ", "password": " "}, True),
    # faults: header values, empty names, and one kind of answer
    ("POST", "/faults", {}, True),
    ("POST", "/faults", {"retry_after": "Wed, 21 Oct 2015 07:28:00 GMT"}, True),
    ("POST", "/faults", {"retry_after": " "}, False),
    ("POST", "/faults", {"retry_after": "5\r\nX-Injected: 1"}, False),
    ("POST", "/faults", {"retry_after": "5\n"}, False),
    ("POST", "/faults", {"retry_after": "\u20ac"}, False),
    ("POST", "/faults", {"body": "x", "content_type": "text/csv; charset=utf-8"}, True),
    ("POST", "/faults", {"body": "x", "content_type": "text/html\n"}, False),
    ("POST", "/faults", {"empty": True, "content_type": "\u00e9"}, False),
    ("POST", "/faults", {"content_type": "text/plain"}, False),
    ("POST", "/faults", {"empty": True, "malformed": True}, False),
    ("POST", "/faults", {"body": None, "malformed": True}, True),
    ("POST", "/faults", {"body": "", "empty": True}, False),
    ("POST", "/faults", {"drop": True, "delay": 0.01}, True),
    ("POST", "/faults", {"drop": True, "status": None, "retry_after": None}, True),
    ("POST", "/faults", {"drop": True, "retry_after": 1}, False),
    ("POST", "/faults", {"drop": True, "content_type": "text/plain"}, False),
    ("POST", "/faults", {"empty": True, "error": "x"}, False),
    ("POST", "/faults", {"body": {}, "description": None}, True),
    ("POST", "/faults", {"realm": ""}, False),
    ("POST", "/faults", {"username": "demo", "grant_type": "password", "client_id": "myClient"}, True),
]


@pytest.mark.parametrize(("method", "path", "body", "valid"), AGREEMENT, ids=lambda v: json.dumps(v))
def test_what_the_document_calls_valid_is_what_the_server_accepts(control, method, path, body, valid):
    assert document_accepts(method, path, body) is valid
    r = control(method, path, body)
    if valid:
        assert 200 <= r.status_code < 300, r.text
    else:
        assert r.status_code == 400, r.text
        assert r.json()["error"] == "invalid_request"


def test_an_unknown_journal_endpoint_is_a_400_naming_the_known_ones(control):
    r = control("GET", "/journal", params={"endpoint": "AAA"}, expect=400)
    assert r.json()["error"] == "invalid_request"
    assert "'AAA' is not one of access_token, tokeninfo" in r.json()["error_description"]
    control("GET", "/journal", params={"endpoint": "jwk_uri"}, expect=200)


def test_no_body_is_no_change_or_the_default_fault(mock_as, control):
    settings_now = control("GET", "/settings").json()
    assert control("PATCH", "/settings", expect=200).json() == settings_now
    assert control("PATCH", "/users/demo", expect=200).json() == control("GET", "/users/demo").json()
    fault = control("POST", "/faults", expect=201).json()
    assert (fault["kind"], fault["status"], fault["times"]) == ("error", 400, 1)
    assert login(mock_as).json() == INVALID_GRANT
    assert login(mock_as).status_code == 200


def test_a_whole_number_float_is_the_integer(mock_as, control):
    assert control("POST", "/reseed", {"seed": 8.0}, expect=200).text.startswith('{"seed":8,')
    control("POST", "/faults", {"status": 503.0, "retry_after": 30.0}, expect=201)
    r = login(mock_as)
    assert (r.status_code, r.headers["Retry-After"]) == (503, "30")


def test_the_longest_lifetimes_and_lock_still_answer(mock_as, control):
    """Lifetimes past a float's range made every token request a 500; a lock of 1e308 minutes made
    the user's ``locked_until`` Infinity, which is not JSON."""
    longest = {"access_token_lifetime": 2**63 - 1, "refresh_token_lifetime": 2**63 - 1}
    control("PATCH", "/settings", {**longest, "id_token_lifetime": 2**63 - 1}, expect=200)
    r = login(mock_as)
    assert r.status_code == 200
    info = requests.get(mock_as.url_for("tokeninfo"), params={"access_token": r.json()["access_token"]})
    assert info.status_code == 200
    lockout = {"enabled": True, "failure_count": 1, "duration_minutes": 1e10}
    control("PATCH", "/settings", {"lockout": lockout}, expect=200)
    login(mock_as, password="wrong")
    lock = control("GET", "/users/demo", expect=200).json()["lockout"]
    assert lock["locked_until"] == pytest.approx(lock["locked_at"] + 6e11)


# -- errors, and the reserved path ------------------------------------------------------------------------------------


def test_unknown_routes_and_methods_answer_in_the_control_format(mock_as):
    r = requests.get(mock_as.control_url + "/nothing")
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"
    r = requests.delete(mock_as.control_url + "/reset")
    assert r.status_code == 405
    assert r.json()["error"] == "method_not_allowed"
    assert "POST" in r.headers["Allow"]


@pytest.mark.parametrize(
    "raw",
    [
        "{bad",
        "[]",
        '"x"',
        "null",
        "3",
        "\xff",
        " ",
        "\n",
        '{"delay": NaN}',
        '{"delay": Infinity}',
        '{"body": [-Infinity]}',
        '{"body": [1e400]}',
        '{"retry_after": 1' + "0" * 400 + "}",
        '{"body": "\\ud800"}',
        '{"description": "a\\udfffb"}',
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_400(control, raw):
    r = control("POST", "/faults", raw=raw.encode("latin-1"), expect=400)
    assert r.json()["error"] == "invalid_request"


def test_no_route_answers_500_to_junk(mock_as, control):
    control("POST", "/faults", {"times": None, "endpoint": "introspect"}, expect=201)
    junk = [b"{bad", b"[]", b'{"zzz": 1}', b'{"seed": "x", "seconds": [], "status": {}}', b"\x00\xff"]
    fill = {"{username}": "demo", "{client_id}": "myClient", "{fault_id}": "1"}
    for template, item in SPEC["paths"].items():
        path = template
        for key, value in fill.items():
            path = path.replace(key, value)
        for method in (m for m in item if m in METHODS):
            for raw in junk:
                r = control(method.upper(), path, raw=raw)
                assert r.status_code < 500, (method, path, raw, r.text)
                if r.status_code >= 400:
                    assert set(r.json()) == {"error", "error_description"}


def test_off_the_reserved_path_nothing_changes(mock_as):
    # under AM's context path the name means nothing: AM's own 404
    r = requests.post(mock_as.base_url + "/__mock_as__/reset")
    assert r.status_code == 404
    assert r.json() == {"code": 404, "reason": "Not Found", "message": "Not Found"}
    r = requests.get(mock_as.control_url.replace("__mock_as__", "__mock_as__x"))
    assert r.status_code == 404
    assert "error" not in r.json()
    r = requests.get(mock_as.url_for("access_token"))  # AM's own answer, unchanged
    assert r.status_code == 405
    assert r.json() == {
        "error_description": "Required Method: POST found: GET",
        "error": "method_not_allowed",
    }


def test_the_control_api_is_not_patched_in_process(mock_as_requests):
    root = mock_as_requests.base_url.rsplit("/", 1)[0]
    with pytest.raises(requests.ConnectionError):
        requests.post(root + "/__mock_as__/reset")


# -- generated input never breaks the API ------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


@pytest.fixture(scope="module")
def test_client():
    app = create_app(state=State(MockASConfig(seed=0, users=1)))
    return app.test_client()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from(
        [
            ("PATCH", "/users/demo", USER_PATCH_KEYS),
            ("POST", "/users", ("username", "password", "status", "attributes", "password_expired")),
            ("POST", "/faults", INPUT_FIELDS),
            ("PATCH", "/settings", ("lockout", "module_messages", "access_token_lifetime", "token_format")),
            ("POST", "/clients", ("client_id", "secret", "scopes", "grant_types", "active")),
            ("POST", "/clock/advance", ("seconds",)),
            ("POST", "/reseed", ("seed",)),
        ]
    ),
    data=st.data(),
)
def test_generated_bodies_get_an_answer_never_a_500(test_client, route, data):
    method, path, keys = route
    body = data.draw(st.dictionaries(st.sampled_from(keys), JSON_VALUES, max_size=4))
    r = test_client.open(PREFIX + path, method=method, data=json.dumps(body), content_type="application/json")
    assert r.status_code < 500, (body, r.get_data(as_text=True))
    if r.status_code >= 400:
        assert set(r.get_json()) == {"error", "error_description"}
