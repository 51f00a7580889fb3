"""State in Redis: several ``mock-as serve`` processes (and ``--workers``) on one real redis-server
behave as one AM, and a store that goes away gives AM's 503 answers, then service again."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests

from mock_as.app import create_app
from mock_as.config import ClientConfig, LockoutConfig, MockASConfig, UserConfig
from mock_as.faults import Fault
from mock_as.plugin import build_config
from mock_as.state import State
from tests.helpers import DOCS_FORM

redis = (
    pytest.importorskip("redis")
    if os.environ.get("MOCK_AS_REQUIRE_REDIS", "0") == "0"
    else __import__("redis")
)

CLIENT = {"client_id": "myClient", "client_secret": "forgerock"}
CONTROL_JSON = {"Content-Type": "application/json"}


@contextmanager
def serve(*args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """``mock-as serve`` on a free port with ``args`` (and ``env`` added to the environment);
    yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mock_as", "serve", "--port", "0", "-q", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        assert base.startswith("http://"), (base, proc.communicate(timeout=10))
        yield base
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)
        proc.communicate()


def token(base: str, **form: str) -> requests.Response:
    return requests.post(f"{base}/oauth2/access_token", data={**DOCS_FORM, **form}, timeout=10)


def control(base: str) -> str:
    """The control API's root next to a base URL (it sits outside AM's context path)."""
    return base.rsplit("/", 1)[0] + "/__mock_as__"


def introspect(base: str, access_token: str) -> dict[str, object]:
    answer = requests.post(f"{base}/oauth2/introspect", data={"token": access_token, **CLIENT}, timeout=10)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


# -- two processes, one Redis ----------------------------------------------------------------------


def test_two_serve_processes_on_one_redis_are_one_am(redis_server):
    with (
        serve("--store", redis_server.url, "--seed", "11") as a,
        serve("--seed", "11", env={"MOCK_AS_STORE": redis_server.url}) as b,  # the same, from the environment
    ):
        issued = token(a).json()["access_token"]
        assert introspect(b, issued)["active"] is True
        info = requests.get(f"{b}/oauth2/tokeninfo", params={"access_token": issued}, timeout=10)
        assert info.status_code == 200
        assert info.json()["access_token"] == issued

        # 100 tokens from both: all different
        tokens = [token(base).json()["access_token"] for base in (a, b) * 50]
        assert len({*tokens, issued}) == 101

        # a revocation at one is seen at the other
        assert requests.post(f"{a}/oauth2/token/revoke", data={"token": issued, **CLIENT}, timeout=10).ok
        assert introspect(b, issued) == {"active": False}

        # four wrong passwords split across both lock the account at a count of 4
        patched = requests.patch(
            f"{control(a)}/settings",
            json={"lockout": {"enabled": True, "failure_count": 4}},
            headers=CONTROL_JSON,
            timeout=10,
        )
        assert patched.status_code == 200, patched.text
        for base in (a, b, a):
            assert token(base, password="wrong").json()["error"] == "invalid_grant"
        user = requests.get(f"{control(b)}/users/demo", timeout=10).json()
        assert user["lockout"]["failures"] == 3, user
        assert user["status"] == "active", user
        token(b, password="wrong")
        user = requests.get(f"{control(a)}/users/demo", timeout=10).json()
        assert user["status"] == "locked", user
        assert token(b).status_code == 400  # the right password no longer helps, at either

        # a user added through one's control API logs in at the other
        added = requests.post(
            f"{control(a)}/users",
            json={"username": "carol", "password": "S3cret-carol"},
            headers=CONTROL_JSON,
            timeout=10,
        )
        assert added.status_code == 201, added.text
        assert token(b, username="carol", password="S3cret-carol").status_code == 200

        # a reset at one makes the other's tokens inactive
        held = token(b, username="carol", password="S3cret-carol").json()["access_token"]
        assert requests.post(f"{control(a)}/reset", timeout=10).status_code in (200, 204)
        assert introspect(b, held) == {"active": False}
        assert token(b, username="carol", password="S3cret-carol").status_code == 400  # carol is gone
        assert token(b).status_code == 200  # demo is back, unlocked


def test_workers_share_one_port_and_one_state(redis_server):
    with serve("--workers", "2", "--store", redis_server.url) as base:
        issued = [token(base).json()["access_token"] for _ in range(20)]
        assert len(set(issued)) == 20
        # fresh connections land on either worker: each finds every token active
        assert all(introspect(base, t)["active"] is True for t in issued)


def test_workers_on_a_taken_port_say_so(redis_server):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "mock_as",
                "serve",
                "--workers",
                "2",
                "-p",
                port,
                "--store",
                redis_server.url,
            ],
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert run.returncode == 2
    assert f"cannot listen on 127.0.0.1 port {port}: Address already in use" in run.stderr
    assert "Traceback" not in run.stderr


def test_workers_without_a_store_refuse_to_start():
    run = subprocess.run(
        [sys.executable, "-m", "mock_as", "serve", "--workers", "2", "--port", "0"],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
        env={k: v for k, v in os.environ.items() if k != "MOCK_AS_STORE"},
    )
    assert run.returncode != 0
    assert "needs a shared store" in run.stderr
    assert "--store redis://" in run.stderr


# -- Redis going away --------------------------------------------------------------------------------


def test_redis_killed_gives_am_503s_within_the_timeout_then_recovers(redis_server):
    with serve("--store", redis_server.url, "--seed", "12") as base:
        assert token(base).status_code == 200
        redis_server.kill()
        started = time.monotonic()
        answer = token(base)
        assert time.monotonic() - started < 3.0  # the store timeout is 1 s
        assert answer.status_code == 503
        assert answer.json() == {
            "error_description": "Service Unavailable",
            "error": "temporarily_unavailable",
        }
        assert answer.headers["Retry-After"] == "1"
        rest = requests.post(f"{base}/json/realms/root/authenticate", timeout=10)
        assert rest.status_code == 503
        assert rest.json() == {"code": 503, "reason": "Service Unavailable", "message": "Service Unavailable"}
        listed = requests.get(f"{control(base)}/users", timeout=10)
        assert listed.status_code == 503
        assert listed.json()["error"] == "temporarily_unavailable"
        redis_server.start()  # the same port, empty (no persistence): the seeded start is written again
        answer = token(base)
        assert answer.status_code == 200, answer.text
        assert introspect(base, answer.json()["access_token"])["active"] is True


def test_a_hung_redis_gives_503_within_the_timeout_then_recovers(redis_server):
    with serve("--store", redis_server.url, "--seed", "13") as base:
        assert token(base).status_code == 200
        pid = redis_server._process.pid
        os.kill(pid, signal.SIGSTOP)  # alive but answering nothing: the slow case
        try:
            started = time.monotonic()
            answer = token(base)
            waited = time.monotonic() - started
        finally:
            os.kill(pid, signal.SIGCONT)
        assert answer.status_code == 503
        assert answer.json()["error"] == "temporarily_unavailable"
        assert 0.9 < waited < 2.5  # store_timeout is 1 s
        assert token(base).status_code == 200


# -- the store's own logic, in-process (two states on one Redis) ----------------------------------


@pytest.fixture
def pair(redis_server):
    config = MockASConfig(seed=21, store=redis_server.url)
    a, b = State(config), State(config)
    yield a, b, create_app(state=a).test_client(), create_app(state=b).test_client()
    a.store.redis.close()  # type: ignore[union-attr]
    b.store.redis.close()  # type: ignore[union-attr]


def test_refresh_token_is_spent_once_when_two_processes_race(pair):
    a, _b, ca, cb = pair
    a.add_client(
        ClientConfig(
            client_id="app", secret="s3cret", scopes=("write",), grant_types=("password", "refresh_token")
        )
    )
    a.update_realm("/", issue_refresh_token_on_refresh=True)
    app = {"client_id": "app", "client_secret": "s3cret"}
    for _ in range(5):
        issued = ca.post("/openam/oauth2/access_token", data={**DOCS_FORM, **app}).json
        form = {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"], **app}
        results: list[int] = []
        barrier = threading.Barrier(2)

        def spend(client, form=form, results=results, barrier=barrier):
            barrier.wait()
            results.append(client.post("/openam/oauth2/access_token", data=form).status_code)

        threads = [threading.Thread(target=spend, args=(c,)) for c in (ca, cb)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert sorted(results) == [200, 400]


def test_revoking_a_refresh_token_at_one_process_revokes_its_grant_at_the_other(pair):
    a, b, ca, cb = pair
    a.add_client(
        ClientConfig(
            client_id="app", secret="s3cret", scopes=("write",), grant_types=("password", "refresh_token")
        )
    )
    app = {"client_id": "app", "client_secret": "s3cret"}
    issued = ca.post("/openam/oauth2/access_token", data={**DOCS_FORM, **app}).json
    other = ca.post("/openam/oauth2/access_token", data={**DOCS_FORM, **app}).json
    revoked = cb.post("/openam/oauth2/token/revoke", data={"token": issued["refresh_token"], **app})
    assert revoked.status_code == 200
    assert a.find(issued["access_token"]) is None
    assert a.find(issued["refresh_token"]) is None
    assert b.find(other["access_token"]) is not None  # another grant stays


def test_a_one_shot_fault_fires_once_across_processes(pair):
    a, b, ca, cb = pair
    a.faults.add(Fault(endpoint="access_token", status=503))
    statuses = [c.post("/openam/oauth2/access_token", data=DOCS_FORM).status_code for c in (cb, ca, cb, ca)]
    assert statuses == [503, 200, 200, 200]
    assert [f.fired for f in a.faults.all()] == [1]
    assert [f.fired for f in b.faults.all()] == [1]
    fault = b.faults.get(a.faults.all()[0].id)
    assert fault is not None
    assert fault.fired == 1
    assert fault.remaining == 0


def test_clock_sessions_and_journal_are_shared(pair):
    a, b, ca, cb = pair
    issued = a.issue(
        kind="access_token", realm="/", client_id="myClient", username="demo",
        scopes=("write",), grant_type="password", lifetime=60,
    )  # fmt: skip
    a.clock.advance(61)
    b.sync()
    assert abs(a.clock.now() - b.clock.now()) < 1
    assert b.find(issued.id) is None  # expired on the shared clock
    session = a.sessions.create(a.realm("/"), "demo", "ldapService", a.clock.now())
    assert b.sessions.get(session.token_id, b.clock.now()).username == "demo"
    assert b.sessions.end(session.token_id) is not None  # a logout at the other process
    assert a.sessions.get(session.token_id, a.clock.now(), touch=True) is None
    stale = dataclasses.replace(session, last_access=a.clock.now())
    assert a.sessions._by_token.keep(session.token_id, stale) is False  # a late touch brings nothing back
    assert b.sessions.get(session.token_id, b.clock.now()) is None
    cb.post("/openam/oauth2/access_token", data=DOCS_FORM)
    ca.post("/openam/oauth2/access_token", data={**DOCS_FORM, "password": "x"})
    assert [(c.status, c.username) for c in b.journal] == [(200, "demo"), (400, "demo")]
    start, calls = a.journal_since(1)
    assert start == 1
    assert [c.status for c in calls] == [400]


def test_reseed_at_one_process_reseeds_the_other(pair):
    a, b, ca, _cb = pair
    first = ca.post("/openam/oauth2/access_token", data=DOCS_FORM).json["access_token"]
    b.reseed(99)
    a.sync()
    assert a.seed == 99
    again = ca.post("/openam/oauth2/access_token", data=DOCS_FORM).json["access_token"]
    assert again != first
    b.reseed(21)
    assert ca.post("/openam/oauth2/access_token", data=DOCS_FORM).json["access_token"] == first


def test_same_seed_same_token_sequence_across_processes(pair):
    a, _b, ca, cb = pair
    order = [c.post("/openam/oauth2/access_token", data=DOCS_FORM).json["access_token"] for c in (ca, cb)]
    a.reset()
    assert [
        c.post("/openam/oauth2/access_token", data=DOCS_FORM).json["access_token"] for c in (cb, ca)
    ] == order


def test_a_store_changes_no_token_a_client_sees(redis_server):
    """The same seed and requests give the same strings with or without a store (refresh included)."""

    def flow(state):
        state.add_client(
            ClientConfig(
                client_id="app", secret="s3cret", scopes=("write",), grant_types=("password", "refresh_token")
            )
        )
        client = create_app(state=state).test_client()
        app = {"client_id": "app", "client_secret": "s3cret"}
        first = client.post("/openam/oauth2/access_token", data={**DOCS_FORM, **app}).json
        refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], **app}
        second = client.post("/openam/oauth2/access_token", data=refresh).json
        found = state.find(second["access_token"])
        return first, second, found.auth_grant_id, found.audit_id

    memory = flow(State(MockASConfig(seed=41)))
    shared = flow(State(MockASConfig(seed=41, store=redis_server.url)))
    assert shared == memory


def test_the_seeded_start_is_written_once(redis_server):
    config = MockASConfig(seed=31, store=redis_server.url)
    first = State(config)
    first.add_user(UserConfig(username="dave", password="pw"))
    late = State(config)  # joins: does not write the seeded start over the first one's change
    assert "dave" in late.realm("/").users


def test_lockout_counts_are_shared(pair):
    a, b, ca, cb = pair
    a.update_realm("/", lockout=LockoutConfig(enabled=True, failure_count=2))
    ca.post("/openam/oauth2/access_token", data={**DOCS_FORM, "password": "x"})
    cb.post("/openam/oauth2/access_token", data={**DOCS_FORM, "password": "x"})
    assert a.lockout.state_of("/", "demo").locked
    assert b.lockout.state_of("/", "demo").locked


def test_namespaces_keep_seeds_and_runs_apart(redis_server):
    one = State(MockASConfig(seed=1, store=redis_server.url))
    two = State(MockASConfig(seed=2, store=redis_server.url))
    other_run = State(MockASConfig(seed=1, store=redis_server.url, store_namespace="elsewhere"))
    issued = one.issue(
        kind="access_token", realm="/", client_id="myClient", username="demo",
        scopes=(), grant_type="password", lifetime=60,
    )  # fmt: skip
    assert two.find(issued.id) is None
    assert other_run.find(issued.id) is None
    # Redis purges it by itself: one second after it expires
    assert 60_000 < one.store.redis.pttl(one.store.key("tok", issued.id)) <= 61_000


def test_plugin_gives_each_run_and_xdist_worker_its_own_namespace():
    env = {"MOCK_AS_STORE": "redis://127.0.0.1:6379/0", "PYTEST_XDIST_TESTRUNUID": "abc"}
    gw0 = build_config({}, {**env, "PYTEST_XDIST_WORKER": "gw0"})
    gw1 = build_config({}, {**env, "PYTEST_XDIST_WORKER": "gw1"})
    assert gw0.store == "redis://127.0.0.1:6379/0"
    assert gw0.store_namespace == "pytest-abc-gw0"
    assert gw1.store_namespace == "pytest-abc-gw1"
    shared = build_config({}, {**env, "MOCK_AS_STORE_NAMESPACE": "team"})
    assert shared.store_namespace == "team"
    assert build_config({}, {}).store is None  # in memory unless asked


def test_serve_with_an_unreachable_store_says_so_and_exits():
    run = subprocess.run(
        [sys.executable, "-m", "mock_as", "serve", "--port", "0", "--store", "redis://127.0.0.1:1/0"],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode != 0
    assert "store redis://127.0.0.1:1/0: the state store did not answer" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_bad_store_url_or_namespace_fails_at_start(redis_server):
    from mock_as.errors import ConfigError

    with pytest.raises(ConfigError, match="store: expected redis://"):
        State(MockASConfig(store="http://localhost:6379"))
    for bad in ("a:b", "run*", "x" * 101):
        with pytest.raises(ConfigError, match="store_namespace"):
            State(MockASConfig(store=redis_server.url, store_namespace=bad))


def test_the_plugin_keeps_each_xdist_worker_apart_and_cleans_up(pytester, redis_server, monkeypatch):
    pytester.makepyfile(
        """
        import pytest, requests

        FORM = {"grant_type": "password", "username": "demo", "password": "Ch4ng31t",
                "client_id": "myClient", "client_secret": "forgerock"}

        @pytest.mark.parametrize("n", range(4))
        def test_tokens_in_the_store(mock_as, n):
            assert mock_as.state.store is not None
            first = requests.post(mock_as.token_url, data=FORM).json()["access_token"]
            # each test starts from the seeded state of its worker's own namespace
            assert mock_as.token(first) is not None
            assert len(mock_as.calls) == 1
        """
    )
    monkeypatch.setenv("MOCK_AS_STORE", redis_server.url)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=4)
    client = redis.Redis.from_url(redis_server.url)
    try:
        assert [k for k in client.keys("mock-as:pytest-*") if not k.endswith(b":lock")] == []
    finally:
        client.close()


def test_without_a_store_the_redis_client_is_never_imported():
    code = (
        "import sys; from mock_as.state import State; s = State(); "
        "print(s.store is None, 'redis' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["True", "False"]


def _post_socket(url: str, form: dict[str, str]) -> tuple[int, dict[str, object]]:
    """POST over a real socket with the standard library (requests and httpx may be patched)."""
    import json
    import urllib.error
    import urllib.parse
    import urllib.request

    data = urllib.parse.urlencode(form).encode()
    try:
        with urllib.request.urlopen(url, data=data, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.mark.parametrize("transport", ["requests", "httpx"])
def test_in_process_and_live_mocks_share_one_store(redis_server, transport):
    """A suite's in-process mock and a live one on the same store are one AM, on both transports."""
    from mock_as.patching import patch_httpx, patch_requests
    from mock_as.server import MockASServer

    config = MockASConfig(seed=51, store=redis_server.url)
    patch = patch_requests if transport == "requests" else patch_httpx
    with MockASServer(config) as live, patch(config) as patched:
        if transport == "requests":
            issued = requests.post(patched.token_url, data=DOCS_FORM, timeout=10).json()["access_token"]
        else:
            import httpx

            issued = httpx.post(patched.token_url, data=DOCS_FORM).json()["access_token"]
        status, body = _post_socket(f"{live.base_url}/oauth2/introspect", {"token": issued, **CLIENT})
        assert status == 200
        assert body["active"] is True
        assert _post_socket(f"{live.base_url}/oauth2/token/revoke", {"token": issued, **CLIENT})[0] == 200
        assert patched.token(issued) is None


def test_workers_stop_when_their_parent_is_killed(redis_server):
    proc = subprocess.Popen(
        [sys.executable, "-m", "mock_as", "serve", "--port", "0", "-q", "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "MOCK_AS_STORE": redis_server.url},
    )
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        assert token(base).status_code == 200
    finally:
        proc.kill()  # SIGKILL: the parent cannot stop its workers itself
        proc.wait(10)
        proc.communicate()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            token(base)
        except requests.ConnectionError:
            return  # nobody listens any more
        time.sleep(0.1)  # waiting for other processes to exit, not for the mock's time
    pytest.fail("a worker outlived its parent")


def test_the_shared_journal_is_capped_and_numbered(pair, monkeypatch):
    import mock_as.state
    from mock_as.state import Call

    a, b, _ca, _cb = pair
    monkeypatch.setattr(mock_as.state, "JOURNAL_LIMIT", 5)
    for n in range(8):
        a.record(Call("POST", f"/oauth2/{n}", None, None, {}, 200, None, float(n)))
    start, calls = b.journal_since(0)
    assert start == 3  # the three oldest made room
    assert [c.path for c in calls] == [f"/oauth2/{n}" for n in range(3, 8)]
    assert b.journal_since(6)[0] == 6
    assert [c.path for c in b.journal_since(6)[1]] == ["/oauth2/6", "/oauth2/7"]
    assert len(b.journal) == 5


def test_concurrent_failures_in_two_processes_are_all_counted(pair):
    """Threads of two processes failing at once: no failure is lost (a reload never lands in the
    middle of another thread's change)."""
    a, b, _ca, _cb = pair
    a.update_realm("/", lockout=LockoutConfig(enabled=True, failure_count=1000, interval_minutes=60))
    wrong = {**DOCS_FORM, "password": "wrong"}

    def fail(client):
        for _ in range(10):
            assert client.post("/openam/oauth2/access_token", data=wrong).status_code == 400

    # The apps are built first: werkzeug compiles its routes with ast, and CPython 3.11.7's parser
    # is not safe to run from several threads at once (a SystemError, not the mock's concern).
    clients = [create_app(state=s).test_client() for s in (a, b) * 4]
    threads = [threading.Thread(target=fail, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert a.lockout.state_of("/", "demo").failures == 80
    assert b.lockout.state_of("/", "demo").failures == 80


def test_the_store_unpickles_only_the_mocks_record_types():
    import pickle

    from mock_as import faults
    from mock_as.store import dumps, loads

    class Planted:
        def __reduce__(self):
            return (os.system, ("true",))

    for payload in (pickle.dumps(Planted()), pickle.dumps(faults.default_error), pickle.dumps(os.getcwd)):
        with pytest.raises(pickle.UnpicklingError, match="not a mock-as record type"):
            loads(payload)
    user = UserConfig(username="erin", password="pw")
    assert loads(dumps(user)) == user
