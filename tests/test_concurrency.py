"""Many clients at once: every token unique, no update lost, nothing leaking between realms or tests.

Each test runs a bounded pool of threads against a live server of its own and against ``handle()``
(the core both transports share). A barrier lines the threads up where a race would show.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from mock_as import MockAS
from mock_as.config import DEMO_USER, ClientConfig, LockoutConfig, MockASConfig, RealmConfig
from mock_as.paths import realm_path
from mock_as.router import handle
from mock_as.server import MockASServer
from mock_as.state import State
from tests.wire import SOCKET_TIMEOUT

THREADS = 8
REALMS = ("/", "/customers")
APP = ClientConfig(
    client_id="app",
    secret="app-secret",
    scopes=("write", "read"),
    default_scopes=("write",),
    grant_types=("password", "refresh_token"),
    token_endpoint_auth_method="client_secret_post",
)
CREDENTIALS = {"client_id": "app", "client_secret": "app-secret"}
PASSWORD_GRANT = {"grant_type": "password", "username": "demo", "password": "Ch4ng31t", **CREDENTIALS}
# An unknown, rotated or other-realm refresh token (reference §8).
NO_SUCH_REFRESH_TOKEN = {"error_description": "grant is invalid", "error": "invalid_grant"}


def config() -> MockASConfig:
    return MockASConfig(
        seed=11,
        users=0,
        realms=tuple(
            RealmConfig(
                name=name,
                clients=(APP,),
                users=(DEMO_USER,),
                lockout=LockoutConfig(enabled=True, failure_count=THREADS * 4),
            )
            for name in REALMS
        ),
    )


# -- one way to talk to the mock per transport ------------------------------------------------------

Ask = Callable[[str, str, dict[str, str]], tuple[int, Any]]
"""``ask(endpoint, realm, form) -> (status, json)``: one POST of a form to one of AM's endpoints."""


class Live:
    """A live server of the test's own; each thread keeps its own connection."""

    def __init__(self) -> None:
        self.server = MockASServer(config()).start()
        self.state = self.server.state
        self._local = threading.local()

    def ask(self, endpoint: str, realm: str, form: dict[str, str]) -> tuple[int, Any]:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        r = session.post(self.server.url_for(endpoint, realm), data=form, timeout=SOCKET_TIMEOUT)
        return r.status_code, r.json()

    def close(self) -> None:
        self.server.stop()


class Core:
    """``handle()`` called straight from the threads."""

    base_url = "https://openam.example.com:8443/openam"

    def __init__(self) -> None:
        self.state = State(config())

    def ask(self, endpoint: str, realm: str, form: dict[str, str]) -> tuple[int, Any]:
        segments = {"access_token": "access_token", "introspect": "introspect", "revoke": "token/revoke"}
        r = handle(
            self.state,
            "POST",
            f"/oauth2{realm_path(realm)}/{segments[endpoint]}",
            "",
            {"content-type": "application/x-www-form-urlencoded"},
            urlencode(form).encode(),
            self.base_url,
        )
        return r.status, json.loads(r.body)

    def close(self) -> None:
        pass


@pytest.fixture(params=["live", "core"])
def mock(request: pytest.FixtureRequest) -> Iterator[Live | Core]:
    m: Live | Core = Live() if request.param == "live" else Core()
    try:
        yield m
    finally:
        m.close()


@pytest.fixture(autouse=True)
def eager_thread_switches() -> Iterator[None]:
    """Switch threads every microsecond instead of every 5 ms, so an unguarded read-modify-write
    would be interrupted in its middle and show."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def in_parallel(task: Callable[[int], Any], count: int) -> list[Any]:
    """``task(i)`` for ``i`` in ``range(count)`` on :data:`THREADS` threads; their results in order."""
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(task, range(count), timeout=SOCKET_TIMEOUT * 4))


def lined_up(task: Callable[[], Any]) -> list[Any]:
    """:data:`THREADS` calls of ``task`` released together by a barrier."""
    barrier = threading.Barrier(THREADS)

    def run(_: int) -> Any:
        barrier.wait(timeout=SOCKET_TIMEOUT)
        return task()

    return in_parallel(run, THREADS)


# -- issuing ---------------------------------------------------------------------------------------


def test_parallel_grants_mint_unique_tokens_and_lose_none(mock):
    grants = 200

    def grant(i: int) -> tuple[str, dict[str, Any]]:
        realm = REALMS[i % 2]
        status, body = mock.ask("access_token", realm, PASSWORD_GRANT)
        assert status == 200, body
        return realm, body

    issued = in_parallel(grant, grants)
    strings = [body[kind] for _, body in issued for kind in ("access_token", "refresh_token")]
    assert len(set(strings)) == len(strings) == grants * 2
    # every token is stored once, in the realm that issued it: no write was lost
    assert len(mock.state.tokens) == grants * 2
    for realm, body in issued:
        access = mock.state.find(body["access_token"])
        refresh = mock.state.find(body["refresh_token"])
        assert access is not None
        assert refresh is not None
        assert (access.kind, access.realm) == ("access_token", realm)
        assert (refresh.kind, refresh.realm) == ("refresh_token", realm)
        assert access.auth_grant_id == refresh.auth_grant_id
    # and every request is in the journal, once
    assert sum(c.endpoint == "access_token" for c in mock.state.journal) == grants
    assert len({t.auth_grant_id for t in mock.state.tokens.values()}) == grants
    assert len({t.audit_id for t in mock.state.tokens.values()}) == grants * 2


def test_a_refresh_token_is_spent_exactly_once(mock):
    """Rotation under contention: of many clients racing with one refresh token, one wins. (Without
    the state's lock around the check and the rotation, some of these rounds spend a token twice.)"""
    for _ in range(30):
        _, first = mock.ask("access_token", "/", PASSWORD_GRANT)
        form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], **CREDENTIALS}
        answers = lined_up(lambda form=form: mock.ask("access_token", "/", form))
        winners = [body for status, body in answers if status == 200]
        losers = [body for status, body in answers if status != 200]
        assert len(winners) == 1, answers
        assert losers == [NO_SUCH_REFRESH_TOKEN] * (THREADS - 1)
        form["refresh_token"] = winners[0]["refresh_token"]
        assert mock.ask("access_token", "/", form)[0] == 200


def test_a_revoked_grant_is_gone_for_every_racing_client(mock):
    _, first = mock.ask("access_token", "/", PASSWORD_GRANT)
    revoke = {"token": first["refresh_token"], **CREDENTIALS}
    answers = lined_up(lambda: mock.ask("revoke", "/", revoke))
    assert answers == [(200, {})] * THREADS
    assert mock.state.tokens == {}


def test_whole_lifecycles_in_parallel(mock):
    """Issue, introspect, refresh, revoke, many times over at once; each client sees only its own
    story, and nothing is left behind."""

    def lifecycle(i: int) -> None:
        realm = REALMS[i % 2]
        status, first = mock.ask("access_token", realm, PASSWORD_GRANT)
        assert status == 200
        status, seen = mock.ask("introspect", realm, {"token": first["access_token"], **CREDENTIALS})
        assert (status, seen["active"], seen["realm"]) == (200, True, realm)
        refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], **CREDENTIALS}
        status, second = mock.ask("access_token", realm, refresh)
        assert status == 200, second
        assert mock.ask("access_token", realm, refresh) == (400, NO_SUCH_REFRESH_TOKEN)
        assert mock.ask("revoke", realm, {"token": second["refresh_token"], **CREDENTIALS}) == (200, {})
        for token in (first["access_token"], second["access_token"], second["refresh_token"]):
            assert mock.ask("introspect", realm, {"token": token, **CREDENTIALS}) == (200, {"active": False})

    in_parallel(lifecycle, THREADS * 8)
    assert mock.state.tokens == {}


def test_realms_never_mix_under_load(mock):
    def cross(i: int) -> None:
        mine, other = REALMS[i % 2], REALMS[1 - i % 2]
        _, body = mock.ask("access_token", mine, PASSWORD_GRANT)
        # the other realm's client (same id, same secret) can neither see nor use this realm's tokens
        assert mock.ask("introspect", other, {"token": body["access_token"], **CREDENTIALS}) == (
            200,
            {"active": False},
        )
        refresh = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"], **CREDENTIALS}
        assert mock.ask("access_token", other, refresh) == (400, NO_SUCH_REFRESH_TOKEN)
        assert mock.ask("revoke", other, {"token": body["refresh_token"], **CREDENTIALS}) == (200, {})
        assert mock.state.find(body["refresh_token"]) is not None  # revoking elsewhere did nothing
        assert mock.ask("introspect", mine, {"token": body["access_token"], **CREDENTIALS})[1]["active"]

    in_parallel(cross, THREADS * 8)
    realms = [t.realm for t in mock.state.tokens.values()]
    assert realms.count("/") == realms.count("/customers") == THREADS * 8


def test_every_failed_login_counts_towards_a_lockout(mock):
    """The lockout's failure count takes concurrent failures without losing one."""
    handle_ = MockAS(mock.state, "http://unused")
    limit = THREADS * 4
    wrong = {**PASSWORD_GRANT, "password": "wrong"}
    in_parallel(lambda _: mock.ask("access_token", "/", wrong), limit - 1)
    state = handle_.lock_state("demo")
    assert (state.locked, state.failures) == (False, limit - 1)
    assert handle_.lock_state("demo", realm="/customers").failures == 0
    lined_up(lambda: mock.ask("access_token", "/", wrong))
    assert handle_.lock_state("demo").locked
    assert mock.ask("access_token", "/", PASSWORD_GRANT)[0] == 400
    assert mock.ask("access_token", "/customers", PASSWORD_GRANT)[0] == 200


# -- between tests ---------------------------------------------------------------------------------


def test_a_reset_under_load_leaves_a_clean_state(mock):
    """Requests in flight while a test's fixture resets the mock cannot leave a half-reset state:
    after the traffic stops and one more reset, nothing of it remains."""
    stop = threading.Event()

    def traffic(i: int) -> int:
        done = 0
        while not stop.is_set() and done < 200:
            status, _ = mock.ask("access_token", REALMS[i % 2], PASSWORD_GRANT)
            assert status == 200
            done += 1
        return done

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(traffic, i) for i in range(THREADS - 1)]
        for _ in range(20):
            mock.state.reset()
        stop.set()
        assert sum(f.result(timeout=SOCKET_TIMEOUT * 4) for f in futures) > 0
    mock.state.reset()
    assert mock.state.tokens == {}
    assert list(mock.state.journal) == []
    assert MockAS(mock.state, "http://unused").lock_state("demo").failures == 0


XDIST_SUITE = """
import json, os, pytest, requests

FORM = dict(grant_type="password", username="demo", password="Ch4ng31t", client_id="myClient",
            client_secret="forgerock")

@pytest.mark.parametrize("n", range(8))
def test_isolated(mock_as, mock_as_requests, n):
    assert mock_as.calls == []
    tokens = {requests.post(mock_as.token_url, data=FORM).json()["access_token"] for _ in range(20)}
    tokens |= {requests.post(mock_as_requests.token_url, data=FORM).json()["access_token"] for _ in range(20)}
    assert len(tokens) == 40
    assert all(mock_as.token(t) is not None for t in tokens)
    assert len(mock_as.calls) == 40  # this test's calls only
    with open(os.path.join(os.environ["REPORT_DIR"], f"{n}.json"), "w") as f:
        json.dump({"worker": os.environ.get("PYTEST_XDIST_WORKER"), "url": mock_as.base_url}, f)
"""


def test_xdist_workers_get_their_own_server_and_state(pytester, tmp_path, monkeypatch):
    monkeypatch.setenv("REPORT_DIR", str(tmp_path))
    pytester.makepyfile(XDIST_SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=8)
    reports = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    assert len(reports) == 8
    workers = {r["worker"] for r in reports}
    assert workers == {"gw0", "gw1"}
    # one server per worker, on ports that differ, and one state each
    urls = {r["worker"]: r["url"] for r in reports}
    assert len(set(urls.values())) == 2
    for r in reports:
        assert r["url"] == urls[r["worker"]]
        assert r["url"].startswith("http://127.0.0.1:")
