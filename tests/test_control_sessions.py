"""The control API's SSO sessions (``/__mock_as__/sessions``) on the live server: list, open and
revoke sessions, each answer checked against the OpenAPI document."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import DOCS_FORM
from tests.test_control_api import Control


@pytest.fixture
def control(mock_as) -> Control:
    return Control(mock_as.control_url)


def validate(am, token):
    url = am.rest_url("sessions")
    return requests.post(url, params={"_action": "validate"}, json={"tokenId": token}).json()


def test_open_list_and_revoke_sessions(mock_as, control):
    opened = control("POST", "/sessions", {"username": "demo", "password": DOCS_FORM["password"]}, expect=201)
    session = opened.json()
    assert session["cookie"] == {"name": "iPlanetDirectoryPro", "value": session["token_id"]}
    assert validate(mock_as, session["token_id"])["valid"] is True
    other = control("POST", "/sessions", {"username": "demo", "realm": "customers"}, expect=201).json()
    listed = control("GET", "/sessions", expect=200).json()
    assert [s["token_id"] for s in listed] == [session["token_id"], other["token_id"]]
    only = control("GET", "/sessions", params={"realm": "customers"}, expect=200).json()
    assert [s["realm"] for s in only] == ["/customers"]
    assert (
        control("GET", f"/sessions/{session['handle']}", expect=200).json()["token_id"] == session["token_id"]
    )
    control("DELETE", f"/sessions/{session['token_id']}", expect=204)
    assert validate(mock_as, session["token_id"]) == {"valid": False}
    control("DELETE", f"/sessions/{session['token_id']}", expect=404)
    assert control("DELETE", "/sessions", expect=200).json() == {"ended": 1}
    assert control("GET", "/sessions", expect=200).json() == []


def test_sessions_a_rest_login_opened_are_listed(mock_as, control):
    r = requests.post(
        mock_as.rest_url(),
        headers={"X-OpenAM-Username": "demo", "X-OpenAM-Password": DOCS_FORM["password"]},
    )
    listed = control("GET", "/sessions", expect=200).json()
    assert [s["token_id"] for s in listed] == [r.json()["tokenId"]]
    assert listed[0]["service"] == "ldapService"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"username": "demo", "password": "wrong"}, 401),
        ({"username": "nobody"}, 404),
        ({"password": "x"}, 400),
        ({"username": 1}, 400),
        ({"username": "demo", "extra": 1}, 400),
        ({"username": "demo", "realm": "nope"}, 404),
        ({"username": "demo", "service": "nope"}, 404),
    ],
)
def test_bad_logins(mock_as, control, body, status):
    control("POST", "/sessions", body, expect=status)
    assert mock_as.sessions == []


def test_bad_bodies_and_unknown_things(control):
    control("POST", "/sessions", raw="{", expect=400)
    control("POST", "/sessions", raw="[]", expect=400)
    control("GET", "/sessions/nope", expect=404)
    control("GET", "/sessions", params={"realm": "nope"}, expect=404)
