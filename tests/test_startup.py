"""Start-up: nothing heavy is imported before it is needed, and what is made late is the same."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from mock_as import MockASConfig, State
from mock_as.config import DOCUMENTED_REQUEST
from mock_as.seeding import make_users

SCRIPT = """
import io, json, sys
from urllib.parse import urlencode
from mock_as.state import State
from mock_as.config import MockASConfig, DOCUMENTED_REQUEST
from mock_as.app import wsgi_app
import mock_as.cli, mock_as.server  # what `mock-as serve` loads before it listens

HEAVY = ("faker", "flask", "werkzeug", "cryptography", "trustme", "ssl", "redis")
state = State(MockASConfig(seed=0))
app = wsgi_app(state)

def call(path, body=b""):
    seen = []
    env = {"REQUEST_METHOD": "POST" if body else "GET", "PATH_INFO": path, "QUERY_STRING": "",
           "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body)),
           "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8080", "HTTP_HOST": "127.0.0.1:8080",
           "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http"}
    out = b"".join(app(env, lambda status, headers, exc=None: seen.append(status)))
    return seen[0], out

status, body = call("/openam/oauth2/realms/root/access_token", urlencode(DOCUMENTED_REQUEST).encode())
print(json.dumps({
    "token": status,
    "before": sorted(m for m in HEAVY if m in sys.modules),
    "users": list(state.realm("/").users),
}))
status, _ = call("/__mock_as__/realms")
print(json.dumps({"control": status, "after": sorted(m for m in HEAVY if m in sys.modules)}))
"""


def test_the_first_token_imports_no_framework_faker_tls_or_cryptography():
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT)], capture_output=True, text=True, check=True
    )
    first, second = (__import__("json").loads(line) for line in done.stdout.splitlines())
    assert first["token"].startswith("200")
    assert first["before"] == []
    eager = ["demo", *(u.username for u in make_users(3, seed=0, realm="/"))]
    assert first["users"] == eager  # listing the users made the fake ones, in the eager order
    assert second["control"][:1] in ("2", "4")  # the control API answers, from Flask built late
    assert "flask" in second["after"]


def test_lazily_made_fake_users_are_the_eager_ones_in_every_use():
    state = State(MockASConfig(seed=5, users=4))
    fakes = make_users(4, seed=5, realm="/")
    realm = state.realm("/")
    assert "demo" in realm.users  # a fixed user: nothing made yet
    assert realm.users.get(fakes[2].username) == fakes[2]
    other = State(MockASConfig(seed=5, users=4)).realm("/").users
    assert list(other.values()) == [realm.users["demo"], *fakes]
    assert len(other) == 5
    assert dict(other) == dict(realm.users)
    state.reset()
    assert [u.username for u in state.realm("/").users.values()] == ["demo", *(u.username for u in fakes)]


def test_a_token_for_a_fake_user_makes_them_first():
    from mock_as.router import handle

    state = State(MockASConfig(seed=5, users=2))
    fake = make_users(2, seed=5, realm="/")[1]
    form = dict(DOCUMENTED_REQUEST, username=fake.username, password=fake.password)
    body = "&".join(f"{k}={v}" for k, v in form.items()).encode()
    r = handle(
        state,
        "POST",
        "/oauth2/realms/root/access_token",
        "",
        {"content-type": "application/x-www-form-urlencoded"},
        body,
        "https://am.example.com/openam",
    )
    assert r.status == 200
