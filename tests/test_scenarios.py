"""Scenarios a suite reaches for once the happy path works: account states, AM's lockout, and
faults injected on purpose. Each runs over HTTP on both transports (``am``: live and in-process)."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest
import requests

from mock_as.errors import ConfigError
from mock_as.faults import Fault
from mock_as.lockout import LockState
from tests.conftest import DOCS_FORM

INVALID_GRANT = {
    "error_description": "The provided access grant is invalid, expired, or revoked.",
    "error": "invalid_grant",
}
LOCKED_OUT = {"error_description": "User Locked Out.", "error": "invalid_grant"}
WRONG = {**DOCS_FORM, "password": "not-the-password"}


def post(am, data=DOCS_FORM, *, realm="/", **kwargs):
    return requests.post(am.url_for("access_token", realm), data=data, **kwargs)


def fail_times(am, n, *, realm="/", data=WRONG):
    for _ in range(n):
        r = post(am, data, realm=realm)
        assert r.json() == INVALID_GRANT, r.text


def wait_for_calls(am, count, timeout=5.0):
    """A live server still answers a request its client gave up on: wait for that answer to land
    in the journal, so it cannot spill into the next test."""
    deadline = time.monotonic() + timeout
    while len(am.calls) < count and time.monotonic() < deadline:
        time.sleep(0.005)
    assert len(am.calls) >= count


# -- account states --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "module_message"),
    [
        ({"status": "locked"}, "User Locked Out."),
        ({"status": "inactive"}, "User is not Active"),
        ({"password_expired": True}, "Password must be reset."),  # stock LDAP text, reference §5
    ],
)
def test_account_states_answer_as_am(am, changes, module_message):
    am.set_user("demo", **changes)
    r = post(am)
    assert (r.status_code, r.json()) == (400, INVALID_GRANT)
    am.configure_realm(module_messages=True)
    assert post(am).json() == {"error_description": module_message, "error": "invalid_grant"}
    # the wrong password is a plain failure, whatever the account's state
    assert post(am, WRONG).json() == INVALID_GRANT


def test_lock_and_unlock_by_hand(am):
    am.configure_realm(module_messages=True)
    am.lock_user("demo")
    assert am.user("demo").status == "locked"
    assert am.lock_state("demo").locked
    assert am.lock_state("demo").locked_until is None
    assert post(am).json() == LOCKED_OUT
    am.unlock_user("demo")
    assert post(am).status_code == 200


def test_locking_by_hand_makes_a_timed_lock_last_until_unlocked(am):
    am.set_lockout(failure_count=1, duration_minutes=1)
    fail_times(am, 1)
    am.lock_user("demo")
    am.clock.advance(3600)
    assert am.lock_state("demo").locked
    assert post(am).json() == INVALID_GRANT


def test_unlock_restores_the_status_before_the_lock(am):
    am.set_lockout(failure_count=1)
    am.set_user("demo", status="inactive")
    fail_times(am, 1)
    assert am.user("demo").status == "locked"
    am.unlock_user("demo")
    assert am.user("demo").status == "inactive"


# -- AM's login failure lockout (§10) -------------------------------------------------------------


def test_lockout_is_off_by_default(am):
    assert not am.state.realm("/").config.lockout.enabled
    fail_times(am, 10)
    assert post(am).status_code == 200
    assert not am.lock_state("demo").locked


def test_failures_lock_the_account_until_an_administrator_unlocks_it(am):
    am.clock.freeze()
    am.set_lockout(failure_count=3)  # duration 0: AM's default, locked until unlocked
    fail_times(am, 2)
    assert am.lock_state("demo").failures == 2
    fail_times(am, 1)
    state = am.lock_state("demo")
    assert state.locked
    assert state.locked_until is None
    assert state.locked_at == am.clock.now()
    # the right password no longer works; AM's default text hides why
    assert post(am).json() == INVALID_GRANT
    am.configure_realm(module_messages=True)
    assert post(am).json() == LOCKED_OUT
    am.clock.advance(365 * 86400)
    assert post(am).json() == LOCKED_OUT
    am.unlock_user("demo")
    assert post(am).status_code == 200
    assert am.lock_state("demo").failures == 0


def test_a_timed_lock_runs_out_on_the_mock_clock(am):
    am.clock.freeze()
    am.set_lockout(failure_count=2, duration_minutes=10)
    am.configure_realm(module_messages=True)
    fail_times(am, 2)
    assert am.lock_state("demo").locked_until == am.clock.now() + 600
    am.clock.advance(599)
    assert post(am).json() == LOCKED_OUT
    am.clock.advance(2)
    assert post(am).status_code == 200
    assert am.user("demo").status == "active"
    assert am.lock_state("demo") == LockState(locked=False, failures=0, locked_at=None, locked_until=None)


def test_failures_count_only_within_the_interval_of_the_previous_one(am):
    am.set_lockout(failure_count=3, interval_minutes=5)
    fail_times(am, 2)
    am.clock.advance(5 * 60)  # the next failure starts the count again
    fail_times(am, 2)
    assert not am.lock_state("demo").locked
    assert am.lock_state("demo").failures == 2
    am.clock.advance(4 * 60)  # within five minutes of the last one: it counts
    fail_times(am, 1)
    assert am.lock_state("demo").locked


def test_a_successful_login_clears_the_count(am):
    am.set_lockout(failure_count=3)
    fail_times(am, 2)
    assert post(am).status_code == 200
    assert am.lock_state("demo").failures == 0
    fail_times(am, 2)
    assert post(am).status_code == 200


def test_failures_of_a_locked_account_do_not_extend_its_lock(am):
    am.set_lockout(failure_count=2, duration_minutes=1)
    fail_times(am, 2)
    until = am.lock_state("demo").locked_until
    am.clock.advance(30)
    fail_times(am, 3)
    assert am.lock_state("demo").locked_until == until


def test_lockout_counts_per_realm_and_user(am):
    am.set_lockout(failure_count=2, realm="/customers")
    fail_times(am, 2, realm="/customers")
    assert am.lock_state("demo", realm="/customers").locked
    assert post(am, realm="/").status_code == 200  # the same name in another realm is another account
    other = am.users[1]
    assert post(am, {**DOCS_FORM, "username": other.username, "password": other.password}).status_code == 200


def test_unknown_usernames_fail_without_locking_anything(am):
    am.set_lockout(failure_count=1)
    for _ in range(3):
        r = post(am, {**WRONG, "username": "nobody-here"})
        assert (r.status_code, r.json()) == (400, INVALID_GRANT)
    assert post(am).status_code == 200


def test_locks_and_counts_go_with_the_reset(am):
    am.set_lockout(failure_count=2)
    fail_times(am, 2)
    assert am.user("demo").status == "locked"
    am.reset()
    assert am.user("demo").status == "active"
    assert am.lock_state("demo").failures == 0
    assert post(am).status_code == 200


# -- faults ------------------------------------------------------------------------------------------


def test_a_one_shot_fault_answers_once_then_am_answers(am):
    fault = am.fail("access_token")
    r = post(am)
    assert (r.status_code, r.json()) == (400, INVALID_GRANT)
    assert r.headers["Cache-Control"] == "no-store"
    assert (fault.fired, fault.remaining, fault.active) == (1, 0, False)
    assert post(am).status_code == 200
    assert [c.error for c in am.calls] == ["invalid_grant", None]


def test_a_sticky_fault_answers_until_cleared(am):
    am.fail(status=500, times=None)
    for _ in range(3):
        assert post(am).json() == {"error_description": "Internal Server Error", "error": "server_error"}
    assert am.faults[0].fired == 3
    assert am.faults[0].remaining is None
    am.clear_faults()
    assert am.faults == []
    assert post(am).status_code == 200


def test_a_fault_can_fire_n_times(am):
    am.fail(times=2)
    assert [post(am).status_code for _ in range(3)] == [400, 400, 200]


def test_faults_fire_in_the_order_they_were_queued(am):
    am.fail(status=503)
    am.fail(status=502)
    assert [post(am).status_code for _ in range(3)] == [503, 502, 200]


@pytest.mark.parametrize(
    ("narrowing", "hit", "missed"),
    [
        ({"realm": "customers"}, {"realm": "/customers"}, {"realm": "/"}),
        ({"username": "demo"}, {}, {"data": {**DOCS_FORM, "username": "nobody"}}),
        ({"client_id": "myClient"}, {}, {"data": {**DOCS_FORM, "client_id": "other"}}),
        ({"grant_type": "password"}, {}, {"data": {**DOCS_FORM, "grant_type": "client_credentials"}}),
        ({"endpoint": "access_token"}, {}, {"url": "tokeninfo"}),
    ],
)
def test_faults_hit_only_what_they_are_narrowed_to(am, narrowing, hit, missed):
    am.fail(status=418, times=None, **narrowing)
    if "url" in missed:
        r = requests.get(am.url_for(missed["url"]), params={"access_token": "x"})
    else:
        r = post(am, missed.get("data", DOCS_FORM), realm=missed.get("realm", "/"))
    assert r.status_code != 418
    r = post(am, hit.get("data", DOCS_FORM), realm=hit.get("realm", "/"))
    assert r.status_code == 418
    assert r.json() == {"error_description": "I'm a Teapot", "error": "invalid_request"}


def test_a_fault_narrowed_to_a_client_sees_basic_credentials_too(am):
    am.fail(client_id="myClient", status=401)
    form = {k: v for k, v in DOCS_FORM.items() if k not in ("client_id", "client_secret")}
    auth = {"Authorization": "Basic " + base64.b64encode(b"myClient:forgerock").decode()}
    r = post(am, form, headers=auth)
    assert r.status_code == 401
    assert r.json() == {"error_description": "Client authentication failed", "error": "invalid_client"}
    assert r.headers["WWW-Authenticate"] == 'Basic realm="/"'


def test_a_fault_on_a_resource_server_endpoint(am):
    am.fail("tokeninfo", status=401)
    r = requests.get(am.url_for("tokeninfo"), params={"access_token": "anything"})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"
    assert post(am).status_code == 200


def test_any_status_with_a_chosen_error(am):
    am.fail(status=500, error="server_error", description="Failed to revoke access token")
    r = post(am)
    assert r.status_code == 500
    assert r.json() == {"error_description": "Failed to revoke access token", "error": "server_error"}


def test_429_with_retry_after(am):
    am.fail(retry_after=30)
    r = post(am)
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "30"
    assert r.json() == {"error_description": "Too Many Requests", "error": "temporarily_unavailable"}


def test_503_service_unavailable(am):
    am.fail(status=503, retry_after="Wed, 21 Oct 2026 07:28:00 GMT")
    r = post(am)
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "Wed, 21 Oct 2026 07:28:00 GMT"
    assert r.json()["error"] == "temporarily_unavailable"


@pytest.mark.parametrize("status", [450, 596])
def test_a_status_http_does_not_name(am, status):
    am.fail(status=status, error="custom_error")
    r = post(am)
    assert r.status_code == status
    assert r.json() == {"error_description": "Error", "error": "custom_error"}


@pytest.mark.mock_as(fault_documents=True)  # a gateway's HTML page: allowed, without script
def test_a_custom_body(am):
    am.fail(status=502, body="<html><body>Bad Gateway</body></html>", content_type="text/html")
    r = post(am)
    assert r.status_code == 502
    assert r.headers["Content-Type"] == "text/html"
    assert r.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert r.text == "<html><body>Bad Gateway</body></html>"
    am.fail(body={"access_token": "x", "token_type": "Bearer"})  # a token answer missing expires_in
    r = post(am)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    assert r.json() == {"access_token": "x", "token_type": "Bearer"}


def test_malformed_json(am):
    am.fail(malformed=True)
    r = post(am)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    with pytest.raises(requests.JSONDecodeError):
        r.json()
    am.fail(malformed=True, status=400)
    with pytest.raises(json.JSONDecodeError):
        json.loads(post(am).text)


def test_an_empty_reply(am):
    am.fail(empty=True)
    r = post(am)
    assert r.status_code == 200
    assert r.content == b""


def test_a_dropped_connection(am):
    fault = am.fail(drop=True)
    with pytest.raises(requests.ConnectionError):
        post(am)
    assert fault.fired == 1
    assert am.calls[-1].status == 0  # no answer was sent
    assert post(am).status_code == 200  # the next connection is fine


def test_a_delay_then_ams_own_answer(am):
    fault = am.fail(delay=0.05)
    assert fault.kind == "delay"
    assert fault.status is None
    started = time.monotonic()
    r = post(am)
    assert time.monotonic() - started >= 0.05
    assert r.status_code == 200
    assert "access_token" in r.json()
    assert fault.fired == 1


def test_a_delay_then_an_error(am):
    am.fail(delay=0.05, status=504)
    started = time.monotonic()
    assert post(am).status_code == 504
    assert time.monotonic() - started >= 0.05


def test_a_delay_beyond_the_client_timeout_is_a_timeout(am):
    am.fail(delay=0.3)
    with pytest.raises(requests.ReadTimeout):
        post(am, timeout=0.05)
    wait_for_calls(am, 1)  # the server still answered, late
    assert am.calls[0].status == 200


def test_faults_go_with_the_reset(am):
    am.fail(status=503, times=None)
    am.reset()
    assert am.faults == []
    assert post(am).status_code == 200


def test_a_fault_does_not_touch_the_state_behind_it(am):
    am.fail(status=503)
    post(am)
    assert am.state.tokens == {}  # nothing was issued for the failed call


# -- httpx clients ----------------------------------------------------------------------------------


@pytest.fixture(params=["live", "inprocess"])
def am_httpx(request):
    """The mock for an httpx client: the live server, or httpx patched in-process."""
    return request.getfixturevalue("mock_as" if request.param == "live" else "mock_as_httpx")


def test_httpx_sees_a_dropped_connection(am_httpx):
    am_httpx.fail(drop=True)
    with httpx.Client() as client, pytest.raises(httpx.RemoteProtocolError):
        client.post(am_httpx.token_url, data=DOCS_FORM)


def test_httpx_times_out_on_a_long_delay(am_httpx):
    am_httpx.fail(delay=0.3)
    with httpx.Client(timeout=0.05) as client, pytest.raises(httpx.ReadTimeout):
        client.post(am_httpx.token_url, data=DOCS_FORM)
    wait_for_calls(am_httpx, 1)


async def _async_post(url):
    async with httpx.AsyncClient() as client:
        return await client.post(url, data=DOCS_FORM)


def test_httpx_async_sees_faults(am_httpx):
    import asyncio

    am_httpx.fail(status=503, retry_after=1)
    r = asyncio.run(_async_post(am_httpx.token_url))
    assert r.status_code == 503
    assert r.headers["retry-after"] == "1"


# -- what a fault may be ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"endpoint": "token"}, "endpoint: 'token' is not one of"),
        ({"status": 99}, "status: expected an HTTP status"),
        ({"status": True}, "status: expected an HTTP status"),
        ({"drop": True, "status": 500}, "drop: a dropped connection sends nothing"),
        ({"malformed": True, "empty": True}, "pick one"),
        ({"body": "x", "error": "invalid_grant"}, "error/description: only for an error answer"),
        ({"delay": -1}, "delay: must be between"),
        ({"delay": 301}, "delay: must be between"),
        ({"delay": float("nan")}, "delay: expected a number"),
        ({"times": 0}, "times: must be at least 1"),
        ({"retry_after": -5}, "retry_after: expected seconds"),
        ({"content_type": "text/plain"}, "content_type: only with body"),
        ({"username": ""}, "username: expected a non-empty string"),
    ],
)
def test_a_fault_that_makes_no_sense_is_refused(spec, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        Fault(**spec)


@pytest.mark.parametrize(
    ("spec", "kind", "status"),
    [
        ({}, "error", 400),
        ({"retry_after": 5}, "error", 429),
        ({"body": "x"}, "body", 200),
        ({"empty": True}, "empty", 200),
        ({"malformed": True, "status": 500}, "malformed", 500),
        ({"drop": True}, "drop", None),
        ({"delay": 1}, "delay", None),
        ({"delay": 1, "error": "server_error"}, "error", 400),
    ],
)
def test_what_a_fault_does_by_default(spec, kind, status):
    fault = Fault(**spec)
    assert (fault.kind, fault.status) == (kind, status)
